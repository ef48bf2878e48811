"""Third audit of the retention engine against Harbor v2.11's Go code.

Every expectation was derived by reading goharbor/harbor at tag v2.11.0 (paths below are
relative to its src/; line numbers are v2.11.0's). The expectations were also
replayed, during the audit, through a transcription of Harbor's own v2.11.0 code paths
(launcher, builder, OR processor, evaluators, retain performer, immutable matcher, the
doublestar selector with bmatcuk/doublestar v1.3.4, Go's sort.Slice), and harborguard was
compared with it on 70,000 random policies and snapshots without a difference; that
transcription is Harbor's code and is not part of this repository.

Key Go locations (v2.11.0):
  G-SEL   lib/selector/selectors/doublestar/selector.go:54-98 Select, :104-134 tag matching
          (matches: any tag matches; excludes: any tag does not match; untagged: the flag),
          :137-158 New (untagged default true, false for excludes; json.Unmarshal into
          struct{Untagged bool}; any error keeps the default), :164-169 empty pattern = match
  G-IDX   lib/selector/selectors/index/index.go:68-86 Get (kind registered, decoration listed)
  G-RIDX  pkg/retention/policy/rule/index/index.go:219-250 Get (registered template;
          parameter key must be present for every template but `always`)
  G-PS/PL/K  rule/latestps|latestpl|latestk/evaluator.go: sort.Slice desc, keep first min(k,n);
          New(): ParseJSONInt(p) ok && v >= 0, else default 10
  G-DPS/DPL  rule/daysps|dayspl/evaluator.go:44-52: cutoff = Now().UTC().Add(Duration(-24n)*Hour)
          .Unix(); keep >= cutoff (inclusive, whole seconds); default 30
  G-LX    rule/lastx/evaluator.go:43-51: cutoff = Now().Add(Duration(x*-24)*Hour); keep
          Unix(PushedTime).After(cutoff) (strict, nanoseconds); default 10
  G-UTIL  common/utils/utils.go:251-260 ParseJSONInt: float64 -> int(v) (truncation)
  G-BLD   pkg/retention/policy/builder.go:61-98: every rule: template (:65), action (:70),
          tag selectors (:77); then algorithm (:92). Any error fails the job.
  G-OR    pkg/retention/policy/alg/or/processor.go:47-52 (rules without tag selectors are not
          evaluated), :131-165 (selectors ANDed in order, then the evaluator), :103-110 union
  G-PERF  pkg/retention/policy/action/performer.go:55-91 (non-retained -> immutable check ->
          DEL), :94-107 isImmutable (ParseRepository applied again to the short name)
  G-IMM   pkg/immutable/match/rule/match.go:34-89 (disabled skipped; first repository
          selector, extras ""; first tag selector, extras {"untagged": false}; error -> false),
          pkg/immutable/manager.go:93-112 (rules sorted by ID)
  G-LCH   pkg/retention/launcher.go:97-205 (empty rules: no jobs :103; disabled rules skipped
          :124; repository selectors ANDed :159-169; selector errors fail the launch)
  G-DEP   pkg/retention/dep/client.go:113-146 (candidate times: max over artifact and tags,
          .Unix(); Namespace/Repository from the launcher's ParseRepository)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from harborguard.harborversion import resolve
from harborguard.simulate import simulate
from harborguard.snapshot import parse_snapshot
from harborguard.timeutil import parse_nanos
from tests.builders import T_TEXT, D, T, art, dig, policy, rule, sel, snapshot

S = timedelta(seconds=1)
H = timedelta(hours=1)
V211 = "v2.11.0"
REPO_ALL = [sel("**", "repoMatches", None)]
FAILED = "FAILED"  # the repository's job fails: Harbor deletes nothing there


def imm(rule_id: int, tags: list[dict[str, Any]], repos: list[dict[str, Any]] | None = None,
        *, disabled: bool = False) -> dict[str, Any]:
    """An immutable-tag rule as GET /projects/{p}/immutabletagrules lists it (no extras:
    pkg/immutable/model/rule.go's Selector has no Extras field)."""
    def strip(s: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in s.items() if k != "extras"}
    return {"id": rule_id, "disabled": disabled, "action": "immutable",
            "template": "immutable_template", "tag_selectors": [strip(s) for s in tags],
            "scope_selectors": {"repository": [strip(s) for s in (repos or REPO_ALL)]}}


def raw_rule(template: str, params: Any, **kw: Any) -> dict[str, Any]:
    r = rule(template, **kw)
    if params is _MISSING:
        del r["params"]
    else:
        r["params"] = params
    return r


_MISSING = object()


@dataclass
class Case:
    id: str
    repos: dict[str, list[dict[str, Any]]]
    pol: dict[str, Any]
    # repository (short name) -> {artifact seed name: action} or FAILED
    expected: dict[str, dict[str, str] | str]
    immutable: list[dict[str, Any]] = field(default_factory=list)
    version: str | None = V211
    now: str = T_TEXT
    launch_fails: bool = False


CASES: list[Case] = []


def case(*args: Any, **kw: Any) -> None:
    CASES.append(Case(*args, **kw))


def a(name: str, tags: list[str] | None = None, age: timedelta = 10 * S,
      pulled_ago: timedelta | None = None, **kw: Any) -> dict[str, Any]:
    return art(name, tags, T - age, (T - pulled_ago) if pulled_ago is not None else None, **kw)


# ---- Tag selectors: excludes with several tags, untagged, extras variants (G-SEL) ---------
# excludes selects an artifact when ANY tag fails to match (:120-131); untagged -> !untagged.
MULTI = [a("both", ["latest", "1.0"], 10 * S), a("mixed", ["latest", "dev"], 20 * S),
         a("none", None, 30 * S), a("dev", ["dev"], 40 * S)]
for extras, untagged_kept in [(None, True), ("", True), ('{"untagged":true}', False),
                              ('{"untagged":false}', True), ("null", True), ("{}", True),
                              ("[]", True), ('{"untagged":"true"}', True),
                              ('{"UNTAGGED":true}', False), ('{"untagged":true,"untagged":null}', False)]:
    case(f"excludes-multi-tag-extras-{extras!r}", {"app": MULTI},
         policy(rule("always", tags=[sel("{latest,1.0}", "excludes", extras)])),
         {"app": {"both": "delete", "mixed": "retain", "dev": "retain",
                  "none": "retain" if untagged_kept else "delete"}})
# matches: untagged -> the flag; default true; null/{} decode to false; type errors keep default.
for extras, untagged_kept in [(None, True), ('{"untagged":false}', False), ("null", False),
                              ("{}", False), ('{"untagged":0}', True), ('"x"', True),
                              ('{"Untagged":false}', False), (' {"untagged":false} ', False),
                              ('{"untagged":false} x', True)]:
    case(f"matches-extras-{extras!r}", {"app": MULTI},
         policy(rule("always", tags=[sel("1.*", "matches", extras)])),
         {"app": {"both": "retain", "mixed": "delete", "dev": "delete",
                  "none": "retain" if untagged_kept else "delete"}})
# Two tag selectors are ANDed in order (G-OR :139-146): matches v* (untagged in), then
# excludes *-rc with untagged:true (untagged out, [v1-rc] out, [v1-rc, v1] stays).
case("two-tag-selectors-anded",
     {"app": [a("rc", ["v1-rc"]), a("rcfinal", ["v1-rc", "v1"]), a("u", None), a("x", ["x"])]},
     policy(rule("always", tags=[sel("v*"), sel("*-rc", "excludes", '{"untagged":true}')])),
     {"app": {"rc": "delete", "rcfinal": "retain", "u": "delete", "x": "delete"}})
# An empty pattern matches every tag (:164-169): excludes "" selects no tagged artifact.
case("excludes-empty-pattern", {"app": [a("t", ["v1"]), a("u", None, 20 * S)]},
     policy(rule("always", tags=[sel("", "excludes", None)])),
     {"app": {"t": "delete", "u": "retain"}})

# ---- Artifacts with several tags, only some matching, under a count rule ------------------
# latestPushedK counts the artifacts that passed the selector (G-OR :139-152, G-PS).
case("count-after-partial-tag-match",
     {"app": [a("new", ["latest"], 5 * S), a("mid", ["v2", "latest"], 10 * S),
              a("old", ["v1"], 20 * S), a("oldest", ["x", "v0"], 30 * S)]},
     policy(rule("latestPushedK", 2, tags=[sel("v*", extras='{"untagged":false}')])),
     {"app": {"new": "delete", "mid": "retain", "old": "retain", "oldest": "delete"}})

# ---- Several rules of the same template: results are unioned (G-OR :103-110) -------------
SAME = [a(f"s{i}", [f"v{i}" if i % 2 else f"dev{i}"], (i + 1) * S) for i in range(6)]
case("same-template-twice-union", {"app": SAME},
     policy(rule("latestPushedK", 1, tags=[sel("v*")]), rule("latestPushedK", 1, tags=[sel("dev*")])),
     {"app": {"s0": "retain", "s1": "retain", "s2": "delete", "s3": "delete", "s4": "delete",
              "s5": "delete"}})
case("same-template-identical-selectors-overlap", {"app": SAME},
     policy(rule("latestPushedK", 2), rule("latestPushedK", 1, tags=[sel("**", extras=None)])),
     {"app": {"s0": "retain", "s1": "retain", "s2": "delete", "s3": "delete", "s4": "delete",
              "s5": "delete"}})

# ---- latestPulledN / latestActiveK with never-pulled artifacts and ties ------------------
# Never pulled = Go zero time = -62135596800 (G-DEP :143). <=12 candidates: insertion sort.
case("pulled-n-never-pulled-tie-api-order",
     {"app": [a("n1", ["a"], 10 * S), a("p", ["b"], 30 * S, pulled_ago=D), a("n2", ["c"], 20 * S)]},
     policy(rule("latestPulledN", 2)), {"app": {"p": "retain", "n1": "retain", "n2": "delete"}})
# 13 candidates, 12 never pulled, the pulled one listed last: pdqsort (Go 1.19-1.23) orders
# [12, 6, 2, 3, 4, 5, 0, ...] (verified with tests/go/sortslice under go1.19.8).
case("pulled-n-13-never-pulled-pdqsort",
     {"app": [a(f"n{i:02d}", [f"t{i}"], (i + 1) * S) for i in range(12)]
      + [a("pulled", ["p"], 100 * S, pulled_ago=H)]},
     policy(rule("latestPulledN", 2)),
     {"app": {**{f"n{i:02d}": "delete" for i in range(12)}, "pulled": "retain", "n06": "retain"}})
# latestActiveK: key = max(pull, push) (latestk/evaluator.go:84-90).
case("active-k-pull-beats-push",
     {"app": [a("fresh", ["f"], 2 * H), a("oldpulled", ["o"], 30 * D, pulled_ago=H),
              a("mid", ["m"], 3 * H, pulled_ago=5 * H)]},
     policy(rule("latestActiveK", 2)),
     {"app": {"oldpulled": "retain", "fresh": "retain", "mid": "delete"}})
# Tie between one artifact's push and another's pull: insertion sort keeps API order.
case("active-k-tie-push-vs-pull",
     {"app": [a("pushed", ["x"], H), a("pulled", ["y"], 10 * D, pulled_ago=H)]},
     policy(rule("latestActiveK", 1)), {"app": {"pushed": "retain", "pulled": "delete"}})
# latestPulledN counts tag pull times too (G-DEP :127-129).
case("pulled-n-tag-pull-time",
     {"app": [a("artpull", ["a"], H, pulled_ago=2 * H),
              a("tagpull", ["b"], 2 * H, tag_pulled={"b": T - H + S})]},
     policy(rule("latestPulledN", 1)), {"app": {"tagpull": "retain", "artpull": "delete"}})
# 100 equal push seconds, one re-tagged later (position 50): pdqsort keeps 50 and 49.
case("pushed-k-100-ties",
     {"app": [a(f"e{i:03d}", [f"t{i}"], 60 * S, **({"tag_pushed": {f"t{i}": T - 5 * S}} if i == 50 else {}))
              for i in range(100)]},
     policy(rule("latestPushedK", 2)),
     {"app": {**{f"e{i:03d}": "delete" for i in range(100)}, "e050": "retain", "e049": "retain"}})

# ---- Day cut-offs at the boundary (G-DPS/G-DPL inclusive seconds, G-LX strict nanos) ------
BOUND = [a("exact", ["e"], D, pulled_ago=D), a("before", ["b"], D + S, pulled_ago=D + S),
         a("after", ["a"], D - S, pulled_ago=D - S)]
for now in (T_TEXT, "2026-01-01T00:00:00.999999999Z"):
    case(f"days-since-pull-boundary-{now}", {"app": BOUND}, policy(rule("nDaysSinceLastPull", 1)),
         {"app": {"exact": "retain", "before": "delete", "after": "retain"}}, now=now)
    case(f"days-since-push-boundary-{now}", {"app": BOUND}, policy(rule("nDaysSinceLastPush", 1)),
         {"app": {"exact": "retain", "before": "delete", "after": "retain"}}, now=now)
# lastXDays: pushed exactly now-1d is not After(now-1d); with now 1 ns earlier it is.
case("last-x-days-boundary-exact", {"app": BOUND}, policy(rule("lastXDays", 1)),
     {"app": {"exact": "delete", "before": "delete", "after": "retain"}})
case("last-x-days-boundary-now-minus-1ns", {"app": BOUND}, policy(rule("lastXDays", 1)),
     {"app": {"exact": "retain", "before": "delete", "after": "retain"}},
     now="2025-12-31T23:59:59.999999999Z")
case("last-x-days-boundary-now-plus-fraction", {"app": BOUND}, policy(rule("lastXDays", 1)),
     {"app": {"exact": "delete", "before": "delete", "after": "retain"}},
     now="2026-01-01T00:00:00.5Z")
# Sub-second artifact times are floored (.Unix()) before the comparison.
case("days-since-push-floors-push-time",
     {"app": [art("frac", ["f"], T - D + timedelta(milliseconds=999)),
              art("frac2", ["g"], T - D - timedelta(milliseconds=1))]},
     policy(rule("nDaysSinceLastPush", 1)), {"app": {"frac": "retain", "frac2": "delete"}})
# n = 0: only this second or later; never-pulled is never >= any cutoff.
case("days-since-pull-zero", {"app": [a("now", ["n"], H, pulled_ago=timedelta(0)),
                                      a("sec", ["s"], H, pulled_ago=S), a("never", ["z"], S)]},
     policy(rule("nDaysSinceLastPull", 0)), {"app": {"now": "retain", "sec": "delete", "never": "delete"}})
# Duration(-24n)*Hour wraps int64: 106751 is safe, 106752 puts the cut-off in the future,
# 213504 wraps to about -25.4 minutes.
WRAP = [a("m20", ["a"], 20 * timedelta(minutes=1), pulled_ago=20 * timedelta(minutes=1)),
        a("m30", ["b"], 30 * timedelta(minutes=1), pulled_ago=30 * timedelta(minutes=1)),
        a("y1", ["c"], 365 * D, pulled_ago=365 * D)]
for tpl in ("nDaysSinceLastPull", "nDaysSinceLastPush", "lastXDays"):
    case(f"wrap-{tpl}-106751", {"app": WRAP}, policy(rule(tpl, 106751)),
         {"app": {"m20": "retain", "m30": "retain", "y1": "retain"}})
    case(f"wrap-{tpl}-106752", {"app": WRAP}, policy(rule(tpl, 106752)),
         {"app": {"m20": "delete", "m30": "delete", "y1": "delete"}})
    case(f"wrap-{tpl}-213504", {"app": WRAP}, policy(rule(tpl, 213504)),
         {"app": {"m20": "retain", "m30": "delete", "y1": "delete"}})

# ---- Parameters: strings, floats, negative, zero, null, bool, missing ---------------------
TWELVE = [a(f"k{i:02d}", [f"t{i}"], (i + 1) * S) for i in range(12)]


def keep_first(n: int) -> dict[str, str]:
    return {f"k{i:02d}": "retain" if i < n else "delete" for i in range(12)}


for value, n in [("3", 10), (2.9, 2), (-1, 10), (-0.9, 0), (None, 10), (True, 10), (0, 0),
                 (3.0, 3), (1e19, 10), (-1e19, 10), (2**63, 10), (1e-300, 0), ([3], 10),
                 ({"k": 3}, 10)]:
    case(f"param-latestPushedK-{value!r}", {"app": TWELVE},
         policy(raw_rule("latestPushedK", {"latestPushedK": value})), {"app": keep_first(n)})
for params in (_MISSING, None, {}, {"latestPulledN": 3}, {"LatestPushedK": 3}):
    case(f"param-missing-{params!r}", {"app": TWELVE},
         policy(raw_rule("latestPushedK", params)), {"app": FAILED})
# always needs no parameter (G-RIDX: empty Parameters list).
case("always-without-params", {"app": TWELVE[:2]}, policy(raw_rule("always", _MISSING)),
     {"app": {"k00": "retain", "k01": "retain"}})
# Day parameter given as a string -> default 30 days.
case("param-days-string",
     {"app": [a("d29", ["a"], 29 * D), a("d31", ["b"], 31 * D)]},
     policy(raw_rule("nDaysSinceLastPush", {"nDaysSinceLastPush": "1"})),
     {"app": {"d29": "retain", "d31": "delete"}})
case("param-lastx-negative-default-10",
     {"app": [a("d9", ["a"], 9 * D), a("d11", ["b"], 11 * D)]},
     policy(raw_rule("lastXDays", {"lastXDays": -5})), {"app": {"d9": "retain", "d11": "delete"}})

# ---- Disabled rules (G-LCH :124) -----------------------------------------------------------
case("disabled-bad-rule-ignored", {"app": TWELVE[:3]},
     policy(rule("latestPushedK", 1), rule("nothing", 1, disabled=True),
            rule("always", disabled=True)),
     {"app": {"k00": "retain", "k01": "delete", "k02": "delete"}})
case("only-rule-disabled-untouched", {"app": TWELVE[:3]},
     policy(rule("latestPushedK", 0, disabled=True)),
     {"app": {"k00": "retain", "k01": "retain", "k02": "retain"}})

# ---- Repository selectors: nsMatches, repoExcludes, several segments ----------------------
NS_REPOS = {"app": [a("x", ["v1"])], "team/app": [a("y", ["v1"])], "a/b/c": [a("z", ["v1"])]}


def repo_case(cid: str, repos_sel: list[dict[str, Any]], in_scope: set[str]) -> None:
    exp: dict[str, dict[str, str] | str] = {
        name: {seed: ("delete" if name in in_scope else "retain")}
        for name, seed in (("app", "x"), ("team/app", "y"), ("a/b/c", "z"))}
    case(cid, NS_REPOS, policy(rule("latestPushedK", 0, repos=repos_sel)), exp)


repo_case("ns-matches-project", [sel("proj", "nsMatches", None)], {"app", "team/app", "a/b/c"})
repo_case("ns-matches-other", [sel("other", "nsMatches", None)], set())
repo_case("ns-excludes-project", [sel("proj", "nsExcludes", None)], set())
repo_case("repo-excludes-team", [sel("team/**", "repoExcludes", None)], {"app", "a/b/c"})
repo_case("repo-star-one-segment", [sel("*", "repoMatches", None)], {"app"})
repo_case("repo-doublestar-suffix", [sel("**/c", "repoMatches", None)], {"a/b/c"})
repo_case("repo-and-of-two", [sel("**", "repoMatches", None), sel("a/**", "repoExcludes", None)],
          {"app", "team/app"})
repo_case("repo-brace-with-slash", [sel("{app,a/b/c}", "repoMatches", None)], {"app", "a/b/c"})
# A tag decoration as repository selector sees a candidate without tags (G-SEL :60-75):
repo_case("repo-sel-matches-untagged-false", [sel("**", "matches", '{"untagged":false}')], set())
repo_case("repo-sel-excludes-default", [sel("nothing", "excludes", None)], {"app", "team/app", "a/b/c"})
repo_case("repo-sel-empty-list", [], {"app", "team/app", "a/b/c"})
# nsMatches/repoMatches used as TAG selectors read the candidate's namespace/short name.
case("ns-matches-as-tag-selector", NS_REPOS,
     policy(rule("latestPushedK", 0, tags=[sel("proj", "nsMatches", None)]), rule("always", tags=[sel("a/**", "repoMatches", None)])),
     {"app": {"x": "delete"}, "team/app": {"y": "delete"}, "a/b/c": {"z": "retain"}})

# ---- Immutable rules: several selectors, disabled, tag decorations, nesting ---------------
ONE = {"app": [a("t", ["v1"]), a("u", None, 20 * S)]}
DEL_ALL = policy(rule("latestPushedK", 0))
case("imm-first-repo-selector-only", ONE, DEL_ALL,
     {"app": {"t": "immutable", "u": "delete"}},
     immutable=[imm(1, [sel("v*", extras=None)], [sel("**", "repoMatches"), sel("app", "repoExcludes")])])
case("imm-first-tag-selector-only", ONE, DEL_ALL,
     {"app": {"t": "immutable", "u": "delete"}},
     immutable=[imm(1, [sel("v*"), sel("v*", "excludes")])])
case("imm-disabled", ONE, DEL_ALL, {"app": {"t": "delete", "u": "delete"}},
     immutable=[imm(1, [sel("**")], disabled=True)])
case("imm-excludes-protects-untagged", ONE, DEL_ALL, {"app": {"t": "delete", "u": "immutable"}},
     immutable=[imm(1, [sel("v*", "excludes")])])
case("imm-matches-never-untagged", ONE, DEL_ALL, {"app": {"t": "immutable", "u": "delete"}},
     immutable=[imm(1, [sel("**")])])
case("imm-repo-decoration-as-tag-selector", ONE, DEL_ALL,
     {"app": {"t": "immutable", "u": "immutable"}},
     immutable=[imm(1, [sel("app", "repoMatches")])])
case("imm-tag-decoration-as-repo-selector", ONE, DEL_ALL,
     {"app": {"t": "immutable", "u": "delete"}},
     immutable=[imm(1, [sel("**")], [sel("v*", "matches")])])
case("imm-ns-matches-never", ONE, DEL_ALL, {"app": {"t": "delete", "u": "delete"}},
     immutable=[imm(1, [sel("**")], [sel("proj", "nsMatches")])])
case("imm-pattern-error-ends-check-by-id", ONE, DEL_ALL, {"app": {"t": "delete", "u": "delete"}},
     immutable=[imm(9, [sel("**")]), imm(3, [sel("v[1")])])
case("imm-id-order-match-first", ONE, DEL_ALL, {"app": {"t": "immutable", "u": "delete"}},
     immutable=[imm(9, [sel("v[1")]), imm(3, [sel("**")])])
case("imm-retained-not-checked", ONE, policy(rule("always")),
     {"app": {"t": "retain", "u": "retain"}}, immutable=[imm(1, [sel("**")])])
# v2.11 strips the first segment again (G-PERF :99): team/app is matched as "app".
NESTED = {"team/app": [a("n", ["v1"])], "a/b/c": [a("m", ["v1"])]}
case("imm-nested-v211-team", NESTED, DEL_ALL, {"team/app": {"n": "delete"}, "a/b/c": {"m": "delete"}},
     immutable=[imm(1, [sel("**")], [sel("team/**", "repoMatches")])])
case("imm-nested-v211-stripped-name", NESTED, DEL_ALL,
     {"team/app": {"n": "immutable"}, "a/b/c": {"m": "immutable"}},
     immutable=[imm(1, [sel("**")], [sel("{app,b/c}", "repoMatches")])])
case("imm-nested-main-team", NESTED, DEL_ALL, {"team/app": {"n": "immutable"}, "a/b/c": {"m": "delete"}},
     immutable=[imm(1, [sel("**")], [sel("team/**", "repoMatches")])], version=None)
case("imm-nested-v211-excludes-qa", {"qa/team/app": [a("q", ["v1"])]}, DEL_ALL,
     {"qa/team/app": {"q": "immutable"}},
     immutable=[imm(1, [sel("**")], [sel("qa/**", "repoExcludes")])])

# ---- Actions and algorithms (G-BLD) -------------------------------------------------------
for action in ("delete", "", "Retain", "retain "):
    case(f"action-{action!r}", {"app": TWELVE[:2]}, policy(rule("always", action=action)),
         {"app": FAILED})
for algorithm in ("and", "OR", ""):
    case(f"algorithm-{algorithm!r}", {"app": TWELVE[:2], "other": [a("o", ["v1"])]},
         policy(rule("always", repos=[sel("app", "repoMatches", None)]), algorithm=algorithm),
         {"app": FAILED, "other": {"o": "retain"}})
# The algorithm is built after the rules, even when no rule has tag selectors.
case("algorithm-bad-rules-without-selectors", {"app": TWELVE[:2]},
     policy(rule("latestPushedK", 0, tags=[]), algorithm="and"), {"app": FAILED})
# Unknown template in a rule without tag selectors still fails the build (G-BLD :65).
case("unknown-template-no-selectors", {"app": TWELVE[:2]},
     policy(rule("latestPushedK", 1), rule("nothing", 1, tags=[])), {"app": FAILED})
# Only rules without tag selectors: nothing runs, nothing is deleted (G-OR :47-52).
case("no-rule-ran", {"app": TWELVE[:2]}, policy(rule("latestPushedK", 0, tags=[])),
     {"app": {"k00": "retain", "k01": "retain"}})

# ---- Index artifacts with children -------------------------------------------------------
# Children that are untagged are not listed (not candidates); a tagged child is a candidate
# in its own right and is DEL in the dry-run table when no rule keeps it (G-PERF :73-87).
_index = a("idx", ["v1"], 5 * S)
_index["references"] = [{"parent_id": 1, "child_id": 2, "child_digest": dig("child")}]
case("index-with-tagged-child", {"app": [_index, a("child", ["amd64"], 6 * S), a("old", ["v0"], 9 * S)]},
     policy(rule("latestPushedK", 1, tags=[sel("v*")])),
     {"app": {"idx": "retain", "child": "delete", "old": "delete"}})

# ---- Pattern errors (lazy) -----------------------------------------------------------------
case("tag-pattern-error-reached", {"app": [a("t", ["v1"])]},
     policy(rule("always", tags=[sel("[]a]")])), {"app": FAILED})
case("tag-pattern-error-untagged-only", {"app": [a("u", None)], "b": [a("t", ["v1"])]},
     policy(rule("latestPushedK", 0), rule("always", tags=[sel("[]a]")])),
     {"app": {"u": "retain"}, "b": FAILED})
case("repo-pattern-error-fails-launch", {"app": [a("t", ["v1"])]},
     policy(rule("always", repos=[sel("[", "repoMatches", None)])), {"app": {"t": "retain"}},
     launch_fails=True)

# ---- Re-tag bumps push time; tag push earlier than the artifact is ignored (G-DEP) -------
case("retag-bumps-push",
     {"app": [a("newer", ["n"], 2 * H), a("retagged", ["r"], 10 * D, tag_pushed={"r": T - H})]},
     policy(rule("latestPushedK", 1)), {"app": {"retagged": "retain", "newer": "delete"}})
# Union of two day templates with different boundaries.
case("union-lastx-and-days-since-push", {"app": BOUND},
     policy(rule("lastXDays", 1), rule("nDaysSinceLastPush", 1, tags=[sel("e")])),
     {"app": {"exact": "retain", "before": "delete", "after": "retain"}})


# ---------------------------------------------------------------------------------------------

def _snapshot(c: Case) -> dict[str, Any]:
    return snapshot(c.repos, c.pol, c.immutable, version=c.version)


def _harborguard(c: Case) -> tuple[bool, dict[str, dict[str, str] | str]]:
    snap = parse_snapshot(_snapshot(c), "audit3")
    result = simulate(snap, parse_nanos(c.now), resolve(c.version))
    project = result.projects[0]
    out: dict[str, dict[str, str] | str] = {}
    for ro in project.repositories:
        short = ro.repository.name.split("/", 1)[1]
        if ro.status == "failed":
            out[short] = FAILED
        else:
            out[short] = {d.digest: dec.action for d, dec in zip(ro.repository.artifacts, ro.decisions, strict=True)}
    return project.launch_error is not None, out


def _expected(c: Case) -> dict[str, dict[str, str] | str]:
    out: dict[str, dict[str, str] | str] = {}
    for name, exp in c.expected.items():
        out[name] = exp if isinstance(exp, str) else {dig(k): v for k, v in exp.items()}
    return out


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_harborguard_matches_harbor_v211(c: Case) -> None:
    launch_failed, got = _harborguard(c)
    assert launch_failed == c.launch_fails
    expected = _expected(c)
    assert {k: got[k] for k in expected} == expected
