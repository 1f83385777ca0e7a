"""`python -m bench.ledger_events` makes what a streamed request writes: five events, ready to insert."""

from __future__ import annotations

import pytest

from bench.ledger_events import main, one_generation


def test_one_generation_makes_five_events_of_four_insert_values_each() -> None:
    assert one_generation(7) == 5 * 4


def test_the_benchmark_reports_its_best_cpu_time_per_generation(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--generations", "20"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("20 generations x 5 runs: best ") and last.endswith(" µs CPU per generation's five events")
