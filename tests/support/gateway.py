"""A real gateway process on loopback: `lowrouter serve` with its own config and data directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.upstream import FakeUpstream, free_port

ADMIN_KEY = "lr-admin-test-0123456789abcdefghijklmnop"


@dataclass
class UpstreamSpec:
    """One provider of the test config: a fake upstream serving a region."""

    provider: str
    region: str
    upstream: FakeUpstream
    kind: str = "openai"
    models: tuple[str, ...] = ("fake",)
    active_params: str = "llama-3.1-8b"


def config_text(specs: Iterable[UpstreamSpec], extra: str = "", simulator: bool = True,
                auto_pool: Iterable[str] = (), first_byte_timeout_s: float = 2.0,
                routing: Iterable[str] = ()) -> str:
    """A gateway config for `specs`; `routing` adds lines to the `[routing]` table."""
    lines = ["[server]", "access_log = true", "", "[routing]", f"first_byte_timeout_s = {first_byte_timeout_s}",
             "idle_timeout_s = 2.0", "keepalive_after_s = 1.0", "keepalive_every_s = 0.3",
             f"auto_pool = {list(auto_pool)!r}".replace("'", '"'), *routing, ""]
    by_provider: dict[str, list[UpstreamSpec]] = {}
    for s in specs:
        by_provider.setdefault(s.provider, []).append(s)
    for provider, group in by_provider.items():
        endpoints = ", ".join(f'{{ region = "{s.region}", base_url = "{s.upstream.base_url}" }}' for s in group)
        lines += ["[[providers]]", f'id = "{provider}"', f'kind = "{group[0].kind}"', "enabled = true",
                  f"endpoints = [{endpoints}]", ""]
        for model in group[0].models:
            lines += ["[[models]]", f'id = "{provider}/{model}"', f'upstream = "{model}"',
                      f'eco_name = "{group[0].active_params}"', 'prompt_per_1k = "0.01"',
                      'completion_per_1k = "0.02"', 'cached_prompt_per_1k = "0.005"', "context_length = 32000",
                      "max_output_tokens = 1000",
                      'capabilities = ["streaming", "tool_use", "vision", "structured_output"]', ""]
    if simulator:
        lines += ["[[providers]]", 'id = "simulator"', 'kind = "simulator"', "enabled = true",
                  'endpoints = [{ region = "eu-west" }]', "",
                  "[[models]]", 'id = "simulator/small"', 'upstream = "small"', 'eco_name = "simulator/small"',
                  'prompt_per_1k = "0.01"', 'completion_per_1k = "0.03"', "context_length = 32000",
                  'capabilities = ["streaming", "tool_use"]', ""]
    return "\n".join(lines) + "\n" + extra


@dataclass
class GatewayProcess:
    root: Path
    config: str
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"

    def start(self) -> GatewayProcess:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "config.toml").write_text(self.config)
        env = {**os.environ, "LOWROUTER_ADMIN_KEY": ADMIN_KEY, **self.env}
        env.pop("OPENAI_API_KEY", None)
        with open(self.root / "gateway.log", "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--config", str(self.root / "config.toml"),
                 "--data-dir", str(self.data_dir), "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=Path(__file__).resolve().parents[2])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gateway exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gateway did not start:\n{self.log()}")

    def log(self) -> str:
        path = self.root / "gateway.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def admin(self, method: str, path: str, json: Any = None) -> httpx.Response:
        return httpx.request(method, self.api + path, json=json, timeout=30,
                             headers={"Authorization": f"Bearer {ADMIN_KEY}"})

    def generation(self, key: str, generation_id: str, timeout_s: float = 10) -> dict[str, Any]:
        """The accounting record of a generation, read with `key`, once it has been closed in the
        ledger (a cancelled stream is closed just after the client went away)."""
        deadline = time.monotonic() + timeout_s
        while True:
            r = httpx.get(f"{self.api}/generation/{generation_id}", headers={"Authorization": f"Bearer {key}"},
                          timeout=30)
            assert r.status_code == 200, r.text
            data: dict[str, Any] = r.json()["data"]
            if data.get("completed_at") or time.monotonic() > deadline:
                return data
            time.sleep(0.05)

    def new_account(self, credits: str | None = "100", name: str = "test") -> str:
        r = self.admin("POST", "/admin/accounts", {"name": name})
        assert r.status_code == 201, r.text
        account_id: str = r.json()["data"]["account_id"]
        if credits is not None:
            r = self.admin("POST", f"/admin/accounts/{account_id}/credits", {"amount": credits, "reference": "t"})
            assert r.status_code == 201, r.text
        return account_id

    def new_key(self, account_id: str | None = None, credits: str | None = "100", **policy: Any) -> str:
        account_id = account_id or self.new_account(credits)
        r = self.admin("POST", "/keys", {"account_id": account_id, "name": policy.pop("name", "k"), **policy})
        assert r.status_code == 201, r.text
        token: str = r.json()["key"]
        return token
