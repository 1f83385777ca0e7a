"""`GET /api/v1/carbon`: carbon reports for the caller's account (or any account, for the admin key)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import anyio
import msgspec
from litestar import Request, Response, get
from litestar.response import Stream

from app.caller import authenticate
from app.carbon_reports import CarbonQuery, build_report, csv_lines, parse_query
from app.gateway import Gateway
from domain.eco import ModelParams
from domain.errors import InvalidRequestError, PermissionDeniedError

_encode = msgspec.json.Encoder().encode


def resolve_baseline(gw: Gateway, name: str) -> ModelParams:
    """A baseline named by gateway model id (its eco name is used) or by registry name or alias."""
    model = gw.catalogue.models.get(name)
    params = gw.eco.params_for(model.eco_name if model is not None else name)
    if params is None:
        raise InvalidRequestError(f"baseline {name!r} has no known parameter count: name a model of "
                                  "GET /api/v1/models with active_parameters_b, or a registry model", param="baseline")
    return params


@get(["/carbon"], summary="Energy and carbon per day, model, provider, region and key; restated or compared")
async def carbon_report(request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
    gw: Gateway = request.app.state.gateway
    caller = authenticate(gw, request.headers.get("authorization"), request.headers.get("x-api-key"))
    q: CarbonQuery = parse_query(dict(request.query_params), datetime.now(UTC).date())
    if caller.is_admin:
        account_id = q.account
    else:
        account_id = caller.account_id
        if q.account is not None and q.account != account_id:
            raise PermissionDeniedError("a key can only read its own account's carbon report", param="account")
    baseline = resolve_baseline(gw, q.baseline) if q.baseline else None
    # Read your writes: include every response completed before this request.
    await gw.caught_up()

    def read() -> dict[str, Any]:
        return build_report(gw.cursor(), q, account_id, baseline)

    report = await anyio.to_thread.run_sync(read)
    if q.format == "csv":
        name = f"carbon_{q.first.isoformat()}_{q.last.isoformat()}.csv"
        return Stream(csv_lines(report), media_type="text/csv; charset=utf-8",
                      headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return Response(_encode(report), media_type="application/json")
