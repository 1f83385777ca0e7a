"""`python -m bench.ledger_insert`: CPU of one ledger insert, as a request's saves make them.

Writes `--saves` batches of two events (a request's opening save) into a fresh SQLite ledger through
the gateway's recorder, one after another on one thread, and prints the wall and CPU time per batch.
Repeat it a few times: the machine is noisy.
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from pathlib import Path

from eventsourcing.persistence import StoredEvent

from adapters.event_store import open_ledger, sqlite_env

_STATE = (b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-11-26T05:00:00+00:00"},"chain":"' + b"a" * 64
          + b'","model":"bench/fake-model","prompt_tokens":12,"completion_tokens":16,"cost_micro":810}')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.ledger_insert",
                                     description="Time the ledger's insert of a request's two-event save.")
    parser.add_argument("--saves", type=int, default=20_000, help="batches to write (default 20,000)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        ledger = open_ledger(sqlite_env(str(Path(tmp) / "ledger.sqlite")))
        recorder = ledger.recorder
        recorder.insert_events([StoredEvent("warm-up", 1, "bench:Generation.RequestReceived", _STATE)])
        wall, cpu = time.perf_counter(), time.thread_time()
        for i in range(args.saves):
            gid = f"gen_{i:012x}{secrets.token_hex(8)}"
            recorder.insert_events([StoredEvent(gid, 1, "bench:Generation.RequestReceived", _STATE),
                                    StoredEvent(gid, 2, "bench:Generation.RouteResolved", _STATE)])
            if i and i % 5_000 == 0:
                print(f"  {i:,} saves", flush=True)
        wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
        ledger.close()
    print(f"{args.saves:,} two-event saves: {wall / args.saves * 1e6:.1f} µs wall, "
          f"{cpu / args.saves * 1e6:.1f} µs CPU each")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
