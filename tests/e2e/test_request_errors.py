"""Bad input and failing upstreams: each gets its documented status and error body, and the ledger
stays whole (nothing written before admission; a complete record after it)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest

from tests.support.gateway import GatewayProcess, UpstreamSpec, config_text
from tests.support.upstream import FakeUpstream


@pytest.fixture(scope="module")
def gw(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    spec = UpstreamSpec("fake", "eu-west", upstream, models=("fake", "garbage", "fail-500", "hang", "stall-body",
                                                                   "midstream", "garbage-midstream"))
    proc = GatewayProcess(tmp_path_factory.mktemp("errors"), config_text([spec])).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def key(gw: GatewayProcess) -> str:
    return gw.new_key(credits="10")


def ledger_position(gw: GatewayProcess) -> int:
    position: int = httpx.get(f"{gw.url}/healthz").json()["ledger_position"]
    return position


def post(gw: GatewayProcess, key: str | None, content: bytes | None = None, json: object = None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return httpx.post(f"{gw.api}/chat/completions", headers=headers, content=content, json=json, timeout=30)


def assert_error(r: httpx.Response, status: int, error_type: str) -> dict[str, object]:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == status and error["type"] == error_type
    assert isinstance(error["message"], str) and error["message"]
    assert set(error) == {"message", "type", "code", "param", "metadata"}
    return dict(error)


def test_malformed_json_is_a_400_and_writes_nothing(gw: GatewayProcess, key: str) -> None:
    before = ledger_position(gw)
    assert_error(post(gw, key, content=b'{"model": "fake/fake", "messages": ['), 400, "invalid_request_error")
    assert ledger_position(gw) == before


def test_wrong_types_are_a_400_naming_the_field(gw: GatewayProcess, key: str) -> None:
    before = ledger_position(gw)
    error = assert_error(post(gw, key, json={"model": "fake/fake", "messages": "hello"}), 400,
                         "invalid_request_error")
    assert error["param"] == "messages"
    assert ledger_position(gw) == before


@pytest.mark.parametrize(("field", "value"), [
    ("max_tokens", 0), ("max_tokens", -5), ("max_completion_tokens", 0), ("n", 0), ("messages", []),
])
def test_a_token_cap_or_n_below_one_or_no_messages_is_a_400_naming_the_field(
        gw: GatewayProcess, key: str, field: str, value: object) -> None:
    before = ledger_position(gw)
    body = {"model": "fake/fake", "messages": [{"role": "user", "content": "x"}], field: value}
    error = assert_error(post(gw, key, json=body), 400, "invalid_request_error")
    assert error["param"] == field
    assert ledger_position(gw) == before


def test_json_nested_too_deeply_for_the_decoder_is_a_400_not_a_500(gw: GatewayProcess, key: str) -> None:
    before = ledger_position(gw)
    deep = b'{"model": "fake/fake", "messages": [{"role": "user", "content": "x"}], "metadata": ' + \
        b"[" * 5000 + b"]" * 5000 + b"}"
    error = assert_error(post(gw, key, content=deep), 400, "invalid_request_error")
    assert "nested too deeply" in str(error["message"])
    assert ledger_position(gw) == before


def test_an_unknown_model_is_a_400_and_writes_nothing(gw: GatewayProcess, key: str) -> None:
    before = ledger_position(gw)
    error = assert_error(post(gw, key, json={"model": "nobody/nothing", "messages": [{"role": "user",
                                                                                       "content": "x"}]}),
                         400, "unknown_model")
    assert error["param"] == "model"
    assert ledger_position(gw) == before


@pytest.mark.parametrize("key_value", [None, "lr-sk-" + "x" * 40, "sk-not-ours"])
def test_a_missing_or_wrong_key_is_a_401_and_writes_nothing(gw: GatewayProcess, key_value: str | None) -> None:
    before = ledger_position(gw)
    assert_error(post(gw, key_value, json={"model": "fake/fake", "messages": []}), 401, "authentication_error")
    assert ledger_position(gw) == before


def test_an_oversized_body_is_a_413_and_writes_nothing(gw: GatewayProcess, key: str) -> None:
    before = ledger_position(gw)
    huge = b'{"model": "fake/fake", "messages": [{"role": "user", "content": "' + b"a" * 10_500_000 + b'"}]}'
    assert_error(post(gw, key, content=huge), 413, "payload_too_large")
    assert ledger_position(gw) == before


def test_an_oversized_body_sent_in_chunks_without_a_length_is_a_413_too(gw: GatewayProcess, key: str) -> None:
    before = ledger_position(gw)

    def pieces() -> Iterator[bytes]:
        yield b'{"model": "fake/fake", "messages": [{"role": "user", "content": "'
        for _ in range(110):
            yield b"a" * 100_000
        yield b'"}]}'

    assert_error(post(gw, key, content=pieces()), 413, "payload_too_large")
    assert ledger_position(gw) == before


def test_a_get_on_the_chat_route_is_a_405_in_the_error_shape(gw: GatewayProcess, key: str) -> None:
    r = httpx.get(f"{gw.api}/chat/completions", headers={"Authorization": f"Bearer {key}"})
    assert_error(r, 405, "method_not_allowed")


@pytest.mark.parametrize(("model", "status", "error_type"), [
    ("fake/garbage", 502, "upstream_bad_response"),
    ("fake/fail-500", 502, "upstream_bad_response"),
    ("fake/hang", 504, "upstream_timeout"),
    ("fake/stall-body", 504, "upstream_timeout"),
])
def test_a_failing_upstream_gets_its_status_and_a_complete_free_record(
        gw: GatewayProcess, key: str, model: str, status: int, error_type: str) -> None:
    r = post(gw, key, json={"model": model, "messages": [{"role": "user", "content": "x"}], "max_tokens": 3})
    assert_error(r, status, error_type)
    generation_id = r.headers["x-lowrouter-generation-id"]
    assert "x-credit-balance" in r.headers
    rec = gw.generation(key, generation_id)
    assert rec["status"] == "upstream_error" and rec["http_status"] == status
    assert rec["cost_credits"] == 0 and rec["completed_at"] is not None
    trace = rec["routing_trace"]
    assert isinstance(trace, dict)
    assert trace["attempts"][0]["failure"]["error_type"] == error_type


def test_an_upstream_failure_after_the_first_byte_ends_the_stream_with_an_error_chunk(
        gw: GatewayProcess, key: str) -> None:
    import msgspec

    with httpx.stream("POST", f"{gw.api}/chat/completions", headers={"Authorization": f"Bearer {key}"},
                      json={"model": "fake/midstream", "stream": True, "max_tokens": 10,
                            "messages": [{"role": "user", "content": "x"}]}, timeout=30) as r:
        assert r.status_code == 200
        events = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] != "[DONE]"
    last = msgspec.json.decode(events[-1])
    assert last["error"]["code"] in (502, 503, 504)
    assert last["choices"][0]["finish_reason"] == "error"
    delivered = sum(len(c["delta"].get("content") or "") for e in events[:-1]
                    for c in msgspec.json.decode(e)["choices"])
    rec = gw.generation(key, last["id"])
    assert rec["status"] == "upstream_error" and rec["finish_reason"] == "error"
    # No usage came from the upstream: what was relayed is estimated at four characters a token.
    assert rec["usage_estimated"] is True
    assert rec["completion_tokens"] == -(-delivered // 4)


def test_chunks_that_arrive_with_a_bad_line_are_delivered_before_its_error_chunk(gw: GatewayProcess,
                                                                                  key: str) -> None:
    import msgspec

    with httpx.stream("POST", f"{gw.api}/chat/completions", headers={"Authorization": f"Bearer {key}"},
                      json={"model": "fake/garbage-midstream", "stream": True, "max_tokens": 10,
                            "messages": [{"role": "user", "content": "x"}]}, timeout=30) as r:
        assert r.status_code == 200
        events = [msgspec.json.decode(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]
    texts = [c["delta"].get("content") or "" for e in events[:-1] for c in e["choices"]]
    assert texts[-2:] == ["more ", "more "]  # the two that came in the same read as the bad line
    assert events[-1]["error"]["code"] == 502 and events[-1]["choices"][0]["finish_reason"] == "error"
    rec = gw.generation(key, events[-1]["id"])
    assert rec["status"] == "upstream_error"
    assert rec["completion_tokens"] == -(-len("".join(texts)) // 4)


def test_the_gateway_log_has_one_line_per_request_and_no_prompt_text(gw: GatewayProcess, key: str) -> None:
    marker = "the-secret-prompt-text-7781"
    r = post(gw, key, json={"model": "fake/fake", "messages": [{"role": "user", "content": marker}]})
    assert r.status_code == 200
    generation_id = r.headers["x-lowrouter-generation-id"]
    deadline = time.monotonic() + 3  # the access log is written in batches every 200 ms
    while generation_id not in gw.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = gw.log()
    assert marker not in log
    assert key not in log
    lines = [line for line in log.splitlines() if generation_id in line]
    assert len(lines) == 1
    assert msgspec.json.decode(lines[0])["status"] == 200
    ledger_bytes = Path(gw.data_dir / "ledger.sqlite").read_bytes()
    assert marker.encode() not in ledger_bytes
