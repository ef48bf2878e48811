"""console.keep_heap: the run's frames are kept for the entry point's os._exit (nothing
freed on the way out), and nothing is kept when the command line is invoked in-process."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from harborguard import console


class _Held:
    pass


def _conclude(held: list[weakref.ref[_Held]]) -> None:
    big = _Held()  # a local of a frame that unwinds, as the run's report is
    held.append(weakref.ref(big))
    console.keep_heap()
    raise SystemExit(0)


@pytest.fixture
def _entry_point() -> Iterator[None]:
    console._KEPT = []  # as console.main sets it
    yield
    console._KEPT = None


@pytest.mark.usefixtures("_entry_point")
def test_in_the_entry_point_the_frames_outlive_the_exit() -> None:
    held: list[weakref.ref[_Held]] = []
    with pytest.raises(SystemExit):
        _conclude(held)
    gc.collect()
    assert held[0]() is not None  # not freed: the process ends with os._exit


def test_in_process_nothing_is_kept() -> None:
    held: list[weakref.ref[_Held]] = []
    with pytest.raises(SystemExit):
        _conclude(held)
    gc.collect()
    assert held[0]() is None
