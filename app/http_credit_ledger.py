"""The credit ledger over HTTP: an account's top-ups and charges, each with its ledger position.

`GET /credits/ledger` for the calling key's own account; `GET /admin/accounts/{id}/ledger` for the
operator. Newest first, `?limit=` (1–1000, default 100) and `?before=<position>` to page back.
"""

from __future__ import annotations

from typing import Any

import anyio
import msgspec
from litestar import Request, Response, get

from app.caller import authenticate, require_admin, require_key
from app.gateway import Gateway
from domain.errors import InvalidRequestError, NotFoundError
from domain.money import credits_number
from projections.credit_ledger import ledger_page

_encode = msgspec.json.Encoder().encode
MAX_LIMIT = 1000


def _int_param(request: Request[Any, Any, Any], name: str, default: int | None, low: int,
               high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequestError(f"{name} must be an integer", param=name) from None
    if not low <= value <= high:
        raise InvalidRequestError(f"{name} must be between {low} and {high}", param=name)
    return value


async def _page(gw: Gateway, request: Request[Any, Any, Any], account_id: str,
                headers: dict[str, str]) -> Response[bytes]:
    limit = _int_param(request, "limit", 100, 1, MAX_LIMIT)
    before = _int_param(request, "before", None, 1, 1 << 62)
    assert limit is not None
    # Read your writes: whatever the ledger holds now (a charge just answered, a top-up just made)
    # is in the page, once the projector has caught up.
    await gw.caught_up()
    entries, more = await anyio.to_thread.run_sync(lambda: ledger_page(gw.cursor(), account_id, before, limit))
    body = {"object": "list", "account_id": account_id, "data": entries, "has_more": more,
            "next_before": entries[-1]["position"] if more else None,
            "balance": credits_number(gw.credits.balance(account_id))}
    return Response(_encode(body), media_type="application/json", headers=headers)


@get(["/credits/ledger"], summary="The calling account's top-ups and charges, newest first")
async def own_ledger(request: Request[Any, Any, Any]) -> Response[bytes]:
    gw: Gateway = request.app.state.gateway
    key = require_key(authenticate(gw, request.headers.get("authorization"), request.headers.get("x-api-key")))
    headers = {"X-Credit-Balance": f"{credits_number(gw.credits.available(key.account_id)):.6f}"}
    request.state.lowrouter_headers = headers
    return await _page(gw, request, key.account_id, headers)


@get(["/admin/accounts/{account_id:str}/ledger"], summary="An account's top-ups and charges (admin)")
async def account_ledger(request: Request[Any, Any, Any], account_id: str) -> Response[bytes]:
    gw: Gateway = request.app.state.gateway
    require_admin(authenticate(gw, request.headers.get("authorization"), request.headers.get("x-api-key")))
    await gw.caught_up()
    if account_id not in gw.credits.accounts:
        raise NotFoundError(f"no account {account_id!r}", param="account_id")
    return await _page(gw, request, account_id, {})
