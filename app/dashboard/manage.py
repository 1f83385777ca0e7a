"""Dashboard pages that change things: keys (create, edit, revoke), credits, routing defaults.

Every form is checked for the session's CSRF token, then reuses the same use cases as the admin
API (`accounts_service`, `routing_defaults_service`), so the rules are the same everywhere.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post

from app import accounts_service as svc
from app.dashboard.context import (
    OperatorOnlyError,
    account_of,
    checked_form,
    gateway,
    page_context,
    read,
    redirect,
    render,
    require_operator,
    require_viewer,
)
from app.dashboard.session import Viewer
from app.gateway import Gateway
from app.http_read import key_view
from app.routing_defaults_service import change_routing_defaults
from domain.errors import InvalidRequestError, NotFoundError
from projections import dashboard_queries as q


def _actor(viewer: Viewer) -> str:
    return "admin" if viewer.is_admin else f"dashboard:{viewer.key_id}"


def _key_fields(gw: Gateway, form: dict[str, Any], editing: bool) -> dict[str, Any]:
    """Key policy fields as the form gives them → what `accounts_service` takes (credits, lists, ISO)."""

    def text(name: str) -> str | None:
        value = str(form.get(name) or "").strip()
        return value or None

    fields: dict[str, Any] = {"name": text("name") or "",
                              "models": [m for m in form.get("models[]") or [] if m],
                              "region": text("region"),
                              "daily_credit_limit": text("daily_credit_limit"),
                              "monthly_credit_limit": text("monthly_credit_limit"),
                              "prefer_low_carbon": form.get("prefer_low_carbon") == "on"}
    expires = text("expires_at")
    fields["expires_at"] = None if expires is None else (expires if "T" in expires else expires + "T23:59:59+00:00")
    if editing:
        fields["enabled"] = form.get("enabled") == "on"
    return fields


async def _keys_context(gw: Gateway, viewer: Viewer) -> dict[str, Any]:
    account_id = await read(lambda: account_of(gw, viewer))
    ctx = await read(lambda: page_context(gw, viewer, "keys", account_id))
    keys = [] if account_id is None else [key_view(gw, k.key_id) for k in gw.keys.for_account(account_id)]
    keys.sort(key=lambda k: (k["revoked"], k["name"]))
    return {**ctx, "keys": keys, "regions": sorted(gw.catalogue.regions), "models": sorted(gw.catalogue.models),
            "created": None, "error": None}


@get("/dashboard/keys")
async def keys_page(request: Request[Any, Any, Any]) -> Response[bytes]:
    viewer = require_viewer(request)
    return render("keys.html", await _keys_context(gateway(request), viewer))


@post("/dashboard/keys")
async def create_key(request: Request[Any, Any, Any]) -> Response[bytes]:
    viewer, form = await checked_form(request)
    gw = gateway(request)
    account_id = await read(lambda: account_of(gw, viewer))
    if account_id is None:
        raise NotFoundError("open an account first")
    fields = {k: v for k, v in _key_fields(gw, form, editing=False).items() if v not in (None, [], False)}
    try:
        key_id, token = await gw.write_through(
            lambda: svc.issue_key(gw.ledger, account_id, fields, gw.catalogue.regions, list(gw.catalogue.models)))
    except InvalidRequestError as e:
        return render("keys.html", {**await _keys_context(gw, viewer), "error": e.message}, 400)
    # The token is shown on this one response and never again (no-store, no redirect).
    ctx = await _keys_context(gw, viewer)
    return render("keys.html", {**ctx, "created": {"token": token, "view": key_view(gw, key_id)}}, 201)


def _own_key(gw: Gateway, viewer: Viewer, key_id: str) -> dict[str, Any]:
    """The key, if the viewer may see it: the operator any, a user only their account's (else 404)."""
    key = gw.keys.by_id(key_id)
    if key is None or (not viewer.is_admin and key.account_id != viewer.account_id):
        raise NotFoundError(f"no key {key_id!r} in this account")
    return key_view(gw, key_id)


@get("/dashboard/keys/{key_id:str}")
async def edit_key_page(request: Request[Any, Any, Any], key_id: str) -> Response[bytes]:
    viewer = require_viewer(request)
    gw = gateway(request)
    key = _own_key(gw, viewer, key_id)
    ctx = await read(lambda: page_context(gw, viewer, "keys", key["account_id"]))
    return render("key_edit.html", {**ctx, "key": key, "regions": sorted(gw.catalogue.regions),
                                    "models": sorted(gw.catalogue.models), "error": None})


@post("/dashboard/keys/{key_id:str}")
async def edit_key(request: Request[Any, Any, Any], key_id: str) -> Response[bytes]:
    viewer, form = await checked_form(request)
    gw = gateway(request)
    key = _own_key(gw, viewer, key_id)
    fields = _key_fields(gw, form, editing=True)
    # Send only what changed, so the ledger records the edit the person made.
    current = {**key, "models": key["models"]}
    changes = {k: v for k, v in fields.items() if _differs(current.get(k), v)}
    if changes:
        try:
            await gw.write_through(lambda: svc.change_key(gw.ledger, key_id, changes, gw.catalogue.regions,
                                                   list(gw.catalogue.models), _actor(viewer), key["account_id"]))
        except InvalidRequestError as e:
            ctx = await read(lambda: page_context(gw, viewer, "keys", key["account_id"]))
            return render("key_edit.html", {**ctx, "key": key, "regions": sorted(gw.catalogue.regions),
                                            "models": sorted(gw.catalogue.models), "error": e.message}, 400)
    return redirect("/dashboard/keys")


def _differs(old: Any, new: Any) -> bool:
    if isinstance(old, float | int) and not isinstance(old, bool) and isinstance(new, str):
        try:
            return float(new) != float(old)
        except ValueError:
            return True
    if isinstance(old, str) and isinstance(new, str) and "T" in old and old[:10] == new[:10]:
        return False  # the form edits the expiry day; an unchanged day keeps its time
    return bool(old != new)


@post("/dashboard/keys/{key_id:str}/revoke")
async def revoke_key(request: Request[Any, Any, Any], key_id: str) -> Response[bytes]:
    viewer, _ = await checked_form(request)
    gw = gateway(request)
    key = _own_key(gw, viewer, key_id)
    await gw.write_through(lambda: svc.revoke_key(gw.ledger, key_id, _actor(viewer), key["account_id"]))
    return redirect("/dashboard/keys")


async def _credits_context(gw: Gateway, viewer: Viewer) -> dict[str, Any]:
    account_id = await read(lambda: account_of(gw, viewer))
    ctx = await read(lambda: page_context(gw, viewer, "credits", account_id))
    if account_id is None:
        return {**ctx, "entries": [], "error": None, "totals": None}
    entries = await read(lambda: q.credit_ledger(gw.cursor(), account_id))
    added, charged = gw.credits.totals(account_id)
    totals = {"balance": added - charged, "added": added, "charged": charged,
              "available": gw.credits.available(account_id)}
    return {**ctx, "entries": entries, "totals": totals, "error": None}


@get("/dashboard/credits")
async def credits_page(request: Request[Any, Any, Any]) -> Response[bytes]:
    viewer = require_viewer(request)
    return render("credits.html", await _credits_context(gateway(request), viewer))


@post("/dashboard/credits")
async def add_credits(request: Request[Any, Any, Any]) -> Response[bytes]:
    viewer, form = await checked_form(request)
    if not viewer.is_admin:
        raise OperatorOnlyError
    gw = gateway(request)
    account_id = await read(lambda: account_of(gw, viewer))
    if account_id is None:
        raise NotFoundError("open an account first")
    reference = str(form.get("reference") or "").strip()
    try:
        await gw.write_through(lambda: svc.add_credits(gw.ledger, account_id, str(form.get("amount") or ""), reference,
                                                "admin"))
    except InvalidRequestError as e:
        return render("credits.html", {**await _credits_context(gw, viewer), "error": e.message}, 400)
    return redirect("/dashboard/credits")


def _routing_context(gw: Gateway) -> dict[str, Any]:
    recorded = gw.routing_defaults.current()
    conf = gw.settings.routing
    current = {"preferred_regions": list(recorded.preferred_regions if recorded else conf.preferred_regions),
               "carbon_weight": recorded.carbon_weight if recorded else conf.carbon_weight,
               "auto_pool": list(recorded.auto_pool if recorded else gw.catalogue.auto_pool),
               "source": f"ledger (change {recorded.version - 1})" if recorded else "config file"}
    return {"current": current, "regions": sorted(gw.catalogue.regions), "models": sorted(gw.catalogue.models),
            "error": None}


@get("/dashboard/routing")
async def routing_page(request: Request[Any, Any, Any]) -> Response[bytes]:
    viewer = require_operator(request)
    gw = gateway(request)
    ctx = await read(lambda: page_context(gw, viewer, "routing", viewer.account_id))
    return render("routing.html", {**ctx, **_routing_context(gw)})


@post("/dashboard/routing")
async def change_routing(request: Request[Any, Any, Any]) -> Response[bytes]:
    viewer, form = await checked_form(request)
    if not viewer.is_admin:
        raise OperatorOnlyError
    gw = gateway(request)
    regions = [r for r in form.get("preferred_regions[]") or [] if r]
    pool = [m for m in form.get("auto_pool[]") or [] if m]
    try:
        weight = float(str(form.get("carbon_weight") or "0"))
        await gw.write_through(lambda: change_routing_defaults(gw.ledger, regions, weight, pool, "admin",
                                                        gw.catalogue.regions, list(gw.catalogue.models)))
    except (ValueError, InvalidRequestError) as e:
        ctx = await read(lambda: page_context(gw, viewer, "routing", viewer.account_id))
        message = e.message if isinstance(e, InvalidRequestError) else "carbon weight must be a number"
        return render("routing.html", {**ctx, **_routing_context(gw), "error": message}, 400)
    return redirect("/dashboard/routing")


HANDLERS = [keys_page, create_key, edit_key_page, edit_key, revoke_key, credits_page, add_credits, routing_page,
            change_routing]
