"""Operator management over HTTP (admin key): accounts, top-ups, and keys."""

from __future__ import annotations

from typing import Any

import anyio
import msgspec
from litestar import Request, Response, delete, get, patch, post

from app import accounts_service as svc
from app.caller import authenticate, require_admin
from app.gateway import WRITE_THROUGH_S, Gateway
from app.http_read import key_view
from app.json_body import decode_body
from domain.errors import InvalidRequestError, NotFoundError
from domain.money import credits_number

_encode = msgspec.json.Encoder().encode


def _admin(request: Request[Any, Any, Any]) -> Gateway:
    gw: Gateway = request.app.state.gateway
    require_admin(authenticate(gw, request.headers.get("authorization"), request.headers.get("x-api-key")))
    return gw


async def _body(request: Request[Any, Any, Any]) -> dict[str, Any]:
    raw = await request.body()
    return decode_body(raw) if raw else {}


def _json(body: Any, status: int = 200) -> Response[bytes]:
    return Response(_encode(body), status_code=status, media_type="application/json")


def _regions_models(gw: Gateway) -> tuple[frozenset[str], list[str]]:
    return gw.catalogue.regions, list(gw.catalogue.models)


@post(["/admin/accounts"], status_code=201, summary="Open an account (admin)")
async def open_account(request: Request[Any, Any, Any]) -> Response[bytes]:
    gw = _admin(request)
    data = await _body(request)
    name = data.get("name")
    if not isinstance(name, str):
        raise InvalidRequestError("name must be a string", param="name")
    account_id = await gw.write_through(lambda: svc.open_account(gw.ledger, name))
    return _json({"data": {"account_id": account_id, "name": name.strip()}}, 201)


def _account_view(gw: Gateway, account_id: str, name: str, opened_at: Any) -> dict[str, Any]:
    added, charged = gw.credits.totals(account_id)
    return {"account_id": account_id, "name": name, "opened_at": opened_at.isoformat(),
            "balance": credits_number(added - charged), "total_credits": credits_number(added),
            "total_usage": credits_number(charged), "available": credits_number(gw.credits.available(account_id))}


@get(["/admin/accounts/{account_id:str}"], summary="One account with its balance and keys (admin)")
async def get_account(request: Request[Any, Any, Any], account_id: str) -> Response[bytes]:
    gw = _admin(request)

    def read() -> tuple[Any, ...] | None:
        sql = "SELECT account_id, name, opened_at FROM credit_balances WHERE account_id = ?"
        return gw.cursor().execute(sql, [account_id]).fetchone()

    row = await anyio.to_thread.run_sync(read)
    if row is None:
        raise NotFoundError(f"no account {account_id!r}", param="account_id")
    keys = [key_view(gw, k.key_id) for k in gw.keys.for_account(account_id)]
    return _json({"data": {**_account_view(gw, *row), "keys": keys}})


@get(["/admin/accounts"], summary="Every account with its balance (admin)")
async def list_accounts(request: Request[Any, Any, Any]) -> Response[bytes]:
    gw = _admin(request)

    def read() -> list[tuple[Any, ...]]:
        sql = "SELECT account_id, name, opened_at FROM credit_balances ORDER BY opened_at"
        return gw.cursor().execute(sql).fetchall()

    rows = await anyio.to_thread.run_sync(read)
    return _json({"data": [_account_view(gw, *row) for row in rows]})


@post(["/admin/accounts/{account_id:str}/credits"], status_code=201, summary="Add credits to an account (admin)")
async def add_credits(request: Request[Any, Any, Any], account_id: str) -> Response[bytes]:
    gw = _admin(request)
    data = await _body(request)
    reference = data.get("reference") or ""
    if not isinstance(reference, str):
        raise InvalidRequestError("reference must be a string", param="reference")
    micro = await gw.write_through(
        lambda: svc.add_credits(gw.ledger, account_id, data.get("amount"), reference, "admin"))
    return _json({"data": {"account_id": account_id, "added": credits_number(micro),
                           "balance": credits_number(gw.credits.balance(account_id))}}, 201)


@get(["/keys", "/admin/keys"], summary="List keys (admin; ?account_id= to filter)")
async def list_keys(request: Request[Any, Any, Any]) -> Response[bytes]:
    gw = _admin(request)
    account_id = request.query_params.get("account_id")
    keys = gw.keys.for_account(account_id) if account_id else gw.keys.all()
    return _json({"data": [key_view(gw, k.key_id) for k in keys]})


@get(["/keys/{key_id:str}", "/admin/keys/{key_id:str}"], summary="One key, as listed (admin)")
async def get_key(request: Request[Any, Any, Any], key_id: str) -> Response[bytes]:
    gw = _admin(request)
    if gw.keys.by_id(key_id) is None:
        raise NotFoundError(f"no key {key_id!r}", param="key_id")
    return _json({"data": key_view(gw, key_id)})


@post(["/keys", "/admin/keys"], status_code=201, summary="Create a key (admin); the token is in the answer, once")
async def create_key(request: Request[Any, Any, Any]) -> Response[bytes]:
    gw = _admin(request)
    data = await _body(request)
    account_id = data.pop("account_id", None)
    if not isinstance(account_id, str):
        raise InvalidRequestError("account_id must be given", param="account_id")
    regions, models = _regions_models(gw)
    key_id, token = await gw.write_through(lambda: svc.issue_key(gw.ledger, account_id, data, regions, models))
    return _json({"key": token, "data": key_view(gw, key_id)}, 201)


@patch(["/keys/{key_id:str}", "/admin/keys/{key_id:str}"], summary="Edit a key's policy (admin)")
async def edit_key(request: Request[Any, Any, Any], key_id: str) -> Response[bytes]:
    gw = _admin(request)
    data = await _body(request)
    regions, models = _regions_models(gw)
    await gw.write_through(lambda: svc.change_key(gw.ledger, key_id, data, regions, models, "admin"))
    return _json({"data": key_view(gw, key_id)})


@delete(["/keys/{key_id:str}", "/admin/keys/{key_id:str}"], status_code=200, summary="Revoke a key (admin)")
async def revoke_key(request: Request[Any, Any, Any], key_id: str) -> Response[bytes]:
    gw = _admin(request)
    await gw.write_through(lambda: svc.revoke_key(gw.ledger, key_id, "admin"))
    return _json({"data": key_view(gw, key_id)})


@post(["/admin/sync"], status_code=200, summary="Bring the projections up to the ledger's end (used by the CLI)")
async def sync(request: Request[Any, Any, Any]) -> Response[bytes]:
    gw = _admin(request)
    ok = await gw.caught_up(WRITE_THROUGH_S)
    return _json({"data": {"position": gw.projector.position, "caught_up": ok}})
