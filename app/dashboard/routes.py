"""Dashboard pages: log in and out, switch account, the overview, a transaction, the CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.response import Stream

from app.caller import authenticate
from app.dashboard import manage, models_page
from app.dashboard.context import (
    EXCEPTION_HANDLERS,
    account_of,
    checked_form,
    gateway,
    page_context,
    read,
    redirect,
    render,
    require_viewer,
    session_of,
)
from app.dashboard.cost import cost_lines
from app.dashboard.overview import link, overview, parse_filters
from app.dashboard.session import Session, Viewer, cookie_header, csrf_ok, new_session, operator_subject, session_secret
from domain.api_key import hash_key
from domain.errors import AuthenticationError, NotFoundError
from domain.money import credits_number
from projections import dashboard_queries as q
from projections.queries import generation_record

ACCOUNT_HINT = "account_id"


def _secure(request: Request[Any, Any, Any]) -> bool:
    return request.url.scheme == "https"


@get("/dashboard/login")
async def login_page(request: Request[Any, Any, Any]) -> Response[bytes]:
    gw = gateway(request)
    session = session_of(request)
    if session is None or session.sub is not None:
        session = new_session()
    ctx = {**await read(lambda: page_context(gw, None, "login")), "csrf": session.csrf, "error": None}
    return render("login.html", ctx, session=(gw, session, _secure(request)))


@post("/dashboard/login")
async def login(request: Request[Any, Any, Any]) -> Response[bytes]:
    gw = gateway(request)
    form = await request.form()
    session = session_of(request)
    if not csrf_ok(session, form.get("csrf")):
        fresh = new_session()
        ctx = {**page_context(gw, None, "login"), "csrf": fresh.csrf,
               "error": "The form expired; please try again."}
        return render("login.html", ctx, 403, session=(gw, fresh, _secure(request)))
    token = str(form.get("key") or "").strip()
    try:
        caller = authenticate(gw, f"Bearer {token}")
    except AuthenticationError as e:
        assert session is not None
        ctx = {**page_context(gw, None, "login"), "csrf": session.csrf, "error": e.message}
        return render("login.html", ctx, 401)
    if caller.is_admin:
        logged_in: Session = new_session(operator_subject(gw, hash_key(token)))
    else:
        assert caller.key is not None
        logged_in = new_session(f"key:{caller.key.key_id}", caller.key.account_id)
    return redirect("/dashboard", cookie_header(session_secret(gw), logged_in, _secure(request)))


@post("/dashboard/logout")
async def logout(request: Request[Any, Any, Any]) -> Response[bytes]:
    await checked_form(request)
    return redirect("/dashboard/login", cookie_header(session_secret(gateway(request)), None, _secure(request)))


@post("/dashboard/account")
async def switch_account(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The operator chooses which account the pages show."""
    viewer, form = await checked_form(request)
    gw = gateway(request)
    wanted = form.get(ACCOUNT_HINT)
    session = session_of(request)
    if not viewer.is_admin or session is None or wanted not in gw.credits.accounts:
        raise NotFoundError("no such account")
    switched = Session(csrf=session.csrf, exp=session.exp, sub=session.sub, acct=wanted)
    return redirect("/dashboard", cookie_header(session_secret(gw), switched, _secure(request)))


async def _account(request: Request[Any, Any, Any]) -> tuple[Viewer, str | None]:
    viewer = require_viewer(request)
    gw = gateway(request)
    return viewer, await read(lambda: account_of(gw, viewer))


@get("/dashboard")
async def overview_page(request: Request[Any, Any, Any]) -> Response[bytes]:
    viewer, account_id = await _account(request)
    gw = gateway(request)
    params = dict(request.query_params)
    f = parse_filters(params)
    baseline = params.get("baseline") or None
    if baseline is not None and baseline not in gw.catalogue.models:
        baseline = None
    ctx = await read(lambda: page_context(gw, viewer, "overview", account_id))
    if account_id is None:
        return render("overview.html", {**ctx, "data": None})
    data = await read(lambda: overview(gw, account_id, f, baseline))
    keys = sorted(gw.keys.for_account(account_id), key=lambda k: k.policy.name)
    export = link(f).replace("/dashboard?", "/dashboard/export.csv?")
    return render("overview.html", {**ctx, "data": data, "f": f, "baseline": baseline, "keys": keys,
                                    "models": sorted(gw.catalogue.models), "export": export,
                                    "link": lambda **kw: link(f, baseline, **kw), "timing_ms": data["timing_ms"]})


@get("/dashboard/transactions/{generation_id:str}")
async def transaction_page(request: Request[Any, Any, Any], generation_id: str) -> Response[bytes]:
    viewer = require_viewer(request)
    gw = gateway(request)
    record = await read(lambda: generation_record(gw.cursor(), generation_id))
    if record is None:  # read your writes, as GET /generation does: a completed request is in the ledger
        await gw.caught_up()
        record = await read(lambda: generation_record(gw.cursor(), generation_id))
    # Another account's generation is answered exactly like an unknown one.
    if record is None or (not viewer.is_admin and record["account_id"] != viewer.account_id):
        raise NotFoundError(f"no generation {generation_id!r} for this account")
    ctx = await read(lambda: page_context(gw, viewer, "overview", record["account_id"]))
    return render("transaction.html", {**ctx, "g": record, "cost": cost_lines(gw, record)})


def _csv_line(row: tuple[Any, ...]) -> str:
    out = io.StringIO()
    cells = []
    for name, value in zip(q.CSV_COLUMNS, row, strict=True):
        if name == "cost_micro":
            value = "" if value is None else f"{credits_number(value):.6f}"
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        elif isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
            value = "'" + value  # never a formula when opened in a spreadsheet
        cells.append("" if value is None else value)
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue()


@get("/dashboard/export.csv")
async def export_csv(request: Request[Any, Any, Any]) -> Stream:
    """Every generation of the filtered range, newest first, streamed page by page."""
    _, account_id = await _account(request)
    gw = gateway(request)
    f = parse_filters(dict(request.query_params))

    async def rows() -> AsyncIterator[bytes]:
        header = ",".join("cost_credits" if c == "cost_micro" else c for c in q.CSV_COLUMNS) + "\n"
        yield header.encode()
        if account_id is None:
            return
        after = None
        while True:
            page = await read(partial(q.csv_chunk, gw.cursor(), account_id, f, after))
            if not page:
                return
            yield "".join(_csv_line(r) for r in page).encode()
            after = (page[-1][1], page[-1][0])

    name = f"lowrouter-{f.start.isoformat()}-{f.end.isoformat()}.csv"
    return Stream(rows(), media_type="text/csv",
                  headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


dashboard_router = Router(
    path="", include_in_schema=False, exception_handlers=EXCEPTION_HANDLERS,
    route_handlers=[login_page, login, logout, switch_account, overview_page, transaction_page, export_csv,
                    *manage.HANDLERS, models_page.models_page],
)
