"""What one invocation resolved (flag > environment > config file), and what the run
adds to its report as it goes (notes, incomplete items, the evidence covered)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harborguard.config import ConfigFile, Resolver
from harborguard.model import Incomplete

# Progress of a long read: (done, known so far).
ProgressHook = Callable[[int, int], None]
# A progress display for a label: its hook (None: nothing shown) and how to stop it.
Progress = Callable[[str], tuple[ProgressHook | None, Callable[[], None]]]


def no_progress(label: str) -> tuple[ProgressHook | None, Callable[[], None]]:
    return None, lambda: None


def no_password() -> str | None:
    return None


@dataclass
class Invocation:
    """The settings of one command line, resolved, and the state its run accumulates."""

    resolver: Resolver
    # The raw command-line values (the global options merged from the group and the
    # command; projects, all_projects, snapshot as given on the command line).
    options: dict[str, Any] = field(default_factory=dict)
    output: str | None = None  # -o FILE; None: standard output
    format: str = "json"  # --format, or its default for where the report goes
    password: Callable[[], str | None] = no_password  # read only for a live Harbor
    progress: Progress = no_progress
    incomplete: list[Incomplete] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fail_on_default: str | None = None  # drift: warning
    history: str | None = None  # how far back the manifests' git history reached
    # The report's `evidence` (check, diff, drift): what each evidence source covered.
    evidence: list[dict[str, Any]] | None = None
    # --dedup through Harbor with a pull-based policy: asks the question (True: go on);
    # None: there is no one to ask (no terminal, no --yes).
    confirm: Callable[[str], bool] | None = None
    # False: one process, the report written from memory (the parts of a first try
    # could not write their shares of the file).
    in_parts: bool = True

    @classmethod
    def of(cls, values: dict[str, Any], **settings: Any) -> Invocation:
        """Settings given directly (long option names), no environment, no config file:
        a command run from Python."""
        resolver = Resolver(values, {}, ConfigFile(None, {}))
        resolver.check_all()
        return cls(resolver, **settings)

    def copy(self) -> Invocation:
        """This invocation as it is now, apart from what a run adds to it later."""
        return dataclasses.replace(self, incomplete=list(self.incomplete),
                                   notes=list(self.notes),
                                   evidence=None if self.evidence is None else list(self.evidence))

    def get(self, name: str) -> Any:
        if name == "fail-on" and self.fail_on_default is not None:
            return self.resolver.get(name, default=self.fail_on_default)
        return self.resolver.get(name)
