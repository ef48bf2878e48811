"""Retention policies and immutable-tag rules, read the way Harbor reads them.

Harbor stores what its API accepts and fails at run time on what it cannot build, so this
reader is lenient: a field of the wrong type becomes Go's zero value (what Go's JSON decoder
leaves behind) and is recorded as a *problem* (Harbor's API would refuse the policy). Only a
file that is not an object with a ``rules`` list is bad input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harborguard import jsonio
from harborguard.errors import InputError
from harborguard.inputfile import InputTooLarge, read_input

MAX_RULES = 15  # Harbor's API refuses more (POST/PUT /retentions)


@dataclass(frozen=True, slots=True)
class SelectorSpec:
    kind: str
    decoration: str
    pattern: str
    extras: str


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One rule as stored. ``index`` is its 0-based position in the policy's ``rules``."""

    index: int
    id: int
    priority: int
    disabled: bool
    action: str
    template: str
    # None when the key is missing or null: Harbor then refuses to build the rule.
    params: Mapping[str, Any] | None
    tag_selectors: tuple[SelectorSpec, ...]
    # Only the "repository" key matters for a project-level policy.
    scope_selectors: Mapping[str, tuple[SelectorSpec, ...]]

    @property
    def repository_selectors(self) -> tuple[SelectorSpec, ...]:
        return self.scope_selectors.get("repository", ())


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    id: int | None
    algorithm: str
    rules: tuple[RuleSpec, ...]
    scope_level: str | None
    scope_ref: int | None
    # Why Harbor's API would refuse this policy (empty when it would accept it).
    problems: tuple[str, ...] = field(default=())
    # Read from Harbor (a snapshot or a live read): its scope decides what the launcher
    # selects. A --policy file is a what-if applied to every selected project instead.
    stored: bool = False
    # Keys of a --policy file that Harbor does not read (a typo such as "tag_selector"):
    # ignored, as Harbor's JSON decoder would, but worth saying.
    unknown_keys: tuple[str, ...] = field(default=())
    # The object it was read from, as read (``protect`` writes a changed copy back).
    raw: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ImmutableRule:
    id: int
    disabled: bool
    tag_selectors: tuple[SelectorSpec, ...]
    scope_selectors: Mapping[str, tuple[SelectorSpec, ...]]


class _Reader:
    """Reads fields with Go's zero-value semantics, noting every type mismatch."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def _wrong(self, where: str, expected: str, value: Any) -> None:
        self.problems.append(f"{where} is {_json_type(value)}, not {expected}")

    def string(self, obj: Mapping[str, Any], key: str, where: str) -> str:
        value = obj.get(key)
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        self._wrong(f"{where}.{key}", "a string", value)
        return ""

    def boolean(self, obj: Mapping[str, Any], key: str, where: str) -> bool:
        value = obj.get(key)
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        self._wrong(f"{where}.{key}", "a boolean", value)
        return False

    def integer(self, obj: Mapping[str, Any], key: str, where: str) -> int:
        value = obj.get(key)
        if value is None:
            return 0
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        self._wrong(f"{where}.{key}", "an integer", value)
        return 0

    def extras(self, obj: Mapping[str, Any], where: str) -> str:
        value = obj.get("extras")
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, Mapping):
            # A YAML (or JSON) map stands for the JSON text Harbor stores.
            return json.dumps(value, separators=(",", ":"))
        self._wrong(f"{where}.extras", "a string or a map", value)
        return ""

    def selector(self, value: Any, where: str) -> SelectorSpec:
        if not isinstance(value, Mapping):
            self._wrong(where, "an object", value)
            value = {}
        return SelectorSpec(
            kind=self.string(value, "kind", where),
            decoration=self.string(value, "decoration", where),
            pattern=self.string(value, "pattern", where),
            extras=self.extras(value, where),
        )

    def selector_list(self, value: Any, where: str) -> tuple[SelectorSpec, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self._wrong(where, "a list", value)
            return ()
        return tuple(self.selector(item, f"{where}[{i}]") for i, item in enumerate(value))

    def scope_selectors(self, value: Any, where: str) -> dict[str, tuple[SelectorSpec, ...]]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self._wrong(where, "an object", value)
            return {}
        return {
            str(key): self.selector_list(items, f"{where}.{key}") for key, items in value.items()
        }

    def params(self, obj: Mapping[str, Any], where: str) -> Mapping[str, Any] | None:
        value = obj.get("params")
        if value is None:
            return None
        if isinstance(value, Mapping):
            return dict(value)
        self._wrong(f"{where}.params", "an object", value)
        return None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def parse_policy(data: Any, origin: str, *, from_harbor: bool = False) -> RetentionPolicy:
    """Builds a policy from Harbor's ``GET /retentions/{id}`` shape.

    Raises InputError only when ``data`` is not an object with a ``rules`` list. What Harbor
    itself sends (``from_harbor``) may lack ``rules``: go-swagger drops an empty list.
    """
    if not isinstance(data, Mapping):
        raise InputError(f"{origin}: a retention policy must be an object with a 'rules' list")
    if not from_harbor:
        data = _go_keys(data)
    rules_value = data.get("rules")
    if rules_value is None and from_harbor:
        rules_value = []
    if not isinstance(rules_value, list):
        raise InputError(
            f"{origin}: field 'rules' is missing or not a list; a policy looks like "
            "GET /api/v2.0/retentions/{id} returns it"
        )
    reader = _Reader()
    rules: list[RuleSpec] = []
    for index, raw in enumerate(rules_value):
        where = f"rules[{index}]"
        if not isinstance(raw, Mapping):
            reader._wrong(where, "an object", raw)
            raw = {}
        rules.append(
            RuleSpec(
                index=index,
                id=reader.integer(raw, "id", where),
                priority=reader.integer(raw, "priority", where),
                disabled=reader.boolean(raw, "disabled", where),
                action=reader.string(raw, "action", where),
                template=reader.string(raw, "template", where),
                params=reader.params(raw, where),
                tag_selectors=reader.selector_list(
                    raw.get("tag_selectors"), f"{where}.tag_selectors"
                ),
                scope_selectors=reader.scope_selectors(
                    raw.get("scope_selectors"), f"{where}.scope_selectors"
                ),
            )
        )
    scope = data.get("scope")
    scope_level: str | None = None
    scope_ref: int | None = None
    if isinstance(scope, Mapping):
        scope_level = reader.string(scope, "level", "scope")
        scope_ref = reader.integer(scope, "ref", "scope")
    elif scope is not None:
        reader._wrong("scope", "an object", scope)
    policy_id = data.get("id")
    problems = list(reader.problems)
    if len(rules) > MAX_RULES:
        problems.append(f"{len(rules)} rules; Harbor allows at most {MAX_RULES}")
    problems.extend(_conflicts(rules))
    if scope_level not in (None, "project"):
        problems.append(f"scope level {scope_level!r}; Harbor only supports 'project'")
    return RetentionPolicy(
        stored=from_harbor,
        unknown_keys=() if from_harbor else tuple(_unknown_keys(data)),
        id=policy_id if isinstance(policy_id, int) and not isinstance(policy_id, bool) else None,
        algorithm=reader.string(data, "algorithm", "policy"),
        rules=tuple(rules),
        scope_level=scope_level,
        scope_ref=scope_ref,
        problems=tuple(problems),
        raw=data,
    )


_POLICY_KEYS = {"id", "algorithm", "rules", "trigger", "scope", "creation_time", "update_time"}
_RULE_KEYS = {"id", "priority", "disabled", "action", "template", "params", "tag_selectors",
              "scope_selectors"}
_SELECTOR_KEYS = {"kind", "decoration", "pattern", "extras"}
_SCOPE_KEYS = {"level", "ref"}
KNOWN_KEYS = sorted(_POLICY_KEYS | _RULE_KEYS | _SELECTOR_KEYS | _SCOPE_KEYS
                    | {"repository", "project"})


def _fold(obj: Any, known: set[str]) -> Any:
    """Keys as Go's encoding/json matches them to a struct's fields: exactly, or else
    case-insensitively; when several keys land on one field, the last one wins."""
    if not isinstance(obj, Mapping):
        return obj
    canonical = {k.lower(): k for k in known}
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = str(key) if key in known else canonical.get(str(key).lower(), str(key))
        out.pop(name, None)  # document order: the later key is the one that stays
        out[name] = value
    return out


def _go_keys(data: Mapping[str, Any]) -> dict[str, Any]:
    """A --policy file's keys as Harbor's API decoder reads them (``Params`` is ``params``)."""
    policy: dict[str, Any] = _fold(data, _POLICY_KEYS)
    if isinstance(policy.get("scope"), Mapping):
        policy["scope"] = _fold(policy["scope"], _SCOPE_KEYS)
    rules = policy.get("rules")
    if isinstance(rules, list):
        folded = []
        for rule in rules:
            rule = _fold(rule, _RULE_KEYS)
            if isinstance(rule, dict):
                if isinstance(rule.get("tag_selectors"), list):
                    rule["tag_selectors"] = [_fold(s, _SELECTOR_KEYS)
                                             for s in rule["tag_selectors"]]
                scopes = rule.get("scope_selectors")
                if isinstance(scopes, Mapping):
                    rule["scope_selectors"] = {
                        k: [_fold(s, _SELECTOR_KEYS) for s in v] if isinstance(v, list) else v
                        for k, v in scopes.items()}
            folded.append(rule)
        policy["rules"] = folded
    return policy


def _unknown_keys(data: Mapping[str, Any]) -> list[str]:
    """Paths of keys Harbor's policy model has no field for (its decoder drops them)."""
    found = [k for k in data if k not in _POLICY_KEYS]
    scope = data.get("scope")
    if isinstance(scope, Mapping):
        found += [f"scope.{k}" for k in scope if k not in _SCOPE_KEYS]
    for i, rule in enumerate(data.get("rules") or []):
        if not isinstance(rule, Mapping):
            continue
        found += [f"rules[{i}].{k}" for k in rule if k not in _RULE_KEYS]
        groups = [(f"rules[{i}].tag_selectors", rule.get("tag_selectors"))]
        scopes = rule.get("scope_selectors")
        if isinstance(scopes, Mapping):
            # A map in Go: any key is kept, but only "repository" (and "project" for a
            # system-level policy) is ever read.
            found += [f"rules[{i}].scope_selectors.{k}" for k in scopes
                      if k not in ("repository", "project")]
            groups += [(f"rules[{i}].scope_selectors.{k}", v) for k, v in scopes.items()]
        for where, selectors in groups:
            for j, selector in enumerate(selectors if isinstance(selectors, list) else []):
                if isinstance(selector, Mapping):
                    found += [f"{where}[{j}].{k}" for k in selector if k not in _SELECTOR_KEYS]
    return [str(k) for k in found]


def _conflicts(rules: list[RuleSpec]) -> list[str]:
    """Harbor answers 409 when two rules marshal to the same JSON once ``id`` is zeroed."""
    seen: dict[str, int] = {}
    found: list[str] = []
    for rule in rules:
        key = json.dumps(
            [
                rule.priority,
                rule.disabled,
                rule.action,
                rule.template,
                _go_json_value(rule.params),
                [_selector_key(s) for s in rule.tag_selectors],
                {k: [_selector_key(s) for s in v] for k, v in rule.scope_selectors.items()},
            ],
            sort_keys=True,
        )
        if key in seen:
            found.append(
                f"rule {rule.index} is conflict with rule {seen[key]} (Harbor answers 409)"
            )
        else:
            seen[key] = rule.index
    return found


def _selector_key(s: SelectorSpec) -> list[str]:
    return [s.kind, s.decoration, s.pattern, s.extras]


def _go_json_value(value: Any) -> Any:
    """Numbers as Go's float64 sees them, so 5 and 5.0 compare equal."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): _go_json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_go_json_value(v) for v in value]
    return str(value)


def parse_immutable_rules(data: Any, origin: str) -> tuple[ImmutableRule, ...]:
    """Immutable-tag rules, sorted by ID as Harbor's matcher reads them."""
    if data is None:
        return ()
    if not isinstance(data, list):
        raise InputError(f"{origin}: immutable_rules must be a list")
    reader = _Reader()
    rules: list[ImmutableRule] = []
    for index, raw in enumerate(data):
        where = f"{origin}[{index}]"
        if not isinstance(raw, Mapping):
            raise InputError(f"{where}: an immutable rule must be an object")
        rules.append(
            ImmutableRule(
                id=reader.integer(raw, "id", where),
                disabled=reader.boolean(raw, "disabled", where),
                tag_selectors=reader.selector_list(raw.get("tag_selectors"),
                                                   f"{where}.tag_selectors"),
                scope_selectors=reader.scope_selectors(raw.get("scope_selectors"),
                                                       f"{where}.scope_selectors"),
            )
        )
    if reader.problems:
        # Harbor stores these typed: a field of another type is data not understood, and
        # read leniently it could make every tag immutable (a false all-clear).
        raise InputError(reader.problems[0])
    return tuple(sorted(rules, key=lambda r: r.id))


def load_policy_file(path: str) -> RetentionPolicy:
    """Reads ``--policy FILE`` (JSON or YAML). Raises InputError with one line on failure."""
    try:
        text = read_input(path)
    except FileNotFoundError:
        raise InputError(f"{path}: policy file not found") from None
    except InputTooLarge as exc:
        raise InputError(f"{path}: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read policy file: {exc}") from None
    data = load_json_or_yaml(text, path)
    return parse_policy(data, path)


def load_json_or_yaml(text: str, path: str) -> Any:
    """JSON first (fast, exact numbers), then YAML; one clear line on failure."""

    from harborguard import yamlload, yamlread

    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return jsonio.loads(text)
        except jsonio.BeyondLimits as exc:  # YAML would not read it either
            raise InputError(f"{path}: not valid JSON (line {exc.lineno}, column "
                             f"{exc.colno}: {exc.msg})") from None
        except json.JSONDecodeError as exc:
            json_error = f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        try:
            return yamlload.load(text)
        except yamlread.LOAD_ERRORS:
            raise InputError(f"{path}: {json_error}") from None
    try:
        return yamlload.load(text)
    except yamlload.YamlLimitError as exc:
        raise InputError(f"{path}: {exc}") from None
    except yamlread.LOAD_ERRORS as exc:
        raise InputError(f"{path}: not valid JSON or YAML{yamlread.problem(exc)}") from None


def unknown_key_notes(path: str, policy: RetentionPolicy) -> list[str]:
    """A key Harbor has no field for is ignored, as Harbor's decoder ignores it; a typo
    ("tag_selector") then silently changes the policy, so say so, with the likely key."""
    from difflib import get_close_matches

    notes = []
    for where in policy.unknown_keys:
        key = where.rsplit(".", 1)[-1]
        guess = get_close_matches(key, KNOWN_KEYS, n=1, cutoff=0.7)
        hint = f"; did you mean {guess[0]!r}?" if guess else ""
        notes.append(f"{path}: {where} is not a field of Harbor's retention policy; Harbor "
                     f"ignores it, and so does this run{hint}")
    return notes
