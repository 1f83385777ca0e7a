"""Operator analytics over HTTP: read-only SQL over the projections, and the streamed usage CSV."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import anyio
import duckdb
from litestar import Request, Response, get, post
from litestar.response import Stream

from app.caller import authenticate, require_admin
from app.gateway import Gateway
from app.json_body import decode_body
from app.query_output import encode_json
from domain.errors import InvalidRequestError
from projections.exports import iter_usage_csv
from projections.sql_guard import MAX_ROWS, MAX_ROWS_CEILING, TIMEOUT_S, ReadOnlyViolationError, run_read_query

MAX_TIMEOUT_S = 300.0


def _admin(request: Request[Any, Any, Any]) -> Gateway:
    gw: Gateway = request.app.state.gateway
    require_admin(authenticate(gw, request.headers.get("authorization"), request.headers.get("x-api-key")))
    return gw


async def _body(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return decode_body(await request.body() or b"{}")


def _number(data: dict[str, Any], name: str, default: float, ceiling: float) -> float:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise InvalidRequestError(f"{name} must be a positive number", param=name)
    return min(float(value), ceiling)


@post(["/admin/sql"], status_code=200, summary="Run one read-only SQL query over the projections (admin)")
async def admin_sql(request: Request[Any, Any, Any]) -> Response[bytes]:
    gw = _admin(request)
    data = await _body(request)
    sql = data.get("sql")
    if not isinstance(sql, str) or not sql.strip():
        raise InvalidRequestError("sql must be a non-empty string", param="sql")
    max_rows = int(_number(data, "max_rows", MAX_ROWS, MAX_ROWS_CEILING))
    timeout_s = _number(data, "timeout_s", TIMEOUT_S, MAX_TIMEOUT_S)
    # Everything recorded before the query is in its answer: wait (briefly) for the projector to
    # reach the ledger's end, as GET /generation does for a missing record.
    await gw.caught_up()

    def read() -> Any:
        cur = gw.cursor()
        try:
            return run_read_query(cur, sql, max_rows, timeout_s)
        finally:
            cur.close()

    try:
        result = await anyio.to_thread.run_sync(read)
    except ReadOnlyViolationError as e:
        raise InvalidRequestError(f"refused: {e}", param="sql") from None
    except duckdb.InterruptException:
        raise InvalidRequestError(f"query interrupted after {timeout_s:g} s", param="sql") from None
    except duckdb.Error as e:
        raise InvalidRequestError(f"query failed: {str(e).strip().splitlines()[0]}", param="sql") from None
    body = {"data": {"columns": result.columns, "types": result.types, "rows": result.rows,
                     "row_count": len(result.rows), "truncated": result.truncated}}
    return Response(encode_json(body), media_type="application/json")


def parse_when(value: str | None, name: str) -> datetime | None:
    """An ISO date (midnight UTC) or date-time (UTC unless it says otherwise); None when absent."""
    if not value:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequestError(f"{name} must be an ISO 8601 date or date-time", param=name) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@get(["/admin/exports/usage.csv"], summary="Usage records as CSV, streamed (admin; ?from=&to=&key_id=)")
async def usage_export(request: Request[Any, Any, Any]) -> Stream:
    gw = _admin(request)
    q = request.query_params
    start, end = parse_when(q.get("from"), "from"), parse_when(q.get("to"), "to")
    key_id = q.get("key_id") or None

    def chunks() -> Iterator[bytes]:
        cur = gw.cursor()
        try:
            yield from iter_usage_csv(cur, start, end, key_id)
        finally:
            cur.close()

    return Stream(chunks(), media_type="text/csv",
                  headers={"Content-Disposition": 'attachment; filename="usage.csv"'})
