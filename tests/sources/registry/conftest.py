"""A real distribution registry for this package's tests, one per test session."""

from tests.distribution import distribution

__all__ = ["distribution"]
