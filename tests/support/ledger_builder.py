"""A ledger built fast through the domain classes: accounts, keys and thousands of generations.

Aggregates are saved through `LedgerApp.save` in large batches (one transaction each), then the
projections are built by the real projector — what a gateway would have left in its data dir.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import msgspec

from adapters.event_store import LedgerApp, open_ledger, sqlite_env
from app.composition import LEDGER_FILE, PROJECTIONS_FILE, all_projections
from domain.account import Account
from domain.api_key import ApiKey, KeyPolicy, new_key_token
from domain.catalogue import Price
from domain.eco import EcoInputs, estimate
from domain.generation import STATUS_OK, Generation
from domain.pricing import TokenUsage, cost_micro
from projections.projector import Projector

MODEL = "fake/fake"
PRICE = Price(prompt=10_000, completion=20_000, cached_prompt=5_000)  # 0.01 / 0.02 / 0.005 credits per 1K
CONFIG = """
[[providers]]
id = "fake"
kind = "openai"
enabled = true
endpoints = [{ region = "eu-west", base_url = "http://127.0.0.1:9/v1" }]

[[models]]
id = "fake/fake"
upstream = "fake"
eco_name = "llama-3.1-8b"
prompt_per_1k = "0.01"
completion_per_1k = "0.02"
cached_prompt_per_1k = "0.005"
context_length = 32000
"""


@dataclass
class BuiltLedger:
    data_dir: Path
    config: Path
    accounts: list[str] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)
    generations: list[str] = field(default_factory=list)

    def open(self) -> LedgerApp:
        return open_ledger(sqlite_env(str(self.data_dir / LEDGER_FILE)))


def eco_inputs(prompt: int, completion: int) -> EcoInputs:
    return EcoInputs(model="llama-3.1-8b", active_params_b=8.0, total_params_b=8.0, params_band="accurate",
                     prompt_tokens=prompt, completion_tokens=completion, latency_s=0.25, pue=1.2,
                     grid_gco2_per_kwh=56.0, grid_year=2024, grid_source="test grid", grid_band="medium")


def new_generation(generation_id: str, account_id: str, key_id: str, prompt: int, completion: int, cached: int = 0,
                   *, price: Price = PRICE, cost_delta: int = 0, abandon: bool = False) -> Generation:
    """One generation as the gateway records it; `cost_delta` and `price` let a test record a wrong charge."""
    g = Generation.receive(generation_id, account_id=account_id, key_id=key_id, requested_model=MODEL,
                           endpoint="chat", streamed=False, prompt_tokens_estimate=prompt, max_tokens=None,
                           reserved_micro=1000, route={"models": [MODEL]})
    g.resolve_route(attempt=1, provider="fake", region="eu-west", model=MODEL, upstream_model="fake",
                    reason="cheapest", candidates=[{"model": MODEL, "score": 1.0}])
    if abandon:
        g.abandon("the gateway process stopped before this request completed")
        return g
    usage = TokenUsage(prompt, completion, cached)
    inputs = eco_inputs(prompt, completion)
    eco = estimate(inputs)
    g.record_usage(account_id=account_id, key_id=key_id, status=STATUS_OK, http_status=200, finish_reason="stop",
                   provider="fake", region="eu-west", model=MODEL, prompt_tokens=prompt, completion_tokens=completion,
                   cached_tokens=cached, usage_estimated=False, cost_micro=cost_micro(usage, price, 0) + cost_delta,
                   price=msgspec.to_builtins(price) | {"platform_fee": 0}, latency_ms=250.0, generation_ms=240.0,
                   cancelled=False)
    g.estimate_eco(methodology_version=eco.methodology_version, inputs=msgspec.to_builtins(inputs),
                   estimate=msgspec.to_builtins(eco))
    return g


def build_ledger(root: Path, accounts: int = 20, generations: int = 3000, seed: int = 7,
                 batch: int = 500) -> BuiltLedger:
    """Accounts with top-ups and keys, then `generations` generations spread over them (every 97th abandoned)."""
    rng = random.Random(seed)
    data_dir = root / "data"
    data_dir.mkdir(parents=True)
    config = root / "config.toml"
    config.write_text(CONFIG)
    built = BuiltLedger(data_dir, config)
    app = built.open()
    try:
        pending: list[Account | ApiKey | Generation] = []
        for i in range(accounts):
            account = Account.open(f"acct_{i:04d}", f"account {i}")
            account.add_credits(1_000_000_000, f"invoice {i}", "test")
            key = ApiKey.issue(f"key_{i:04d}", account.id, new_key_token(), KeyPolicy(name=f"key {i}"))
            built.accounts.append(account.id)
            built.keys[account.id] = key.id
            pending += [account, key]
        app.save(*pending)
        pending = []
        for n in range(generations):
            account_id = built.accounts[n % accounts]
            g = new_generation(f"gen_{n:06d}", account_id, built.keys[account_id], rng.randint(5, 2000),
                               rng.randint(1, 800), rng.choice((0, 0, 0, 64)), abandon=n % 97 == 96)
            built.generations.append(g.id)
            pending.append(g)
            if len(pending) >= batch:
                app.save(*pending)
                pending = []
        if pending:
            app.save(*pending)
        project(app, data_dir)
    finally:
        app.close()
    return built


def project(app: LedgerApp, data_dir: Path) -> None:
    """Bring the projections file up to the ledger's end with the real projector."""
    con = duckdb.connect(str(data_dir / PROJECTIONS_FILE))
    try:
        Projector(con, app.recorder, all_projections(), batch_size=20000).catch_up()
        con.execute("CHECKPOINT")
    finally:
        con.close()
