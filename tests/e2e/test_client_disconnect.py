"""A client that goes away. From a stream: the upstream call is cancelled and the generation is still
completed in the ledger, `cancelled`, paying for what was delivered. From a non-streaming request:
the upstream's answer is read to its end and charged as the upstream reports it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import httpx
import msgspec
import pytest

from tests.support.gateway import GatewayProcess, UpstreamSpec, config_text
from tests.support.upstream import FakeUpstream


@pytest.fixture(scope="module")
def slow_upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream("slow").start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def gw(slow_upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    spec = UpstreamSpec("fake", "eu-west", slow_upstream, models=("slow",))
    proc = GatewayProcess(tmp_path_factory.mktemp("disconnect"), config_text([spec])).start()
    yield proc
    proc.stop()


def test_a_client_that_disconnects_mid_stream_cancels_the_upstream_and_pays_for_what_it_got(
        gw: GatewayProcess, slow_upstream: FakeUpstream) -> None:
    key = gw.new_key(credits="10")
    received: list[dict[str, object]] = []
    with httpx.Client(timeout=30) as client, client.stream(
            "POST", f"{gw.api}/chat/completions", headers={"Authorization": f"Bearer {key}"},
            json={"model": "fake/slow", "stream": True, "max_tokens": 200,
                  "messages": [{"role": "user", "content": "tell me a long story"}]}) as r:
        for line in r.iter_lines():
            if line.startswith("data: "):
                received.append(msgspec.json.decode(line[6:]))
            if len(received) == 6:
                break  # leaving the block closes the connection mid-stream
    generation_id = str(received[0]["id"])
    delivered = sum(len(c["delta"].get("content") or "") for chunk in received
                    for c in chunk["choices"])  # type: ignore[attr-defined]

    deadline = time.monotonic() + 10
    record: dict[str, object] = {}
    while time.monotonic() < deadline:
        r2 = httpx.get(f"{gw.api}/generation/{generation_id}", headers={"Authorization": f"Bearer {key}"})
        record = r2.json().get("data") or {}
        if record.get("completed_at"):
            break
        time.sleep(0.1)
    assert record["cancelled"] is True and record["status"] == "ok"
    assert record["usage_estimated"] is True
    # It pays for at least what reached the client, and far less than the 200 tokens asked for.
    assert -(-delivered // 4) <= int(record["completion_tokens"]) < 200  # type: ignore[call-overload]
    assert float(record["cost_credits"]) > 0  # type: ignore[arg-type]
    deadline = time.monotonic() + 5
    while slow_upstream.cancelled_streams == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert slow_upstream.cancelled_streams == 1


def test_a_client_that_leaves_after_the_first_chunk_still_cancels_the_upstream(
        gw: GatewayProcess, slow_upstream: FakeUpstream) -> None:
    # It leaves before the gateway starts watching for a disconnect (50 ms into the stream): the
    # disconnect is noticed when the watcher starts, and the upstream call is cancelled all the same.
    key = gw.new_key(credits="10")
    before = slow_upstream.cancelled_streams
    with httpx.Client(timeout=30) as client, client.stream(
            "POST", f"{gw.api}/chat/completions", headers={"Authorization": f"Bearer {key}"},
            json={"model": "fake/slow", "stream": True, "max_tokens": 200,
                  "messages": [{"role": "user", "content": "tell me a long story"}]}) as r:
        first = next(line for line in r.iter_lines() if line.startswith("data: "))
    generation_id = str(msgspec.json.decode(first[6:])["id"])
    deadline = time.monotonic() + 5
    while slow_upstream.cancelled_streams == before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert slow_upstream.cancelled_streams == before + 1
    record: dict[str, object] = {}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not record.get("completed_at"):
        r2 = httpx.get(f"{gw.api}/generation/{generation_id}", headers={"Authorization": f"Bearer {key}"})
        record = r2.json().get("data") or {}
        time.sleep(0.05)
    assert record["cancelled"] is True
    assert int(record["completion_tokens"]) < 10  # type: ignore[call-overload]


def test_a_client_that_leaves_a_non_streaming_request_is_charged_the_upstreams_whole_answer(
        gw: GatewayProcess) -> None:
    # Without a stream there is nothing delivered to count: the gateway reads the upstream's answer
    # to its end, so the generation is completed with the usage the upstream reports (and bills).
    account = gw.new_account(credits="10", name="leaves-json")
    key = gw.new_key(account_id=account, credits=None)
    with pytest.raises(httpx.ReadTimeout), httpx.Client(timeout=httpx.Timeout(10, read=0.3)) as client:
        client.post(f"{gw.api}/chat/completions", headers={"Authorization": f"Bearer {key}"},
                    json={"model": "fake/slow", "max_tokens": 20,  # the answer takes 1 s
                          "messages": [{"role": "user", "content": "answer slowly"}]})
    sql = ("SELECT status, cancelled, completion_tokens, usage_estimated, cost_micro, http_status "
           f"FROM generations WHERE account_id = '{account}' AND completed_at IS NOT NULL")
    rows: list[list[object]] = []
    deadline = time.monotonic() + 10
    while not rows and time.monotonic() < deadline:
        time.sleep(0.1)
        rows = gw.admin("POST", "/admin/sql", {"sql": sql}).json()["data"]["rows"]
    assert len(rows) == 1, rows
    status, cancelled, completion_tokens, estimated, cost_micro, http_status = rows[0]
    assert (status, cancelled, completion_tokens, estimated, http_status) == ("ok", False, 20, False, 200)
    charged = Decimal(int(cost_micro)) / 1_000_000  # type: ignore[call-overload]
    assert charged > 0
    balance = gw.admin("GET", f"/admin/accounts/{account}").json()["data"]["balance"]  # a JSON number
    assert Decimal(str(balance)) == 10 - charged
