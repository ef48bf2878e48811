"""The registry API (``/v2/``) that Harbor serves, or the distribution registry behind
it (``--registry``): manifests read by digest for deduplicated storage figures.

- ``manifests``: what a manifest says (kind, blobs, an index's children), pure;
- ``auth``: the token flow (a 401's Bearer challenge, tokens per scope, in memory);
- ``cache``: manifests on disk by digest, verified on every read, written atomically;
- ``reader``: many artifacts' manifests on a pool of request threads, each digest once,
  through the Harbor client (``sources.harbor.client``: retries, deadline, size bound).
"""

from harborguard.sources.registry.auth import Tokens
from harborguard.sources.registry.cache import ManifestCache, default_cache_dir
from harborguard.sources.registry.reader import ManifestReader, Manifests

__all__ = ["ManifestCache", "ManifestReader", "Manifests", "Tokens", "default_cache_dir"]
