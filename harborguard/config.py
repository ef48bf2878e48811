"""Option resolution: command line > environment > config file > default.

Every option that a CI job would otherwise repeat can come from the environment or from a
config file (``harborguard.yaml`` in the working directory, or ``--config PATH``) whose keys
are the long option names. Passwords are never read from a file or a flag.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harborguard.errors import InputError
from harborguard.inputfile import InputTooLarge, read_input

DEFAULT_CONFIG = "harborguard.yaml"


@dataclass(frozen=True, slots=True)
class OptionSpec:
    name: str  # the long option name, also the config-file key
    env: str | None
    convert: Callable[[Any, str], Any]
    default: Any = None


def _string(value: Any, where: str) -> str:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    raise InputError(f"{where}: expected a string, got {type(value).__name__}")


def _harbor_url(value: Any, where: str) -> str:
    """Harbor's base URL; one with ``user:password@`` is refused (docs/DESIGN.md: passwords
    only from HARBOR_PASSWORD or --password-stdin), shown masked."""
    from harborguard.redact import mask_url, url_has_password

    text = _string(value, where)
    if url_has_password(text):
        raise InputError(
            f"{where}: {mask_url(text)!r} holds a password (user:password@); passwords are "
            "never taken from a URL: give the account with --username (HARBOR_USERNAME) and "
            "the password in HARBOR_PASSWORD or with --password-stdin"
        )
    return text


MAX_TIMEOUT = 86_400.0  # a day: past it, a timeout is a typo (and overflows some clocks)
MAX_CONCURRENCY = 256  # threads and connections to one Harbor


def _seconds(value: Any, where: str) -> float:
    """A timeout: a finite number of seconds, more than 0, at most MAX_TIMEOUT."""
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError, OverflowError):  # OverflowError: a 400-digit integer
        raise InputError(f"{where}: expected a number of seconds, got {value!r}") from None
    if not math.isfinite(number):
        raise InputError(f"{where}: expected a number of seconds, got {value!r}")
    if number <= 0:
        raise InputError(f"{where}: must be greater than 0, got {value!r}")
    if number > MAX_TIMEOUT:
        raise InputError(f"{where}: at most {MAX_TIMEOUT:.0f} seconds (a day), got {value!r}")
    return number


def _positive_int(value: Any, where: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise InputError(f"{where}: expected a whole number, got {value!r}") from None
    if number < 1:
        raise InputError(f"{where}: must be at least 1, got {value!r}")
    return number


def _concurrency(value: Any, where: str) -> int:
    number = _positive_int(value, where)
    if number > MAX_CONCURRENCY:
        raise InputError(f"{where}: at most {MAX_CONCURRENCY}, got {value!r}")
    return number


def _non_negative_int(value: Any, where: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise InputError(f"{where}: expected a whole number, got {value!r}") from None
    if number < 0:
        raise InputError(f"{where}: must be 0 or more, got {value!r}")
    return number


def _string_list(value: Any, where: str) -> tuple[str, ...]:
    """A list in the config file; comma-separated in the environment."""
    if isinstance(value, list | tuple):
        return tuple(_string(v, where) for v in value)
    return tuple(part.strip() for part in _string(value, where).split(",") if part.strip())


def _flag(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise InputError(f"{where}: expected true or false, got {value!r}")


def _choice(*choices: str) -> Callable[[Any, str], str]:
    def convert(value: Any, where: str) -> str:
        text = _string(value, where)
        if text not in choices:
            raise InputError(f"{where}: expected one of {', '.join(choices)}, got {text!r}")
        return text

    return convert


OPTIONS: dict[str, OptionSpec] = {
    spec.name: spec
    for spec in (
        OptionSpec("harbor", "HARBOR_URL", _harbor_url),
        OptionSpec("username", "HARBOR_USERNAME", _string),
        OptionSpec("ca-bundle", "HARBORGUARD_CA_BUNDLE", _string),
        OptionSpec("timeout", "HARBORGUARD_TIMEOUT", _seconds, 30.0),
        OptionSpec("concurrency", "HARBORGUARD_CONCURRENCY", _concurrency, 8),
        OptionSpec("jobs", "HARBORGUARD_JOBS", _positive_int),
        OptionSpec("harbor-version", "HARBORGUARD_HARBOR_VERSION", _string),
        OptionSpec("quiet", "HARBORGUARD_QUIET", _flag, False),
        OptionSpec("no-progress", "HARBORGUARD_NO_PROGRESS", _flag, False),
        OptionSpec("snapshot", "HARBORGUARD_SNAPSHOT", _string),
        OptionSpec("policy", "HARBORGUARD_POLICY", _string),
        OptionSpec("now", "HARBORGUARD_NOW", _string),
        OptionSpec("order", "HARBORGUARD_ORDER", _choice("push", "semver"), "push"),
        OptionSpec("format", "HARBORGUARD_FORMAT", _choice("table", "json", "markdown", "junit",
                                                                "prometheus", "codequality")),
        OptionSpec("fail-on", "HARBORGUARD_FAIL_ON", _choice("error", "warning"), "error"),
        OptionSpec("version-pattern", "HARBORGUARD_VERSION_PATTERN", _string),
        OptionSpec("manifests", "HARBORGUARD_MANIFESTS", _string),
        OptionSpec("environment", "HARBORGUARD_ENVIRONMENT", _string),
        OptionSpec("history", "HARBORGUARD_HISTORY", _non_negative_int),
        OptionSpec("image-tag-template", "HARBORGUARD_IMAGE_TAG_TEMPLATE", _string),
        OptionSpec("registry-alias", "HARBORGUARD_REGISTRY_ALIAS", _string_list, ()),
        OptionSpec("project", "HARBORGUARD_PROJECT", _string_list, ()),
        OptionSpec("all-projects", "HARBORGUARD_ALL_PROJECTS", _flag, False),
        OptionSpec("dedup", "HARBORGUARD_DEDUP", _flag, False),
        OptionSpec("registry", "HARBORGUARD_REGISTRY", _harbor_url),
        OptionSpec("cache-dir", "HARBORGUARD_CACHE_DIR", _string),
    )
}


@dataclass(frozen=True, slots=True)
class ConfigFile:
    path: str | None
    values: Mapping[str, Any]


def load_config(explicit: str | None, cwd: str | None = None) -> ConfigFile:
    """``--config PATH`` must exist; the default ``harborguard.yaml`` is optional."""
    if explicit is None:
        candidate = Path(cwd or os.getcwd()) / DEFAULT_CONFIG
        if not candidate.is_file():
            return ConfigFile(None, {})
        path = str(candidate)
    else:
        path = explicit
    try:
        text = read_input(path)
    except FileNotFoundError:
        raise InputError(f"{path}: config file not found") from None
    except InputTooLarge as exc:
        raise InputError(f"{path}: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read config file: {exc}") from None

    from harborguard import yamlload, yamlread

    try:
        data = yamlload.load(text)
    except yamlload.YamlLimitError as exc:
        raise InputError(f"{path}: {exc}") from None
    except yamlread.LOAD_ERRORS as exc:
        raise InputError(f"{path}: not valid YAML{yamlread.problem(exc)}") from None
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise InputError(f"{path}: a config file is a map of long option names to values")
    for key in data:
        if key in ("password", "password-stdin"):
            raise InputError(
                f"{path}: key {key!r} is not allowed; give the password in HARBOR_PASSWORD "
                "or with --password-stdin"
            )
        if key not in OPTIONS:
            known = ", ".join(sorted(OPTIONS))
            raise InputError(f"{path}: unknown key {key!r}; known keys: {known}")
    return ConfigFile(path, dict(data))


class Resolver:
    """Resolves each option once, in docs/DESIGN.md's order of precedence."""

    def __init__(
        self, cli: Mapping[str, Any], env: Mapping[str, str], config: ConfigFile
    ) -> None:
        self._cli = cli
        self._env = env
        self._config = config

    @property
    def config_path(self) -> str | None:
        return self._config.path

    def _given(self, name: str) -> tuple[Any, str] | None:
        """The option's raw value and where it comes from, in docs/DESIGN.md's order."""
        spec = OPTIONS[name]
        value = self._cli.get(name)
        if value is not None and value is not False:
            return value, f"--{name}"
        if spec.env is not None and self._env.get(spec.env) not in (None, ""):
            return self._env[spec.env], f"environment variable {spec.env}"
        if name in self._config.values:
            return self._config.values[name], f"{self._config.path}: key {name!r}"
        return None

    def origin(self, name: str) -> str:
        """Where the option's value comes from, as an error message should name it."""
        given = self._given(name)
        return f"--{name}" if given is None else given[1]

    def check_all(self) -> None:
        """Converts every option given anywhere, so that a bad value is an error (exit 2)
        even where this run would not have used it (``--timeout nan`` with a snapshot)."""
        for name in OPTIONS:
            if self._given(name) is not None:
                self.get(name)

    def get(self, name: str, default: Any = None) -> Any:
        """The option's value; ``default`` replaces the built-in default (drift's fail-on)."""
        spec = OPTIONS[name]
        given = self._given(name)
        if given is not None:
            return spec.convert(*given)
        return spec.default if default is None else default
