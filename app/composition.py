"""The composition root: the one place that names concrete adapters and wires the gateway."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import duckdb

from adapters.eco_data import load_bundled_catalogue
from adapters.event_store import LedgerApp, WalCheckpointer, open_ledger, postgres_env, sqlite_env
from adapters.group_commit import GroupCommitWriter
from adapters.providers.registry import build_providers
from adapters.providers.upstream_http import UpstreamClient
from app.gateway import Gateway
from app.reconcile import reconcile_open_generations
from app.routing_defaults_service import routing_defaults_from_ledger
from app.settings import ConfigError, Settings, build_catalogue
from domain.api_key import hash_key
from projections.accounts import AccountsProjection
from projections.carbon import CarbonProjection
from projections.credit_book import CreditBook
from projections.generations import GenerationsProjection
from projections.key_directory import KeyDirectory
from projections.projector import Projection, Projector
from projections.routing_defaults import RoutingDefaultsBook

log = logging.getLogger("lowrouter")
LEDGER_FILE = "ledger.sqlite"
PROJECTIONS_FILE = "projections.duckdb"


KEY_EVENTS = frozenset({"ApiKey.KeyIssued", "ApiKey.KeyChanged", "ApiKey.KeyRevoked"})
CREDIT_EVENTS = frozenset({"Generation.UsageRecorded", "Account.AccountOpened", "Account.CreditsAdded"})
ROUTING_DEFAULTS_EVENTS = frozenset(
    {"RoutingDefaults.RoutingDefaultsStarted", "RoutingDefaults.RoutingDefaultsChanged"})


def all_projections() -> list[Projection]:
    return [GenerationsProjection(), AccountsProjection(), CarbonProjection()]


def ledger_env(settings: Settings, data_dir: Path, environ: dict[str, str] | None = None) -> dict[str, str]:
    env = os.environ if environ is None else environ
    if settings.ledger.backend == "sqlite":
        return sqlite_env(str(data_dir / LEDGER_FILE))
    pg = settings.ledger.postgres
    parts = {"host": pg.host, "port": str(pg.port), "dbname": pg.dbname, "user": pg.user}
    if pg.password_env:
        password = env.get(pg.password_env)
        if password is None:
            raise ConfigError(f"ledger.postgres.password_env names {pg.password_env}, which is not set")
        parts["password"] = password
    if pg.schema:
        parts["schema"] = pg.schema
    return postgres_env(parts)


def open_ledger_for(settings: Settings, data_dir: Path) -> LedgerApp:
    data_dir.mkdir(parents=True, exist_ok=True)
    return open_ledger(ledger_env(settings, data_dir), settings.ledger.sqlite_synchronous)


def open_projections(data_dir: Path, memory_mb: int, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """The DuckDB file, with a bounded buffer pool (DuckDB would otherwise take up to 80% of RAM for
    caching; the gateway's own footprint is what operators size machines by; larger queries spill
    to disk), on one thread: two threads spun on the projector's small live batches for ~300 µs of
    CPU per request, measured at 64 connections."""
    return duckdb.connect(str(data_dir / PROJECTIONS_FILE), read_only=read_only,
                          config={"memory_limit": f"{memory_mb}MB", "threads": 1})


def open_upstream_client(settings: Settings) -> UpstreamClient:
    """The one HTTP connection pool every upstream call goes out on (close it at shutdown)."""
    return UpstreamClient(connect_s=settings.routing.connect_timeout_s)


def build_gateway(settings: Settings, data_dir: Path, upstream: UpstreamClient) -> Gateway:
    """Open the ledger and projections, catch up, reconcile, and wire every part."""
    catalogue = build_catalogue(settings)
    if not catalogue.models:
        raise ConfigError("no provider is enabled: set a provider key variable or enable the simulator")
    eco = load_bundled_catalogue()
    ledger = open_ledger_for(settings, data_dir)
    duck = open_projections(data_dir, settings.ledger.projections_memory_mb)
    projector = Projector(duck, ledger.recorder, all_projections(), poll_s=settings.ledger.projector_poll_ms / 1000)
    keys, credits = KeyDirectory(), CreditBook()
    keys.load(duck.cursor())
    credits.load(duck.cursor())
    projector.add_follower(keys.follow, KEY_EVENTS)
    projector.add_follower(credits.follow, CREDIT_EVENTS, credits.already_applied)
    routing_defaults = RoutingDefaultsBook()
    routing_defaults.load(routing_defaults_from_ledger(ledger))
    projector.add_follower(routing_defaults.follow, ROUTING_DEFAULTS_EVENTS)
    caught = projector.catch_up()
    if caught:
        log.info("projections caught up with %d ledger events", caught)
    abandoned = reconcile_open_generations(ledger, duck.cursor(), settings.ledger.backend)
    if abandoned:
        log.warning("closed %d generations left open by a stopped process (Abandoned events)", abandoned)
        projector.catch_up()
    closers: list[Callable[[], None]] = []
    if settings.ledger.backend == "sqlite":
        closers.append(WalCheckpointer(str(data_dir / LEDGER_FILE)).start().stop)
    admin = os.environ.get(settings.admin_key_env)
    return Gateway(
        settings=settings, catalogue=catalogue, providers=build_providers(catalogue.providers, upstream),
        ledger=ledger, writer=GroupCommitWriter(ledger, threaded=settings.ledger.backend == "postgres"),
        projector=projector, duck=duck, keys=keys, credits=credits, eco=eco, routing_defaults=routing_defaults,
        admin_key_hash=hash_key(admin) if admin else None, on_close=closers,
    )
