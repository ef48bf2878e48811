"""The protect command without click: a policy changed on the server between the read and
the write is not overwritten."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harborguard.commands import Invocation
from harborguard.commands.protect import apply_protect, run_protect
from harborguard.gather import EvidenceOptions
from tests.fakeharbor import FakeHarbor

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE = EXAMPLES / "toolforge-snapshot.json"
CLUSTER = EXAMPLES / "cluster-kubectl.json"
NOW = "2024-02-26T10:00:00Z"
ALIAS = "tools-harbor.wmcloud.org"
USER, PASSWORD = "robot$toolforge+protect", "s3cret-pw"


def _invocation(fake: FakeHarbor) -> tuple[Invocation, EvidenceOptions]:
    inv = Invocation.of({"harbor": fake.url, "username": USER, "now": NOW,
                         "project": ["toolforge"], "registry-alias": [ALIAS]},
                        password=lambda: PASSWORD)
    return inv, EvidenceOptions(kubectl_json=(str(CLUSTER),))


def test_a_policy_changed_on_the_server_is_not_overwritten() -> None:
    with FakeHarbor(json.loads(EXAMPLE.read_text()), users={USER: PASSWORD}) as fake:
        inv, evidence = _invocation(fake)
        run = run_protect(inv, evidence, apply=True)
        assert run.pending
        # Someone edits the policy between the read and the write.
        stored: dict[str, Any] = fake.project("toolforge").retention  # type: ignore[assignment]
        stored["rules"][0]["params"]["latestPushedK"] = 20
        result = apply_protect(run)
        assert result.incomplete
        assert not fake.puts
        missing = result.report["incomplete"]
        assert any("changed on the server" in i["reason"] and "policy 7" in i["what"]
                   for i in missing)
