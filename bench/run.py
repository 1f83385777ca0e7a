"""`just bench`: the gateway against a fast local upstream, side by side with the upstream direct.

Starts the fast upstream and a gateway on the embedded default (SQLite ledger, DuckDB projector on)
in a temporary data directory, loads both with wrk, measures time to first token with a small
aiohttp client, then stops the gateway and checks that every request is in the ledger and in the
`generations` projection (exit 1 if any is missing). Then replay speed over a generated ledger and
the dashboard's main queries over it. Prints one table; `--json FILE` writes the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ADMIN = "lr-admin-bench-0123456789abcdefghijklmnopqrstuv"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def call(method: str, url: str, body: Any = None) -> Any:
    req = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def wrk(url: str, key: str, model: str, connections: int, seconds: int, stream: bool, tokens: int) -> dict[str, float]:
    env = {**os.environ, "AUTH": key, "MODEL": model, "STREAM": "1" if stream else "0", "TOKENS": str(tokens)}
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(HERE / "post.lua"),
                          f"{url}/chat/completions"], capture_output=True, text=True, env=env, check=True).stdout

    def ms(pct: str) -> float:
        m = re.search(pct + r"%\s+([\d.]+)(us|ms|s)\b", out)
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)] if m else float("nan")

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(rps.group(1)) if rps else float("nan"), "p50": ms("50"), "p99": ms("99"),
            "requests": int(total.group(1)) if total else 0, "non2xx": int(non2xx.group(1)) if non2xx else 0}


async def ttft(url: str, key: str, model: str, connections: int, requests: int, tokens: int) -> float:
    """Median time to the first `data:` line of a stream, at the given concurrency."""
    import aiohttp

    body = json.dumps({"model": model, "stream": True, "max_tokens": tokens,
                       "messages": [{"role": "user", "content": "In one sentence, what is a vector database?"}]})
    samples: list[float] = []
    queue = list(range(requests))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as session:
        async def worker() -> None:
            while queue:
                queue.pop()
                started = time.perf_counter()
                async with session.post(f"{url}/chat/completions", data=body,
                                        headers={"Authorization": f"Bearer {key}",
                                                 "Content-Type": "application/json"}) as r:
                    first = None
                    async for line in r.content:
                        if first is None and line.startswith(b"data:"):
                            first = time.perf_counter() - started
                    samples.append((first or 0.0) * 1000)

        await asyncio.gather(*(worker() for _ in range(connections)))
    return statistics.median(samples)


def config(upstream_port: int) -> str:
    return f"""
[server]
access_log = true
[routing]
auto_pool = ["bench/fake-model"]
[[providers]]
id = "bench"
kind = "openai"
enabled = true
endpoints = [{{ region = "eu-west", base_url = "http://127.0.0.1:{upstream_port}/v1" }}]
[[models]]
id = "bench/fake-model"
upstream = "fake-model"
eco_name = "llama-3.1-8b"
prompt_per_1k = "0.001"
completion_per_1k = "0.002"
context_length = 32000
max_output_tokens = 1024
capabilities = ["streaming"]
"""


def memory_mb(pid: int) -> dict[str, float]:
    """The process's resident size now and at its peak, and the resident size split into
    anonymous memory (heaps, DuckDB's pool) and mapped files (libraries), in MB."""
    wanted = {"VmRSS": "rss", "VmHWM": "peak", "RssAnon": "anon", "RssFile": "files"}
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in wanted:
            out[wanted[name]] = int(value.split()[0]) / 1024
    return out


def thread_cpu_s(pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) so far of a process's main thread, and of the whole process (every
    thread, ended ones included)."""

    def seconds(stat: Path) -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    return seconds(Path(f"/proc/{pid}/task/{pid}/stat")), seconds(Path(f"/proc/{pid}/stat"))


def gateway_wrk(pid: int, *args: Any) -> dict[str, float]:
    """`wrk` through the gateway, with the gateway's CPU per request over the run: its event-loop
    (main) thread, and all its threads (the projector, the HTTP client's, the ledger's). Steadier
    than req/s on a machine whose speed varies, and what a change to the request path moves."""
    main, every = thread_cpu_s(pid)
    result = wrk(*args)
    main_after, every_after = thread_cpu_s(pid)
    done = max(int(result["requests"]), 1)
    result["cpu_us_main"] = (main_after - main) / done * 1e6
    result["cpu_us_all"] = (every_after - every) / done * 1e6
    return result


def count_ledger(data_dir: Path) -> dict[str, int]:
    import duckdb

    con = sqlite3.connect(data_dir / "ledger.sqlite")
    counts = dict(con.execute("SELECT substr(topic, instr(topic, ':') + 1), count(*) FROM stored_events "
                              "GROUP BY 1").fetchall())
    con.close()
    duck = duckdb.connect(str(data_dir / "projections.duckdb"), read_only=True)
    rows, done = duck.execute("SELECT count(*), count(completed_at) FROM generations").fetchone() or (0, 0)
    duck.close()
    return {"received": counts.get("Generation.RequestReceived", 0),
            "usage": counts.get("Generation.UsageRecorded", 0) + counts.get("Generation.Abandoned", 0),
            "projected": rows, "projected_complete": done}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description="Benchmark the gateway against a fast local upstream.")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk measurement (default 10)")
    parser.add_argument("--replay-generations", type=int, default=1_000_000,
                        help="generations in the replay/dashboard ledger (0 skips; default 1,000,000)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure each load case this many times, direct and gateway alternating, and report "
                             "the medians with the gateway's range (default 1; the machine is noisy: use 3 or 5)")
    parser.add_argument("--skip-load", action="store_true", help="only the replay and dashboard measurements")
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}
    if not args.skip_load:
        results["load"] = run_load(args.duration, max(1, args.rounds))
    if args.replay_generations:
        from bench.replay import measure_replay

        results["replay"] = measure_replay(args.replay_generations)
    print_table(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 1 if results.get("load", {}).get("missing") else 0


def median_of_rounds(rounds: list[dict[str, float]]) -> dict[str, Any]:
    """One case's wrk figures over several rounds: the median of each, requests and errors summed,
    and the range of req/s (what one round alone could have shown)."""
    out: dict[str, Any] = {k: statistics.median(r[k] for r in rounds)
                           for k in ("rps", "p50", "p99", "cpu_us_main", "cpu_us_all") if k in rounds[0]}
    out["requests"] = sum(int(r["requests"]) for r in rounds)
    out["non2xx"] = sum(int(r["non2xx"]) for r in rounds)
    out["rps_range"] = [min(r["rps"] for r in rounds), max(r["rps"] for r in rounds)]
    out["rounds"] = rounds
    return out


class Stack:
    """The bench's fast upstream and a gateway on the embedded default (SQLite ledger, DuckDB
    projector on) in a fresh temporary data directory, both started."""

    def __init__(self, prefix: str) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix=prefix))
        up_port, self.gw_port = free_port(), free_port()
        self.upstream = subprocess.Popen([sys.executable, "-m", "bench.fast_upstream", str(up_port)], cwd=ROOT,
                                         stdout=subprocess.DEVNULL)
        (self.tmp / "config.toml").write_text(config(up_port))
        self._log = open(self.tmp / "gateway.log", "wb")  # noqa: SIM115
        self.gateway = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--config", str(self.tmp / "config.toml"),
             "--data-dir", str(self.tmp / "data"), "--port", str(self.gw_port)], cwd=ROOT,
            stdout=self._log, stderr=subprocess.STDOUT, env={**os.environ, "LOWROUTER_ADMIN_KEY": ADMIN})
        self.api = f"http://127.0.0.1:{self.gw_port}/api/v1"
        self.direct = f"http://127.0.0.1:{up_port}/v1"

    def key(self, name: str) -> str:
        """Once the gateway answers: a key of a new account with credits for any load."""
        wait_http(f"http://127.0.0.1:{self.gw_port}/healthz")
        account = call("POST", f"{self.api}/admin/accounts", {"name": name})["data"]["account_id"]
        call("POST", f"{self.api}/admin/accounts/{account}/credits", {"amount": "100000000", "reference": name})
        return str(call("POST", f"{self.api}/keys", {"account_id": account, "name": name})["key"])

    def stop(self, timeout_s: float) -> None:
        """Stop the gateway (it applies its projector's backlog first) and the upstream."""
        self.gateway.send_signal(signal.SIGTERM)
        self.gateway.wait(timeout_s)
        self._log.close()
        self.upstream.kill()
        self.upstream.wait()

    def ledger(self, completed_by_clients: int) -> tuple[dict[str, int], bool]:
        """The stopped gateway's ledger and projection counts, and whether a request is missing from
        either (fewer than the clients saw complete, or any one without its usage or its row)."""
        counts = count_ledger(self.tmp / "data")
        missing = not (counts["received"] == counts["usage"] == counts["projected"] == counts["projected_complete"]
                       and counts["received"] >= completed_by_clients)
        return counts, missing


def run_load(seconds: int, rounds: int = 1) -> dict[str, Any]:
    stack = Stack("lowrouter-bench-")
    gateway, api, direct = stack.gateway, stack.api, stack.direct
    out: dict[str, Any] = {"cases": {}}
    try:
        time.sleep(0.5)
        key = stack.key("bench")
        wrk(api, key, "bench/fake-model", 8, 2, False, 16)  # warm-up
        sent = 0
        for name, conns, stream, tokens in (("json c=1", 1, False, 16), ("json c=64", 64, False, 16),
                                            ("sse16 c=8", 8, True, 16), ("sse16 c=64", 64, True, 16),
                                            ("sse256 c=8", 8, True, 256), ("sse256 c=64", 64, True, 256)):
            ds, gs, tds, tgs = [], [], [], []
            for _ in range(rounds):
                ds.append(wrk(direct, "x", "fake-model", conns, seconds, stream, tokens))
                gs.append(gateway_wrk(gateway.pid, api, key, "bench/fake-model", conns, seconds, stream, tokens))
                if stream:
                    tds.append(asyncio.run(ttft(direct, "x", "fake-model", conns, 400, tokens)))
                    tgs.append(asyncio.run(ttft(api, key, "bench/fake-model", conns, 400, tokens)))
                    sent += 400
            d, g = median_of_rounds(ds), median_of_rounds(gs)
            sent += g["requests"]
            case: dict[str, Any] = {"direct": d, "gateway": g}
            if stream:
                td, tg = statistics.median(tds), statistics.median(tgs)
                case["ttft_ms"] = {"direct": td, "gateway": tg, "added": tg - td}
            out["cases"][name] = case
            spread = f", {g['rps_range'][0]:.0f}-{g['rps_range'][1]:.0f} over {rounds} rounds" if rounds > 1 else ""
            print(f"{name}: direct {d['rps']:.0f} req/s, gateway {g['rps']:.0f} req/s{spread} "
                  f"(p50 {g['p50']:.2f} ms, non-2xx {g['non2xx']})", file=sys.stderr)
        health = call("GET", f"http://127.0.0.1:{stack.gw_port}/healthz")
        out["projector_lag_events_at_end"] = health["ledger_position"] - health["projector_position"]
        out["peak_rss_mb"] = memory_mb(gateway.pid)["peak"]
        out["requests_completed_by_clients"] = sent
    finally:
        stack.stop(600)
    out["ledger"], out["missing"] = stack.ledger(out["requests_completed_by_clients"])
    return out


def print_table(results: dict[str, Any]) -> None:
    load = results.get("load")
    if load:
        rounds = len(next(iter(load["cases"].values()))["gateway"]["rounds"]) if load["cases"] else 1
        if rounds > 1:
            print(f"medians of {rounds} rounds, direct and gateway alternating; gw range = the gateway's lowest "
                  "and highest req/s")
        print(f"{'case':<14}{'direct req/s':>14}{'gateway req/s':>15}{'ratio':>8}{'p50 +ms':>10}{'p99 gw ms':>11}"
              f"{'TTFT +ms':>10}{'gw range':>14}{'gw CPU µs/req main/all':>24}")
        for name, c in load["cases"].items():
            d, g = c["direct"], c["gateway"]
            added_ttft = c.get("ttft_ms", {}).get("added")
            print(f"{name:<14}{d['rps']:>14.0f}{g['rps']:>15.0f}{g['rps'] / d['rps']:>8.2f}"
                  f"{g['p50'] - d['p50']:>10.3f}{g['p99']:>11.2f}"
                  f"{'' if added_ttft is None else f'{added_ttft:.3f}':>10}"
                  f"{'{:.0f}-{:.0f}'.format(*g['rps_range']) if rounds > 1 else '':>14}"
                  f"{'{:.0f} / {:.0f}'.format(g['cpu_us_main'], g['cpu_us_all']) if 'cpu_us_main' in g else '':>24}")
        print(f"peak RSS of the gateway: {load['peak_rss_mb']:.0f} MB; projector lag at the end of load: "
              f"{load['projector_lag_events_at_end']} events")
        print(f"ledger: {load['ledger']} for {load['requests_completed_by_clients']} completed client requests -> "
              f"{'MISSING REQUESTS' if load['missing'] else 'every request recorded and projected'}")
    replay = results.get("replay")
    if replay:
        print(f"replay: {replay['events']:,} events ({replay['generations']:,} generations) in "
              f"{replay['seconds']:.1f} s = {replay['events_per_second']:,.0f} events/s")
        if "dashboard_pool_mb" in replay:
            print(f"dashboard queries as the gateway runs them ({replay['dashboard_pool_mb']} MB DuckDB pool, "
                  "1 thread):")
        for q, t in replay["dashboard_queries_ms"].items():
            print(f"dashboard query {q:<28} p50 {t['p50']:.1f} ms  p95 {t['p95']:.1f} ms")


if __name__ == "__main__":
    raise SystemExit(main())
