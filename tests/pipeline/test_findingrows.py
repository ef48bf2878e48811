"""pipeline/findingrows.py: findings encoded without dictionaries are the bytes the
dictionaries' path writes (report/build.py's finding_dicts through writer.Spill.add)."""

from __future__ import annotations

from harborguard.findings import Finding, Related
from harborguard.pipeline.findingrows import _Row, encode_findings
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


def _expanded(body: bytes, lists: list[bytes]) -> bytes:
    for n, encoded in enumerate(lists):
        body = body.replace(b"\x00%016x%08x" % (n, 0), encoded)
    return body


def test_the_bytes_of_the_dictionaries_path() -> None:
    findings = _findings()
    lists: list[bytes] = []

    def share(encoded: bytes) -> tuple[object, int]:
        import msgspec

        lists.append(encoded)
        return msgspec.Raw(b"\x00%016x%08x" % (len(lists) - 1, 0)), len(encoded) - 25

    body, extra = encode_findings(findings, share, 4)  # type: ignore[arg-type]
    expected = render_items(finding_dicts(findings)).arrays[0]
    assert isinstance(expected, bytes)
    assert len(lists) == 2  # the shared tuple once, the other long one once
    assert _expanded(body, lists) == expected
    assert len(body) + extra == len(expected)


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
