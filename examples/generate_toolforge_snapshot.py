"""Writes examples/toolforge-snapshot.json: the Toolforge incident as Harbor would list it.

The builds-api versions and their build times are real (the chart versions tagged in
builds-api's repository, see ../shared/toolforge/builds-api_release_tags.txt); digests,
ids, sizes and pull times are made up. The story: on 2024-02-21 at 18:00 UTC the project
moved to a new Harbor by replication, which copies tags in lexical order, so 0.0.96-0.0.99
got the latest push times. Then 0.0.131 was published (but never deployed). A "keep the
10 most recently pushed" policy now keeps 0.0.96-0.0.99 and 0.0.131, and deletes 0.0.130,
which the cluster still runs. Charts and images share one repository, so the 10 slots
hold 5 releases.

Each artifact's `blobs` (what `harborguard snapshot --dedup` records: its manifest, config
and layers, an index's children's too) are illustrative, not read from Toolforge's Harbor:
builds-api images are a Debian base layer (three generations over the versions), a
ca-certificates layer and the Go binary's own layer; jobs-api and registry-admission build
on the newest of those bases; the heroku-builder indexes share a stack layer per platform
and a buildpacks layer every 4 builds; every chart is its own. Each artifact's blob sizes
add up to its Harbor `size`.

Run: python examples/generate_toolforge_snapshot.py  (no dependencies)
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

OUT = Path(__file__).with_name("toolforge-snapshot.json")
PROJECT_ID = 12
MIGRATION = datetime(2024, 2, 21, 18, 0, 0, 250000, tzinfo=UTC)
TAKEN_AT = "2024-02-26T10:00:00Z"
NEVER = "0001-01-01T00:00:00.000Z"

BUILDS_API = """
0.0.77-20230714092027-8af82494 0.0.78-20230714093723-c24ec061 0.0.81-20230725192235-c865d549
0.0.82-20230803083950-e3a8c171 0.0.83-20230805005010-6e038fbf 0.0.84-20230807121350-0c363137
0.0.85-20230817105952-25c2b55f 0.0.86-20230817125319-ef95e80e 0.0.87-20230817181438-5953f977
0.0.89-20230904120847-06afeac3 0.0.90-20230904140823-3f09e471 0.0.91-20230904172330-ed7a623f
0.0.92-20230905233454-819a971b 0.0.93-20230911113836-bc7bcc13 0.0.94-20230914083722-527b0240
0.0.96-20230914095229-353f3d3b 0.0.97-20230925184207-d91d270d 0.0.98-20230929151218-8c415588
0.0.99-20231003123435-edb508d4 0.0.100-20231004160507-65ccbdcf 0.0.101-20231013131508-1fa32643
0.0.102-20231024134518-13494657 0.0.103-20231106202736-75b9cefb 0.0.104-20231113143657-f8b48e05
0.0.105-20231117144847-11007921 0.0.106-20231121081334-cc0ed5cf 0.0.107-20231122151032-b609b7c7
0.0.108-20231123094315-1174a8aa 0.0.109-20231128095257-2ac6a0b9 0.0.110-20231205000727-2c3c4fa5
0.0.111-20231205171101-9320380c 0.0.112-20231207081230-2d86b8e2 0.0.114-20231212093716-94601dd3
0.0.115-20231212120506-fa16fa96 0.0.117-20231213110249-3c9d6b72 0.0.118-20231215130655-6b2c1521
0.0.119-20231215205830-eb4fc72d 0.0.120-20231219181130-35e078a5 0.0.121-20240110162251-d16c5ece
0.0.122-20240117053308-11168593 0.0.123-20240206232020-ecb1c8d9 0.0.124-20240207010916-3e487c5b
0.0.125-20240212094701-2aef65f6 0.0.126-20240212140328-9308d684 0.0.127-20240212142521-3faee90d
0.0.128-20240212150430-023b8914 0.0.130-20240221160838-03b2a120
""".split()
PUBLISHED_AFTER_MIGRATION = ["0.0.131-20240222212602-322f874b"]

_next_id = [1000]
# The digest the cluster's pod reports for 0.0.130 (shared/toolforge/kubectl_list_example.json).
KNOWN_DIGESTS = {
    "0.0.130-20240221160838-03b2a120_image":
        "sha256:f0347cd50640a29cae5396c4cad7ec8ac0f175e4df7885e675af36a4a0c907f7",
}


def ts(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def artifact(repo: str, repo_id: int, tags: list[str], kind: str, size: int, pushed: datetime,
             pulled: datetime | None = None, children: list[str] | None = None,
             seed: str | None = None) -> dict[str, object]:
    _next_id[0] += 1
    art_id = _next_id[0]
    media = {
        "CHART": "application/vnd.cncf.helm.config.v1+json",
        "IMAGE": "application/vnd.oci.image.config.v1+json",
    }.get(kind, "application/vnd.oci.image.index.v1+json")
    manifest = (
        "application/vnd.oci.image.index.v1+json" if children
        else "application/vnd.oci.image.manifest.v1+json"
    )
    d = KNOWN_DIGESTS.get(",".join(tags)) or digest(seed or f"{repo}:{','.join(tags)}:{kind}")
    tag_objs = []
    for i, name in enumerate(tags):
        _next_id[0] += 1
        tag_objs.append({
            "id": _next_id[0], "repository_id": repo_id, "artifact_id": art_id, "name": name,
            "push_time": ts(pushed + timedelta(milliseconds=i)),
            "pull_time": ts(pulled) if pulled else NEVER, "immutable": False,
        })
    item: dict[str, object] = {
        "id": art_id, "type": kind, "media_type": media, "manifest_media_type": manifest,
        "project_id": PROJECT_ID, "repository_id": repo_id, "repository_name": repo,
        "digest": d, "size": size, "push_time": ts(pushed),
        "pull_time": ts(pulled) if pulled else NEVER, "extra_attrs": {},
        "references": [
            {"parent_id": art_id, "child_id": 0, "child_digest": c,
             "platform": {"os": "linux", "architecture": arch}}
            for c, arch in zip(children or [], ["amd64", "arm64"], strict=False)
        ] or None,
        "tags": tag_objs or None, "labels": None,
        "addition_links": {"values.yaml": {"absolute": False, "href": "values.yaml"}}
        if kind == "CHART" else {},
    }
    return item


OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
# Debian base layers, one per base image update, and the ca-certificates layer on top.
BASES = [("debian-bookworm-20230703", 29_124_537), ("debian-bookworm-20231009", 29_150_112),
         ("debian-bookworm-20231218", 29_178_654)]
CA_CERTIFICATES = ("ca-certificates-20230311", 1_204_881)


def blob(seed: str, size: int, media_type: str = LAYER) -> dict[str, object]:
    return {"digest": digest(seed), "size": size, "media_type": media_type}


def image_blobs(manifest_digest: str, total: int, seed: str,
                shared: list[tuple[str, int]]) -> list[dict[str, object]]:
    """An image's blobs: its manifest, config, the ``shared`` layers and its own layer,
    whose size makes them add up to ``total`` (Harbor's size)."""
    manifest, config = 1_012 + len(shared) * 93, 1_532 + len(seed) % 97
    own = total - manifest - config - sum(size for _, size in shared)
    return [{"digest": manifest_digest, "size": manifest, "media_type": OCI_MANIFEST},
            blob(f"config {seed}", config, "application/vnd.oci.image.config.v1+json"),
            *(blob(name, size) for name, size in shared), blob(f"layer {seed}", own)]


def chart_blobs(manifest_digest: str, total: int, seed: str) -> list[dict[str, object]]:
    return [{"digest": manifest_digest, "size": 598, "media_type": OCI_MANIFEST},
            blob(f"chart config {seed}", 264, "application/vnd.cncf.helm.config.v1+json"),
            blob(f"chart {seed}", total - 598 - 264,
                 "application/vnd.cncf.helm.chart.content.v1.tar+gzip")]


def builds_api_base(version: str) -> tuple[str, int]:
    patch = int(version.split("-")[0].split(".")[2])
    return BASES[0] if patch < 100 else BASES[1] if patch < 120 else BASES[2]


def builder_blobs(item: dict[str, object], number: int) -> list[dict[str, object]]:
    """A heroku-builder index: its manifest and two platform images (stack layer per
    platform, buildpacks layer every 4 builds, lifecycle layer of its own)."""
    children = [str(r["child_digest"]) for r in item["references"]]  # type: ignore[attr-defined]
    index = 712
    half = (int(str(item["size"])) - index) // 2
    found = [{"digest": item["digest"], "size": index, "media_type": OCI_INDEX}]
    for child, (arch, stack) in zip(children, (("amd64", 78_334_201), ("arm64", 76_902_117)),
                                    strict=True):
        total = half + (int(str(item["size"])) - index) % 2 * (arch == "amd64")
        found += image_blobs(child, total, f"builder {number} {arch}",
                             [(f"heroku-22 stack {arch}", stack),
                              (f"buildpacks {number // 4} {arch}", 121_445_870)])
    return found


def api_order(items: list[dict[str, object]]) -> list[dict[str, object]]:
    # Harbor lists artifacts by push_time DESC, id DESC.
    return sorted(items, key=lambda a: (str(a["push_time"]), int(str(a["id"]))), reverse=True)


def build_time(version: str) -> datetime:
    stamp = version.split("-")[1]
    return datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def builds_api(repo_id: int) -> tuple[dict[str, object], list[dict[str, object]]]:
    name = "toolforge/builds-api"
    running_pull = datetime(2024, 2, 24, 3, 12, 40, tzinfo=UTC)
    items = []
    # Replication copies tags in lexical order, one artifact every few seconds.
    tags = sorted(BUILDS_API + [f"{v}_image" for v in BUILDS_API])
    when = MIGRATION
    for tag in tags:
        is_image = tag.endswith("_image")
        version = tag.removesuffix("_image")
        pulled = running_pull if version.startswith("0.0.130-") and is_image else None
        if version.startswith("0.0.130-") and not is_image:
            pulled = datetime(2024, 2, 21, 18, 40, 2, tzinfo=UTC)  # helm pulled the chart
        items.append(artifact(name, repo_id, [tag], "IMAGE" if is_image else "CHART",
                              48_213_776 if is_image else 5_312, when, pulled))
        when += timedelta(seconds=3 if is_image else 1, milliseconds=137)
    for version in PUBLISHED_AFTER_MIGRATION:
        built = build_time(version)
        items.append(artifact(name, repo_id, [f"{version}_image"], "IMAGE", 48_391_022,
                              built + timedelta(minutes=4)))
        items.append(artifact(name, repo_id, [version], "CHART", 5_329,
                              built + timedelta(minutes=6)))
    for item in items:
        tag = str(item["tags"][0]["name"])  # type: ignore[index]
        version = tag.removesuffix("_image")
        item["blobs"] = (
            image_blobs(str(item["digest"]), int(str(item["size"])), f"builds-api {version}",
                        [builds_api_base(version), CA_CERTIFICATES])
            if item["type"] == "IMAGE"
            else chart_blobs(str(item["digest"]), int(str(item["size"])),
                             f"builds-api {version}"))
    repo = {"id": repo_id, "project_id": PROJECT_ID, "name": name,
            "artifact_count": len(items), "pull_count": 212,
            "creation_time": ts(MIGRATION), "update_time": ts(MIGRATION)}
    return repo, api_order(items)


def steady(name: str, repo_id: int, versions: list[tuple[str, datetime]], chart: bool,
           untagged_at: datetime | None = None
           ) -> tuple[dict[str, object], list[dict[str, object]]]:
    items = []
    short = name.removeprefix("toolforge/")
    # jobs-api: Python on the newest Debian base, its dependencies layer rebuilt once;
    # registry-admission: a Go binary on the same base.
    runtime = ([BASES[2], ("python3.11-runtime", 14_032_557)] if chart
               else [BASES[2], CA_CERTIFICATES])
    for number, (version, when) in enumerate(versions):
        image = artifact(name, repo_id, [f"{version}_image" if chart else version], "IMAGE",
                         61_004_112, when)
        deps = [(f"{short} dependencies {number // 4}", 12_611_002 + number // 4 * 33_869)]
        image["blobs"] = image_blobs(str(image["digest"]), 61_004_112, f"{short} {version}",
                                     runtime + (deps if chart else []))
        items.append(image)
        if chart:
            items.append(artifact(name, repo_id, [version], "CHART", 4_870,
                                  when + timedelta(seconds=40)))
            items[-1]["blobs"] = chart_blobs(str(items[-1]["digest"]), 4_870,
                                             f"{short} {version}")
    if untagged_at is not None:
        items.append(artifact(name, repo_id, [], "IMAGE", 60_998_301, untagged_at,
                              seed=f"{name}:rebuilt"))
        items[-1]["blobs"] = image_blobs(
            str(items[-1]["digest"]), 60_998_301, f"{short} rebuilt",
            runtime + [(f"{short} dependencies 0", 12_611_002)])
    repo = {"id": repo_id, "project_id": PROJECT_ID, "name": name,
            "artifact_count": len(items), "pull_count": 40,
            "creation_time": ts(MIGRATION), "update_time": ts(MIGRATION)}
    return repo, api_order(items)


def main() -> None:
    repos = [builds_api(101)]
    jobs = []
    for i in range(8):
        when = MIGRATION + timedelta(hours=2 + 7 * i)
        sha = hashlib.sha1(str(i).encode()).hexdigest()[:8]
        jobs.append((f"0.0.{150 + i}-{when:%Y%m%d%H%M%S}-{sha}", when))
    repos.append(steady("toolforge/jobs-api", 102, jobs, chart=True,
                        untagged_at=MIGRATION + timedelta(hours=30)))
    admission = [(f"0.0.{30 + i}", MIGRATION + timedelta(days=1, hours=i)) for i in range(3)]
    repos.append(steady("toolforge/registry-admission", 103, admission, chart=False))
    builder_items = []
    for i in range(13):
        day = MIGRATION + timedelta(days=-20 + i * 2)
        tags = [f"22-{day:%Y%m%d}"]
        if i == 12:
            tags.insert(0, "22")
        if i == 1:
            tags.append("22-stable")
        builder_items.append(artifact(
            "toolforge/heroku-builder", 104, tags, "IMAGE", 512_000_000 + i, day,
            children=[digest(f"builder-{i}-amd64"), digest(f"builder-{i}-arm64")]))
        builder_items[-1]["blobs"] = builder_blobs(builder_items[-1], i)
    repos.append((
        {"id": 104, "project_id": PROJECT_ID, "name": "toolforge/heroku-builder",
         "artifact_count": len(builder_items), "pull_count": 9001,
         "creation_time": ts(MIGRATION), "update_time": ts(MIGRATION)},
        api_order(builder_items),
    ))
    snapshot = {
        "schema": "harborguard.snapshot/v1",
        "harbor": "https://tools-harbor.wmcloud.org",
        "harbor_version": "v2.11.1-6b7ecba1",
        "taken_at": TAKEN_AT,
        "incomplete": [],
        "projects": [{
            "project": {
                "project_id": PROJECT_ID, "name": "toolforge", "owner_id": 1,
                "owner_name": "admin", "repo_count": len(repos),
                "creation_time": ts(MIGRATION), "update_time": ts(MIGRATION),
                "metadata": {"public": "true", "retention_id": "7"},
            },
            "retention": {
                "id": 7,
                "algorithm": "or",
                "rules": [{
                    "action": "retain",
                    "template": "latestPushedK",
                    "params": {"latestPushedK": 10},
                    "tag_selectors": [{"kind": "doublestar", "decoration": "matches",
                                       "pattern": "**", "extras": "{\"untagged\":true}"}],
                    "scope_selectors": {"repository": [
                        {"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}]},
                }],
                "trigger": {"kind": "Schedule", "settings": {
                    "cron": "0 0 0 * * *", "next_scheduled_time": "2024-02-27T00:00:00.000Z"}},
                "scope": {"level": "project", "ref": PROJECT_ID},
            },
            "immutable_rules": [{
                "id": 3, "priority": 0, "disabled": False, "action": "immutable",
                "template": "immutable_template",
                "tag_selectors": [{"kind": "doublestar", "decoration": "matches",
                                   "pattern": "*-stable"}],
                "scope_selectors": {"repository": [
                    {"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}]},
            }],
            "repositories": [{"repository": r, "artifacts": a} for r, a in repos],
        }],
    }
    OUT.write_text(json.dumps(snapshot, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
