"""What can go wrong reading YAML from a file named on the command line, in one line.

PyYAML raises more than yaml.YAMLError: a value its resolver types but Python cannot
build (``2024-13-01`` as a date, an integer of 5,000 digits, ``!!float abc``) is a
ValueError, and nesting deeper than the interpreter's recursion limit (its composer and
constructor recurse) is a RecursionError. Each is the file's fault, not harborguard's.
"""

from __future__ import annotations

import sys

import yaml

# Everything a YAML load may raise for a bad document.
LOAD_ERRORS: tuple[type[BaseException], ...] = (yaml.YAMLError, ValueError, RecursionError)


def problem(exc: BaseException) -> str:
    """`` (line L, column C)`` for a syntax error, else ``: what`` (the value or the
    nesting): to follow "not valid YAML" or "not valid JSON or YAML"."""
    if isinstance(exc, RecursionError):
        return ": nested too deeply to read"
    if isinstance(exc, yaml.YAMLError):
        mark = getattr(exc, "problem_mark", None)
        return f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
    if "integer string conversion" in str(exc):
        return f": an integer of more than {sys.get_int_max_str_digits()} digits"
    return f": a value that cannot be read ({exc})"
