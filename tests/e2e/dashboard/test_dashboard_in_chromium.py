"""The dashboard in real headless Chromium (Debian's, via Playwright), against a real gateway process."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import openai
import pytest

from tests.e2e.dashboard.conftest import ARTIFACTS, Seeded
from tests.support.gateway import ADMIN_KEY

pytestmark = pytest.mark.browser
PAGE_LIMIT = 100_000
SIZES: dict[str, int] = {}


def transferred(page: Any) -> int:
    """Bytes the browser transferred for the page's document (headers included)."""
    size = page.evaluate("performance.getEntriesByType('navigation')[0].transferSize")
    assert isinstance(size, int) and size > 0
    return size


def visit(page: Any, url: str, name: str) -> None:
    """Open a page, save its screenshot, and check the bytes transferred for it."""
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    SIZES[name] = transferred(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)
    assert SIZES[name] < PAGE_LIMIT, f"{name} transferred {SIZES[name]} bytes"


def log_in(page: Any, base: str, token: str) -> None:
    page.goto(f"{base}/dashboard/login")
    page.fill("input[name=key]", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboard")


@pytest.fixture(scope="module")
def user(chromium: Any, seeded: Seeded) -> Iterator[Any]:
    """A browser tab logged in with account A's key."""
    context = chromium.new_context(accept_downloads=True)
    page = context.new_page()
    log_in(page, seeded.gateway.url, seeded.a.key)
    yield page
    context.close()
    (ARTIFACTS / "dashboard-page-sizes.json").write_text(json.dumps(SIZES, indent=2, sort_keys=True))


def test_logging_in_shows_the_balance_that_the_credits_api_reports(user: Any, seeded: Seeded) -> None:
    visit(user, f"{seeded.gateway.url}/dashboard", "overview")
    shown = float(user.inner_text("#balance-value").replace(",", ""))
    api = httpx.get(f"{seeded.gateway.api}/credits", headers={"Authorization": f"Bearer {seeded.a.key}"})
    assert shown == pytest.approx(api.json()["data"]["balance"], abs=1e-6)
    assert shown < 50
    assert user.inner_text("#burn-band") in ("green", "amber")


def test_filtering_by_a_model_keeps_it_in_the_url_and_narrows_the_transactions(user: Any, seeded: Seeded) -> None:
    user.goto(f"{seeded.gateway.url}/dashboard")
    assert user.locator("#tx tr").count() - 1 == len(seeded.a.generations) == 6
    user.select_option("#filters select[name=model]", "simulator/small")
    user.click("#filters button[type=submit]")
    user.wait_for_url("**model=simulator%2Fsmall**")
    assert parse_qs(urlparse(user.url).query)["model"] == ["simulator/small"]
    models = user.locator("#tx tr td:nth-child(2)").all_inner_texts()
    assert models == ["simulator/small", "simulator/small"]
    visit(user, user.url, "overview-filtered")


def test_a_bar_of_todays_usage_links_to_the_page_filtered_by_its_model(user: Any, seeded: Seeded) -> None:
    user.goto(f"{seeded.gateway.url}/dashboard")
    user.locator("svg.chart a", has_text="fake/fake").first.click()
    user.wait_for_url("**model=fake%2Ffake**")
    assert set(user.locator("#tx tr td:nth-child(2)").all_inner_texts()) == {"fake/fake"}


def test_a_transaction_page_shows_its_routing_trace(user: Any, seeded: Seeded) -> None:
    user.goto(f"{seeded.gateway.url}/dashboard?model=fake%2Ffake")
    user.locator("#tx tr td a").first.click()
    user.wait_for_url("**/dashboard/transactions/gen_*")
    generation_id = user.url.rsplit("/", 1)[1]
    assert generation_id == seeded.a.generations[-1]
    assert "Picked fake/fake at fake@eu-west" in user.inner_text("#picked")
    assert user.locator("#trace table.candidates tr").count() >= 2
    assert "ecologits" in user.inner_text("#eco")
    visit(user, user.url, "transaction")


def test_a_key_created_in_the_dashboard_works_with_the_sdk_until_it_is_revoked_there(
        user: Any, seeded: Seeded) -> None:
    visit(user, f"{seeded.gateway.url}/dashboard/keys", "keys")
    user.fill("#create-key input[name=name]", "browser-made")
    user.fill("#create-key input[name=daily_credit_limit]", "5")
    user.click("#create-key button[type=submit]")
    token = user.inner_text("#new-token").strip()
    assert token.startswith("lr-sk-")
    with openai.OpenAI(base_url=seeded.gateway.api, api_key=token, max_retries=0) as sdk:
        answer = sdk.chat.completions.create(model="fake/fake", messages=[{"role": "user", "content": "hi"}],
                                             max_tokens=2)
        assert answer.choices[0].message.content == "w0 w1"
        seeded.a.generations.append(answer.id)
        user.goto(f"{seeded.gateway.url}/dashboard/keys")
        row = user.locator("#keys tr", has_text="browser-made")
        assert "5.0/day" in row.inner_text()
        row.locator("form.revoke button").click()
        user.wait_for_url("**/dashboard/keys")
        assert "revoked" in user.locator("#keys tr", has_text="browser-made").inner_text()
        with pytest.raises(openai.AuthenticationError):
            sdk.chat.completions.create(model="fake/fake", messages=[{"role": "user", "content": "hi"}],
                                        max_tokens=2)


def test_the_csv_export_holds_the_same_rows_as_the_generation_api(user: Any, seeded: Seeded) -> None:
    user.goto(f"{seeded.gateway.url}/dashboard")
    with user.expect_download() as info:
        user.click("#export")
    text = Path(info.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["generation_id"] for r in rows} == set(seeded.a.generations)
    headers = {"Authorization": f"Bearer {seeded.a.key}"}
    for r in rows:
        record = httpx.get(f"{seeded.gateway.api}/generation/{r['generation_id']}", headers=headers).json()["data"]
        assert r["resolved_model"] == record["resolved_model"]
        assert (r["provider"], r["region"]) == (record["provider"], record["region"])
        assert int(r["total_tokens"]) == record["total_tokens"]
        assert float(r["cost_credits"]) == pytest.approx(record["cost_credits"], abs=1e-6)
        assert float(r["eco_carbon_g"]) == pytest.approx(record["eco"]["carbon_g"])


def test_the_csv_export_holds_the_same_rows_as_lowrouter_sql(user: Any, seeded: Seeded) -> None:
    user.goto(f"{seeded.gateway.url}/dashboard")
    with user.expect_download() as info:
        user.click("#export")
    exported = {r["generation_id"]: r for r in csv.DictReader(io.StringIO(
        Path(info.value.path()).read_text(encoding="utf-8")))}
    query = ("SELECT generation_id, total_tokens, cost_micro FROM generations "
             f"WHERE account_id = '{seeded.a.account_id}' ORDER BY generation_id")
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "sql", query, "--format", "json",
         "--config", str(seeded.gateway.root / "config.toml"), "--data-dir", str(seeded.gateway.data_dir)],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    if len(rows) == 1 and isinstance(rows[0], list):
        rows = rows[0]
    assert sorted(r["generation_id"] for r in rows) == sorted(exported)
    for r in rows:
        assert int(exported[r["generation_id"]]["total_tokens"]) == r["total_tokens"]
        assert float(exported[r["generation_id"]]["cost_credits"]) == pytest.approx(r["cost_micro"] / 1e6)


def test_the_credits_and_model_pages_render_within_the_size_limit(user: Any, seeded: Seeded) -> None:
    visit(user, f"{seeded.gateway.url}/dashboard/credits", "credits")
    assert user.locator("#ledger tr").count() > 1
    visit(user, f"{seeded.gateway.url}/models?sort=carbon", "models")
    assert user.locator("#models tr", has_text="simulator/small").count() == 1


def test_the_operator_switches_accounts_and_changes_routing_defaults_for_the_next_request(
        chromium: Any, seeded: Seeded) -> None:
    context = chromium.new_context()
    page = context.new_page()
    try:
        log_in(page, seeded.gateway.url, ADMIN_KEY)
        page.select_option("#switch select", seeded.b.account_id)
        page.click("#switch button")
        page.wait_for_url("**/dashboard")
        assert page.locator("#tx tr").count() - 1 == len(seeded.b.generations)
        visit(page, f"{seeded.gateway.url}/dashboard/routing", "routing")
        assert page.inner_text("#source") == "config file"
        for box in page.locator("input[name='auto_pool[]']:checked").all():
            box.uncheck()
        page.check("input[name='auto_pool[]'][value='simulator/small']")
        page.fill("input[name=carbon_weight]", "0.5")
        page.click("#routing button[type=submit]")
        page.wait_for_url("**/dashboard/routing")
        assert page.inner_text("#source").startswith("ledger")
        with seeded.b.sdk(seeded.gateway) as sdk:
            auto = sdk.chat.completions.create(
                model="lowrouter/auto", messages=[{"role": "user", "content": "x"}], max_tokens=2)
        seeded.b.generations.append(auto.id)
        assert auto.model == "simulator/small"
    finally:
        context.close()
