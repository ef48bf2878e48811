"""What Harbor's answers mean for a fetch, over HTTP against the fake Harbor: credentials
Harbor did not accept are proved before any list is trusted (Harbor answers them as
anonymous), and a fetch that read no project is incomplete."""

from __future__ import annotations

import pytest

from harborguard.errors import SourceError
from tests.sources.harbor.test_client import (
    ADMIN,
    PASSWORD,
    POLICY,
    ROBOT,
    artifacts,
    document,
    entry,
    fetch,
    harbor,
)


def private_and_public() -> dict[str, object]:
    return document(entry("proj", {"app": artifacts("app", 2)}, retention=POLICY),
                    entry("open", {"web": artifacts("web", 1)}, public=True, project_id=2))


@pytest.mark.parametrize("account", [ADMIN, ROBOT])
def test_rejected_credentials_end_an_all_projects_read_naming_the_account(account: str) -> None:
    # Harbor would list the public project only (wrong credentials are anonymous): a
    # read of every project must not go on as if that were all of them.
    with harbor(private_and_public()) as fake, pytest.raises(SourceError) as caught:
        fetch(fake, all_projects=True, username=account, password="expired-" + PASSWORD)
    message = str(caught.value)
    assert f"account '{account}'" in message and "HTTP 401" in message
    assert "/users/current" in message and "HARBOR_PASSWORD" in message
    assert PASSWORD not in message and "expired-" not in message
    assert not fake.requests_to("/projects$")  # nothing listed before the proof


def test_a_rejected_password_ends_a_read_of_named_projects_too() -> None:
    with harbor(private_and_public()) as fake, pytest.raises(SourceError) as caught:
        fetch(fake, ["open"], password="wrong")
    assert "did not accept the credentials of account 'admin'" in str(caught.value)


@pytest.mark.parametrize(("account", "status"), [(ADMIN, 200), (ROBOT, 412)])
def test_accepted_credentials_read_every_project(account: str, status: int) -> None:
    # Harbor answers 412 to a robot account on /users/current: authenticated, not a user.
    with harbor(private_and_public()) as fake:
        fetched = fetch(fake, all_projects=True, username=account)
        assert [s.status for s in fake.requests_to("/users/current$")] == [status]
    assert [p["project"]["name"] for p in fetched["projects"]] == ["proj", "open"]
    assert fetched["incomplete"] == []


def test_anonymous_is_not_asked_to_prove_anything() -> None:
    with harbor(private_and_public()) as fake:
        fetched = fetch(fake, ["open"], username=None)
        assert not fake.requests_to("/users/current$")
    assert [p["project"]["name"] for p in fetched["projects"]] == ["open"]


def test_an_older_harbor_failing_for_a_robot_is_settled_by_the_version() -> None:
    # Harbor's legacy users handler answers 500 for a robot ("does not exist in DB");
    # /systeminfo gave harbor_version, which Harbor gives authenticated callers only.
    with harbor(private_and_public()) as fake:
        fake.fault("/users/current$", 500, times=None)
        fetched = fetch(fake, all_projects=True, username=ROBOT)
    assert [p["project"]["name"] for p in fetched["projects"]] == ["proj", "open"]


def test_an_unanswered_proof_without_the_version_ends_the_read() -> None:
    with harbor(private_and_public()) as fake, pytest.raises(SourceError) as caught:
        fake.fault("/users/current$", 500, times=None)
        fake.fault("/systeminfo$", None, body=b'{"auth_mode": "db_auth"}')
        fetch(fake, all_projects=True)
    assert "cannot tell whether Harbor" in str(caught.value)
    assert "account 'admin'" in str(caught.value)


def test_an_all_projects_read_that_finds_no_project_is_incomplete() -> None:
    # Anonymous on a Harbor without public projects, or a robot with the wrong scope.
    with harbor(document(entry("proj", {"app": artifacts("app", 2)}))) as fake:
        fetched = fetch(fake, all_projects=True, username=None)
        url = fake.url
    assert fetched["projects"] == []
    [missing] = fetched["incomplete"]
    assert missing["what"] == "projects"
    assert missing["reason"].startswith(f"no project was read from {url}")


def test_a_server_without_the_endpoint_is_not_refused() -> None:
    # Every Harbor v2 serves /users/current (401 to anonymous); a server answering 404
    # there cannot be one that silently read the account as anonymous this way.
    with harbor(private_and_public()) as fake:
        fake.fault("/users/current$", 404, times=None)
        fake.fault("/systeminfo$", None, body=b'{"auth_mode": "db_auth"}')
        fetched = fetch(fake, all_projects=True)
    assert [p["project"]["name"] for p in fetched["projects"]] == ["proj", "open"]
