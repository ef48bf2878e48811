"""Error types. The CLI maps each family to one exit code, once, at the edge."""


class HarborguardError(Exception):
    """Base class: the message is one line that names the object and the fix."""


class InputError(HarborguardError):
    """A file or option named on the command line cannot be used at all (exit 2)."""


class SourceError(HarborguardError):
    """A data source could not deliver what a run needs (the run becomes incomplete)."""
