"""The usage CSV streams: 100,000 records go out in chunks, never all in memory at once."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from app.composition import PROJECTIONS_FILE
from projections.exports import iter_usage_csv
from projections.schema import migrate

RECORDS = 100_000


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Projections holding 100,000 ended generations (written straight into DuckDB: this tests the export)."""
    root = tmp_path_factory.mktemp("export") / "data"
    root.mkdir()
    con = duckdb.connect(str(root / PROJECTIONS_FILE))
    migrate(con)
    con.execute(f"""
        INSERT INTO generations (generation_id, created_at, completed_at, account_id, key_id, requested_model,
            resolved_model, provider, region, status, http_status, prompt_tokens, completion_tokens, cached_tokens,
            usage_estimated, cost_micro, eco_energy_wh, eco_carbon_g, eco_methodology)
        SELECT 'gen_' || lpad(range::VARCHAR, 8, '0'), TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds(range),
            TIMESTAMPTZ '2026-01-01 00:00:01+00' + to_seconds(range), 'acct_' || (range % 50), 'key_' || (range % 200),
            'fake/fake', 'fake/fake', 'fake', 'eu-west', 'ok', 200, 500 + range % 1000, 100 + range % 300, 0, false,
            (500 + range % 1000) * 10 + (100 + range % 300) * 20, 0.0123, 0.00456, 'ecologits-0.11'
        FROM range({RECORDS})""")
    con.close()
    return root


def stream_peak(data_dir: Path, end: datetime | None = None) -> tuple[int, int, int]:
    """(records, CSV bytes, peak traced Python memory) of streaming the usage CSV up to `end`."""
    con = duckdb.connect(str(data_dir / PROJECTIONS_FILE), read_only=True)
    total_bytes = lines = 0
    tracemalloc.start()
    try:
        for chunk in iter_usage_csv(con.cursor(), end=end):
            total_bytes += len(chunk)
            lines += chunk.count(b"\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        con.close()
    return lines - 1, total_bytes, peak


def test_a_csv_export_of_100000_usage_records_streams_without_holding_them_in_memory(
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records, total_bytes, peak = stream_peak(data_dir)
    small_records, _, small_peak = stream_peak(data_dir, end=datetime(2026, 1, 1, 2, 46, 41, tzinfo=UTC))
    assert records == RECORDS and small_records == 10_000
    with capsys.disabled():
        print(f"\n[usage export] {RECORDS:,} records, {total_bytes / 1e6:.1f} MB of CSV: peak Python memory while "
              f"streaming {peak / 1e6:.2f} MB (tracemalloc); for 10,000 records {small_peak / 1e6:.2f} MB")
    # Holding the records (or the CSV) would need at least the CSV's size; streaming holds one chunk,
    # so ten times the records take no more memory than a tenth of them.
    assert peak < total_bytes / 3
    assert peak < small_peak * 1.5


def test_the_export_command_streams_to_stdout_with_a_small_resident_set(
        data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "usage.csv"
    script = ("import resource, sys\nfrom app.cli import main\n"
              f"rc = main(['export', 'usage', '--data-dir', {str(data_dir)!r}])\n"
              "sys.stdout.flush()\n"
              "print('maxrss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
              "raise SystemExit(rc)\n")
    with out.open("wb") as sink:
        done = subprocess.run([sys.executable, "-c", script], stdout=sink, stderr=subprocess.PIPE, timeout=120,
                              cwd=Path(__file__).resolve().parents[2], check=False)
    err = done.stderr.decode()
    assert done.returncode == 0, err
    maxrss_mb = int(err.split("maxrss_kb")[1].split()[0]) / 1024
    size_mb = out.stat().st_size / 1e6
    with capsys.disabled():
        print(f"\n[usage export] `lowrouter export usage` wrote {size_mb:.1f} MB; peak RSS of the whole process "
              f"(interpreter, imports, DuckDB) {maxrss_mb:.0f} MB")
    assert out.read_bytes().count(b"\n") == RECORDS + 1 and f"exported {RECORDS:,}" in err
