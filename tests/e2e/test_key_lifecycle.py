"""Virtual keys on a running gateway: the CLI's edits apply from the next request, policy is
enforced, and no key token is ever written to the ledger, the projections or the log."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest

from domain.api_key import hash_key
from tests.support.credits import cli, create_key, fee_gateway
from tests.support.gateway import GatewayProcess
from tests.support.upstream import FakeUpstream

ISSUED: list[str] = []  # every token this module created, for the secrecy check at the end
HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture(scope="module")
def gateway(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    proc = fee_gateway(tmp_path_factory.mktemp("keys"), upstream)
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def account(gateway: GatewayProcess) -> str:
    return gateway.new_account(credits="10")


def new_key(gateway: GatewayProcess, account: str, **policy: object) -> tuple[str, str]:
    key_id, token = create_key(gateway, account, **policy)
    ISSUED.append(token)
    return key_id, token


def sdk(gateway: GatewayProcess, token: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.api, api_key=token, max_retries=0)


def ask(gateway: GatewayProcess, token: str, **extra: object) -> str | None:
    with sdk(gateway, token) as client:
        answer = client.chat.completions.create(model="fake/fake", messages=HELLO, max_tokens=2, **extra)  # type: ignore[call-overload]
    content: str | None = answer.choices[0].message.content
    return content


def test_a_key_revoked_from_the_cli_is_refused_on_the_very_next_request(gateway: GatewayProcess, account: str) -> None:
    key_id, token = new_key(gateway, account)
    assert ask(gateway, token) == "w0 w1"
    done = cli(gateway, "keys", "revoke", key_id)
    assert done.returncode == 0, done.stderr
    with pytest.raises(openai.AuthenticationError, match="revoked"):
        ask(gateway, token)


def test_a_key_disabled_from_the_cli_is_refused_until_it_is_enabled_again(
        gateway: GatewayProcess, account: str) -> None:
    key_id, token = new_key(gateway, account)
    assert cli(gateway, "keys", "edit", key_id, "--disable").returncode == 0
    with pytest.raises(openai.AuthenticationError, match="disabled"):
        ask(gateway, token)
    assert cli(gateway, "keys", "edit", key_id, "--enable").returncode == 0
    assert ask(gateway, token) == "w0 w1"


def test_an_expired_key_is_refused(gateway: GatewayProcess, account: str) -> None:
    key_id, token = new_key(gateway, account)
    r = gateway.admin("PATCH", f"/keys/{key_id}", {"expires_at": "2020-01-01T00:00:00Z"})
    assert r.status_code == 200, r.text
    with pytest.raises(openai.AuthenticationError, match="expired"):
        ask(gateway, token)


def test_a_key_that_expires_later_still_works(gateway: GatewayProcess, account: str) -> None:
    _, token = new_key(gateway, account, expires_at="2999-01-01T00:00:00Z")
    assert ask(gateway, token) == "w0 w1"


def test_an_unknown_key_is_refused_without_echoing_it(gateway: GatewayProcess) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        ask(gateway, "lr-sk-" + "x" * 40)
    assert "x" * 40 not in str(caught.value.body)


def test_a_model_outside_the_key_allowlist_is_forbidden(gateway: GatewayProcess, account: str) -> None:
    _, token = new_key(gateway, account, models=["simulator/small"])
    with pytest.raises(openai.PermissionDeniedError, match="may not use model"):
        ask(gateway, token)


def test_a_region_outside_the_key_pin_is_forbidden(gateway: GatewayProcess, account: str) -> None:
    _, token = new_key(gateway, account, region="eu-west")
    with pytest.raises(openai.PermissionDeniedError, match="pinned to region"):
        ask(gateway, token, extra_body={"route": {"region": "us-east"}})


def test_a_region_pinned_key_is_served_in_its_region(gateway: GatewayProcess, account: str) -> None:
    _, token = new_key(gateway, account, region="us-east")
    with sdk(gateway, token) as client:
        raw = client.chat.completions.with_raw_response.create(model="fake/fake", messages=HELLO, max_tokens=1)
    assert raw.headers["x-lowrouter-region"] == "us-east"


def test_a_region_pin_set_from_the_cli_applies_from_the_next_request(gateway: GatewayProcess, account: str) -> None:
    key_id, token = new_key(gateway, account)
    assert cli(gateway, "keys", "edit", key_id, "--region", "eu-west").returncode == 0
    with pytest.raises(openai.PermissionDeniedError):
        ask(gateway, token, extra_body={"route": {"region": "us-east"}})


def test_keys_are_listed_as_prefix_and_last_four_only(gateway: GatewayProcess, account: str) -> None:
    key_id, token = new_key(gateway, account, name="listed")
    listed = {k["key_id"]: k for k in gateway.admin("GET", f"/keys?account_id={account}").json()["data"]}
    assert listed[key_id]["display"] == f"lr-sk-…{token[-4:]}"
    from_cli = cli(gateway, "keys", "list")
    assert from_cli.returncode == 0
    rows = {row["key_id"]: row for row in map(json.loads, from_cli.stdout.splitlines())}
    assert rows[key_id]["display"] == f"lr-sk-…{token[-4:]}"
    assert token not in from_cli.stdout and token not in json.dumps(listed)


def test_a_key_created_from_the_cli_works_at_once_and_is_printed_once(gateway: GatewayProcess, account: str) -> None:
    done = cli(gateway, "keys", "create", "--name", "from-cli", "--account", account, "--models", "fake/fake")
    assert done.returncode == 0, done.stderr
    token = json.loads(done.stdout)["key"]
    ISSUED.append(token)
    assert token.startswith("lr-sk-") and len(token) >= 6 + 32
    assert ask(gateway, token) == "w0 w1"


def test_no_key_token_is_in_the_ledger_the_projections_or_the_log(gateway: GatewayProcess, account: str) -> None:
    key_id, token = new_key(gateway, account)
    assert ask(gateway, token) == "w0 w1"
    assert gateway.admin("DELETE", f"/keys/{key_id}").status_code == 200
    with pytest.raises(openai.AuthenticationError):
        ask(gateway, token)
    stored = b"".join(p.read_bytes() for p in sorted(gateway.data_dir.iterdir()) if p.is_file())
    stored += gateway.log().encode()
    assert all(hash_key(t).encode() in stored for t in ISSUED)  # the files hold the keys' hashes...
    leaked = [t[-4:] for t in ISSUED if t.encode() in stored or t[6:].encode() in stored]
    assert leaked == []  # ...and never a token
