"""The built-in simulator: an in-process provider for the offline default and for tests.

The upstream model name selects a behaviour: `small` and `large` answer at once, `slow` waits
before the first token and between chunks, `flaky` fails every other call with a 503, `error`
always fails with a 500, `tools` answers with a tool call when tools are offered. A request may
also carry `"simulator": {"latency_ms", "chunk_ms", "tokens", "fail"}` to choose per call.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

from adapters.providers.http_errors import error_for_status
from domain.catalogue import Endpoint, Model
from domain.chat import Message
from domain.errors import UpstreamTimeoutError
from domain.ports import Timeouts
from domain.tokens import estimate_prompt_tokens

_WORDS = ("The", "gateway", "routed", "this", "request", "to", "a", "simulated", "model", "and",
          "recorded", "every", "token", "in", "its", "ledger.")


def _prompt_tokens(body: dict[str, Any]) -> int:
    messages = body.get("messages") or []
    chars = 0
    for m in messages:
        content = m.get("content") if isinstance(m, dict) else None
        if isinstance(content, str):
            chars += len(content)
        elif isinstance(content, list):
            chars += sum(len(p.get("text", "")) for p in content if isinstance(p, dict))
    if "prompt" in body:
        chars += len(str(body["prompt"]))
        messages = [Message(role="user")]
    return estimate_prompt_tokens(chars, len(messages))


class SimulatorProvider:
    def __init__(self) -> None:
        self._calls = itertools.count()

    def _plan(self, body: dict[str, Any], model: Model) -> tuple[float, float, int, str | None]:
        opts = body.get("simulator") if isinstance(body.get("simulator"), dict) else {}
        assert isinstance(opts, dict)
        behaviour = model.upstream_model
        latency = 0.3 if behaviour == "slow" else 0.0
        chunk = 0.02 if behaviour == "slow" else 0.0
        fail: str | None = {"error": "500"}.get(behaviour)
        if behaviour == "flaky" and next(self._calls) % 2 == 0:
            fail = "503"
        cap = int(body.get("max_completion_tokens") or body.get("max_tokens") or 1 << 20)
        tokens = max(1, min(int(opts.get("tokens", 24)), cap))
        return (float(opts.get("latency_ms", latency * 1000)) / 1000, float(opts.get("chunk_ms", chunk * 1000)) / 1000,
                tokens, opts.get("fail", fail))

    async def _begin(self, latency: float, fail: str | None, timeouts: Timeouts) -> None:
        if fail == "hang":
            await asyncio.sleep(timeouts.first_byte_s)
            raise UpstreamTimeoutError("simulated upstream hung", retryable=True, cause="timeout")
        if latency > timeouts.first_byte_s:
            await asyncio.sleep(timeouts.first_byte_s)
            raise UpstreamTimeoutError("simulated upstream too slow", retryable=True, cause="timeout")
        if latency:
            await asyncio.sleep(latency)
        if fail is not None:
            raise error_for_status(int(fail), b'{"error":{"message":"simulated failure"}}')

    def _tool_call(self, body: dict[str, Any], model: Model) -> dict[str, Any] | None:
        tools = body.get("tools")
        if model.upstream_model != "tools" or not tools:
            return None
        fn = tools[0].get("function", {})
        return {"id": "call_sim_1", "type": "function",
                "function": {"name": fn.get("name", "tool"), "arguments": '{"city": "Paris", "unit": "celsius"}'}}

    async def complete(self, body: dict[str, Any], model: Model, endpoint: Endpoint,
                       timeouts: Timeouts) -> dict[str, Any]:
        latency, _, tokens, fail = self._plan(body, model)
        await self._begin(latency, fail, timeouts)
        prompt = _prompt_tokens(body)
        call = self._tool_call(body, model)
        message: dict[str, Any] = {"role": "assistant", "content": None if call else _text(tokens)}
        if call:
            message["tool_calls"] = [call]
        cap = body.get("max_completion_tokens") or body.get("max_tokens")
        finish = "tool_calls" if call else ("length" if cap == tokens else "stop")
        return {
            "id": f"sim-{endpoint.region}-{time.monotonic_ns()}", "object": "chat.completion",
            "created": int(time.time()), "model": model.upstream_model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": tokens, "total_tokens": prompt + tokens},
        }

    async def complete_text(self, body: dict[str, Any], model: Model, endpoint: Endpoint,
                            timeouts: Timeouts) -> dict[str, Any]:
        latency, _, tokens, fail = self._plan(body, model)
        await self._begin(latency, fail, timeouts)
        prompt = _prompt_tokens(body)
        return {
            "id": f"sim-{time.monotonic_ns()}", "object": "text_completion", "created": int(time.time()),
            "model": model.upstream_model,
            "choices": [{"index": 0, "text": _text(tokens), "finish_reason": "stop", "logprobs": None}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": tokens, "total_tokens": prompt + tokens},
        }

    async def stream(self, body: dict[str, Any], model: Model, endpoint: Endpoint,
                     timeouts: Timeouts) -> _SimStream:
        latency, chunk_s, tokens, fail = self._plan(body, model)
        await self._begin(latency, fail, timeouts)
        return _SimStream(body, model, tokens, chunk_s, self._tool_call(body, model))


def _text(tokens: int) -> str:
    return " ".join(_WORDS[i % len(_WORDS)] for i in range(tokens))


class _SimStream:
    def __init__(self, body: dict[str, Any], model: Model, tokens: int, chunk_s: float,
                 call: dict[str, Any] | None) -> None:
        self._body, self._model, self._tokens, self._chunk_s, self._call = body, model, tokens, chunk_s, call

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict[str, Any]]:
        base = {"id": f"sim-{time.monotonic_ns()}", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": self._model.upstream_model}
        yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
        if self._call is not None:
            fn = self._call["function"]
            yield {**base, "choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "id": self._call["id"], "type": "function",
                 "function": {"name": fn["name"], "arguments": ""}}]}, "finish_reason": None}]}
            args = fn["arguments"]
            for part in (args[: len(args) // 2], args[len(args) // 2:]):
                yield {**base, "choices": [{"index": 0, "delta": {"tool_calls": [
                    {"index": 0, "function": {"arguments": part}}]}, "finish_reason": None}]}
            finish = "tool_calls"
        else:
            for i in range(self._tokens):
                if self._chunk_s:
                    await asyncio.sleep(self._chunk_s)
                word = _WORDS[i % len(_WORDS)] + ("" if i == self._tokens - 1 else " ")
                yield {**base, "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
            cap = self._body.get("max_completion_tokens") or self._body.get("max_tokens")
            finish = "length" if cap == self._tokens else "stop"
        yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}
        prompt = _prompt_tokens(self._body)
        yield {**base, "choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": self._tokens,
                                                 "total_tokens": prompt + self._tokens}}

    async def aclose(self) -> None:
        return None
