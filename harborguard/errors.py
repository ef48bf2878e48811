"""Error types. The CLI maps each family to one exit code, once, at the edge."""


class HarborguardError(Exception):
    """Base class: the message is one line that names the object and the fix."""


class InputError(HarborguardError):
    """A file or option named on the command line cannot be used at all (exit 2)."""


class SourceError(HarborguardError):
    """A data source could not deliver what a run needs (the run becomes incomplete)."""


class Stopped(BaseException):
    """Ctrl-C or SIGTERM (harborguard.cli installs the handlers). Not a KeyboardInterrupt,
    which click would turn into "Aborted!" and exit 1, the findings code: the CLI exits
    130 or 143, and everything on the way unwinds (parts stopped, no partial report)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.code = 128 + signum
