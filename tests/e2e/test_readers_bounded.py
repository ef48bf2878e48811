"""Every file reader under a memory limit: random bytes, JSON and YAML (tests/e2e/readers_fuzz.py)
in a child process limited to 1 GiB of address space and 120 s of CPU."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 1 << 30


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (120, 120))


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is what bounds the child")
def test_every_reader_takes_random_input_within_bounds() -> None:
    done = subprocess.run([sys.executable, "-m", "tests.e2e.readers_fuzz", "150"], cwd=ROOT,
                          capture_output=True, text=True, preexec_fn=_limited, timeout=300)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), (
        done.stdout[-3000:] + done.stderr[-6000:])
