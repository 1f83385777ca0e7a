"""One gateway (and, for browser tests, one Chromium) for every dashboard test, with two accounts' usage."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.support.gateway import GatewayProcess, UpstreamSpec, config_text
from tests.support.upstream import FakeUpstream

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
XSS_NAME = "<script>alert('key')</script>"


@dataclass
class Account:
    account_id: str
    key: str
    generations: list[str] = field(default_factory=list)

    def sdk(self, gateway: GatewayProcess) -> openai.OpenAI:
        return openai.OpenAI(base_url=gateway.api, api_key=self.key, max_retries=0)


@dataclass
class Seeded:
    gateway: GatewayProcess
    a: Account
    b: Account


@pytest.fixture(scope="package")
def dash_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    upstream = FakeUpstream("dashboard").start()
    proc = GatewayProcess(tmp_path_factory.mktemp("dashboard"),
                          config_text([UpstreamSpec("fake", "eu-west", upstream)])).start()
    yield proc
    proc.stop()
    upstream.stop()


def _use(gateway: GatewayProcess, account: Account, model: str, stream: bool = False) -> None:
    messages: Any = [{"role": "user", "content": "hello"}]
    with account.sdk(gateway) as client:
        if stream:
            chunks = list(client.chat.completions.create(model=model, messages=messages, max_tokens=3, stream=True))
            account.generations.append(chunks[-1].id)
        else:
            account.generations.append(
                client.chat.completions.create(model=model, messages=messages, max_tokens=3).id)


@pytest.fixture(scope="package")
def seeded(dash_gateway: GatewayProcess) -> Seeded:
    """Account A: four calls to fake/fake (one streamed), two to simulator/small, key named with markup.
    Account B: one call."""
    a_id = dash_gateway.new_account("50", name="Alpha <b>team</b>")
    a = Account(a_id, dash_gateway.new_key(a_id, name=XSS_NAME))
    b_id = dash_gateway.new_account("20", name="Bravo")
    b = Account(b_id, dash_gateway.new_key(b_id, name="bravo-key"))
    for model, stream in [("fake/fake", False), ("fake/fake", False), ("simulator/small", False),
                          ("fake/fake", True), ("simulator/small", False), ("fake/fake", False)]:
        _use(dash_gateway, a, model, stream)
    _use(dash_gateway, b, "fake/fake")
    return Seeded(dash_gateway, a, b)


def login(client: httpx.Client, token: str) -> httpx.Response:
    """Log in through the form as a browser would: fetch it (CSRF token + cookie), post it."""
    page = client.get("/dashboard/login")
    return client.post("/dashboard/login", data={"csrf": csrf_of(page.text), "key": token})


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright; nothing is downloaded. Skips without it (fails on CI)."""
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is absent: install Debian's chromium (`just system-deps`)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
