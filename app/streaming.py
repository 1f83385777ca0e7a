"""Streamed chat completions: failover before the first chunk, then relay chunk by chunk.

The relay rewrites each upstream chunk's `id` and `model`, swallows the upstream's own usage
chunk, and after the finish chunk sends one usage chunk (`choices: []`, `usage` with `cost`, the
`lowrouter` block) and `data: [DONE]`. An error after the first byte is one chunk with a top-level
`error` and `finish_reason: "error"`. A client that goes away cancels the upstream call; the
generation is still completed in the ledger, `cancelled`, paying for what was delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import msgspec

from app.chat_service import (
    Prepared,
    abandon,
    fail,
    final_error,
    finish,
    next_attempt,
    opening_recorded,
    upstream_body,
)
from app.gateway import Gateway
from domain.errors import GatewayError, UpstreamBadResponseError, UpstreamError
from domain.generation import STATUS_CLIENT_ERROR, STATUS_OK, STATUS_UPSTREAM_ERROR
from domain.ports import ChunkStream
from domain.upstream_usage import read_usage

_encode = msgspec.json.Encoder().encode
KEEPALIVE = b": LOWROUTER PROCESSING\n\n"
DONE = b"data: [DONE]\n\n"
BATCH_CHUNKS = 64


def sse(obj: dict[str, Any]) -> bytes:
    return b"data: " + _encode(obj) + b"\n\n"


async def open_stream(gw: Gateway, p: Prepared) -> ChunkStream:
    """Try candidates until one stream yields its first chunk; record and raise when none does."""
    while True:
        a = p.attempt
        endpoint = gw.catalogue.endpoint(a.candidate.provider, a.candidate.region)
        assert endpoint is not None
        try:
            stream = await gw.providers[a.candidate.provider].stream(upstream_body(p), a.model, endpoint, gw.timeouts)
        except UpstreamError as e:
            if await next_attempt(gw, p, e) is None:
                final = final_error(p, e)
                await fail(gw, p, final, (time.monotonic() - p.started) * 1000)
                raise final from None
            continue
        except Exception as e:
            raise await abandon(gw, p, e) from e
        try:
            await opening_recorded(gw, p)
        except BaseException:
            await stream.aclose()
            raise
        return stream


def error_chunk(p: Prepared, created: int, error: GatewayError) -> dict[str, Any]:
    return {
        "id": p.generation.id, "object": "chat.completion.chunk", "created": created,
        "model": p.attempt.candidate.model,
        "error": {"message": error.message, "type": error.type, "code": error.status, "metadata": error.metadata},
        "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
    }


class _Progress:
    """What has been relayed so far, for usage, estimates and `ChunkStreamed` marks."""

    def __init__(self) -> None:
        self.chunks = 0
        self.chars = 0
        self.finish_reason: str | None = None
        self.upstream_usage: dict[str, Any] | None = None
        self.ttft_ms: float | None = None


async def relay(gw: Gateway, p: Prepared,
                opening: asyncio.Task[ChunkStream]) -> AsyncIterator[list[dict[str, Any]] | dict[str, Any] | bytes]:
    """The stream as events: `KEEPALIVE` while the upstream is being opened, lists of chunks as they
    arrived together, one last chunk (usage, or the error), and `DONE` after a successful end."""
    created = int(time.time())
    progress = _Progress()
    stream: ChunkStream | None = None
    ended = False
    try:
        while not opening.done():
            done, _ = await asyncio.wait({opening}, timeout=gw.settings.routing.keepalive_every_s)
            if not done:
                yield KEEPALIVE
        try:
            stream = opening.result()
        except GatewayError as e:
            ended = True  # open_stream already recorded the failed generation
            yield error_chunk(p, created, e)
            return
        ready = getattr(stream, "ready", None)
        take_ready = getattr(stream, "take_ready", None)
        batch: list[dict[str, Any]] = []
        try:
            async for first in stream:
                # Chunks that arrived together leave together, in one write to the client (up to
                # `BATCH_CHUNKS` at a time, so a long answer in one read is not all held as dicts),
                # taken from the stream without an async step each where it can hand them over.
                arrived = [first]
                while arrived:
                    for chunk in arrived:
                        out = _rewrite(p, chunk, progress)
                        if out is not None:
                            batch.append(out)
                    room = BATCH_CHUNKS - len(batch)
                    arrived = take_ready(room) if take_ready is not None and room > 0 else []
                if batch and (ready is None or not ready() or len(batch) >= BATCH_CHUNKS):
                    yield batch
                    batch = []
            if batch:
                yield batch
        except UpstreamError as e:
            # A break after the first byte cannot fall over, but it still counts against the upstream.
            gw.health.record_failure(f"{p.attempt.candidate.provider}@{p.attempt.candidate.region}", time.monotonic())
            failure: GatewayError | None = e
        except (msgspec.DecodeError, AttributeError, KeyError, TypeError, ValueError) as e:
            failure = UpstreamBadResponseError(f"upstream stream was malformed: {type(e).__name__}", retryable=False)
        else:
            failure = None
        ended = True
        if failure is not None:
            await _close(gw, p, progress, status=STATUS_UPSTREAM_ERROR, finish_reason="error", error=failure)
            if batch:  # what arrived before the break was counted as delivered: deliver it
                yield batch
            yield error_chunk(p, created, failure)
            return
        outcome = await _close(gw, p, progress, status=STATUS_OK, finish_reason=progress.finish_reason)
        yield {"id": p.generation.id, "object": "chat.completion.chunk", "created": created,
               "model": p.attempt.candidate.model, "choices": [], "usage": outcome.usage,
               "lowrouter": outcome.block}
        yield DONE
    finally:
        if not ended:
            # The client went away (or the server is stopping): finish the record, shielded from the
            # cancellation, and stop paying for tokens nobody reads.
            with anyio.CancelScope(shield=True):
                if not opening.done():
                    opening.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await opening
                if stream is not None:
                    await stream.aclose()
                if p.generation.completed:
                    pass
                elif stream is None and not opening.cancelled() and opening.exception() is not None:
                    pass  # open_stream recorded the failure itself
                else:
                    await _close(gw, p, progress, status=STATUS_CLIENT_ERROR if stream is None else STATUS_OK,
                                 finish_reason=progress.finish_reason, cancelled=True,
                                 answered=stream is not None)
        elif stream is not None:
            await stream.aclose()


def _rewrite(p: Prepared, chunk: dict[str, Any], progress: _Progress) -> dict[str, Any] | None:
    choices = chunk.get("choices")
    usage = chunk.pop("usage", None)
    if isinstance(usage, dict):
        progress.upstream_usage = {"usage": usage}
    if not choices:
        return None
    chunk["id"] = p.generation.id
    chunk["model"] = p.attempt.candidate.model
    if progress.chunks == 0:
        delta = choices[0].get("delta")
        if isinstance(delta, dict) and "role" not in delta:
            delta["role"] = "assistant"
        progress.ttft_ms = round((time.monotonic() - p.started) * 1000, 3)
    progress.chunks += 1
    for choice in choices:
        delta = choice.get("delta") or {}
        content = delta.get("content")
        if isinstance(content, str):
            progress.chars += len(content)
        for call in delta.get("tool_calls") or ():
            fn = call.get("function") or {}
            progress.chars += len(fn.get("arguments") or "") + len(fn.get("name") or "")
        reason = choice.get("finish_reason")
        if isinstance(reason, str) and reason:
            progress.finish_reason = reason
        elif reason is not None:  # an upstream's bug: relayed and recorded as none
            choice["finish_reason"] = None
    return chunk


async def _close(gw: Gateway, p: Prepared, progress: _Progress, *, status: str, finish_reason: str | None,
                 cancelled: bool = False, error: GatewayError | None = None, answered: bool = True) -> Any:
    if progress.ttft_ms is not None:
        p.generation.stream_progress(chunks=progress.chunks, completion_chars=progress.chars,
                                     ttft_ms=progress.ttft_ms,
                                     elapsed_ms=round((time.monotonic() - p.started) * 1000, 3))
    usage, estimated = read_usage(progress.upstream_usage, p.prompt_estimate, progress.chars)
    latency = progress.ttft_ms if progress.ttft_ms is not None else (time.monotonic() - p.started) * 1000
    return await finish(gw, p, usage=usage if answered else None, estimated=estimated,
                        finish_reason=finish_reason if not cancelled else (finish_reason or "cancelled"),
                        status=status, http_status=200 if answered else 499, latency_ms=latency,
                        cancelled=cancelled, error=error)


async def openai_sse(events: AsyncIterator[list[dict[str, Any]] | dict[str, Any] | bytes]) -> AsyncIterator[bytes]:
    """OpenAI's framing: `data: {json}\n\n` per chunk, `: comment` keep-alives, `data: [DONE]`.

    The last chunk (usage, or the error) is held until what follows it, `[DONE]` or the end, which
    the relay sends without waiting on anything: they leave in one write instead of two."""
    held = b""
    try:
        async for event in events:
            if isinstance(event, bytes):
                yield held + event
                held = b""
            elif isinstance(event, list):
                yield b"".join(sse(chunk) for chunk in event)
            else:
                held = sse(event)
        if held:
            yield held
    finally:
        await close_shielded(events)


async def close_shielded(stream: AsyncIterator[Any]) -> None:
    """Close an async generator, shielded from cancellation (its cleanup records the generation).
    One that already ran to its end has nothing to clean up: it is left alone, which spares a
    cancel scope per stream on the common path."""
    if getattr(stream, "ag_frame", True) is None:
        return
    with anyio.CancelScope(shield=True):
        await stream.aclose()  # type: ignore[attr-defined]
