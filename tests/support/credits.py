"""Helpers for the credit tests: a gateway with a platform fee, prices in Decimal, ledger counts."""

from __future__ import annotations

import subprocess
import sys
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

import httpx

from tests.support.gateway import GatewayProcess, UpstreamSpec, config_text
from tests.support.upstream import FakeUpstream

# The prices of every `fake/*` model in `config_text`, and the fee these gateways add, per 1K tokens.
PROMPT_PER_1K = Decimal("0.01")
COMPLETION_PER_1K = Decimal("0.02")
CACHED_PER_1K = Decimal("0.005")
FEE_PER_1K = Decimal("0.0013")
FEE_CONFIG = '[credits]\nplatform_fee_per_1k = "0.0013"\n'

# 13 one-letter words, 25 characters: the gateway estimates ceil(25 / 4) + 4 + 3 = 14 prompt tokens
# and the fake upstream counts 13 words + 1 = 14, so a request that uses all its max_tokens costs
# exactly the worst case reserved for it.
EXACT_PROMPT = " ".join(["a"] * 13)
EXACT_PROMPT_TOKENS = 14
REPO = Path(__file__).resolve().parents[2]


def credits_for(prompt_tokens: int, completion_tokens: int) -> Decimal:
    """The charge for a request, by hand: tokens × (price + fee) per 1K, rounded up to a micro-credit."""
    raw = (prompt_tokens * (PROMPT_PER_1K + FEE_PER_1K) + completion_tokens * (COMPLETION_PER_1K + FEE_PER_1K)) / 1000
    return raw.quantize(Decimal("0.000001"), rounding=ROUND_CEILING)


def fee_gateway(root: Path, upstream: FakeUpstream) -> GatewayProcess:
    """A gateway whose `fake/*` models are served in eu-west and us-east by one fake upstream;
    the upstream model name picks its behaviour (`no-usage`, `bad-usage`, `slow`, `fail-500`)."""
    models = ("fake", "no-usage", "bad-usage", "slow", "fail-500")
    specs = [UpstreamSpec("fake", "eu-west", upstream, models=models),
             UpstreamSpec("fake", "us-east", upstream, models=models)]
    return GatewayProcess(root, config_text(specs, extra=FEE_CONFIG)).start()


def dec(value: Any) -> Decimal:
    """A JSON number of credits as the exact Decimal it was printed as."""
    return Decimal(str(value))


def ledger_position(gateway: GatewayProcess) -> int:
    position: int = httpx.get(f"{gateway.url}/healthz", timeout=10).json()["ledger_position"]
    return position


def create_key(gateway: GatewayProcess, account_id: str, **policy: Any) -> tuple[str, str]:
    """A new key on the account: (key_id, token)."""
    r = gateway.admin("POST", "/keys", {"account_id": account_id, "name": policy.pop("name", "k"), **policy})
    assert r.status_code == 201, r.text
    return r.json()["data"]["key_id"], r.json()["key"]


def cli(gateway: GatewayProcess, *args: str) -> subprocess.CompletedProcess[str]:
    """`lowrouter …` on the gateway's config and data directory, as an operator would run it."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args, "--config", str(gateway.root / "config.toml"),
         "--data-dir", str(gateway.data_dir)],
        capture_output=True, text=True, timeout=60, cwd=REPO, check=False)
