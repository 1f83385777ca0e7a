"""`just soak`: the gateway's memory over a long run, round after round of JSON load.

`just bench` reports the peak of a fresh gateway over a few minutes; a gateway that serves for
days also fills DuckDB's buffer pool with the projection's blocks and keeps DuckDB's bookkeeping of
blocks it has dropped (see docs/benchmarks.md). This loads one gateway (embedded default, projector
on, the bench's fast upstream) with wrk in rounds until it has served `--requests`, reads its
memory after each round, and ends with whether every request is in the ledger and projected and how
much the resident size still grew over the last third of the run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from app.progress import Progress
from bench.run import Stack, memory_mb, wrk


def gateway_metrics(base_url: str) -> dict[str, float]:
    """From the gateway's `/metrics`: what DuckDB accounts for in the projections database, in MB (in
    all, and the buffer pool's cached table blocks), and the projector's lag behind the ledger."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"{base_url}/metrics", timeout=30) as r:
        text = r.read().decode()
    by_tag: dict[str, float] = {}
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if family.name == "lowrouter_projections_memory_bytes":
                by_tag[sample.labels["tag"]] = sample.value
            else:
                values[sample.name] = sample.value
    return {"duckdb": sum(by_tag.values()) / 2**20, "duckdb_table_blocks": by_tag.get("base_table", 0.0) / 2**20,
            "lag_events": values.get("lowrouter_ledger_position", 0.0)
            - values.get("lowrouter_projector_position", 0.0)}


def soak(requests: int, round_s: int, connections: int) -> dict[str, Any]:
    stack = Stack("lowrouter-soak-")
    gateway = stack.gateway
    rounds: list[dict[str, float]] = []
    out: dict[str, Any] = {"connections": connections, "round_seconds": round_s, "rounds": rounds,
                           "requests_completed_by_clients": 0}
    try:
        key = stack.key("soak")
        out["idle"] = memory_mb(gateway.pid)
        served = 0
        progress = Progress()
        started = time.monotonic()
        while served < requests:
            result = wrk(stack.api, key, "bench/fake-model", connections, round_s, False, 16)
            served += int(result["requests"])
            time.sleep(2)  # the projector's last batch of the round, so every round is read alike
            memory = {**memory_mb(gateway.pid), **gateway_metrics(f"http://127.0.0.1:{stack.gw_port}")}
            rounds.append({"served": served, "rps": result["rps"], "non2xx": result["non2xx"], **memory})
            progress(f"soak: {served:,}/{requests:,} requests, {result['rps']:,.0f} req/s, RSS {memory['rss']:.0f} MB "
                     f"(peak {memory['peak']:.0f}, anonymous {memory['anon']:.0f} of which DuckDB "
                     f"{memory['duckdb']:.0f}, files {memory['files']:.0f}), projector lag "
                     f"{memory['lag_events']:,.0f} events, {time.monotonic() - started:.0f} s")
        progress.end()
        out["requests_completed_by_clients"] = served
    finally:
        # The gateway applies what its projector has not yet applied before it exits: after a long
        # run at full load that backlog can take minutes, which is reported, not cut short.
        stopping = time.monotonic()
        print("soak: stopping the gateway (it applies its projector's backlog first)", file=sys.stderr)
        stack.stop(3600)
        out["shutdown_s"] = time.monotonic() - stopping
    out["ledger"], out["missing"] = stack.ledger(out["requests_completed_by_clients"])
    return out


def growth_per_100k(rounds: list[dict[str, float]]) -> float:
    """How much the resident size grew per 100,000 requests over the last third of the rounds
    (a least-squares slope): near zero once the memory has levelled off."""
    tail = rounds[len(rounds) - max(2, len(rounds) // 3):]
    xs, ys = [r["served"] for r in tail], [r["rss"] for r in tail]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return 0.0 if var == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var * 100_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="soak", description="The gateway's memory over a long run of JSON load: resident size after each round, "
                                 "the ledger checked at the end (exit 1 if a request is missing).")
    parser.add_argument("--requests", type=int, default=1_000_000, help="requests to serve in all (default 1,000,000)")
    parser.add_argument("--round-seconds", type=int, default=20, help="seconds of wrk per round (default 20)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    parser.add_argument("--json", help="write the rounds and the summary to this file")
    args = parser.parse_args(argv)
    result = soak(args.requests, args.round_seconds, args.connections)
    rounds = result["rounds"]
    if rounds:
        result["rss_growth_mb_per_100k_last_third"] = growth_per_100k(rounds)
        first, last = rounds[0], rounds[-1]
        print(f"idle {result['idle']['rss']:.0f} MB; after {first['served']:,} requests {first['rss']:.0f} MB; "
              f"after {last['served']:,} {last['rss']:.0f} MB (anonymous {last['anon']:.0f}, "
              f"DuckDB's own {last['duckdb']:.0f}, files {last['files']:.0f}; peak {last['peak']:.0f}); "
              "over the last third "
              f"{result['rss_growth_mb_per_100k_last_third']:+.1f} MB per 100,000 requests")
    if rounds:
        print(f"projector lag behind the ledger after the last round: {rounds[-1]['lag_events']:,.0f} events; "
              f"the gateway took {result['shutdown_s']:.0f} s to stop")
    errors = sum(int(r["non2xx"]) for r in rounds)
    print(f"non-2xx answers: {errors:,}; ledger: {result['ledger']} for {result['requests_completed_by_clients']:,} "
          "completed client requests -> "
          f"{'MISSING REQUESTS' if result['missing'] else 'every request recorded and projected'}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 1 if result["missing"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
