"""The one retention rule harborguard owns, and the policy body it goes into.

The rule is ``always`` on a tag brace list in a repository brace list. It is marked in its
tag selector's ``extras`` (a JSON text Harbor stores and ignores beyond ``untagged``):
``{"untagged":false,"harborguard":"protect"}``, so a later run finds its own rule, replaces
it and leaves every other rule as it was. ``untagged`` is false unless the evidence needs an
untagged artifact (a pod pinned by digest to a build whose tag has moved): a matching tag
selector with ``{"untagged":true}`` selects every untagged artifact whatever its pattern
(docs/RETENTION.md 3.2), so the rule then keeps every untagged artifact in the repositories
it lists. When only untagged artifacts are needed, the tag pattern is ``NO_TAG``, which no
tag matches (a tag cannot hold ``:``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from harborguard.policy import MAX_RULES, RetentionPolicy, RuleSpec, parse_policy

MARKER_KEY = "harborguard"
MARKER_VALUE = "protect"
EXTRAS = json.dumps({"untagged": False, MARKER_KEY: MARKER_VALUE}, separators=(",", ":"))
EXTRAS_UNTAGGED = json.dumps({"untagged": True, MARKER_KEY: MARKER_VALUE},
                             separators=(",", ":"))
# A tag pattern no tag matches (Harbor's tag names are [\w][\w.-]*): the rule's tag selector
# when only untagged artifacts are needed.
NO_TAG = "harborguard:untagged-only"
# The PUT body's fields (swagger.yaml RetentionPolicy); creation/update times are not.
BODY_KEYS = ("id", "algorithm", "rules", "trigger", "scope")


def is_own_extras(extras: Any) -> bool:
    if isinstance(extras, Mapping):
        data: Any = extras
    elif isinstance(extras, str) and extras:
        try:
            data = json.loads(extras)
        except (ValueError, RecursionError):
            return False
    else:
        return False
    return isinstance(data, dict) and data.get(MARKER_KEY) == MARKER_VALUE


def is_own(rule: RuleSpec) -> bool:
    return any(is_own_extras(s.extras) for s in rule.tag_selectors)


def is_own_raw(rule: Any) -> bool:
    if not isinstance(rule, Mapping):
        return False
    selectors = rule.get("tag_selectors")
    return isinstance(selectors, list) and any(
        isinstance(s, Mapping) and is_own_extras(s.get("extras")) for s in selectors)


def own_rule(repositories: str, tags: str, *, untagged: bool = False) -> dict[str, Any]:
    """The rule as Harbor's API takes it; ``untagged``: it keeps every untagged artifact in
    the repositories too."""
    return {
        "disabled": False,
        "action": "retain",
        "template": "always",
        "params": {},
        "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": tags,
                           "extras": EXTRAS_UNTAGGED if untagged else EXTRAS}],
        "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches",
                                            "pattern": repositories}]},
    }


def own_patterns(policy: RetentionPolicy) -> tuple[str, str] | None:
    """(repository pattern, tag pattern) of the first own rule in the policy, if any."""
    for rule in policy.rules:
        if is_own(rule):
            repos = rule.repository_selectors
            tags = [s for s in rule.tag_selectors if is_own_extras(s.extras)]
            if len(repos) == 1 and tags:
                return repos[0].pattern, tags[0].pattern
            return None
    return None


def own_keeps_untagged(policy: RetentionPolicy) -> bool:
    """The policy's own rule carries ``untagged: true`` (it keeps untagged artifacts)."""
    for rule in policy.rules:
        for selector in rule.tag_selectors:
            if is_own_extras(selector.extras):
                try:
                    return json.loads(selector.extras).get("untagged") is True
                except (ValueError, AttributeError):
                    return False
    return False


def rule_key(rule: Any) -> str:
    """A rule as Harbor compares rules (its JSON once ``id`` is dropped), with go-swagger's
    dropped zero values filled in, so a rule read back equals the one sent."""
    if not isinstance(rule, Mapping):
        return json.dumps(rule, sort_keys=True)
    params = rule.get("params") or {}

    def selectors(value: Any) -> Any:
        if not isinstance(value, list):
            return value or []
        return [{"kind": s.get("kind") or "", "decoration": s.get("decoration") or "",
                 "pattern": s.get("pattern") or "", "extras": _extras_text(s.get("extras"))}
                if isinstance(s, Mapping) else s for s in value]

    scopes = rule.get("scope_selectors") or {}
    return json.dumps({
        "priority": rule.get("priority") or 0,
        "disabled": bool(rule.get("disabled") or False),
        "action": rule.get("action") or "",
        "template": rule.get("template") or "",
        "params": params,
        "tag_selectors": selectors(rule.get("tag_selectors")),
        "scope_selectors": {str(k): selectors(v) for k, v in scopes.items()}
        if isinstance(scopes, Mapping) else scopes,
    }, sort_keys=True)


def _extras_text(extras: Any) -> str:
    if isinstance(extras, Mapping):
        return json.dumps(extras, separators=(",", ":"))
    return extras if isinstance(extras, str) else ""


def policy_key(raw: Mapping[str, Any] | None) -> str:
    """A stored policy as compared before a PUT: everything a PUT would replace, without
    the next scheduled time Harbor adds when it answers a GET."""
    if raw is None:
        return "null"
    trigger = raw.get("trigger")
    if isinstance(trigger, Mapping):
        settings = trigger.get("settings")
        if isinstance(settings, Mapping):
            settings = {k: v for k, v in settings.items() if k != "next_scheduled_time"}
        trigger = {**trigger, "settings": settings}
    rules = raw.get("rules") or []
    return json.dumps({
        "id": raw.get("id"),
        "algorithm": raw.get("algorithm") or "",
        "rules": [rule_key(r) for r in rules] if isinstance(rules, list) else rules,
        "trigger": trigger,
        "scope": raw.get("scope"),
    }, sort_keys=True, default=str)


def put_body(raw: Mapping[str, Any], rules: Sequence[Any], *, policy_id: int | None,
             scope: Mapping[str, Any]) -> dict[str, Any]:
    """Harbor's ``PUT /api/v2.0/retentions/{id}`` body: the policy read, its rules replaced;
    ``extras`` as the JSON text Harbor stores; no next scheduled time (Harbor computes it)."""
    body: dict[str, Any] = {k: raw[k] for k in BODY_KEYS if k in raw}
    body["rules"] = [_normal_rule(r) for r in rules]
    if policy_id is not None:
        body["id"] = policy_id
    body.setdefault("algorithm", "or")
    body["scope"] = dict(scope)
    trigger = body.get("trigger")
    if isinstance(trigger, Mapping):
        trigger = dict(trigger)
        settings = trigger.get("settings")
        if isinstance(settings, Mapping):
            trigger["settings"] = {k: v for k, v in settings.items()
                                   if k != "next_scheduled_time"}
        body["trigger"] = trigger
    return body


def _normal_rule(rule: Any) -> Any:
    if not isinstance(rule, Mapping):
        return rule
    out = dict(rule)
    for key in ("tag_selectors",):
        if isinstance(out.get(key), list):
            out[key] = [_normal_selector(s) for s in out[key]]
    scopes = out.get("scope_selectors")
    if isinstance(scopes, Mapping):
        out["scope_selectors"] = {k: [_normal_selector(s) for s in v] if isinstance(v, list)
                                  else v for k, v in scopes.items()}
    return out


def _normal_selector(selector: Any) -> Any:
    if isinstance(selector, Mapping) and isinstance(selector.get("extras"), Mapping):
        return {**selector, "extras": _extras_text(selector["extras"])}
    return selector


def parse_body(body: Mapping[str, Any], origin: str, *, stored: bool) -> RetentionPolicy:
    return parse_policy(body, origin, from_harbor=stored)


def room_for_rule(other_rules: int) -> bool:
    return other_rules < MAX_RULES
