"""`python -m bench.ledger_events`: CPU of making one streamed request's ledger events.

Makes a generation's five events as the request path does (received, route resolved, stream
progress, usage recorded, eco estimated: each created, linked into the hash chain and encoded as it
is stored) `--generations` times, five times over, and prints the best CPU time per generation.
"""

from __future__ import annotations

import argparse
import time

from adapters.transcoder import stored_rows
from domain.generation import Generation

_CANDIDATES = [{"provider": "bench", "region": "eu-west", "model": "bench/fake-model", "score": 1.0}]


def one_generation(i: int) -> int:
    """Make, link and encode one streamed generation's events; how many values were made to insert."""
    g = Generation.receive(
        f"gen_{i:028d}", account_id="acct_bench", key_id="key_bench", requested_model="bench/fake-model",
        endpoint="chat", streamed=True, prompt_tokens_estimate=12, max_tokens=16, reserved_micro=5_000,
        route={"provider": None, "region": None, "models": []})
    g.resolve_route(attempt=1, provider="bench", region="eu-west", model="bench/fake-model",
                    upstream_model="fake-model", reason="auto", candidates=_CANDIDATES)
    opening = stored_rows(g.collect_events())
    g.stream_progress(chunks=16, completion_chars=80, ttft_ms=1.2, elapsed_ms=3.4)
    g.record_usage(account_id="acct_bench", key_id="key_bench", status="ok", http_status=200, finish_reason="stop",
                   provider="bench", region="eu-west", model="bench/fake-model", prompt_tokens=12,
                   completion_tokens=16, cached_tokens=0, usage_estimated=False, cost_micro=810,
                   price={"prompt": 1_000, "completion": 2_000, "platform_fee": 0}, latency_ms=1.2,
                   generation_ms=3.4, cancelled=False)
    g.estimate_eco(methodology_version="bench", inputs={"model": "llama-3.1-8b", "tokens": 16},
                   estimate={"energy_wh": 0.1, "carbon_g": 0.02})
    return len(opening) + len(stored_rows(g.collect_events()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench.ledger_events",
        description="Time making a streamed request's five ledger events (create, chain link, stored encoding).")
    parser.add_argument("--generations", type=int, default=20_000, help="generations per run (default 20,000)")
    args = parser.parse_args(argv)
    best = float("inf")
    for run in range(5):
        started = time.process_time()
        for i in range(args.generations):
            one_generation(i)
        best = min(best, (time.process_time() - started) / args.generations)
        print(f"  run {run + 1} of 5", flush=True)
    print(f"{args.generations:,} generations x 5 runs: best {best * 1e6:.1f} µs CPU per generation's five events")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
