"""pipeline/findingrows.py: findings encoded without dictionaries are the bytes the
dictionaries' path writes (report/build.py's finding_dicts through writer.Spill.add)."""

from __future__ import annotations

from harborguard.findings import Finding, Related
from harborguard.jsonio import dumps
from harborguard.pipeline.findingrows import _Row
from harborguard.pipeline.writer import Spill
from harborguard.report.build import finding_dicts
from harborguard.report.json import render_items


def _findings() -> list[Finding]:
    long = tuple(Related(f"sha256:{n:064x}", (f"1.{n}.0", "release-é")) for n in range(6))
    short = (Related("sha256:" + "b" * 64, ()),)
    return [
        Finding("version-order-inversion", 'deletes 1.9.0 but keeps "1.2.0" \u2028',
                "p", "p/app", "sha256:" + "1" * 64, ("1.9.0",), 2, long),
        Finding("version-order-inversion", "deletes 1.8.0", "p", "p/app",
                "sha256:" + "2" * 64, ("1.8.0", "x"), 2, long),  # the same tuple: shared
        Finding("time-tie", "tied", "p", "p/app", "sha256:" + "3" * 64, (), 0, short),
        Finding("in-use-deleted", "runs\x01", "p", "p/app", None, None, None, (),
                "builds-api", "tools"),
        Finding("policy-invalid", "no project", None, None, None, None, 1,
                tuple(long[:5])),  # equal to a prefix, but another tuple
    ]


def _kept_older(count: int) -> list[Finding]:
    """As the analysis names them: each deleted version's kept older ones, newest first,
    the end of one list (report/build.py's version-order-inversion findings)."""
    kept = [Related(f"sha256:{n:064x}", (f"1.{n}.0",) + (("release-é",) if n % 2 else ()))
            for n in range(count)]
    found = []
    for deleted in range(count, 4, -1):
        related = tuple(reversed(kept[:deleted - 1]))
        for copy in range(2):  # two deleted versions between the same kept ones
            found.append(Finding("version-order-inversion", f"deletes {deleted}.{copy}", "p",
                                 "p/app", f"sha256:{deleted:063x}{copy}", (f"{deleted}",),
                                 2, related))
    return found


def _spilled(batches: list[list[Finding]]) -> tuple[bytes, int, int]:
    spill = Spill()
    try:
        for batch in batches:
            spill.add_findings(batch)
        return spill.read(), spill.size, spill._shared_size
    finally:
        spill.close()


def test_the_bytes_of_the_dictionaries_path() -> None:
    batches = [_findings(), _kept_older(12), _findings()[1:], _kept_older(5)]
    expected = b"[" + b",\n    ".join(
        body[1:-1] for batch in batches
        if isinstance(body := render_items(finding_dicts(batch)).arrays[0], bytes)) + b"]"
    read, size, _ = _spilled(batches)
    assert read == expected
    assert size == len(expected) - 2


def test_the_end_of_a_longer_list_is_not_written_again() -> None:
    findings = _kept_older(30)
    longest = render_items(finding_dicts(findings[:1])).arrays[0]
    assert isinstance(longest, bytes)
    _, _, written = _spilled([findings])
    # Only the longest list's bytes: each shorter one is a tail of them.
    related = finding_dicts(findings[:1])[0]["related"]
    assert written == len(dumps(related))
    # Lists that are not such a tail are each written.
    _, _, apart = _spilled([_findings()])
    assert apart == len(dumps(finding_dicts(_findings())[0]["related"])) + len(
        dumps(finding_dicts(_findings())[4]["related"]))


def test_the_row_has_the_report_keys_in_their_order() -> None:
    assert _Row.__struct_fields__ == tuple(finding_dicts(_findings()[:1])[0])


def test_a_spill_of_findings_equals_one_of_their_dictionaries() -> None:
    findings = _findings()
    lone = [*findings, Finding("version-order-inversion", "bad \ud800 tag", "p", "p/app",
                               "sha256:" + "4" * 64, ("\ud800",), 2, findings[0].related)]
    for batch in (findings, lone):  # a lone surrogate: the dictionaries' path, same bytes
        fast, slow = Spill(), Spill()
        try:
            fast.add_findings(batch)
            fast.add_findings(batch[:2])
            slow.add(finding_dicts(batch))
            slow.add(finding_dicts(batch[:2]))
            assert fast.read() == slow.read()
            assert (fast.size, fast.length) == (slow.size, slow.length)
        finally:
            fast.close()
            slow.close()
