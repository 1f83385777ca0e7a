"""The overview page's figures: balance and burn rate, usage today, top models, eco, transactions."""

from __future__ import annotations

import calendar
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import msgspec

from app.dashboard.charts import Bar, bar_chart
from app.dashboard.context import default_range, fmt_credits, fmt_num
from app.dashboard.eco_replay import replay, summarise
from app.gateway import Gateway
from projections import dashboard_queries as q


class Burn(msgspec.Struct, frozen=True):
    band: str
    per_day_micro: int
    needed_micro: int
    days_left: float


def parse_filters(params: dict[str, str]) -> q.Filters:
    """Date range, model and key from the URL; the last 30 UTC days when the dates are absent or bad."""
    start, end = default_range()
    try:
        start = date.fromisoformat(params["from"]) if params.get("from") else start
        end = date.fromisoformat(params["to"]) if params.get("to") else end
    except ValueError:
        start, end = default_range()
    if start > end:
        start, end = end, start
    return q.Filters(start, end, params.get("model") or None, params.get("key") or None)


def link(f: q.Filters, baseline: str | None = None, **changes: str | None) -> str:
    """The overview URL for these filters, with some changed (None drops one)."""
    params = {"from": f.start.isoformat(), "to": f.end.isoformat(), "model": f.model, "key": f.key_id,
              "baseline": baseline, **changes}
    return "/dashboard?" + urlencode({k: v for k, v in params.items() if v})


def burn(balance: int, month_spend: int, now: datetime) -> Burn:
    """Green when the balance covers the rest of the month at this month's average daily spend."""
    days_in_month = calendar.monthrange(now.year, now.month)[1]
    elapsed = (now - datetime(now.year, now.month, 1, tzinfo=UTC)).total_seconds() / 86400
    per_day = round(month_spend / max(elapsed, 1.0))
    left = days_in_month - elapsed
    needed = round(per_day * left)
    return Burn("green" if balance >= needed else "amber", per_day, needed, left)


def overview(gw: Gateway, account_id: str, f: q.Filters, baseline: str | None) -> dict[str, Any]:
    """Every figure of the overview (runs in a worker thread; DuckDB reads only, plus the live balance)."""
    started = time.perf_counter()
    cur = gw.cursor()
    now = datetime.now(UTC)
    today = q.day_start(now.date())
    balance = gw.credits.balance(account_id)
    month = q.month_spend_micro(cur, account_id, now)
    today_rows = q.usage_by_model(cur, account_id, today, today + timedelta(days=1), f.key_id)
    top_rows = q.usage_by_model(cur, account_id, today - timedelta(days=29), today + timedelta(days=1), f.key_id,
                                limit=10)
    groups = q.eco_groups(cur, account_id, f)
    tx = q.recent_transactions(cur, account_id, f)
    today_chart = bar_chart([Bar(u.model, u.tokens, f"{fmt_num(u.tokens)} tok · {fmt_credits(u.cost_micro)} cr",
                                 link(f, baseline, model=u.model)) for u in today_rows], "Tokens today by model")
    return {
        "balance": balance, "available": gw.credits.available(account_id), "month_spend": month,
        "burn": burn(balance, month, now), "today": today_rows, "today_chart": today_chart,
        "today_tokens": sum(u.tokens for u in today_rows), "today_cost": sum(u.cost_micro for u in today_rows),
        "top": top_rows, "eco": summarise(groups),
        "replay": replay(groups, baseline, gw.catalogue, gw.eco) if baseline else None,
        "transactions": tx, "timing_ms": (time.perf_counter() - started) * 1000,
    }
