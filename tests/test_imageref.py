"""Image reference parsing: Docker's normalisation, odd cases and bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harborguard.imageref import ImageRef, parse_image_id, parse_image_ref
from tests.builders import shared_dir

HEX = "3fab5c181bd28a09b64397df76ae2bfaf1eac182979b5fdb7a342858004f36af"
DIGEST = f"sha256:{HEX}"
BUILDS_API = "tools-harbor.wmcloud.org/toolforge/builds-api:0.0.130-20240221160838-03b2a120_image"

VALID = [
    # text, registry, path, tag, digest
    ("ubuntu", "docker.io", "library/ubuntu", "latest", None),
    ("ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", None),
    ("docker.io/ubuntu", "docker.io", "library/ubuntu", "latest", None),
    ("docker.io/library/ubuntu", "docker.io", "library/ubuntu", "latest", None),
    ("index.docker.io/ubuntu", "docker.io", "library/ubuntu", "latest", None),
    ("index.docker.io/bitnami/redis:7", "docker.io", "bitnami/redis", "7", None),
    ("bitnami/redis", "docker.io", "bitnami/redis", "latest", None),
    ("docker.io/library/foo/bar", "docker.io", "library/foo/bar", "latest", None),
    ("localhost:5000/a/b:1", "localhost:5000", "a/b", "1", None),
    ("localhost/a", "localhost", "a", "latest", None),
    # A single component is never a registry, not even "localhost" (Docker's own FIXME).
    ("localhost", "docker.io", "library/localhost", "latest", None),
    ("localhost:5000", "docker.io", "library/localhost", "5000", None),
    ("test_com/foo", "docker.io", "test_com/foo", "latest", None),
    ("test-com:8080/foo", "test-com:8080", "foo", "latest", None),
    ("127.0.0.1:5000/debian", "127.0.0.1:5000", "debian", "latest", None),
    ("[fc00::1]:5000/docker/docker", "[fc00::1]:5000", "docker/docker", "latest", None),
    ("xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo", "latest", None),
    # Host names are case-insensitive: one spelling.
    ("Registry.Example.ORG/team/app:v1", "registry.example.org", "team/app", "v1", None),
    (f"registry.example:443/p/r@{DIGEST}", "registry.example:443", "p/r", None, DIGEST),
    (f"busybox:1.36@{DIGEST}", "docker.io", "library/busybox", "1.36", DIGEST),
    (f"registry.example.org:5000/team/app:1.2.3@{DIGEST}",
     "registry.example.org:5000", "team/app", "1.2.3", DIGEST),
    (f"redis@{DIGEST}", "docker.io", "library/redis", None, DIGEST),
    (BUILDS_API, "tools-harbor.wmcloud.org", "toolforge/builds-api",
     "0.0.130-20240221160838-03b2a120_image", None),
    ("docker-registry.tools.wmflabs.org/nginx:latest",
     "docker-registry.tools.wmflabs.org", "nginx", "latest", None),
    ("dock__er/do-c---k.er_x", "docker.io", "dock__er/do-c---k.er_x", "latest", None),
    ("a/b:" + "t" * 128, "docker.io", "a/b", "t" * 128, None),
    ("a/b:_x.Y-1", "docker.io", "a/b", "_x.Y-1", None),
    # 64 hex is an image ID on its own, but a fine name with a registry in front.
    (f"docker.io/{HEX}", "docker.io", f"library/{HEX}", "latest", None),
    (f"x@sha512:{'a' * 128}", "docker.io", "library/x", None, f"sha512:{'a' * 128}"),
]


@pytest.mark.parametrize(("text", "registry", "path", "tag", "digest"), VALID, ids=lambda v: v)
def test_valid(text: str, registry: str, path: str, tag: str | None, digest: str | None) -> None:
    assert parse_image_ref(text) == ImageRef(registry, path, tag, digest)


INVALID = [
    # text, words the message must contain
    ("", "empty"),
    ("UPPER/case", "must be lowercase"),
    ("docker/Docker", "must be lowercase"),
    ("example.com/Team/app", "must be lowercase"),
    ("a//b", "empty component"),
    ("docker///docker", "empty component"),
    ("a/", "empty component"),
    ("example.com/", "missing repository path"),
    (":tag", "missing repository name"),
    ("@" + DIGEST, "missing repository name"),
    ("repo@sha256:abc", "64 hex digits, got 3"),
    (f"repo@sha256:{HEX}00", "64 hex digits, got 66"),
    (f"repo@sha256:{HEX.upper()}", "lower-case hex"),
    (f"repo@md5:{'a' * 32}", "not supported"),
    ("repo@", "empty digest"),
    ("repo@latest", "not algorithm:hex"),
    ("repo:" + "t" * 129, "129 characters long, the maximum is 128"),
    ("repo:", "empty tag"),
    ("repo:-x", "is not valid"),
    ("repo:.x", "is not valid"),
    # A ':' before the first '/' makes that component a registry with a (bad) port.
    ("repo:a/b", "registry 'repo:a' is not a valid host"),
    ("-docker", "is not valid"),
    ("docker-/docker", "is not valid"),
    ("dock..er/docker", "registry 'dock..er' is not a valid host"),
    ("dock_.er/docker", "registry 'dock_.er' is not a valid host"),
    ("____/____", "is not valid"),
    ("-docker.io/docker/docker", "not a valid host"),
    ("https://github.com/docker/docker", "not a valid host"),
    ("[fc00::1]", "is not valid"),
    ("fc00::1:5000/debian", "not a valid host"),
    (HEX, "image ID is not a reference"),
    (" ubuntu", "whitespace"),
    ("ubuntu\n", "whitespace"),
    ("ubu ntu", "whitespace"),
    ("a/" + "b" * 250, "longer than 255"),
    ("ubuntu:latest:extra", "is not valid"),
    ("ubüntu", "is not valid"),
    ("ubuntu:lätest", "is not valid"),
]


@pytest.mark.parametrize(("text", "words"), INVALID, ids=lambda v: v[:40])
def test_invalid_is_one_clear_line(text: str, words: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_image_ref(text)
    message = str(info.value)
    assert message.startswith("invalid image reference ")
    assert words in message
    assert "\n" not in message
    assert len(message) < 250


def test_repr_of_input_is_shortened_in_messages() -> None:
    with pytest.raises(ValueError, match=r"\.\.\.'") as info:
        parse_image_ref("a/" + "b" * 300)
    assert len(str(info.value)) < 200


@pytest.mark.parametrize("password", ["UrlPass777", "UrlPass777" * 12])
def test_credentials_in_a_reference_are_masked_in_messages(password: str) -> None:
    # Masked before the input is shortened: a cut must not keep a password without its '@'.
    with pytest.raises(ValueError) as info:
        parse_image_ref(f"https://admin:{password}@tools-harbor.example/jobs-api:0.0.1")
    assert "UrlPass777" not in str(info.value)
    assert "'https://***@tools-harbor.example/jobs-api:0.0.1'" in str(info.value)
    with pytest.raises(ValueError) as info:
        parse_image_id(f"docker-pullable://admin:{password}@tools-harbor.example/jobs-api")
    assert "UrlPass777" not in str(info.value) and "***@" in str(info.value)


def test_tag_and_digest_is_pinned_by_the_digest() -> None:
    ref = parse_image_ref(f"busybox:1.36@{DIGEST}")
    assert ref.pinned and ref.tag == "1.36" and ref.digest == DIGEST
    assert not parse_image_ref("busybox:1.36").pinned


def test_str_and_repository_are_canonical() -> None:
    assert str(parse_image_ref("ubuntu")) == "docker.io/library/ubuntu:latest"
    assert str(parse_image_ref(f"busybox:1@{DIGEST}")) == f"docker.io/library/busybox:1@{DIGEST}"
    assert str(parse_image_ref(f"r@{DIGEST}")) == f"docker.io/library/r@{DIGEST}"
    assert parse_image_ref("localhost:5000/a/b:1").repository == "localhost:5000/a/b"
    # The canonical form parses back to itself.
    for text, *_ in VALID:
        ref = parse_image_ref(text)
        assert parse_image_ref(str(ref)) == ref


def test_refs_are_hashable_for_dictionary_matching() -> None:
    index = {parse_image_ref("docker.io/ubuntu"): 1}
    assert index[parse_image_ref("ubuntu:latest")] == 1
    assert index[parse_image_ref("index.docker.io/library/ubuntu")] == 1


IMAGE_IDS = [
    # imageID, the ImageRef it names (None: a local image ID)
    (f"tools-harbor.wmcloud.org/toolforge/builds-api@{DIGEST}",
     ImageRef("tools-harbor.wmcloud.org", "toolforge/builds-api", None, DIGEST)),
    (f"docker-pullable://nginx@{DIGEST}", ImageRef("docker.io", "library/nginx", None, DIGEST)),
    (f"docker-pullable://docker-registry.tools.wmflabs.org/web@{DIGEST}",
     ImageRef("docker-registry.tools.wmflabs.org", "web", None, DIGEST)),
    (f"registry.example.org:5000/team/app@{DIGEST}",
     ImageRef("registry.example.org:5000", "team/app", None, DIGEST)),
    (f"docker://{DIGEST}", None),
    (DIGEST, None),
    (HEX, None),
    (f"docker://{HEX}", None),
]


@pytest.mark.parametrize(("text", "expected"), IMAGE_IDS, ids=lambda v: str(v)[:50])
def test_image_id(text: str, expected: ImageRef | None) -> None:
    assert parse_image_id(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("docker-pullable://", "empty"),
        ("docker://", "empty"),
        ("sha256:abc", "64 hex digits"),
        ("nginx:latest", "neither repo@digest nor a local image ID"),
        ("docker-pullable://nginx", "neither"),
        ("nginx@sha256:abc", "64 hex digits"),
        (f"Nginx@{DIGEST}", "must be lowercase"),
    ],
)
def test_bad_image_id(text: str, words: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_image_id(text)
    assert str(info.value).startswith("invalid imageID ")
    assert words in str(info.value)


def _strings(node: Any, key: str) -> list[str]:
    if isinstance(node, dict):
        found = [v for k, v in node.items() if k == key and isinstance(v, str)]
        return found + [s for v in node.values() for s in _strings(v, key)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v, key)]
    return []


def test_every_image_in_the_real_kubectl_outputs_parses() -> None:
    images: list[str] = []
    image_ids: list[str] = []
    for path in sorted((shared_dir() / "toolforge").glob("kubectl_*.json")):
        data = json.loads(path.read_text())
        images += _strings(data, "image")
        image_ids += [i for i in _strings(data, "imageID") if i]
    for path in sorted((shared_dir() / "realworld" / "k8s").glob("*.json")):
        data = json.loads(path.read_text())
        images += _strings(data, "image")
        image_ids += [i for i in _strings(data, "imageID") if i]
    assert len(images) > 30
    for image in images:
        parse_image_ref(image)
    resolved = [parse_image_id(i) for i in image_ids]
    local = [i for i, r in zip(image_ids, resolved, strict=True) if r is None]
    assert local == [
        "sha256:843fe7de8be717778b413bbd63b9dfb5465f6ad2a8562121ab5ce849cd324574",
        "docker://sha256:bd8c04b4d3ccdade3998c45a1d5af097a595ef8c651cde04f49de0eccb53dade",
    ]
    assert all(r is None or r.pinned for r in resolved)


def test_common_shape_fast_path_agrees_with_the_general_parser() -> None:
    """The one-regex path for registry/path:tag must give exactly what the general one gives."""
    import random
    import re

    import harborguard.imageref as module

    def parse(text: str, fast: bool) -> object:
        saved = module._COMMON
        if not fast:
            module._COMMON = re.compile(r"(?!x)x")
        try:
            return module._parse(text)
        except ValueError:
            return "invalid"
        finally:
            module._COMMON = saved

    rng = random.Random(20261125)
    samples = ["tools-harbor.wmcloud.org/toolforge/builds-api:0.0.130_image",
               "localhost:5000/a/b:1", "Reg.Example:443/p/r:v1", "docker.io/x/y:1",
               "index.docker.io/x:1", "a.b/c__d/e--f:1", "a.b/C:1", "a.b/c:-1", "a-.b/c:1"]
    for _ in range(20000):
        samples.append("".join(rng.choice("ab.-_:/9Z@") for _ in range(rng.randint(1, 24))))
        samples.append("r" + rng.choice([".io", ".x:5", ":80", "x.y"]) + "/"
                       + "".join(rng.choice("ab._-/9") for _ in range(rng.randint(1, 10)))
                       + ":" + "".join(rng.choice("aZ9._-") for _ in range(rng.randint(1, 6))))
    assert [parse(t, True) for t in samples] == [parse(t, False) for t in samples]
