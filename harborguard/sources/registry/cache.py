"""The on-disk manifest cache: manifests are content-addressed, so one read once is good
for ever. Each file is ``<algorithm>/<hex>``: the media type the registry gave, a newline,
then the manifest's bytes. Every read is verified against the digest (a damaged or
tampered entry is a miss, read again and replaced); every write is atomic (a temporary
file beside it, renamed into place), so concurrent runs share a cache safely."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from harborguard.errors import InputError
from harborguard.sources.registry.manifests import DIGEST, verified

# A cached manifest larger than this is not read (the registry's answer bound is larger,
# but no manifest harborguard reads comes near it).
MAX_ENTRY_BYTES = 16 * 1024 * 1024


def default_cache_dir() -> str:
    """``$XDG_CACHE_HOME/harborguard/manifests``, else ``~/.cache/harborguard/manifests``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "harborguard", "manifests")


class ManifestCache:
    """Manifests by digest under ``directory`` (created when missing)."""

    def __init__(self, directory: str, *, origin: str = "--cache-dir") -> None:
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{origin} {directory}: cannot create the manifest cache "
                             f"({exc.strerror or exc}); give a writable directory") from None
        if not self.directory.is_dir():
            raise InputError(f"{origin} {directory}: not a directory; give a directory for "
                             "the manifest cache")
        self.write_errors: list[str] = []

    def _path(self, digest: str) -> Path:
        algorithm, hexdigest = digest.split(":", 1)
        return self.directory / algorithm / hexdigest

    def get(self, digest: str) -> tuple[bytes, str] | None:
        """(the manifest's bytes, its media type), or None when not cached or not intact."""
        if not DIGEST.fullmatch(digest):
            return None
        try:
            with open(self._path(digest), "rb") as handle:
                raw = handle.read(MAX_ENTRY_BYTES + 1)
        except OSError:
            return None
        media_type, newline, content = raw.partition(b"\n")
        if not newline or len(raw) > MAX_ENTRY_BYTES or not verified(digest, content):
            return None
        try:
            return content, media_type.decode("ascii")
        except UnicodeDecodeError:
            return None

    def put(self, digest: str, content: bytes, media_type: str) -> None:
        """Stores a verified manifest; a cache that cannot be written is only noted (the
        run does not depend on it)."""
        if not DIGEST.fullmatch(digest) or not verified(digest, content):
            return
        header = media_type.encode("ascii", errors="replace").replace(b"\n", b" ")
        target = self._path(digest)
        try:
            target.parent.mkdir(exist_ok=True)
            fd, temporary = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(header + b"\n" + content)
                os.replace(temporary, target)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError as exc:
            if not self.write_errors:
                self.write_errors.append(f"the manifest cache {self.directory} could not be "
                                         f"written ({exc.strerror or exc})")
