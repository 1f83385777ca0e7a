"""Prometheus metrics of a real gateway process: requests, the ledger, and the projector's work."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.gateway import GatewayProcess


def scrape(gateway: GatewayProcess) -> dict[str, float]:
    r = httpx.get(f"{gateway.url}/metrics", timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            label = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            values[f"{sample.name}{{{label}}}" if label else sample.name] = sample.value
    return values


def test_answered_completions_are_counted_and_the_projector_reports_the_batches_it_applied(
        gateway: GatewayProcess) -> None:
    key = gateway.new_key(credits="10", name="metrics")
    before = scrape(gateway)
    ids = []
    for _ in range(3):
        r = httpx.post(f"{gateway.api}/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=30,
                       json={"model": "fake/fake", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2})
        assert r.status_code == 200, r.text
        ids.append(r.json()["id"])
    gateway.generation(key, ids[-1])  # projected

    after = scrape(gateway)

    ok = "lowrouter_http_requests_total{route=chat_completions,status=200}"
    assert after[ok] - before.get(ok, 0) == 3
    assert after["lowrouter_ledger_position"] >= after["lowrouter_projector_position"] > 0
    assert after["lowrouter_projector_events_applied"] > before["lowrouter_projector_events_applied"]
    assert after["lowrouter_projector_batches"] > before["lowrouter_projector_batches"]
    assert after["lowrouter_projector_busy_seconds"] > before["lowrouter_projector_busy_seconds"]


def test_the_process_memory_and_the_part_duckdb_accounts_for_are_reported(gateway: GatewayProcess) -> None:
    values = scrape(gateway)

    assert gateway.process is not None
    with open(f"/proc/{gateway.process.pid}/status") as status:
        vm_rss = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))
    reported = values["process_resident_memory_bytes"]
    assert 0.5 * vm_rss < reported < 2 * vm_rss  # the gateway's own process, not the test's
    duckdb_parts = {k: v for k, v in values.items() if k.startswith("lowrouter_projections_memory_bytes{")}
    assert "lowrouter_projections_memory_bytes{tag=base_table}" in duckdb_parts
    assert 0 < sum(duckdb_parts.values()) < reported
