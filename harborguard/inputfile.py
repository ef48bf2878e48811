"""Reading a policy or config file named on the command line, bounded in size.

A pipe (``--policy <(...)``, /dev/stdin) is fine; /dev/zero or a runaway generator is not:
at most MAX_INPUT_BYTES are read. No yaml import here: a JSON policy never needs it.
"""

from __future__ import annotations

# A policy or config file is a few KB.
MAX_INPUT_BYTES = 8 * 1024 * 1024


class InputTooLarge(ValueError):
    """A file named on the command line holds more than MAX_INPUT_BYTES."""


def read_input(path: str) -> str:
    """The file's text (UTF-8, CRLF read as LF), read up to MAX_INPUT_BYTES.

    Raises OSError, UnicodeDecodeError, or InputTooLarge (its message is one line).
    """
    with open(path, "rb") as handle:
        raw = handle.read(MAX_INPUT_BYTES + 1)
    if len(raw) > MAX_INPUT_BYTES:
        raise InputTooLarge(
            f"larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB; harborguard reads at most "
            "that much of a policy or config file"
        )
    return raw.decode("utf-8").replace("\r\n", "\n")
