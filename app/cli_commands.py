"""The longer CLI commands: serving, replaying projections, listing from the ledger."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from adapters.event_store import LedgerApp
from app import accounts_service as svc
from app.control import call_server
from app.progress import Progress
from app.settings import Settings
from domain.money import credits_number

DEFAULT_ACCOUNT = "acct_default"


def serve_command(settings: Settings, data_dir: Path, host: str | None, port: int | None) -> int:
    import uvicorn

    from adapters.eco_data import load_bundled_catalogue
    from app.server import create_app

    # Check what start-up needs before listening: a problem is one clear line and exit code 2
    # (raised inside the server's lifespan it would be a traceback).
    load_bundled_catalogue()
    preflight(settings, data_dir)
    host = host or settings.server.host
    port = port if port is not None else settings.server.port
    app = create_app(settings, data_dir, f"http://{host}:{port}")
    config = uvicorn.Config(app, host=host, port=port, loop="uvloop", http="httptools", access_log=False,
                            lifespan="on", log_level="warning", log_config=None, timeout_graceful_shutdown=10,
                            backlog=4096)
    print(f"LowRouter listening on http://{host}:{port}/api/v1 (data: {data_dir.resolve()})", file=sys.stderr)
    uvicorn.Server(config).run()
    return 0


def preflight(settings: Settings, data_dir: Path) -> None:
    """Raise ConfigError (one line) for what would stop the server from starting."""
    import duckdb

    from app.composition import PROJECTIONS_FILE, open_ledger_for
    from app.control import read_control_file
    from app.settings import ConfigError, build_catalogue

    if not build_catalogue(settings).models:
        raise ConfigError("no provider is enabled: set a provider key variable or enable the simulator")
    running = read_control_file(data_dir)
    if running is not None:
        raise ConfigError(f"a gateway (pid {running['pid']}) already serves {data_dir} at {running['url']}")
    try:
        open_ledger_for(settings, data_dir).close()
    except Exception as e:  # any failure to open the ledger stops the start, with its reason
        raise ConfigError(f"cannot open the ledger ({settings.ledger.backend}): {e}") from e
    try:
        duckdb.connect(str(data_dir / PROJECTIONS_FILE)).close()
    except duckdb.Error as e:
        raise ConfigError(f"cannot open the projections in {data_dir}: {e}") from e


def replay_command(settings: Settings, data_dir: Path) -> int:
    """Drop every projection and rebuild it from the ledger, printing progress and a summary."""
    from app.composition import PROJECTIONS_FILE, all_projections, open_ledger_for
    from app.control import read_control_file
    from projections.projector import Projector

    if read_control_file(data_dir) is not None:
        print("lowrouter replay: a gateway is running on this data directory; stop it first", file=sys.stderr)
        return 1
    ledger = open_ledger_for(settings, data_dir)
    target = data_dir / PROJECTIONS_FILE
    fresh = data_dir / (PROJECTIONS_FILE + ".rebuild")
    for leftover in (fresh, Path(str(fresh) + ".wal")):
        leftover.unlink(missing_ok=True)
    top = ledger.recorder.max_notification_id() or 0
    started = time.perf_counter()
    import duckdb

    con = duckdb.connect(str(fresh))
    projector = Projector(con, ledger.recorder, all_projections(), batch_size=50_000)

    line = Progress()

    def progress(done: int, position: int) -> None:
        pct = 100.0 * position / top if top else 100.0
        line(f"replay: {done:,} events, position {position:,}/{top:,} ({pct:.0f}%)")

    events = projector.catch_up(progress)
    con.execute("CHECKPOINT")
    con.close()
    for old in (target, Path(str(target) + ".wal")):
        old.unlink(missing_ok=True)
    shutil.move(str(fresh), str(target))
    elapsed = time.perf_counter() - started
    rate = events / elapsed if elapsed > 0 else 0.0
    line.end()
    print(json.dumps({"events": events, "position": projector.position, "seconds": round(elapsed, 3),
                      "events_per_second": round(rate)}))
    return 0


def default_account(ledger: LedgerApp) -> str:
    try:
        ledger.repository.get(DEFAULT_ACCOUNT)
    except AggregateNotFoundError:
        svc.open_account(ledger, "default", DEFAULT_ACCOUNT)
    return DEFAULT_ACCOUNT


def list_keys(ledger: LedgerApp) -> int:
    topics = [f"domain.api_key:ApiKey.{n}" for n in ("KeyIssued", "KeyChanged", "KeyRevoked")]
    keys: dict[str, dict[str, object]] = {}
    for n in ledger.recorder.select_notifications(None, 1 << 30, topics=topics):
        event: Any = ledger.mapper.to_domain_event(n)
        key_id = str(n.originator_id)
        if n.topic.endswith("KeyIssued"):
            keys[key_id] = {"key_id": key_id, "account_id": event.account_id, "display": event.display,
                            **event.policy, "revoked": False}
        elif n.topic.endswith("KeyChanged"):
            keys[key_id].update(event.changes)
        else:
            keys[key_id]["revoked"] = True
    for k in keys.values():
        print(json.dumps(k))
    return 0


def list_accounts(ledger: LedgerApp, data_dir: Path | None = None) -> int:
    if data_dir is not None:
        answer = call_server(data_dir, "GET", "/api/v1/admin/accounts")
        if answer is not None:
            for account in answer["data"]:
                print(json.dumps(account))
            return 0
    topics = ["domain.account:Account.AccountOpened", "domain.account:Account.CreditsAdded"]
    accounts: dict[str, dict[str, object]] = {}
    for n in ledger.recorder.select_notifications(None, 1 << 30, topics=topics):
        event: Any = ledger.mapper.to_domain_event(n)
        account_id = str(n.originator_id)
        if n.topic.endswith("AccountOpened"):
            accounts[account_id] = {"account_id": account_id, "name": event.name, "total_credits_micro": 0}
        else:
            total = accounts[account_id]["total_credits_micro"]
            assert isinstance(total, int)
            accounts[account_id]["total_credits_micro"] = total + event.amount_micro
    for a in accounts.values():
        total = a.pop("total_credits_micro")
        assert isinstance(total, int)
        print(json.dumps({**a, "total_credits": credits_number(total)}))
    return 0
