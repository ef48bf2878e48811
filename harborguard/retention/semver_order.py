"""``--order semver``: the what-if in which count rules rank by version instead of time.

docs/DESIGN.md: an artifact's version is the highest version among its tags; artifacts without
a version rank after all versions; equal versions (and those without) fall back to
Harbor's own key (the template's time) and then API order. Not Harbor's behaviour: it
shows what "keep the 10 newest versions" would have meant.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from harborguard.retention.outcomes import Candidate, Ranker
from harborguard.retention.templates import Evaluator
from harborguard.versions import Version, VersionPattern, artifact_version

_NONE = (0,)  # ranks below every version key (which starts with 1)


class SemverRanker(Ranker):
    def __init__(self, pattern: VersionPattern | None = None) -> None:
        self._pattern = pattern
        self._cache: dict[tuple[str, ...], tuple[object, ...]] = {}

    def version_key(self, candidate: Candidate) -> tuple[object, ...]:
        tags = candidate.tags
        cached = self._cache.get(tags)
        if cached is None:
            version: Version | None = artifact_version(tags, self._pattern)
            cached = _NONE if version is None else (1, version.sort_key)
            self._cache[tags] = cached
        return cached

    def rank(self, evaluator: Evaluator, candidates: Sequence[Candidate]) -> list[Candidate]:
        # Two stable passes: candidate push time descending (API order among equals), then
        # version. docs/DESIGN.md: "fall back to Harbor's own key and order (candidate push
        # time, then API order)", whichever template: all of them mean "the N newest".
        by_time = sorted(candidates, key=_push, reverse=True)
        return sorted(by_time, key=self.version_key, reverse=True)

    def key(self, evaluator: Evaluator) -> Callable[[Candidate], object]:
        version_key = self.version_key
        return lambda c: (version_key(c), c.push_s)


def _push(candidate: Candidate) -> int:
    return candidate.push_s
