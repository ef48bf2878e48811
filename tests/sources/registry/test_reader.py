"""Manifests read through the registry API: from a real distribution registry (what
--registry reads), and through the fake Harbor's token flow (what --dedup reads by
default), with the on-disk cache."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harborguard.sources.harbor import HarborClient
from harborguard.sources.registry import ManifestCache, ManifestReader, Tokens
from tests.builders import art, snapshot
from tests.distribution import (
    DOCKER_LAYER,
    OCI_INDEX,
    OCI_LAYER,
    Registry,
    digest,
)
from tests.fakeharbor import FakeHarbor


def push_images(registry: Registry, repository: str) -> dict[str, Any]:
    """Two OCI images sharing a base layer, an index over both, a Docker schema 2 image."""
    base = registry.blob(repository, b"base layer " * 300, OCI_LAYER)
    one = registry.blob(repository, b"layer one " * 40, OCI_LAYER)
    two = registry.blob(repository, b"layer two " * 70, OCI_LAYER)
    m1 = registry.image(repository, [base, one], b'{"architecture":"amd64"}')
    m2 = registry.image(repository, [base, two], b'{"architecture":"arm64"}')
    index = registry.manifest(repository, {
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": m[2], "digest": m[0], "size": len(m[1]),
                       "platform": {"architecture": arch, "os": "linux"}}
                      for m, arch in ((m1, "amd64"), (m2, "arm64"))]}, tag="multi")
    docker_layer = registry.blob(repository, b"docker layer " * 10, DOCKER_LAYER)
    docker = registry.image(repository, [dict(base, mediaType=DOCKER_LAYER), docker_layer],
                            b'{"architecture":"amd64","docker":1}', docker=True)
    return {"base": base, "one": one, "two": two, "m1": m1, "m2": m2, "index": index,
            "docker": docker, "docker_layer": docker_layer}


OPEN: list[HarborClient] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while OPEN:
        OPEN.pop().close()


def reader(url: str, cache: Path | None, harbor: HarborClient | None = None
           ) -> tuple[ManifestReader, HarborClient]:
    transport = HarborClient(url, concurrency=4)
    OPEN.append(transport)
    if harbor is not None:
        OPEN.append(harbor)
    return ManifestReader(transport, Tokens(transport, harbor),
                          ManifestCache(str(cache)) if cache else None), transport


def test_real_registry_manifests_indexes_and_docker_schema2(distribution: Registry,
                                                             tmp_path: Path) -> None:
    pushed = push_images(distribution, "proj/app")
    read, _ = reader(distribution.url, tmp_path / "cache")
    wanted = [("proj/app", pushed[k][0]) for k in ("m1", "m2", "index", "docker")]
    found = read.read(wanted)
    assert found.failures == {}
    m1 = {b.digest: b.size for b in found.blobs[pushed["m1"][0]]}
    assert m1[pushed["m1"][0]] == len(pushed["m1"][1])
    assert m1[pushed["base"]["digest"]] == pushed["base"]["size"]
    assert len(m1) == 4  # manifest, config, two layers
    index = {b.digest for b in found.blobs[pushed["index"][0]]}
    # The index itself, both children and everything they reference, each once.
    assert index == {pushed["index"][0]} | set(m1) | {b.digest for b in
                                                      found.blobs[pushed["m2"][0]]}
    assert len(found.blobs[pushed["index"][0]]) == 1 + 4 + 3
    docker = found.blobs[pushed["docker"][0]]
    assert docker[0].media_type == "application/vnd.docker.distribution.manifest.v2+json"
    # One request per distinct digest: the index's children were already asked for.
    assert found.requests == found.fetched == 4
    again, _ = reader(distribution.url, tmp_path / "cache")
    second = again.read(wanted)
    assert second.blobs == found.blobs
    assert (second.requests, second.cached) == (0, 4)


def test_a_missing_or_damaged_manifest_is_named(distribution: Registry, tmp_path: Path) -> None:
    pushed = push_images(distribution, "proj/other")
    gone = digest(b"never pushed")
    read, _ = reader(distribution.url, tmp_path / "cache")
    found = read.read([("proj/other", gone), ("proj/other", pushed["m1"][0])])
    assert "HTTP 404" in found.failures[gone]
    assert pushed["m1"][0] in found.blobs
    # A cache entry whose bytes do not match its digest is read again, not believed.
    entry = tmp_path / "cache" / "sha256" / pushed["m1"][0].split(":")[1]
    entry.write_bytes(entry.read_bytes() + b" ")
    again, _ = reader(distribution.url, tmp_path / "cache")
    assert again.read([("proj/other", pushed["m1"][0])]).fetched == 1


def manifest_bytes(config: bytes, *layers: tuple[bytes, int]) -> tuple[str, bytes, str]:
    body = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": digest(config), "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": digest(d), "size": s}
                       for d, s in layers]}
    content = json.dumps(body).encode()
    return digest(content), content, body["mediaType"]


def test_harbor_token_flow_one_token_per_repository_and_pulls_recorded(
        tmp_path: Path) -> None:
    manifests = [manifest_bytes(b"c%d" % i, (b"base", 1000), (b"own%d" % i, 10 * i))
                 for i in range(3)]
    artifacts = [art(f"x{i}", [str(i)]) for i in range(3)]
    for artifact, manifest in zip(artifacts, manifests, strict=True):
        artifact["digest"] = manifest[0]
    data = snapshot({"app": artifacts}, None)
    with FakeHarbor(data, users={"robot$ci": "pw"},
                    manifests={m[0]: (m[1], m[2]) for m in manifests}) as fake:
        harbor = HarborClient(fake.url, username="robot$ci", password="pw")
        read, _ = reader(fake.url, None, harbor)
        found = read.read([("proj/app", m[0]) for m in manifests])
        assert found.failures == {}
        tokens = fake.requests_to(r"^/service/token$")
        assert len(tokens) == 1 and tokens[0].user == "robot$ci"
        assert tokens[0].query["scope"] == ["repository:proj/app:pull"]
        assert tokens[0].query["service"] == ["harbor-registry"]
        # Harbor records a pull for every manifest GET.
        pulled = [a["pull_time"] for a in fake.project("proj").repos["proj/app"].artifacts]
        assert all(not p.startswith("0001") for p in pulled)


def test_credentials_never_go_to_a_realm_of_another_origin(tmp_path: Path) -> None:
    manifest = manifest_bytes(b"c", (b"l", 5))
    artifact = art("x", ["1"])
    artifact["digest"] = manifest[0]
    with FakeHarbor(snapshot({"app": [artifact]}, None), users={"admin": "pw"},
                    manifests={manifest[0]: (manifest[1], manifest[2])}) as fake:
        # Harbor known under another address (localhost): the realm (127.0.0.1) differs.
        other = HarborClient(fake.url.replace("127.0.0.1", "localhost"), username="admin",
                             password="pw")
        read, _ = reader(fake.url, None, other)
        found = read.read([("proj/app", manifest[0])])
        tokens = fake.requests_to(r"^/service/token$")
        assert tokens and all(t.user is None for t in tokens)
        # Anonymous tokens do not open a private project: named, not guessed.
        assert "HTTP 401" in found.failures[manifest[0]]


def test_a_cold_read_sends_one_manifest_request_per_distinct_digest(tmp_path: Path) -> None:
    """Through Harbor's token flow, with many requests in flight at once: the challenge is
    learnt from one ``GET /v2/``, each repository's token fetched before its first manifest
    request, so no manifest request is answered 401 and none is sent twice (the same
    digest in two repositories is read once)."""
    repositories: dict[str, list[dict[str, Any]]] = {}
    manifests = {}
    for r in range(4):
        artifacts = []
        for i in range(12):
            m = manifest_bytes(b"c%d-%d" % (r, i), (b"base", 1000), (b"own%d-%d" % (r, i), i))
            if r == 3 and i < 4:  # copies of repository 0's first images
                m = manifest_bytes(b"c0-%d" % i, (b"base", 1000), (b"own0-%d" % i, i))
            manifests[m[0]] = (m[1], m[2])
            artifact = art(f"r{r}x{i}", [str(i)])
            artifact["digest"] = m[0]
            artifacts.append(artifact)
        repositories[f"app{r}"] = artifacts
    wanted = [(f"proj/app{r}", a["digest"]) for r in range(4) for a in repositories[f"app{r}"]]
    with FakeHarbor(snapshot(repositories, None), users={"robot$ci": "pw"},
                    manifests=manifests) as fake:
        harbor = HarborClient(fake.url, username="robot$ci", password="pw")
        transport = HarborClient(fake.url, concurrency=8)
        OPEN.extend((harbor, transport))
        read = ManifestReader(transport, Tokens(transport, harbor), ManifestCache(str(tmp_path)))
        found = read.read(wanted)
        assert found.failures == {}
        sent = fake.requests_to(r"/manifests/")
        assert len(sent) == len({d for _, d in wanted}) == 44 == found.requests
        assert len({s.path for s in sent}) == 44
        assert len(fake.requests_to(r"^/service/token$")) == 4
        assert len(fake.requests_to(r"^/v2/$")) == 1
        # Warm: nothing is asked, not even the ping.
        again = ManifestReader(transport, Tokens(transport, harbor),
                               ManifestCache(str(tmp_path))).read(wanted)
        assert (again.requests, again.cached) == (0, 44)
        assert len(fake.requests_to(r"^/v2/")) == 45
