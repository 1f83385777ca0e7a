"""Anthropic Messages answers of the fake upstream (JSON and SSE); `no-usage` gives an output count
that is not a number."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


async def anthropic_reply(request: web.Request, body: dict[str, Any], behaviour: str) -> web.StreamResponse:
    n = int(body.get("max_tokens") or 5)
    n = min(n, 5)
    text = " ".join(f"w{i}" for i in range(n))
    tool = behaviour == "tools" and bool(body.get("tools"))
    usage: dict[str, Any] = {"input_tokens": 7, "output_tokens": n, "cache_read_input_tokens": 2,
                             "cache_creation_input_tokens": 0}
    if behaviour == "no-usage":  # counts it never gives: none for output, one that is not a number
        usage = {"input_tokens": 7, "output_tokens": "unknown"}
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    if tool:
        content = [{"type": "tool_use", "id": "toolu_1", "name": body["tools"][0]["name"],
                    "input": {"city": "Paris", "days": 3}}]
    if not body.get("stream"):
        return web.json_response({
            "id": "msg_up", "type": "message", "role": "assistant", "model": body["model"], "content": content,
            "stop_reason": "tool_use" if tool else "end_turn", "stop_sequence": None, "usage": usage})
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)

    async def ev(name: str, data: dict[str, Any]) -> None:
        await response.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())

    await ev("message_start", {"type": "message_start", "message": {
        "id": "msg_up", "type": "message", "role": "assistant", "model": body["model"], "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 7, "output_tokens": 1, "cache_read_input_tokens": 2,
                  "cache_creation_input_tokens": 0}}})
    if tool:
        await ev("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {
            "type": "tool_use", "id": "toolu_1", "name": body["tools"][0]["name"], "input": {}}})
        for part in ('{"city": ', '"Paris", "days"', ': 3}'):
            await ev("content_block_delta", {"type": "content_block_delta", "index": 0,
                                             "delta": {"type": "input_json_delta", "partial_json": part}})
    else:
        await ev("content_block_start", {"type": "content_block_start", "index": 0,
                                         "content_block": {"type": "text", "text": ""}})
        for i in range(n):
            await ev("content_block_delta", {"type": "content_block_delta", "index": 0,
                                             "delta": {"type": "text_delta", "text": f"w{i} "}})
    await ev("content_block_stop", {"type": "content_block_stop", "index": 0})
    await ev("message_delta", {"type": "message_delta",
                               "delta": {"stop_reason": "tool_use" if tool else "end_turn", "stop_sequence": None},
                               "usage": {"output_tokens": "unknown" if behaviour == "no-usage" else n}})
    await ev("message_stop", {"type": "message_stop"})
    return response
