"""HTTP handlers that read: generation records, the catalogue, providers, credits, the calling key."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import anyio
import msgspec
from litestar import Request, Response, get

from app.caller import authenticate, require_key
from app.gateway import Gateway
from domain.errors import InvalidRequestError, NotFoundError
from domain.money import credits_number
from projections.queries import generation_record

_encode = msgspec.json.Encoder().encode
JSON = "application/json"


def _gw(request: Request[Any, Any, Any]) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


def _json(body: Any, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(_encode(body), media_type=JSON, headers=headers or {})


async def _read_generation(gw: Gateway, generation_id: str) -> dict[str, Any] | None:
    def read() -> dict[str, Any] | None:
        return generation_record(gw.cursor(), generation_id)

    return await anyio.to_thread.run_sync(read)


async def _generation(request: Request[Any, Any, Any], generation_id: str | None) -> Response[bytes]:
    gw = _gw(request)
    caller = authenticate(gw, request.headers.get("authorization"), request.headers.get("x-api-key"))
    if caller.account_id:  # errors from here on carry the balance too
        request.state.lowrouter_headers = {
            "X-Credit-Balance": f"{credits_number(gw.credits.available(caller.account_id)):.6f}"}
    if not generation_id:
        raise InvalidRequestError("give the generation id: /generation/{id} or ?id=", param="id")
    record = await _read_generation(gw, generation_id)
    if record is None or record["completed_at"] is None:
        # Read your writes: a response that completed has its events in the ledger, so wait
        # (briefly) for the projector to reach the ledger's current end, then look again.
        await gw.caught_up()
        record = await _read_generation(gw, generation_id)
    if record is None or (not caller.is_admin and record["account_id"] != caller.account_id):
        raise NotFoundError(f"no generation {generation_id!r} for this account", param="id")
    headers = {}
    if caller.account_id:
        headers["X-Credit-Balance"] = f"{credits_number(gw.credits.available(caller.account_id)):.6f}"
    return _json({"data": record}, headers)


@get(["/generation/{generation_id:str}"], summary="The accounting record of one generation")
async def generation_by_path(request: Request[Any, Any, Any], generation_id: str) -> Response[bytes]:
    return await _generation(request, generation_id)


@get(["/generation"], summary="The accounting record of one generation (?id=)")
async def generation_by_query(request: Request[Any, Any, Any]) -> Response[bytes]:
    return await _generation(request, request.query_params.get("id"))


def model_entry(gw: Gateway, model_id: str) -> dict[str, Any]:
    m = gw.catalogue.models[model_id]
    params = gw.eco.params_for(m.eco_name)
    energy = None
    if params is not None:
        endpoint = gw.catalogue.endpoints_for(m)[0]
        inputs = gw.eco.inputs_for(m.eco_name, endpoint.provider, endpoint.region, 0, 1000, None)
        if inputs is not None:
            from domain.eco import estimate

            energy = estimate(inputs).energy_wh
    return {
        "id": m.id, "object": "model", "created": 0, "owned_by": m.provider, "name": m.name,
        "context_length": m.context_length, "max_output_tokens": m.max_output_tokens,
        "pricing": {"prompt_per_1k": credits_number(m.price.prompt),
                    "completion_per_1k": credits_number(m.price.completion),
                    "cached_prompt_per_1k": credits_number(m.price.cached_prompt), "unit": "credits"},
        "capabilities": msgspec.to_builtins(m.capabilities),
        "regions": list(m.regions),
        "active_parameters_b": params.active_params_b if params else None,
        "eco_band": params.band if params else None,
        "energy_wh_per_1k_completion_tokens": energy,
    }


@get(["/models"], summary="The model catalogue")
async def list_models(request: Request[Any, Any, Any]) -> Response[bytes]:
    gw = _gw(request)
    cached = gw.extras.get("models_json")
    if cached is None:
        body = {"object": "list", "data": [model_entry(gw, m) for m in gw.catalogue.models]}
        cached = gw.extras["models_json"] = _encode(body)
    return Response(cached, media_type=JSON)


@get(["/providers"], summary="Providers, their regions and health")
async def list_providers(request: Request[Any, Any, Any]) -> Response[bytes]:
    gw = _gw(request)
    now = time.monotonic()
    data = []
    for p in gw.catalogue.providers.values():
        endpoints = []
        for e in p.endpoints:
            h = gw.health.snapshot(e.key, now)
            endpoints.append({"region": e.region, "health": h.state, "penalty": h.penalty,
                              "median_latency_ms": h.median_latency_ms, "median_ttft_ms": h.median_ttft_ms,
                              "requests_5m": h.requests_5m, "failures_5m": h.failures_5m})
        states = {e["health"] for e in endpoints}
        overall = "ok" if states == {"ok"} else "unavailable" if states == {"unavailable"} else "degraded"
        data.append({"id": p.id, "kind": p.kind, "regions": list(p.regions), "health": overall,
                     "endpoints": endpoints})
    return _json({"object": "list", "data": data})


@get(["/credits"], summary="The calling account's credit balance")
async def credits(request: Request[Any, Any, Any]) -> Response[bytes]:
    gw = _gw(request)
    key = require_key(authenticate(gw, request.headers.get("authorization"), request.headers.get("x-api-key")))
    added, charged = gw.credits.totals(key.account_id)
    balance = gw.credits.balance(key.account_id)
    headers = {"X-Credit-Balance": f"{credits_number(gw.credits.available(key.account_id)):.6f}"}
    return _json({"data": {"account_id": key.account_id, "balance": credits_number(balance),
                           "total_credits": credits_number(added), "total_usage": credits_number(charged),
                           "reserved": credits_number(balance - gw.credits.available(key.account_id)),
                           "currency": gw.settings.credits.currency,
                           "credit_value": gw.settings.credits.credit_value}}, headers)


def key_view(gw: Gateway, key_id: str) -> dict[str, Any]:
    k = gw.keys.by_id(key_id)
    assert k is not None
    today = datetime.now(UTC).date()
    day, month = gw.credits.key_spend(k.key_id, today)
    pol = k.policy
    remaining_balance = gw.credits.available(k.account_id)
    limits = [remaining_balance]
    if pol.daily_credit_limit_micro is not None:
        limits.append(pol.daily_credit_limit_micro - day)
    if pol.monthly_credit_limit_micro is not None:
        limits.append(pol.monthly_credit_limit_micro - month)

    def num(v: int | None) -> float | None:
        return None if v is None else credits_number(v)

    return {"key_id": k.key_id, "account_id": k.account_id, "name": pol.name, "display": k.display,
            "models": list(pol.models), "region": pol.region,
            "daily_credit_limit": num(pol.daily_credit_limit_micro),
            "monthly_credit_limit": num(pol.monthly_credit_limit_micro), "expires_at": pol.expires_at,
            "prefer_low_carbon": pol.prefer_low_carbon, "enabled": pol.enabled, "revoked": k.revoked,
            "spent_today": credits_number(day), "spent_this_month": credits_number(month),
            "remaining": credits_number(max(min(limits), 0))}


@get(["/key"], summary="The calling key: name, limits, spend today and this month, remaining")
async def current_key(request: Request[Any, Any, Any]) -> Response[bytes]:
    gw = _gw(request)
    key = require_key(authenticate(gw, request.headers.get("authorization"), request.headers.get("x-api-key")))
    headers = {"X-Credit-Balance": f"{credits_number(gw.credits.available(key.account_id)):.6f}"}
    return _json({"data": key_view(gw, key.key_id)}, headers)
