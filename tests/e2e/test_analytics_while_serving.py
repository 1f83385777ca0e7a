"""SQL, audit and exports while a gateway process holds the data directory (and its DuckDB file)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.gateway import GatewayProcess

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def served(gateway: GatewayProcess) -> GatewayProcess:
    """The gateway after three answered requests."""
    key = gateway.new_key(credits="10", name="analytics")
    for n in range(3):
        r = httpx.post(f"{gateway.api}/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=30,
                       json={"model": "fake/fake", "messages": [{"role": "user", "content": f"hi {n}"}],
                             "max_tokens": 3})
        assert r.status_code == 200, r.text
    return gateway


def lowrouter(gateway: GatewayProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args, "--config", str(gateway.root / "config.toml"),
         "--data-dir", str(gateway.data_dir)], capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)


def test_sql_answers_through_the_gateway_that_holds_the_projections(served: GatewayProcess) -> None:
    done = lowrouter(served, "sql", "SELECT count(*) AS n, sum(cost_micro) AS spent FROM generations "
                     "WHERE status = 'ok'", "--format", "json")
    assert done.returncode == 0, done.stderr
    [row] = json.loads(done.stdout)
    assert row["n"] >= 3 and row["spent"] > 0
    assert "from the gateway" in done.stderr


def test_a_write_through_the_cli_is_refused_with_a_clear_error(served: GatewayProcess) -> None:
    for sql in ("INSERT INTO tracking VALUES ('x', 1)", "ATTACH '/tmp/evil.duckdb' AS evil"):
        done = lowrouter(served, "sql", sql)
        assert done.returncode == 1
        assert "refused" in done.stderr and "read-only" in done.stderr


@pytest.mark.parametrize("sql", ["INSERT INTO tracking VALUES ('x', 1)", "DROP TABLE generations",
                                 "COPY generations TO '/tmp/stolen.csv'", "ATTACH '/tmp/evil.duckdb' AS evil",
                                 "SELECT 1; DELETE FROM generations"])
def test_a_write_over_http_is_refused_with_400(served: GatewayProcess, sql: str) -> None:
    r = served.admin("POST", "/admin/sql", {"sql": sql})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["param"] == "sql" and error["message"].startswith("refused:")
    still = served.admin("POST", "/admin/sql", {"sql": "SELECT count(*) FROM generations"})
    assert still.json()["data"]["rows"][0][0] >= 3


def test_the_sql_endpoint_is_for_the_operator_only(served: GatewayProcess) -> None:
    key = served.new_key(credits="1", name="not-admin")
    r = httpx.post(f"{served.api}/admin/sql", json={"sql": "SELECT 1"}, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 403


def test_the_audit_reads_the_projections_through_the_gateway_and_finds_nothing(served: GatewayProcess) -> None:
    done = lowrouter(served, "audit", "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 0, report["findings"]
    assert report["projections_read_through"] == "gateway"
    assert report["checks"]["projection"]["checked"].endswith(f"position {report['projections_position']:,}")
    charges = report["checks"]["charge"]["checked"]
    assert report["checks"]["charge"]["violations"] == 0 and int(charges.split()[0]) >= 3, charges


def test_the_usage_csv_streams_from_the_gateway(served: GatewayProcess) -> None:
    with httpx.stream("GET", f"{served.api}/admin/exports/usage.csv", params={"from": "2000-01-01"},
                      headers={"Authorization": "Bearer " + _admin_key()}, timeout=30) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        body = b"".join(r.iter_bytes())
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert len(rows) >= 3 and all(row["generation_id"].startswith("gen_") for row in rows)
    done = lowrouter(served, "export", "usage", "--to", "2999-01-01")
    assert done.returncode == 0 and len(list(csv.DictReader(io.StringIO(done.stdout)))) == len(rows)


def _admin_key() -> str:
    from tests.support.gateway import ADMIN_KEY

    return ADMIN_KEY
