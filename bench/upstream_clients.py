"""Which HTTP client to call upstreams with: httpx, httpx on an aiohttp transport, aiohttp, pyreqwest,
and the gateway's own event-loop client for plain-HTTP upstreams (`adapters.providers.loop_client`).

`python -m bench.upstream_clients [--requests N] [--concurrency C]` starts the fast upstream and
posts the same small chat completion through each client at the given concurrency, printing
requests per second, the client process's CPU time per request (all threads), and the event-loop
thread's own CPU time per request (what competes with the gateway's other work for the GIL).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

from bench.run import ROOT, free_port, wait_http

BODY = json.dumps({"model": "fake-model", "max_tokens": 16,
                   "messages": [{"role": "user", "content": "In one sentence, what is a vector database?"}]})


async def drive(call: Callable[[], Awaitable[None]], requests: int,
                concurrency: int) -> tuple[float, float, float]:
    left = requests

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await call()

    for _ in range(200):
        await call()  # warm the connection pool
    wall, cpu, th = time.perf_counter(), time.process_time(), time.thread_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    loop_cpu = (time.thread_time() - th) / requests * 1e6
    return requests / (time.perf_counter() - wall), (time.process_time() - cpu) / requests * 1e6, loop_cpu


async def run(url: str, requests: int, concurrency: int) -> dict[str, tuple[float, float, float]]:
    import aiohttp
    import httpx
    from httpx_aiohttp import AiohttpTransport

    out = {}
    headers = {"Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        async def via_httpx() -> None:
            (await client.post(url, content=BODY, headers=headers)).json()
        out["httpx 0.28 (httpcore)"] = await drive(via_httpx, requests, concurrency)
    async with httpx.AsyncClient(transport=AiohttpTransport(), timeout=30) as client:
        async def via_transport() -> None:
            (await client.post(url, content=BODY, headers=headers)).json()
        out["httpx on AiohttpTransport"] = await drive(via_transport, requests, concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        async def via_aiohttp() -> None:
            async with session.post(url, data=BODY, headers=headers) as r:
                await r.read()
        out["aiohttp 3.14"] = await drive(via_aiohttp, requests, concurrency)
    from adapters.providers.upstream_http import UpstreamClient

    upstream = UpstreamClient()
    body = BODY.encode()

    async def via_pyreqwest() -> None:
        request = upstream.tls.post(url).headers(headers).body_bytes(body).build()
        await (await request.send()).bytes()
    out["pyreqwest (TLS upstreams)"] = await drive(via_pyreqwest, requests, concurrency)

    async def via_loop() -> None:
        await upstream.plain.post(url, body, headers, 30)
    out["event loop + httptools (plain HTTP)"] = await drive(via_loop, requests, concurrency)
    await upstream.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.upstream_clients", description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args(argv)
    port = free_port()
    upstream = subprocess.Popen([sys.executable, "-m", "bench.fast_upstream", str(port)], cwd=ROOT,
                                stdout=subprocess.DEVNULL)
    wait_http(f"http://127.0.0.1:{port}/")
    try:
        results = asyncio.run(run(f"http://127.0.0.1:{port}/v1/chat/completions", args.requests,
                                  args.concurrency))
    finally:
        upstream.kill()
        upstream.wait()
    print(f"{'client':<36}{'req/s':>10}{'CPU us/req':>12}{'event-loop CPU us/req':>24}")
    for name, (rps, cpu, loop_cpu) in results.items():
        print(f"{name:<36}{rps:>10.0f}{cpu:>12.0f}{loop_cpu:>24.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
