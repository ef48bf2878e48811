"""Secrets kept out of snapshots and messages: values under secret-looking keys in a
chart's values.yaml, and user:password@ in URLs and references (DESIGN.md, "Secrets")."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from harborguard.redact import REDACTED, is_secret_key, mask_userinfo, redact_yaml
from harborguard.sources.helmchart import chart_images
from tests.builders import shared_dir

CHART_VALUES = shared_dir() / "toolforge" / "builds-api@322f874" / "deployment/chart/values.yaml"
HARBOR = "tools-harbor.wmcloud.org/toolforge"
DIGEST = "sha256:" + "e" * 64

VALUES = """\
# harborPassword: CommentedOut1
replicas: 2
image:
  repository: tools-harbor.wmcloud.org/toolforge/jobs-api
  tag: "1.0"
harborPassword: TopSecretValue123
config:
  apiToken: "tok-abcdef-999"
  single: 'keep me'
  db:
    password: 'Quoted Secret 7'
  tls:
    privateKey: |
      -----BEGIN KEY-----
      BlockSecret42
      -----END KEY-----
    caBundle: |
      not a secret
  sidecars: [{name: a, token: FlowSecret5}]
  credentials:
    - user: admin
      pass: ListSecret6
  db-secret: &shared AnchoredSecret8
  reused: *shared
  folded-secret: >-
    FoldedSecret9
    and more
  api-key: !!str TaggedSecret10
  emptyPassword: ""
  nullToken:
  extraConfig: |
    [auth]
    password = EmbeddedSecret11
    url = https://robot:UrlSecret12@harbor.example.org/v2
sidecar:
  image: tools-harbor.wmcloud.org/toolforge/proxy:2.0
"""
SECRETS = ["CommentedOut1", "TopSecretValue123", "tok-abcdef-999", "Quoted Secret 7",
           "BlockSecret42", "BEGIN KEY", "FlowSecret5", "ListSecret6", "AnchoredSecret8",
           "FoldedSecret9", "TaggedSecret10", "EmbeddedSecret11", "UrlSecret12"]


def test_values_under_secret_keys_are_redacted_and_the_rest_is_as_written() -> None:
    out = redact_yaml(VALUES)
    assert [s for s in SECRETS if s in out] == []
    # Readable, same lines: keys stay, only their values change.
    assert out.count("\n") == VALUES.count("\n")
    for line in ("harborPassword: <redacted>", "  apiToken: <redacted>",
                 "    password: <redacted>", "    privateKey: <redacted>",
                 "  sidecars: [{name: a, token: <redacted>}]", "      pass: <redacted>",
                 "  db-secret: &shared <redacted>", "  reused: *shared",
                 "  api-key: <redacted>", '  emptyPassword: ""', "  nullToken:",
                 "# harborPassword: <redacted>", "    password = <redacted>",
                 "    url = https://***@harbor.example.org/v2", "  single: 'keep me'",
                 "    caBundle: |", "      not a secret"):
        assert line in out.split("\n"), line
    before, after = yaml.safe_load(VALUES), yaml.safe_load(out)
    assert after["image"] == before["image"] and after["sidecar"] == before["sidecar"]
    assert after["config"]["credentials"] == [{"user": REDACTED, "pass": REDACTED}]
    assert after["config"]["reused"] == REDACTED  # the alias still resolves


def test_images_read_from_redacted_chart_values_are_unchanged() -> None:
    served = CHART_VALUES.read_text().replace("tag: OVERWRITTEN_BY_CI", "tag: 1.0_image")
    redacted = redact_yaml(served)
    assert 'harborPassword: "PLACEHOLDER"' not in redacted
    assert "harborPassword: <redacted>" in redacted
    for text in (served + VALUES.split("replicas: 2\n", 1)[1].replace("image:", "other:", 1),
                 served):
        found = chart_images(text, "1.0", None, repository=f"{HARBOR}/builds-api")
        assert chart_images(redact_yaml(text), "1.0", None,
                            repository=f"{HARBOR}/builds-api") == found
        assert f"{HARBOR}/builds-api:1.0_image" in [i.ref for i in found.images]


def test_text_that_is_not_yaml_is_redacted_line_by_line() -> None:
    broken = ("a: [\nharborPassword: TopSecretValue123\nb:\n  apiToken: 'tok-abcdef-999'\n"
              "secret:\n  nested: NestedSecret1\n  more: x\nafter: 1\n"
              "block-token: |\n  BlockSecret42\nlast: 2\n")
    out = redact_yaml(broken)
    assert [s for s in ("TopSecretValue123", "tok-abcdef-999", "NestedSecret1", "BlockSecret42")
            if s in out] == []
    # Lines indented under a secret key are its value (a block, a map): blanked.
    assert out.split("\n") == [
        "a: [", "harborPassword: <redacted>", "b:", "  apiToken: <redacted>",
        "secret: <redacted>", "", "", "after: 1", "block-token: <redacted>", "", "last: 2", ""]


def test_values_without_secrets_are_returned_as_they_are() -> None:
    text = "image:\n  repository: h.example/p/x  # pinned\n  tag: '1.0'\n"
    assert redact_yaml(text) is text
    assert redact_yaml("") == ""
    recursive = "a: &r [*r, {token: t1}]\n"
    assert redact_yaml(recursive) == "a: &r [*r, {token: <redacted>}]\n"
    with_bom = "\ufeffa: 1\npassword: x\n"
    assert redact_yaml(with_bom) == "\ufeffa: 1\npassword: <redacted>\n"


def test_secret_keys_are_the_ones_scan_values_skips() -> None:
    assert all(is_secret_key(k) for k in ("harborPassword", "apiToken", "api-key", "API_KEY",
                                          "privateKey", "existingSecret", "credentials"))
    assert not any(is_secret_key(k) for k in ("image", "tag", "repository", "registry"))


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("invalid image reference 'https://admin:UrlPass777@tools-harbor.example/jobs-api:0.0.1'",
         "invalid image reference 'https://***@tools-harbor.example/jobs-api:0.0.1'"),
        ("oci://tok-abc@harbor.example.org/charts/x", "oci://***@harbor.example.org/charts/x"),
        ("https://u:p@ss@host/x and http://v:q@other", "https://***@host/x and http://***@other"),
        ("admin:UrlPass777@harbor.example.org/p/x:1", "***@harbor.example.org/p/x:1"),
        ("image 'u:p@registry:5000/p/x'", "image '***@registry:5000/p/x'"),
        # Not credentials: digests, image IDs, plain hosts and mail addresses stay.
        (f"ubuntu:22.04@{DIGEST}", f"ubuntu:22.04@{DIGEST}"),
        (f"docker-pullable://h.example/p/x@{DIGEST}", f"docker-pullable://h.example/p/x@{DIGEST}"),
        (f"h.example:5000/p/x:1@{DIGEST} runs", f"h.example:5000/p/x:1@{DIGEST} runs"),
        ("https://harbor.example.org/p", "https://harbor.example.org/p"),
        ("ask dev@example.org", "ask dev@example.org"),
    ],
)
def test_mask_userinfo(text: str, masked: str) -> None:
    assert mask_userinfo(text) == masked


def test_images_under_secret_looking_maps_stay_evidence_and_their_secrets_go() -> None:
    text = ("tokenReviewer:\n  image:\n    repository: reg.example/toolforge/token-reviewer\n"
            "    tag: \"1.2.3\"\n  apiToken: tok-999\n"
            "secretsSync:\n  image: reg.example/toolforge/secrets-sync:2.0\n  extra: hunter2\n"
            "credentials:\n  user: admin\n  pass: hunter2\n  note: reg.example/a/b:1\n")
    redacted = redact_yaml(text)
    assert "tok-999" not in redacted and "hunter2" not in redacted and "admin" not in redacted
    for values in (text, redacted):
        refs = {i.ref for i in chart_images(values, "1.0", None).images}
        assert refs == {"reg.example/toolforge/token-reviewer:1.2.3",
                        "reg.example/toolforge/secrets-sync:2.0"}


# -- issue 12, item 17: secret keys by word, name/value pairs, images kept ------------------

MORE_SECRETS = """\
DB_PASS: DbPassSecret1
db-pass: DbPassSecret2
accessKey: AccessKeySecret3
AWS_SECRET_ACCESS_KEY: AwsSecret4
.dockerconfigjson: eyJhdXRocyI6e30fake5
dockerConfigJson: DockerSecret6
basicAuth: admin:BasicAuthSecret7
tls:
  key: TlsKeySecret8
registry:
  auths:
    harbor.example.org: {auth: AuthsSecret9}
env:
  - name: HARBOR_PASSWORD
    value: EnvSecret10
  - {name: apiKey, value: EnvSecret11}
  - name: LOG_LEVEL
    value: debug
extraEnv: [{key: SERVICE_TOKEN, value: EnvSecret12}]
passphrase: PassphraseSecret13
tokenRefresher:
  repository: tools-harbor.wmcloud.org/toolforge/token-refresher
  tag: "1.2"
  token: TokenSecret14
  image: tools-harbor.wmcloud.org/toolforge/token-refresher:1.2
keycloakImage: tools-harbor.wmcloud.org/toolforge/keycloak:3
accessKeyImageTag: "4.0"
monkey: banana
author: someone
bypass: true
passthrough: yes
oauth2Proxy:
  image: tools-harbor.wmcloud.org/toolforge/oauth2-proxy:7
"""
MORE = [f"Secret{i}" for i in range(1, 15)] + ["eyJhdXRocyI6e30fake5"]


def test_secret_keys_by_word_and_name_value_pairs_are_redacted() -> None:
    out = redact_yaml(MORE_SECRETS)
    assert [s for s in MORE if s in out] == []
    before, after = yaml.safe_load(MORE_SECRETS), yaml.safe_load(out)
    assert after["env"][2] == {"name": "LOG_LEVEL", "value": "debug"}
    assert after["env"][0] == {"name": "HARBOR_PASSWORD", "value": REDACTED}
    # Images and the keys that only look like secret words stay as written.
    for key in ("keycloakImage", "accessKeyImageTag", "monkey", "author", "bypass",
                "passthrough", "oauth2Proxy"):
        assert after[key] == before[key], key
    refresher = after["tokenRefresher"]
    assert refresher["token"] == REDACTED
    assert {k: refresher[k] for k in ("repository", "tag", "image")} == \
        {k: before["tokenRefresher"][k] for k in ("repository", "tag", "image")}


def test_images_under_secret_looking_keys_are_still_found() -> None:
    repository = f"{HARBOR}/builds-api"
    found = chart_images(MORE_SECRETS, "1.0", None, repository=repository)
    refs = [i.ref for i in found.images]
    assert f"{HARBOR}/token-refresher:1.2" in refs and f"{HARBOR}/keycloak:3" in refs
    assert chart_images(redact_yaml(MORE_SECRETS), "1.0", None, repository=repository) == found


@pytest.mark.parametrize("key", ["DB_PASS", "db-pass", "accessKey", "secretKey", "AWS_SECRET",
                                 "dockerconfigjson", ".dockerconfigjson", "basicAuth", "auth",
                                 "HARBOR_PASSWORD", "apiKEY", "sshKeys", "OAuthToken", "pwd",
                                 "adminPw", "tls.key", "passphrase", "credentialsFile"])
def test_secret_looking_keys(key: str) -> None:
    assert is_secret_key(key)
    assert redact_yaml(f"{key}: S3cretValue\n") == f"{key}: <redacted>\n"
    # Not YAML: redacted line by line, by the same rule.
    assert "S3cretValue" not in redact_yaml(f"a: [\n{key}: S3cretValue\n")


@pytest.mark.parametrize("key", ["monkey", "keycloakImage", "author", "authority", "bypass",
                                 "passthrough", "compass", "keyboardImage", "tokenImage",
                                 "secretsImageTag", "repository", "tag", "image", "hotkey",
                                 "oauth2Proxy", "turnkeyVersion"])
def test_keys_that_only_look_secret_keep_their_values(key: str) -> None:
    assert not is_secret_key(key)
    assert redact_yaml(f"{key}: h.example/p/x:1\n") == f"{key}: h.example/p/x:1\n"
    assert "h.example/p/x:1" in redact_yaml(f"a: [\n{key}: h.example/p/x:1\npassword: x\n")


# -- properties: secrets never survive, images always do -----------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_SECRET_KEYS = st.sampled_from(["password", "DB_PASS", "accessKey", "apiToken", "basicAuth",
                                ".dockerconfigjson", "clientSecret", "tls-key", "credentials",
                                "adminPwd"])
_PLAIN_KEYS = st.sampled_from(["replicas", "name", "port", "monkey", "author", "labels",
                               "config", "tokenRefresher", "settings", "enabled"])
_IMAGE_KEYS = st.sampled_from(["image", "repository", "tag", "keycloakImage", "imageTag"])


@st.composite
def _values(draw: st.DrawFn, depth: int = 0) -> tuple[Any, list[str], list[str]]:
    """A values tree, the secret strings in it, and the image strings in it."""
    secrets: list[str] = []
    images: list[str] = []
    tree: dict[str, Any] = {}
    for position in range(draw(st.integers(0, 4))):
        choice = draw(st.integers(0, 4 if depth < 3 else 2))
        if choice == 0:
            secret = f"Sekrit{depth}x{position}x{draw(st.integers(0, 999))}"
            tree[draw(_SECRET_KEYS)] = secret
            secrets.append(secret)
        elif choice == 1:
            image = f"h.example/p/img{depth}{position}:1.{draw(st.integers(0, 99))}"
            tree[draw(_IMAGE_KEYS)] = image
            images.append(image)
        elif choice == 2:
            tree[draw(_PLAIN_KEYS)] = draw(st.integers(0, 9))
        elif choice == 3:
            child, more_secrets, more_images = draw(_values(depth + 1))
            tree[draw(st.one_of(_PLAIN_KEYS, _SECRET_KEYS))] = child
            secrets += more_secrets
            images += more_images
        else:
            secret = f"EnvSekrit{depth}x{position}"
            tree["env"] = [{"name": "HARBOR_PASSWORD", "value": secret},
                           {"name": "LOG_LEVEL", "value": "info"}]
            secrets.append(secret)
    # Keys drawn twice keep the last value only: count what is really there.
    text = yaml.safe_dump(tree)
    return tree, [s for s in secrets if s in text], [i for i in images if i in text]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(values=_values())
def test_secret_values_never_survive_and_images_always_do(
        values: tuple[Any, list[str], list[str]]) -> None:
    tree, secrets, images = values
    for style in (False, True):
        text = yaml.safe_dump(tree, default_flow_style=style)
        out = redact_yaml(text)
        assert [s for s in secrets if s in out] == []
        assert [i for i in images if i not in out] == []


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_any_text_is_redacted_without_error(text: str) -> None:
    out = redact_yaml(text)
    assert isinstance(out, str) and out.count("\n") == text.count("\n")


def test_tokens_and_passwords_in_a_tools_message_are_masked() -> None:
    from harborguard.redact import mask_secrets

    line = ('error: exec plugin: {"status":{"token":"KubeTok5secret"}} Authorization: Bearer '
            'KubeTok6abc --password=KubePw7 password: KubePw8 https://u:KubePw9@k8s.example/x')
    masked = mask_secrets(line)
    for secret in ("KubeTok5secret", "KubeTok6abc", "KubePw7", "KubePw8", "KubePw9"):
        assert secret not in masked
    plain = 'error: You must be logged in to the server (Unauthorized); context "x" missing'
    assert mask_secrets(plain) == plain
