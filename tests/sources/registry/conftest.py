"""A real distribution registry for this package's tests, one per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.distribution import Registry, start_registry


@pytest.fixture(scope="session")
def distribution(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    registry = start_registry(tmp_path_factory.mktemp("distribution"))
    if registry is None:
        pytest.skip("docker-registry is not installed (apt-get install docker-registry)")
    try:
        yield registry
    finally:
        registry.stop()
        registry.http.close()
