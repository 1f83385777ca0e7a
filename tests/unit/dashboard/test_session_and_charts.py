"""Session cookies are signed and expire; CSRF tokens must match; charts escape their labels."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from app.dashboard.charts import Bar, bar_chart
from app.dashboard.overview import burn
from app.dashboard.session import Session, cookie_header, csrf_ok, new_session, sign, unsign

SECRET = b"s" * 32


def test_a_signed_session_reads_back_and_a_changed_one_does_not() -> None:
    session = new_session("key:key_1", "acct_1")
    value = sign(SECRET, session)
    assert unsign(SECRET, value) == session
    body, _, mac = value.partition(".")
    forged = sign(b"other" * 8, Session(csrf=session.csrf, exp=session.exp, sub="admin:x")).partition(".")[0]
    assert unsign(SECRET, f"{forged}.{mac}") is None
    assert unsign(b"t" * 32, value) is None
    assert unsign(SECRET, body) is None and unsign(SECRET, None) is None


def test_an_expired_session_is_refused() -> None:
    session = new_session("admin:x")
    assert unsign(SECRET, sign(SECRET, session), now=time.time() + 13 * 3600) is None


def test_csrf_needs_the_sessions_own_token() -> None:
    session = new_session()
    assert csrf_ok(session, session.csrf)
    assert not csrf_ok(session, session.csrf + "x")
    assert not csrf_ok(session, None) and not csrf_ok(session, "") and not csrf_ok(None, session.csrf)


def test_the_cookie_is_http_only_same_site_and_secure_on_https() -> None:
    header = cookie_header(SECRET, new_session(), secure=True)
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" in header
    assert "Max-Age=0" in cookie_header(SECRET, None, secure=False)


def test_chart_labels_and_links_are_escaped_and_bars_scale_to_the_largest() -> None:
    svg = str(bar_chart([Bar("<script>x</script>", 100, "100", "/d?a=1&b=2"), Bar("b", 50, "50")], "t"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "/d?a=1&amp;b=2" in svg
    assert 'width="300.0"' in svg and 'width="150.0"' in svg


def test_the_burn_band_is_green_only_when_the_balance_lasts_to_the_end_of_the_month() -> None:
    mid_month = datetime(2025, 6, 11, tzinfo=UTC)  # 10 days gone, 20 left, at 10 credits a day
    assert burn(balance=250_000_000, month_spend=100_000_000, now=mid_month).band == "green"
    low = burn(balance=150_000_000, month_spend=100_000_000, now=mid_month)
    assert (low.band, low.per_day_micro, low.needed_micro) == ("amber", 10_000_000, 200_000_000)
    assert burn(balance=0, month_spend=0, now=mid_month).band == "green"
