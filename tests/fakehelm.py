"""A fake ``helm`` 3 on PATH: answers ``list``, ``history`` and ``get values`` from a JSON
file of the shapes real helm prints (helm/pkg/cmd/history.go ``releaseInfo``: revision as a
number, updated, status, chart ``<name>-<version>``, app_version, description;
``get values -o json``: the values map, ``null`` when there are none).

The cluster file: ``{"releases": [helm list entries], "history": {"ns/name": [entries]},
"values": {"ns/name": {"<revision>": {...}}}}``. A release without ``history`` has one
revision, the one ``helm list`` names; without ``values``, ``{}``. Environment:
``FAKE_HELM_CLUSTER`` (the file), ``FAKE_HELM_ARGS`` (the last ``list`` command line is
written there), ``FAKE_HELM_CALLS`` (every command line, one JSON list a line),
``FAKE_HELM_MODE`` (``ok``, or how ``list`` misbehaves), ``FAKE_HELM_FAIL`` (a command,
``history`` or ``get values``, that fails like helm: ``Error: ...`` on stderr, exit 1) and
``FAKE_HELM_GARBAGE`` (a command that prints what is not JSON).
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

SCRIPT = """\
#!{python}
import json, os, subprocess, sys, time
args = sys.argv[1:]
calls = os.environ.get("FAKE_HELM_CALLS")
if calls:
    with open(calls, "a") as f:
        f.write(json.dumps(args) + "\\n")
cluster = json.load(open(os.environ["FAKE_HELM_CLUSTER"]))
command = "get values" if args[:2] == ["get", "values"] else args[0]
if command == os.environ.get("FAKE_HELM_FAIL"):
    sys.stderr.write("Error: query: failed to query with labels: secrets is forbidden: User "
                     "\\"ci\\" cannot list resource \\"secrets\\"\\n")
    sys.exit(1)
if command == os.environ.get("FAKE_HELM_GARBAGE"):
    sys.stdout.write("REVISION\\tUPDATED\\n")
    sys.exit(0)
if command == "list":
    with open(os.environ["FAKE_HELM_ARGS"], "w") as f:
        json.dump(args, f)
    mode = os.environ.get("FAKE_HELM_MODE", "ok")
    if mode == "ok":
        sys.stdout.write(json.dumps(cluster["releases"]))
    elif mode == "fail":
        sys.stderr.write("\\nError: Kubernetes cluster unreachable: Get "
                         "\\"https://admin:hunter2@k8s.example/version\\": EOF\\nmore\\n")
        sys.exit(1)
    elif mode == "fail-silent":
        sys.exit(2)
    elif mode == "sleep":
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        time.sleep(60)
    elif mode == "garbage":
        sys.stdout.write("NAME\\tNAMESPACE\\n")
    elif mode == "object":
        sys.stdout.write("{{}}")
    sys.exit(0)
rest = args[2:] if command == "get values" else args[1:]
name, namespace = rest[0], rest[rest.index("-n") + 1]
key = namespace + "/" + name
listed = [r for r in cluster["releases"] if r["name"] == name and r["namespace"] == namespace]
if not listed:
    sys.stderr.write("Error: release: not found\\n")
    sys.exit(1)
history = cluster.get("history", {{}}).get(key) or [{{
    "revision": int(listed[0]["revision"]), "updated": "2024-02-21T16:30:01.123456789Z",
    "status": listed[0]["status"], "chart": listed[0]["chart"],
    "app_version": listed[0].get("app_version", ""), "description": "Upgrade complete"}}]
if command == "history":
    print(json.dumps(history))
    sys.exit(0)
revision = int(rest[rest.index("--revision") + 1]) if "--revision" in rest else max(
    h["revision"] for h in history)
if revision not in [h["revision"] for h in history]:
    sys.stderr.write("Error: release: not found\\n")
    sys.exit(1)
values = cluster.get("values", {{}}).get(key, {{}}).get(str(revision), {{}})
print(json.dumps(values))
"""


def install(bin_dir: Path, cluster: dict[str, Any], monkeypatch: Any) -> Path:
    """Writes ``helm`` into ``bin_dir``, puts it first on PATH and returns the calls log."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    exe = bin_dir / "helm"
    exe.write_text(SCRIPT.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    data = bin_dir / "cluster.json"
    data.write_text(json.dumps(cluster))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_HELM_CLUSTER", str(data))
    monkeypatch.setenv("FAKE_HELM_ARGS", str(bin_dir / "args.json"))
    monkeypatch.setenv("FAKE_HELM_CALLS", str(bin_dir / "calls.jsonl"))
    monkeypatch.setenv("FAKE_HELM_MODE", "ok")
    return bin_dir / "calls.jsonl"


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
