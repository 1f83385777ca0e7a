"""Dashboard reads over a DuckDB holding many generations: scoped to one account, and fast."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from adapters.eco_data import load_bundled_catalogue
from app.dashboard.eco_replay import replay, summarise
from app.settings import build_catalogue, load_settings
from projections import dashboard_queries as q
from projections.schema import migrate

NOW = datetime(2025, 6, 20, 12, tzinfo=UTC)
ROWS = 40_000


@pytest.fixture(scope="module")
def cur() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(":memory:")
    migrate(con)
    con.execute(f"""
        INSERT INTO generations (generation_id, created_at, completed_at, account_id, key_id, requested_model,
            resolved_model, provider, region, prompt_tokens, completion_tokens, total_tokens, cost_micro, status,
            eco_energy_wh, eco_carbon_g, eco_methodology)
        SELECT printf('gen_%08d', i), TIMESTAMPTZ '{NOW.isoformat()}' - to_minutes(i), NULL,
            CASE WHEN i % 10 = 0 THEN 'acct_b' ELSE 'acct_a' END, 'key_' || (i % 3),
            CASE WHEN i % 2 = 0 THEN 'simulator/small' ELSE 'openai/gpt-4o' END,
            CASE WHEN i % 2 = 0 THEN 'simulator/small' ELSE 'openai/gpt-4o' END,
            CASE WHEN i % 2 = 0 THEN 'simulator' ELSE 'openai' END,
            CASE WHEN i % 2 = 0 THEN 'eu-west' ELSE 'us-east' END, 100, 50, 150, 30, 'ok', 0.01, 0.002,
            'ecologits-0.11'
        FROM range({ROWS}) t(i)""")
    con.execute(f"INSERT INTO credit_ledger SELECT i, 'acct_a', TIMESTAMPTZ '{NOW.isoformat()}' - to_minutes(i), "
                "'charge', -30, printf('gen_%08d', i), 'key_0', NULL FROM range(1, 20000) t(i)")
    yield con.cursor()
    con.close()


def timed(fn: object) -> float:
    started = time.perf_counter()
    assert callable(fn)
    fn()
    return (time.perf_counter() - started) * 1000


def test_reads_see_only_the_asked_account(cur: duckdb.DuckDBPyConnection) -> None:
    f = q.Filters(date(2025, 5, 1), date(2025, 6, 30))
    a = q.recent_transactions(cur, "acct_a", f, limit=5000)
    b = q.recent_transactions(cur, "acct_b", f, limit=5000)
    assert a and b and not {t["generation_id"] for t in a} & {t["generation_id"] for t in b}
    assert all(int(t["generation_id"][4:]) % 10 == 0 for t in b)


def test_the_range_and_model_filters_narrow_every_read(cur: duckdb.DuckDBPyConnection) -> None:
    day = q.Filters(date(2025, 6, 20), date(2025, 6, 20), model="openai/gpt-4o")
    rows = q.recent_transactions(cur, "acct_a", day, limit=5000)
    assert rows and {t["model"] for t in rows} == {"openai/gpt-4o"}
    assert all(t["created_at"].astimezone(UTC).date() == date(2025, 6, 20) for t in rows)
    groups = q.eco_groups(cur, "acct_a", day)
    assert [g.model for g in groups] == ["openai/gpt-4o"] and groups[0].requests == len(rows)


def test_the_csv_pages_cover_the_range_once(cur: duckdb.DuckDBPyConnection) -> None:
    f = q.Filters(date(2025, 6, 18), date(2025, 6, 20))
    seen: list[str] = []
    after = None
    while page := q.csv_chunk(cur, "acct_b", f, after, limit=333):
        seen += [r[0] for r in page]
        after = (page[-1][1], page[-1][0])
    expected = cur.execute("SELECT COUNT(*) FROM generations WHERE account_id = 'acct_b' AND created_at >= "
                           "'2025-06-18' AND created_at < '2025-06-21'").fetchone()
    assert expected is not None and len(seen) == len(set(seen)) == expected[0] > 0


def test_the_overview_queries_take_milliseconds_on_forty_thousand_rows(
        cur: duckdb.DuckDBPyConnection, capsys: pytest.CaptureFixture[str]) -> None:
    f = q.Filters(date(2025, 5, 22), date(2025, 6, 20))
    today = q.day_start(NOW.date())
    timings = {
        "month_spend": timed(lambda: q.month_spend_micro(cur, "acct_a", NOW)),
        "usage_today": timed(lambda: q.usage_by_model(cur, "acct_a", today, today + timedelta(days=1))),
        "top_30_days": timed(lambda: q.usage_by_model(cur, "acct_a", today - timedelta(days=29), NOW)),
        "eco_groups": timed(lambda: q.eco_groups(cur, "acct_a", f)),
        "recent_50": timed(lambda: q.recent_transactions(cur, "acct_a", f)),
        "csv_page_1000": timed(lambda: q.csv_chunk(cur, "acct_a", f, None)),
    }
    with capsys.disabled():
        print("\ndashboard query ms on", ROWS, "rows:", {k: round(v, 1) for k, v in timings.items()})
    assert max(timings.values()) < 500
    assert q.month_spend_micro(cur, "acct_a", NOW) == 30 * cur.execute(
        "SELECT COUNT(*) FROM credit_ledger WHERE occurred_at >= '2025-06-01'").fetchone()[0]  # type: ignore[index]


def test_replaying_usage_on_a_smaller_model_shows_a_saving_and_on_itself_none(
        cur: duckdb.DuckDBPyConnection) -> None:
    catalogue = build_catalogue(load_settings(environ={}), environ={"OPENAI_API_KEY": "x"})
    eco = load_bundled_catalogue()
    groups = [g for g in q.eco_groups(cur, "acct_a", q.Filters(date(2025, 6, 1), date(2025, 6, 20)))
              if g.model == "openai/gpt-4o"]
    smaller = replay(groups, "openai/gpt-4o-mini", catalogue, eco)
    same = replay(groups, "openai/gpt-4o", catalogue, eco)
    assert smaller is not None and same is not None
    assert smaller.saved_carbon_g < 0 < smaller.actual_carbon_g  # the baseline would have emitted less
    assert same.saved_carbon_g == pytest.approx(0.0, abs=1e-12)
    assert smaller.tokens_compared == sum(g.prompt_tokens + g.completion_tokens for g in groups)
    assert summarise(groups).carbon_per_1k_g == pytest.approx(0.002 / 150 * 1000)
