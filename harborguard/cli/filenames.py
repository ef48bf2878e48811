"""The files a command line names: those it writes, those it reads, and the folders it
reads files from, so that an output never replaces an input (outfile.refuse_overwriting).

Checked once for every command, when it starts (harborguard.cli.core_errors), before
anything is read or written. Every option that names a file or folder is listed here
(tests/cli/test_output_clashes.py holds every command to it).
"""

from __future__ import annotations

import os
from typing import Any

import click

from harborguard.config import DEFAULT_CONFIG, ConfigFile, Resolver, load_config
from harborguard.errors import InputError
from harborguard.outfile import STREAM, Named, ReadFolder, is_regular, refuse_overwriting

# click's parameter name: the flag an error names.
OUTPUTS = {"output": "-o/--output", "policy_out": "--policy-out"}
INPUTS = {
    "snapshot_path": "--snapshot", "policy": "--policy", "against": "--against",
    "kubectl_json": "--kubectl-json", "helm_json": "--helm-json", "config": "--config",
    "ca_bundle": "--ca-bundle",
}
FOLDERS = {"manifests": "--manifests", "from_logs": "--from-logs"}
NOT_GUARDED = {
    # harborguard's own manifest cache: files named by digest, written and read by it alone.
    "cache_dir": "--cache-dir",
}
# Inputs that may also come from the environment or the config file: their setting.
SETTINGS = {"snapshot_path": "snapshot", "policy": "policy", "ca_bundle": "ca-bundle",
            "manifests": "manifests"}


def refuse_overwriting_inputs(ctx: click.Context | None) -> None:
    """InputError when the command line's output names one of its inputs (or another
    output, or a file a folder it reads holds). Nothing to do without an output."""
    if ctx is None:
        return
    given = _given(ctx)
    outputs = [Named(flag, path) for name, flag in OUTPUTS.items()
               for path in _paths(given.get(name))]
    if not outputs:
        return
    accepted = {param.name for param in ctx.command.params}
    resolver = _resolver(given)
    inputs: list[Named] = []
    folders: list[ReadFolder] = []
    for name, flag in {**INPUTS, **FOLDERS}.items():
        if name not in accepted:
            continue
        if name in SETTINGS and not given.get(name):
            found = _setting(resolver, SETTINGS[name])
            named = [] if found is None else [Named(f"{flag} ({found[1]})",
                                                    _literal(name, found[0]))]
        else:
            named = [Named(flag, _literal(name, path)) for path in _paths(given.get(name))]
        if name in FOLDERS:
            folders += [_folder(name, one) for one in named]
        else:
            inputs += named
    inputs += _config_file(given)
    refuse_overwriting(outputs, inputs, folders)


def _given(ctx: click.Context) -> dict[str, Any]:
    """The values given on the command line: the group's global options, then the
    command's (which win, as in the settings)."""
    given: dict[str, Any] = {}
    for level in (ctx.parent, ctx):
        for name, value in (level.params.items() if level is not None else ()):
            if value not in (None, (), ""):
                given[name] = value
    return given


def _paths(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(one) for one in value] if isinstance(value, tuple | list) else [str(value)]


def _literal(name: str, path: str) -> str:
    """Only --snapshot reads ``-`` as standard input; elsewhere it is a file of that name
    (as ``-o -`` writes one)."""
    return path if name == "snapshot_path" or path != STREAM else os.path.join(".", path)


def _config_path(given: dict[str, Any]) -> tuple[str, str] | None:
    """The config file the run reads, and what names it (as the settings' resolution finds it)."""
    if given.get("config"):
        return None  # named on the command line: an input like any other
    if os.environ.get("HARBORGUARD_CONFIG"):
        return os.environ["HARBORGUARD_CONFIG"], "environment variable HARBORGUARD_CONFIG"
    return (DEFAULT_CONFIG, "the default config file") if os.path.isfile(DEFAULT_CONFIG) else None


def _config_file(given: dict[str, Any]) -> list[Named]:
    found = _config_path(given)
    return [] if found is None else [Named(f"--config ({found[1]})", found[0])]


def _resolver(given: dict[str, Any]) -> Resolver:
    """The settings as the run will resolve them. The config file is read here only when
    it is a regular file (a pipe can be read once, by the run); one that cannot be read
    or parsed is the run's to refuse."""
    path = given.get("config") or os.environ.get("HARBORGUARD_CONFIG") or None
    config = ConfigFile(None, {})
    if path is None or is_regular(path):
        try:
            config = load_config(path)
        except InputError:
            pass
    cli = {setting: given.get(name) for name, setting in SETTINGS.items()}
    return Resolver(cli, os.environ, config)


def _setting(resolver: Resolver, setting: str) -> tuple[str, str] | None:
    """The setting's path from the environment or the config file, and where it comes
    from; None when it is not given (or not a string: the run refuses it)."""
    try:
        value = resolver.get(setting)
    except InputError:
        return None
    if not isinstance(value, str) or not value:
        return None
    return value, resolver.origin(setting)


def _folder(name: str, named: Named) -> ReadFolder:
    if name == "from_logs":
        return ReadFolder(named.flag, named.path,
                          lambda relative: os.sep not in relative
                          and not relative.startswith("."),
                          "every file directly in it as a task log")
    from harborguard.sources.fstree import JSON_SUFFIX, YAML_SUFFIXES

    suffixes = (*YAML_SUFFIXES, JSON_SUFFIX)
    return ReadFolder(named.flag, named.path,
                      lambda relative: relative.endswith(suffixes),
                      "its .yaml, .yml and .json files")
