"""A real distribution registry for the tests: Debian's ``docker-registry`` package (CNCF
distribution 2.8), started on 127.0.0.1 with filesystem storage in a temporary folder,
and images pushed to it through the registry API with plain HTTP requests (blobs, then
manifests), so that --dedup is measured on manifests served by real registry code.

Without the binary the tests that need it skip, unless HARBORGUARD_REQUIRE_REGISTRY is
set (.ci/run sets it): CI must not pass by skipping them."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

BINARY = os.environ.get("HARBORGUARD_REGISTRY_BINARY", "/usr/bin/docker-registry")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def available() -> str | None:
    """The binary's path, or None (then the test skips, or fails in CI)."""
    found = BINARY if os.access(BINARY, os.X_OK) else shutil.which("docker-registry")
    if found is None and os.environ.get("HARBORGUARD_REQUIRE_REGISTRY"):
        pytest.fail("docker-registry is required (HARBORGUARD_REQUIRE_REGISTRY is set) but "
                    "not installed: apt-get install docker-registry")
    return found


def digest(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Registry:
    """One registry process; ``url`` once started."""

    def __init__(self, binary: str, root: Path) -> None:
        self.binary = binary
        self.root = root
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self.http = httpx.Client(timeout=30)

    def start(self) -> Registry:
        for _ in range(5):  # a port taken between probe and bind: another one
            port = _free_port()
            config = self.root / "config.yml"
            config.write_text(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                f"storage:\n  filesystem:\n    rootdirectory: {self.root / 'data'}\n"
                f"http:\n  addr: 127.0.0.1:{port}\n")
            self._process = subprocess.Popen([self.binary, "serve", str(config)],
                                             stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL)
            self.url = f"http://127.0.0.1:{port}"
            if self._ready():
                return self
            self.stop()
        raise RuntimeError("docker-registry did not start")

    def _ready(self) -> bool:
        assert self._process is not None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            try:
                if self.http.get(self.url + "/v2/").status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    # -- pushing, as a client does --------------------------------------------------------

    def blob(self, repository: str, content: bytes, media_type: str) -> dict[str, Any]:
        """Uploads a blob (POST, then a monolithic PUT); returns its descriptor."""
        started = self.http.post(f"{self.url}/v2/{repository}/blobs/uploads/")
        assert started.status_code == 202, started.text
        location = started.headers["Location"]
        if location.startswith("/"):
            location = self.url + location
        separator = "&" if "?" in location else "?"
        put = self.http.put(f"{location}{separator}digest={digest(content)}", content=content,
                            headers={"Content-Type": "application/octet-stream"})
        assert put.status_code == 201, put.text
        return {"mediaType": media_type, "digest": digest(content), "size": len(content)}

    def manifest(self, repository: str, body: dict[str, Any], tag: str | None = None
                 ) -> tuple[str, bytes, str]:
        """Pushes a manifest (by tag, else by digest); returns (digest, bytes, type)."""
        content = json.dumps(body, indent=3).encode()
        media_type = body["mediaType"]
        reference = tag or digest(content)
        put = self.http.put(f"{self.url}/v2/{repository}/manifests/{reference}",
                            content=content, headers={"Content-Type": media_type})
        assert put.status_code == 201, put.text
        return digest(content), content, media_type

    def image(self, repository: str, layers: list[dict[str, Any]], config: bytes,
              *, docker: bool = False) -> tuple[str, bytes, str]:
        """An image manifest over ``layers`` (descriptors already pushed)."""
        config_type = DOCKER_CONFIG if docker else OCI_CONFIG
        body = {"schemaVersion": 2,
                "mediaType": DOCKER_MANIFEST if docker else OCI_MANIFEST,
                "config": self.blob(repository, config, config_type),
                "layers": layers}
        return self.manifest(repository, body)


def start_registry(root: Path) -> Registry | None:
    binary = available()
    if binary is None:
        return None
    return Registry(binary, root).start()


@pytest.fixture(scope="session")
def distribution(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """One registry per test session (import this fixture where it is needed)."""
    registry = start_registry(tmp_path_factory.mktemp("distribution"))
    if registry is None:
        pytest.skip("docker-registry is not installed (apt-get install docker-registry)")
    try:
        yield registry
    finally:
        registry.stop()
        registry.http.close()
