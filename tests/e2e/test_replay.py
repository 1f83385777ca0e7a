"""`lowrouter replay` drops and rebuilds every projection; the rebuilt tables equal the live ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import openai
import pytest

from tests.integration.test_projector import dump
from tests.support.gateway import GatewayProcess, UpstreamSpec, config_text
from tests.support.upstream import FakeUpstream


def test_replay_rebuilds_projections_equal_to_the_live_ones(
        upstream: FakeUpstream, tmp_path: Path) -> None:
    spec = UpstreamSpec("fake", "eu-west", upstream, models=("fake", "fail-500"))
    gw = GatewayProcess(tmp_path / "gw", config_text([spec])).start()
    try:
        with openai.OpenAI(base_url=gw.api, api_key=gw.new_key(credits="5"), max_retries=0) as client:
            for i in range(12):
                answer = client.chat.completions.create(
                    model="fake/fake", messages=[{"role": "user", "content": f"q{i}"}], max_tokens=1 + i % 4,
                    stream=i % 3 == 0)
                if i % 3 == 0:
                    list(answer)  # type: ignore[arg-type]
            with pytest.raises(openai.APIStatusError):
                client.chat.completions.create(model="fake/fail-500", messages=[{"role": "user", "content": "x"}])
        gw.admin("POST", "/keys", {"account_id": gw.new_account("1"), "name": "second"})
    finally:
        gw.stop()
    con = duckdb.connect(str(gw.data_dir / "projections.duckdb"), read_only=True)
    live = dump(con)
    con.close()
    assert len(live["generations"]) == 13

    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "replay", "--config", str(gw.root / "config.toml"),
         "--data-dir", str(gw.data_dir)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert '"events":' in result.stdout and "replay:" in result.stderr

    con = duckdb.connect(str(gw.data_dir / "projections.duckdb"), read_only=True)
    rebuilt = dump(con)
    con.close()
    assert rebuilt == live


def test_replay_refuses_to_run_beside_a_running_gateway(gateway: GatewayProcess) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "replay", "--config", str(gateway.root / "config.toml"),
         "--data-dir", str(gateway.data_dir)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "stop it first" in result.stderr
