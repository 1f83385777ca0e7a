"""The Litestar application: routes under `/api/v1` and `/v1`, lifespan, logging and metrics."""

from __future__ import annotations

import gc
import json
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from litestar import Litestar, Request, Response, Router, get
from litestar.enums import ScopeType
from litestar.openapi import OpenAPIConfig
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from app import http_admin, http_carbon, http_chat, http_credit_ledger, http_read, http_sql
from app.access_log import record_access
from app.asgi_chat import ChatFastPath
from app.composition import build_gateway, open_upstream_client
from app.control import remove_control_file, write_control_file
from app.dashboard.context import template_config
from app.dashboard.routes import dashboard_router
from app.http_errors import EXCEPTION_HANDLERS
from app.metrics import metrics_response
from app.settings import Settings
from domain.api_key import hash_key
from projections.queries import memory_by_tag

# The collector's youngest generation is collected once this many more container objects have been
# made than freed (Python's default: 700). A request frees almost everything it makes by reference
# counting, so under load the default collected every ~40 requests for little. Time in collections
# over 10 s of wrk (gc callbacks, docs/benchmarks.md), default against 10,000: JSON at 64
# connections 290 ms against 0-4 ms; SSE16 at 8 connections 107 against 38 ms; SSE256 at 64
# connections 1,639 against 1,029 ms (the streams' decoded chunks are what the collector walks).
GC_YOUNG_THRESHOLD = 10_000


def settle_collector() -> None:
    """What start-up built (modules, catalogue, key directory, caches) lives as long as the process:
    move it out of the collector's sight, so that a full collection under load walks only what
    requests made (it was ~1.5 ms of the 99th percentile at one connection), and collect the young
    generation less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


API_HANDLERS = [
    http_chat.chat_completions, http_chat.completions, http_chat.anthropic_messages,
    http_read.generation_by_path, http_read.generation_by_query, http_read.list_models, http_read.list_providers,
    http_read.credits, http_read.current_key,
    http_admin.open_account, http_admin.list_accounts, http_admin.add_credits, http_admin.list_keys,
    http_admin.create_key, http_admin.edit_key, http_admin.revoke_key, http_admin.sync,
    http_admin.get_account, http_admin.get_key, http_credit_ledger.own_ledger, http_credit_ledger.account_ledger,
    http_carbon.carbon_report,
    http_sql.admin_sql, http_sql.usage_export,
]


@get("/healthz", summary="Liveness and projector position", include_in_schema=True)
async def healthz(request: Request[Any, Any, Any]) -> Response[bytes]:
    gw = request.app.state.gateway
    body = {"status": "ok", "projector_position": gw.projector.position,
            "ledger_position": gw.ledger.recorder.max_notification_id() or 0}
    return Response(json.dumps(body).encode(), media_type="application/json")


@get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    gw = request.app.state.gateway
    memory = await anyio.to_thread.run_sync(lambda: memory_by_tag(gw.cursor()))
    return metrics_response(gw, memory)


def access_log(app: ASGIApp) -> ASGIApp:
    """One structured line per request (never the body), and the request metrics."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        generation = ""

        async def capture(message: Message) -> None:
            nonlocal status, generation
            if message["type"] == "http.response.start":
                status = message["status"]
                for k, v in message.get("headers", ()):
                    if k == b"x-lowrouter-generation-id":
                        generation = v.decode()
            await send(message)

        http: HTTPScope = scope
        try:
            await app(scope, receive, capture)
        finally:
            record_access(http["method"], http["path"], status, started, generation or None)

    return middleware


def create_app(settings: Settings, data_dir: Path, url: str = "") -> ChatFastPath:
    """The gateway's ASGI application: chat completions on the plain route, the rest on Litestar."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        upstream = open_upstream_client(settings)
        gw = build_gateway(settings, data_dir, upstream)
        app.state.gateway = gw
        settle_collector()
        gw.projector.start()
        if url:
            gw.control_key_hash = hash_key(write_control_file(data_dir, url))
        try:
            yield
        finally:
            if url:
                remove_control_file(data_dir)
            gw.projector.stop()
            await upstream.close()
            gw.writer.close()
            for close in gw.on_close:
                close()
            gw.projector.catch_up()
            gw.duck.close()

    api = Router(path="/api/v1", route_handlers=API_HANDLERS)
    compat = Router(path="/v1", route_handlers=API_HANDLERS, include_in_schema=False)
    litestar = Litestar(
        route_handlers=[api, compat, healthz, metrics, dashboard_router],
        template_config=template_config(),
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.server.max_body_bytes,
        openapi_config=OpenAPIConfig(title="LowRouter", version="0.1.0", path="/api/v1/openapi"),
        middleware=[access_log] if settings.server.access_log else [],
        debug=bool(os.environ.get("LOWROUTER_DEBUG")),
        logging_config=None,
    )
    return ChatFastPath(litestar, lambda: litestar.state.gateway, max_body=settings.server.max_body_bytes,  # type: ignore[arg-type]
                        access_log=settings.server.access_log)
