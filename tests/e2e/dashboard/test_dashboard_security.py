"""The dashboard's walls: sessions, CSRF, account isolation tried by URL, and escaping."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.dashboard.conftest import XSS_NAME, Seeded, csrf_of, login


@pytest.fixture()
def alice(seeded: Seeded) -> Iterator[httpx.Client]:
    """A session of account A's user."""
    with httpx.Client(base_url=seeded.gateway.url, timeout=30) as client:
        assert login(client, seeded.a.key).status_code == 303
        yield client


def _csrf(client: httpx.Client) -> str:
    return csrf_of(client.get("/dashboard/keys").text)


def _b_key_id(seeded: Seeded) -> str:
    me = httpx.get(f"{seeded.gateway.api}/key", headers={"Authorization": f"Bearer {seeded.b.key}"})
    key_id: str = me.json()["data"]["key_id"]
    return key_id


def test_the_session_cookie_is_http_only_and_same_site_lax(seeded: Seeded) -> None:
    with httpx.Client(base_url=seeded.gateway.url) as client:
        response = login(client, seeded.a.key)
    cookie = response.headers["set-cookie"]
    assert response.headers["location"] == "/dashboard"
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and seeded.a.key not in cookie


def test_pages_redirect_to_the_login_without_a_session_or_with_a_forged_one(seeded: Seeded) -> None:
    with httpx.Client(base_url=seeded.gateway.url) as client:
        assert client.get("/dashboard").headers["location"] == "/dashboard/login"
        client.cookies.set("lr_session", "eyJzdWIiOiJhZG1pbiJ9.forged")
        for path in ("/dashboard", "/dashboard/keys", "/dashboard/export.csv", "/dashboard/routing"):
            response = client.get(path)
            assert (response.status_code, response.headers["location"]) == (303, "/dashboard/login"), path


def test_a_wrong_key_does_not_log_in(seeded: Seeded) -> None:
    with httpx.Client(base_url=seeded.gateway.url) as client:
        response = login(client, "lr-sk-not-a-real-key-0000000000000000000000")
        assert response.status_code == 401
        assert client.get("/dashboard").status_code == 303


def test_another_accounts_transaction_is_not_found_by_url(alice: httpx.Client, seeded: Seeded) -> None:
    theirs = alice.get(f"/dashboard/transactions/{seeded.b.generations[0]}")
    unknown = alice.get("/dashboard/transactions/gen_000000000000000000000000")
    assert theirs.status_code == unknown.status_code == 404
    assert seeded.b.generations[0] not in alice.get("/dashboard").text
    assert seeded.b.generations[0] not in alice.get("/dashboard/export.csv").text
    assert alice.get(f"/dashboard/transactions/{seeded.a.generations[0]}").status_code == 200


def test_another_accounts_key_can_be_neither_seen_edited_nor_revoked(alice: httpx.Client, seeded: Seeded) -> None:
    key_id = _b_key_id(seeded)
    csrf = _csrf(alice)
    assert alice.get(f"/dashboard/keys/{key_id}").status_code == 404
    assert alice.post(f"/dashboard/keys/{key_id}", data={"csrf": csrf, "name": "taken"}).status_code == 404
    assert alice.post(f"/dashboard/keys/{key_id}/revoke", data={"csrf": csrf}).status_code == 404
    me = httpx.get(f"{seeded.gateway.api}/key", headers={"Authorization": f"Bearer {seeded.b.key}"})
    assert me.status_code == 200 and me.json()["data"]["name"] == "bravo-key"
    assert key_id not in alice.get("/dashboard/keys").text


def test_a_user_can_neither_switch_account_nor_open_the_operators_pages(alice: httpx.Client, seeded: Seeded) -> None:
    csrf = _csrf(alice)
    assert alice.post("/dashboard/account", data={"csrf": csrf, "account_id": seeded.b.account_id}).status_code == 404
    assert "Bravo" not in alice.get("/dashboard").text
    assert alice.get("/dashboard/routing").status_code == 403
    assert alice.post("/dashboard/routing", data={"csrf": csrf, "carbon_weight": "1"}).status_code == 403
    before = httpx.get(f"{seeded.gateway.api}/credits", headers={"Authorization": f"Bearer {seeded.a.key}"})
    assert alice.post("/dashboard/credits", data={"csrf": csrf, "amount": "1000"}).status_code == 403
    after = httpx.get(f"{seeded.gateway.api}/credits", headers={"Authorization": f"Bearer {seeded.a.key}"})
    assert after.json()["data"]["total_credits"] == before.json()["data"]["total_credits"]


@pytest.mark.parametrize("token", [None, "", "not-the-token"])
def test_forms_without_the_sessions_csrf_token_are_refused(alice: httpx.Client, token: str | None) -> None:
    data = {"name": "csrf-probe"} if token is None else {"name": "csrf-probe", "csrf": token}
    assert alice.post("/dashboard/keys", data=data).status_code == 403
    assert alice.post("/dashboard/logout", data=data).status_code == 403
    assert "csrf-probe" not in alice.get("/dashboard/keys").text
    assert alice.get("/dashboard").status_code == 200


def test_the_login_form_needs_its_csrf_token_too(seeded: Seeded) -> None:
    with httpx.Client(base_url=seeded.gateway.url) as client:
        client.get("/dashboard/login")
        refused = client.post("/dashboard/login", data={"key": seeded.a.key})
        assert refused.status_code == 403 and "set-cookie" in refused.headers
        assert client.get("/dashboard").status_code == 303


def test_logging_out_ends_the_session(alice: httpx.Client) -> None:
    out = alice.post("/dashboard/logout", data={"csrf": _csrf(alice)})
    assert out.status_code == 303 and "Max-Age=0" in out.headers["set-cookie"]
    assert alice.get("/dashboard").headers["location"] == "/dashboard/login"


def test_everything_a_user_typed_is_escaped(alice: httpx.Client) -> None:
    csrf = _csrf(alice)
    created = alice.post("/dashboard/keys", data={"csrf": csrf, "name": '"><img src=x onerror=alert(1)>'})
    assert created.status_code == 201
    for path in ("/dashboard", "/dashboard/keys", "/dashboard/credits"):
        html = alice.get(path).text
        assert "<script>alert" not in html and "<img src=x" not in html, path
        assert "<b>team</b>" not in html and "Alpha &lt;b&gt;team&lt;/b&gt;" in html, path
    keys = alice.get("/dashboard/keys").text
    assert "&lt;script&gt;alert(&#39;key&#39;)&lt;/script&gt;" in keys and XSS_NAME not in keys
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in keys


def test_a_sessions_key_revoked_elsewhere_ends_the_session(seeded: Seeded) -> None:
    token = seeded.gateway.new_key(seeded.a.account_id, name="short-lived")
    with httpx.Client(base_url=seeded.gateway.url) as client:
        assert login(client, token).status_code == 303
        assert client.get("/dashboard").status_code == 200
        key_id = re.search(r'data-key="(key_[0-9a-f]+)"><td>short-lived', client.get("/dashboard/keys").text)
        assert key_id is not None
        assert seeded.gateway.admin("DELETE", f"/keys/{key_id.group(1)}").status_code == 200
        assert client.get("/dashboard").headers["location"] == "/dashboard/login"


def test_every_page_is_well_under_100_kb(alice: httpx.Client, seeded: Seeded) -> None:
    paths = ["/dashboard", f"/dashboard/transactions/{seeded.a.generations[0]}", "/dashboard/keys",
             "/dashboard/credits", "/models", "/dashboard/login"]
    for path in paths:
        response = alice.get(path)
        assert response.status_code == 200, path
        assert len(response.content) + sum(len(k) + len(v) for k, v in response.headers.items()) < 100_000, path
