"""What every dashboard page shares: the viewer from the session, CSRF checks, the footer, rendering."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import anyio
from jinja2 import Environment, FileSystemLoader
from litestar import Request, Response
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

from app.dashboard.session import COOKIE, Session, Viewer, cookie_header, csrf_ok, session_secret, unsign, viewer_for
from app.gateway import Gateway
from domain.eco import DEFAULT_METHOD
from domain.errors import GatewayError
from domain.money import credits_number
from projections import dashboard_queries as q

T = TypeVar("T")
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


class LoginRequiredError(Exception):
    """The page needs a logged-in viewer; answered with a redirect to the login page."""


class CsrfError(Exception):
    """A form came without the session's CSRF token; answered with 403."""


class OperatorOnlyError(Exception):
    """The page is the operator's; answered with 403."""


def gateway(request: Request[Any, Any, Any]) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


def session_of(request: Request[Any, Any, Any]) -> Session | None:
    return unsign(session_secret(gateway(request)), request.cookies.get(COOKIE))


def require_viewer(request: Request[Any, Any, Any]) -> Viewer:
    viewer = viewer_for(gateway(request), session_of(request))
    if viewer is None:
        raise LoginRequiredError
    return viewer


def require_operator(request: Request[Any, Any, Any]) -> Viewer:
    viewer = require_viewer(request)
    if not viewer.is_admin:
        raise OperatorOnlyError
    return viewer


async def checked_form(request: Request[Any, Any, Any]) -> tuple[Viewer, dict[str, Any]]:
    """The logged-in viewer and the submitted form, refused unless it carries the session's CSRF token."""
    viewer = require_viewer(request)
    form = await request.form()
    if not csrf_ok(session_of(request), form.get("csrf")):
        raise CsrfError
    data: dict[str, Any] = {k: form.getall(k) if k.endswith("[]") else form.get(k) for k in form}
    return viewer, data


async def read(fn: Callable[[], T]) -> T:
    """Run a projection read off the event loop."""
    return await anyio.to_thread.run_sync(fn)


def account_of(gw: Gateway, viewer: Viewer) -> str | None:
    """The account on show: the user's own, or the one the operator chose (else the first one)."""
    if viewer.account_id is not None:
        return viewer.account_id
    listed = q.accounts(gw.cursor())
    return listed[0][0] if listed else None


def footer(gw: Gateway, query: bool = True) -> dict[str, Any]:
    """The methodology version, its grid data year, and the day it was first applied here
    (looked up again at most once a minute until the first estimate exists)."""
    cached: dict[str, Any] | None = gw.extras.get("dashboard_footer")
    now = time.monotonic()
    if query and (cached is None or (cached["since"] is None and now - cached["checked"] > 60)):
        since = q.methodology_first_used(gw.cursor(), [DEFAULT_METHOD]).get(DEFAULT_METHOD)
        year = max((c.year for c in gw.eco.countries.values()), default=None)
        cached = gw.extras["dashboard_footer"] = {"methodology": DEFAULT_METHOD, "data_year": year,
                                                  "since": since, "checked": now}
    return dict(cached or {"methodology": DEFAULT_METHOD, "data_year": None, "since": None})


def page_context(gw: Gateway, viewer: Viewer | None, active: str, account_id: str | None = None) -> dict[str, Any]:
    """Navigation, the operator's account switcher, CSRF token and footer — for every page."""
    ctx: dict[str, Any] = {"active": active, "viewer": viewer, "footer": footer(gw), "account_id": account_id,
                           "csrf": viewer.csrf if viewer else "", "accounts": [], "account_name": None}
    if account_id is not None:
        ctx["account_name"] = q.account_name(gw.cursor(), account_id)
    if viewer is not None and viewer.is_admin:
        ctx["accounts"] = q.accounts(gw.cursor())
    return ctx


def render(name: str, context: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None,
           session: tuple[Gateway, Session | None, bool] | None = None) -> Template:
    """A dashboard page; `session` also sets (or clears) the session cookie."""
    all_headers = {"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                   "Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; "
                                              "form-action 'self'; frame-ancestors 'none'",
                   "Referrer-Policy": "same-origin", **(headers or {})}
    if session is not None:
        gw, s, secure = session
        all_headers["Set-Cookie"] = cookie_header(session_secret(gw), s, secure)
    return Template(template_name=f"dashboard/{name}", context=context, status_code=status, headers=all_headers,
                    media_type="text/html")


def redirect(location: str, cookie: str | None = None) -> Response[bytes]:
    headers = {"Location": location, "Cache-Control": "no-store"}
    if cookie is not None:
        headers["Set-Cookie"] = cookie
    return Response(b"", status_code=303, headers=headers)


def default_range(today: date | None = None) -> tuple[date, date]:
    """The last 30 UTC days, today included."""
    end = today or datetime.now(UTC).date()
    return end - timedelta(days=29), end


def fmt_credits(micro: int | None) -> str:
    return "—" if micro is None else f"{credits_number(micro):,.6f}".rstrip("0").rstrip(".")


def fmt_num(value: float | int | None, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["credits"] = fmt_credits
    env.filters["num"] = fmt_num
    env.filters["ts"] = lambda v: "—" if v is None else v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return env


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """Jinja2 with autoescaping on, registered on the app by `create_app`."""
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(_environment()))


def on_login_required(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    return redirect("/dashboard/login")


def on_refused(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    gw = gateway(request)
    viewer = viewer_for(gw, session_of(request))
    if isinstance(exc, GatewayError):
        status, message = exc.status, exc.message
    elif isinstance(exc, CsrfError):
        status, message = 403, "This form has expired or did not come from this site. Go back, reload and try again."
    else:
        status, message = 403, "This page is for the operator."
    ctx: dict[str, Any] = {"active": "", "viewer": viewer, "footer": footer(gw, query=False),
                           "csrf": viewer.csrf if viewer else "", "accounts": [], "account_name": None,
                           "status": status, "message": message}
    return render("error.html", ctx, status)


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    LoginRequiredError: on_login_required, CsrfError: on_refused, OperatorOnlyError: on_refused,
    GatewayError: on_refused,
}
