"""A real OpenAI-compatible (and Anthropic Messages) upstream on loopback, for tests.

It runs an aiohttp server on its own thread and event loop. Behaviour is chosen per request by the
upstream model name or the `x-test-fail` header: `fail-500`, `fail-429`, `fail-503`, `reset`,
`hang`, `garbage`, `midstream` (fails after two chunks), `garbage-midstream` (after two chunks,
two more and a line that is not JSON in one write), `slow` (50 ms a token: between chunks, or before
a whole answer),
`no-usage` (streams without a usage chunk), `bad-usage` (token counts that are not numbers), `tools`
(answers with a tool call).
Every request is recorded (path, headers, body) so tests can check what the gateway sent.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from typing import Any

from aiohttp import web
from multidict import CIMultiDict


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakeUpstream:
    def __init__(self, name: str = "upstream", fail: str | None = None) -> None:
        self.name = name
        self.fail = fail
        self.port = free_port()
        self.requests: list[dict[str, Any]] = []
        self.cancelled_streams = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._run, name=f"fake-{name}", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeUpstream:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        async def shutdown() -> None:
            if self._runner is not None:
                await self._runner.cleanup()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/completions", self._completions)
        app.router.add_post("/v1/messages", self._messages)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        self._loop.run_until_complete(site.start())
        self._ready.set()
        self._loop.run_forever()

    def _behaviour(self, request: web.Request, body: dict[str, Any]) -> str:
        header = request.headers.get("x-test-fail")
        model = str(body.get("model", ""))
        return header or self.fail or (model if model in BEHAVIOURS else "ok")

    async def _fail_first(self, request: web.Request, behaviour: str) -> web.StreamResponse | None:
        if behaviour in ("fail-500", "fail-429", "fail-503"):
            status = int(behaviour[5:])
            return web.json_response({"error": {"message": f"{self.name} says {status}"}}, status=status)
        if behaviour == "reset":
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=500)
        if behaviour == "hang":
            await asyncio.sleep(30)
        if behaviour == "garbage":
            return web.Response(text="<html>not json</html>", content_type="application/json")
        if behaviour == "stall-body":  # the head and part of the body, then nothing
            response = web.StreamResponse(headers={"Content-Type": "application/json", "Content-Length": "100"})
            await response.prepare(request)
            await response.write(b'{"id": "up-stalled", "choices": [')
            await asyncio.sleep(30)
            return response
        return None

    async def _receive(self, request: web.Request) -> tuple[dict[str, Any], str, web.StreamResponse | None]:
        """Record the request; its behaviour, and the failure answer when the behaviour is one."""
        body = await request.json()
        self.requests.append({"path": request.path, "headers": CIMultiDict(request.headers), "body": body})
        behaviour = self._behaviour(request, body)
        return body, behaviour, await self._fail_first(request, behaviour)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body, behaviour, failed = await self._receive(request)
        if failed is not None:
            return failed
        n = int(request.headers.get("x-test-tokens") or body.get("max_tokens") or 5)
        words = [f"w{i}" for i in range(n)]
        prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", [])) + 1
        created = int(time.time())
        tool = behaviour == "tools" and bool(body.get("tools"))
        if not body.get("stream"):
            if behaviour == "slow":
                await asyncio.sleep(0.05 * n)
            message: dict[str, Any] = {"role": "assistant", "content": " ".join(words)}
            if tool:
                message = {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": body["tools"][0]["function"]["name"], "arguments": '{"q": "x"}'}}]}
            return web.json_response({
                "id": f"up-{self.name}", "object": "chat.completion", "created": created, "model": body["model"],
                "system_fingerprint": f"fp-{self.name}",
                "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if tool else "stop"}],
                "usage": {"prompt_tokens": "many" if behaviour == "bad-usage" else prompt, "completion_tokens": n,
                          "total_tokens": prompt + n, "prompt_tokens_details": {"cached_tokens": 0}},
            })
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        base = {"id": f"up-{self.name}", "object": "chat.completion.chunk", "created": created, "model": body["model"]}

        async def send(obj: dict[str, Any]) -> None:
            await response.write(b"data: " + json.dumps(obj).encode() + b"\n\n")

        try:
            await send({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                             "finish_reason": None}]})
            for i, w in enumerate(words):
                if behaviour == "garbage-midstream" and i == 2:
                    # two chunks and a line that is not JSON, in one write (one network read)
                    chunk = {**base, "choices": [{"index": 0, "delta": {"content": "more "}, "finish_reason": None}]}
                    await response.write(2 * (b"data: " + json.dumps(chunk).encode() + b"\n\n")
                                         + b"data: {not json\n\n")
                    return response
                if behaviour == "midstream" and i == 2:
                    assert request.transport is not None
                    request.transport.abort()
                    return response
                if behaviour == "slow":
                    await asyncio.sleep(0.05)
                await send({**base, "choices": [{"index": 0, "delta": {"content": w + " "}, "finish_reason": None}]})
            await send({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            include = (body.get("stream_options") or {}).get("include_usage")
            if include and behaviour != "no-usage":
                counted: Any = "many" if behaviour == "bad-usage" else prompt
                await send({**base, "choices": [], "usage": {"prompt_tokens": counted, "completion_tokens": n,
                                                             "total_tokens": prompt + n}})
            await response.write(b"data: [DONE]\n\n")
        except (ConnectionResetError, asyncio.CancelledError):
            self.cancelled_streams += 1
            raise
        return response

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append({"path": request.path, "headers": CIMultiDict(request.headers), "body": body})
        n = int(body.get("max_tokens") or 5)
        return web.json_response({
            "id": "cmpl-1", "object": "text_completion", "created": int(time.time()), "model": body["model"],
            "choices": [{"index": 0, "text": " ".join(f"w{i}" for i in range(n)), "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": n, "total_tokens": 3 + n},
        })

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        body, behaviour, failed = await self._receive(request)
        if failed is not None:
            return failed
        from tests.support.anthropic_replies import anthropic_reply

        return await anthropic_reply(request, body, behaviour)


BEHAVIOURS = {"fail-500", "fail-429", "fail-503", "reset", "hang", "stall-body", "garbage", "midstream",
              "garbage-midstream", "slow", "no-usage", "bad-usage", "tools"}
