"""Keeping secrets out of reports, errors and snapshots (docs/DESIGN.md, "Secrets").

Two kinds of secret reach harborguard from outside: values under keys that look secret
(``harborPassword:``, ``apiToken:``) in Helm values, and credentials in URLs
(``https://user:password@host``) anywhere a reference or a line is quoted. Text that is
stored (a chart's values.yaml in a snapshot) or quoted (a finding message) goes through
here first.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from yaml.nodes import MappingNode, Node, ScalarNode
# yaml itself is imported where YAML is redacted: the URL cleaners are used by every run,
# and most runs read no YAML.

REDACTED = "<redacted>"
USERINFO_MASK = "***@"

# A key is secret-looking when it holds one of SECRET_WORDS anywhere (case-insensitive), or
# one of SECRET_PARTS as a whole word of it: the key split at '_', '-', '.', digits and
# camelCase humps (`DB_PASS`, `accessKey`, `basicAuth`; not `monkey`, `author`, `bypass`).
SECRET_WORDS = ("password", "passwd", "passphrase", "token", "secret", "credential",
                "dockerconfig", "apikey", "privatekey", "accesskey", "secretkey")
SECRET_PARTS = frozenset({"pass", "pwd", "pw", "key", "keys", "auth", "auths", "authorization"})
# Keys that hold (part of) an image reference are never secret, even under a secret-looking
# key (`tokenRefresher: {repository: ..., tag: ...}`, `keycloakImage:`): images are the
# evidence harborguard reads from chart values, and none of them is a secret.
IMAGE_PARTS = frozenset({"image", "images", "repository", "registry", "tag", "digest",
                         "version"})
# The entries of a list of name/value pairs (`env: [{name: HARBOR_PASSWORD, value: x}]`).
PAIR_NAMES = ("name", "key")
PAIR_VALUE = "value"
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def _parts(key: str) -> tuple[str, ...]:
    """The words of a key, lower-cased (values files repeat the same keys: short ones are
    cached)."""
    if len(key) > 100:
        return _split_key(key)
    return _cached_parts(key)


def _split_key(key: str) -> tuple[str, ...]:
    return tuple(word.lower() for word in _WORD.findall(key))


_cached_parts = lru_cache(maxsize=4096)(_split_key)


def is_image_key(key: object) -> bool:
    """A key naming an image or a part of one (``image``, ``repository``, ``imageTag``,
    ``keycloakImage``): the last word of the key is one of IMAGE_PARTS."""
    parts = _parts(str(key))
    return bool(parts) and parts[-1] in IMAGE_PARTS


def is_secret_key(key: object) -> bool:
    """True for keys whose values must never be shown (``harborPassword``, ``api-key``,
    ``DB_PASS``, ``accessKey``, ``.dockerconfigjson``, ``basicAuth``); never for an image's
    keys (``is_image_key``)."""
    text = str(key)
    if is_image_key(text):
        return False
    lowered = text.lower().replace("-", "").replace("_", "")
    if any(word in lowered for word in SECRET_WORDS):
        return True
    return any(part in SECRET_PARTS for part in _parts(text))


def secret_below(key: object, secret: bool) -> bool:
    """Whether the value under ``key`` is secret, in a mapping that is (``secret``) or is
    not under a secret-looking key: image keys never are."""
    if is_image_key(key):
        return False
    return secret or is_secret_key(key)


# -- credentials in URLs and references -----------------------------------------------------

# scheme://userinfo@: up to the last '@' of the authority (a password may hold a raw '@').
# Possessive quantifiers: every message with an '@' is scanned, in linear time.
_URL_USERINFO = re.compile(r"(?<=://)(?:[^\s/?#'\"@]*+@)++")
# user:password@host/... without a scheme, at the start of a word; not name:tag@digest
# (a digest is algorithm:encoded; a host:port after the '@' is not a digest).
_DIGEST_AFTER_AT = (
    r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:"
    r"(?!\d{1,5}(?![A-Za-z0-9=_-]))[A-Za-z0-9=_-]"
)
_BARE_USERINFO = re.compile(
    r"(?<![^\s'\"(\[{,=<])[^\s/@'\"(\[{,=<:]++:(?:[^\s/'\"@]*+@)++"
    rf"(?!{_DIGEST_AFTER_AT})"
)
# What the bare form needs, found fast (a literal first character): "user:pass@" in a word.
_BARE_CANDIDATE = re.compile(r":[^\s/'\"@]*+@")


def split_userinfo(url: str) -> tuple[str | None, str]:
    """``(userinfo, url without it)`` for ONE URL value (``--harbor``, a snapshot's
    ``harbor``): ``http://robot:Pa@ss@host`` -> ``("robot:Pa@ss", "http://host")``.

    The userinfo ends at the LAST ``@`` of the authority. The authority is read generously:
    up to the first ``/``, ``?`` or ``#`` after the last ``@`` of the value, since a raw
    password may hold any of them and a Harbor base URL has no ``@`` in its path (what this
    gets wrong is masked too much, never too little). ``userinfo`` is None without an ``@``;
    a value without ``://`` is read as an authority."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    userinfo, at, host = rest.rpartition("@")
    if not at:
        return None, url
    return userinfo, f"{scheme}{sep}{host}"


def mask_url(url: str) -> str:
    """One URL value as it may be shown: its userinfo (``user:password@``, split at the last
    ``@``) replaced by ``***@``; a URL without one is unchanged."""
    userinfo, rest = split_userinfo(url)
    if userinfo is None:
        return url
    scheme, sep, host = rest.rpartition("://")
    return f"{scheme}{sep}{USERINFO_MASK}{host}" if sep else f"{USERINFO_MASK}{host}"


def url_has_password(url: str) -> bool:
    """True when the URL value carries ``user:password@`` (a ``:`` in its userinfo)."""
    userinfo, _ = split_userinfo(url)
    return userinfo is not None and ":" in userinfo


def mask_userinfo(text: str) -> str:
    """``https://user:password@host/x`` -> ``https://***@host/x``, wherever it is in ``text``
    (also ``user:password@host/x`` without a scheme); anything else is left as it is."""
    if "@" not in text:
        return text
    if "://" in text:
        text = _URL_USERINFO.sub(USERINFO_MASK, text)
    if _BARE_CANDIDATE.search(text) is None:
        return text
    return _BARE_USERINFO.sub(USERINFO_MASK, text)


# A tool's message (kubectl's, helm's, an exec credential plugin's) may quote a token:
# `Authorization: Bearer x`, `{"token": "x"}`, `--password=x`, `password: x`.
_SCHEME_SECRET = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{4,}")
_KEYED_SECRET = re.compile(
    r"""(?ix)\b([\w.-]*(?:pass(?:word|wd)?|token|secret|credential|api[_-]?key|auth)[\w.-]*)
    (["']?\s*[:=]\s*["']?)([^\s"',}\]]+)""")


def mask_secrets(text: str) -> str:
    """Free text (a tool's stderr line) with tokens and passwords it quotes masked, and
    ``user:password@`` in URLs too."""
    text = _SCHEME_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    text = _KEYED_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    return mask_userinfo(text)


# -- values under secret-looking keys in YAML text ------------------------------------------

_NULL_TAG = "tag:yaml.org,2002:null"
# What may hold a secret at all (a fast first look; is_secret_key decides).
_MAY_HOLD_SECRETS = re.compile(
    r"pass|pwd|pw|key|auth|secret|token|credential|dockerconfig|://[^\s/?#]*@", re.IGNORECASE)
# `key: value` or `key=value` on one line; `head` ends at the separator. Each key on the
# line is tried in turn (`_secret_line`), and the first secret-looking one is taken.
_KEY_LINE = re.compile(
    r"""(?P<head>(?:^|(?<=[\s{,\[#]))["']?(?P<key>[^\s"'{}\[\],:=#]+)["']?[ \t]*"""
    r"""(?::(?=\s|$)|=))"""
)


def _secret_line(line: str) -> re.Match[str] | None:
    """The ``key: value`` of ``line`` whose key looks secret, if there is one."""
    position = 0
    while (match := _KEY_LINE.search(line, position)) is not None:
        if is_secret_key(match.group("key")):
            return match
        position = match.start("key") + 1
    return None


# A node's properties before its value: an anchor (kept, aliases refer to it) or a tag.
_PROPERTY = re.compile(r"([&!]\S*)\s+")


def redact_yaml(text: str) -> str:
    """YAML text (a chart's values.yaml) with every value under a secret-looking key
    replaced by ``<redacted>`` and credentials in URLs masked.

    Keys, comments, layout and line numbers stay as they were, and every other value is
    unchanged (checked by parsing both), so images read from the text are the same.
    Secret-looking ``key: value`` lines in comments and in block scalars (a config file
    embedded in a value) are redacted too. Text that is not valid YAML is redacted line by
    line, by key.
    """
    if not _MAY_HOLD_SECRETS.search(text):
        return text
    import yaml

    try:
        redacted = _redact_nodes(text)
    except (yaml.YAMLError, ValueError, RecursionError):
        redacted = None
    if redacted is None:
        redacted = _redact_lines(text)
    # The scheme form only: a bare `***@` starting a plain scalar would read as an alias.
    return _URL_USERINFO.sub(USERINFO_MASK, redacted) if "://" in redacted else redacted


def _compose(text: str) -> list[Node]:
    import yaml

    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [node for node in yaml.compose_all(text, Loader=loader) if node is not None]


def _scalars(documents: list[Node]) -> list[tuple[ScalarNode, bool]]:
    """Every scalar value once per (node, under a secret key), in document order.

    Shared nodes (aliases) are visited once per state, so neither a recursive anchor nor a
    billion-laughs document makes this loop forever or blow up."""
    from yaml.nodes import MappingNode, ScalarNode, SequenceNode

    found: list[tuple[ScalarNode, bool]] = []
    seen: set[tuple[int, bool]] = set()
    stack: list[tuple[Node, bool]] = [(doc, False) for doc in reversed(documents)]
    while stack:
        node, secret = stack.pop()
        if (id(node), secret) in seen:
            continue
        seen.add((id(node), secret))
        if isinstance(node, ScalarNode):
            found.append((node, secret))
        elif isinstance(node, MappingNode):
            children: list[tuple[Node, bool]] = []
            pair = _secret_pair(node)
            for key, value in node.value:
                if isinstance(key, ScalarNode):
                    # An image under a secret-looking map (`tokenReviewer: {image: ...}`) is
                    # a component's image, not a secret: it stays, to be matched.
                    children.append((value, secret_below(key.value, secret)
                                     or (pair and key.value == PAIR_VALUE)))
                else:
                    children.extend(((key, secret), (value, secret)))
            stack.extend(reversed(children))
        elif isinstance(node, SequenceNode):
            stack.extend((item, secret) for item in reversed(node.value))
    return found


def _secret_pair(node: MappingNode) -> bool:
    """``{name: HARBOR_PASSWORD, value: ...}``: a pair whose name looks secret."""
    from yaml.nodes import ScalarNode

    for key, value in node.value:
        if (isinstance(key, ScalarNode) and key.value in PAIR_NAMES
                and isinstance(value, ScalarNode)
                # (`key` is a secret word itself: its value may be redacted already)
                and (is_secret_key(value.value) or value.value == REDACTED)):
            return True
    return False


def _empty(node: ScalarNode) -> bool:
    """A value with nothing to hide: null or empty."""
    return node.tag == _NULL_TAG or node.value == ""


def _redact_nodes(text: str) -> str | None:
    """Redaction by the parsed tree: each secret value's own characters are replaced."""
    # libyaml counts a byte-order mark out of its indexes; Python's str does not.
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    body = text[len(bom):]
    scalars = _scalars(_compose(body))
    # A node under a secret key is redacted wherever else it is used (an anchor's alias).
    secret = {id(node) for node, under in scalars if under and not _empty(node)}
    spans: dict[int, tuple[int, str]] = {}  # start -> (end, replacement)
    blocks: set[int] = set()  # the lines of block scalars under other keys
    for node, _under in scalars:
        start, end = node.start_mark.index, node.end_mark.index
        if id(node) not in secret:
            if node.style in ("|", ">"):
                # From the line after the indicator to the one holding the last character.
                last = node.end_mark.line - (1 if node.end_mark.column == 0 else 0)
                blocks.update(range(node.start_mark.line + 1, last + 1))
            continue
        written = body[start:end]
        anchors = []
        offset = 0
        while (prop := _PROPERTY.match(written, offset)) is not None:
            if prop.group(1).startswith("&"):
                anchors.append(prop.group(1))
            offset = prop.end()
        # The same number of lines (block and multi-line scalars): later lines keep numbers.
        spans[start] = (end, " ".join([*anchors, REDACTED]) + "\n" * written.count("\n"))
    pieces: list[str] = []
    done = 0
    for start in sorted(spans):
        end, replacement = spans[start]
        if start < done or not body[start:end].strip():
            return None  # overlapping or empty spans: the indexes are not to be trusted
        pieces += [body[done:start], replacement]
        done = end
    pieces.append(body[done:])
    out = "".join(pieces)
    if not _same_but_secrets(scalars, secret, out, loose=False):
        return None
    embedded = _redact_embedded(out, blocks)
    if embedded != out and _same_but_secrets(scalars, secret, embedded, loose=True):
        out = embedded
    return bom + out


def _same_but_secrets(scalars: list[tuple[ScalarNode, bool]], secret: set[int], text: str,
                      *, loose: bool) -> bool:
    """``text`` parses to the same tree: secret values redacted, every other one equal
    (``loose``: block scalars under other keys may differ, in content only)."""
    import yaml

    try:
        after = _scalars(_compose(text))
    except (yaml.YAMLError, RecursionError):
        return False
    if len(after) != len(scalars):
        return False
    for (was, under), (now, now_under) in zip(scalars, after, strict=True):
        if under != now_under:
            return False
        if id(was) in secret:
            if now.value != REDACTED:
                return False
        elif loose and was.style in ("|", ">"):
            if now.style != was.style:
                return False
        elif (was.tag, was.value) != (now.tag, now.value):
            return False
    return True


def _redact_embedded(out: str, blocks: set[int]) -> str:
    """Secret ``key: value`` lines in whole-line comments and in block scalars under other
    keys (a config file in a value), by 0-based line number: every replacement kept its
    newlines. The caller checks that the YAML tree did not change."""
    if not _MAY_HOLD_SECRETS.search(out):
        return out
    lines = out.split("\n")
    for number, line in enumerate(lines):
        if number in blocks or line.lstrip().startswith("#"):
            match = _secret_line(line)
            if match is not None and line[match.end("head"):].strip():
                lines[number] = _value_redacted(line, match)
    return "\n".join(lines)


def _value_redacted(line: str, match: re.Match[str]) -> str:
    head, rest = line[: match.end("head")], line[match.end("head"):]
    gap = rest[: len(rest) - len(rest.lstrip())] or (" " if head.endswith(":") else "")
    return f"{head}{gap}{REDACTED}"


def _redact_lines(text: str) -> str:
    """Text that is not YAML: a secret-looking ``key: value`` keeps its key and its value
    becomes ``<redacted>``; lines indented under such a key (a block or nested value) are
    blanked, so the line count stays."""
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        key_line = index
        line = lines[index]
        index += 1
        match = _secret_line(line)
        if match is None:
            continue
        column = match.start("head")
        nested = False
        while index < len(lines):
            following = lines[index]
            if following.strip() and len(following) - len(following.lstrip()) <= column:
                break
            nested = nested or bool(following.strip())
            lines[index] = ""
            index += 1
        if line[match.end("head"):].strip() or nested:
            lines[key_line] = _value_redacted(line, match)
    return "\n".join(lines)
