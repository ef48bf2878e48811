"""Reading a file named on the command line (policy, config, kubectl, helm), bounded in size.

A pipe (``--policy <(...)``, /dev/stdin) is fine; /dev/zero or a runaway generator is not:
at most MAX_INPUT_BYTES are read. No yaml import here: a JSON policy never needs it.
"""

from __future__ import annotations

import os

# A policy or config file is a few KB.
MAX_INPUT_BYTES = 8 * 1024 * 1024


class InputTooLarge(ValueError):
    """A file named on the command line holds more than MAX_INPUT_BYTES."""


def read_bounded(path: str | os.PathLike[str], limit: int) -> bytes | None:
    """At most ``limit`` bytes of the file (a pipe is fine); None when it holds more.
    Raises OSError."""
    with open(path, "rb") as handle:
        raw = handle.read(limit + 1)
    return None if len(raw) > limit else raw


def read_input(path: str) -> str:
    """The file's text (UTF-8, CRLF read as LF), read up to MAX_INPUT_BYTES.

    Raises OSError, UnicodeDecodeError, or InputTooLarge (its message is one line).
    """
    raw = read_bounded(path, MAX_INPUT_BYTES)
    if raw is None:
        raise InputTooLarge(
            f"larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB; harborguard reads at most "
            "that much of a policy or config file"
        )
    return raw.decode("utf-8").replace("\r\n", "\n")
