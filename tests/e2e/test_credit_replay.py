"""`lowrouter replay` rebuilds balances, key spend and the credit ledger exactly as they were."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.credits import EXACT_PROMPT, REPO, create_key, fee_gateway
from tests.support.gateway import GatewayProcess
from tests.support.upstream import FakeUpstream


@pytest.fixture(scope="module")
def gateway(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    proc = fee_gateway(tmp_path_factory.mktemp("replay"), upstream)
    yield proc
    proc.stop()


def snapshot(gateway: GatewayProcess, accounts: list[str], tokens: list[str]) -> dict[str, Any]:
    """Everything money-shaped the gateway answers, from the credit book and the projections."""
    out: dict[str, Any] = {"accounts": gateway.admin("GET", "/admin/accounts").json()["data"]}
    for account in accounts:
        out[account] = gateway.admin("GET", f"/admin/accounts/{account}/ledger?limit=1000").json()
    for token in tokens:
        auth = {"Authorization": f"Bearer {token}"}
        out[token[-4:]] = {path: httpx.get(gateway.api + path, headers=auth).json()["data"]
                           for path in ("/credits", "/key")}
    return out


def test_replay_gives_the_same_balances_key_spend_and_credit_ledger(gateway: GatewayProcess) -> None:
    accounts = [gateway.new_account(credits="2"), gateway.new_account(credits="3")]
    tokens = [create_key(gateway, accounts[0])[1], create_key(gateway, accounts[0], daily_credit_limit="1")[1],
              create_key(gateway, accounts[1])[1]]
    gateway.admin("POST", f"/admin/accounts/{accounts[1]}/credits", {"amount": "0.5"})
    for i, token in enumerate(tokens * 3):
        r = httpx.post(f"{gateway.api}/chat/completions", headers={"Authorization": f"Bearer {token}"},
                       json={"model": "fake/fake", "messages": [{"role": "user", "content": EXACT_PROMPT}],
                             "max_tokens": 3 + i})
        assert r.status_code == 200, r.text
    before = snapshot(gateway, accounts, tokens)
    assert any(e["kind"] == "charge" for e in before[accounts[0]]["data"])
    gateway.stop()
    replay = subprocess.run(
        [sys.executable, "-m", "app.cli", "replay", "--config", str(gateway.root / "config.toml"),
         "--data-dir", str(gateway.data_dir)], capture_output=True, text=True, timeout=120, cwd=REPO, check=False)
    assert replay.returncode == 0, replay.stderr
    assert json.loads(replay.stdout)["events"] > 0
    gateway.start()
    assert snapshot(gateway, accounts, tokens) == before
