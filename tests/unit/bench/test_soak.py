"""`just soak` summaries: whether the gateway's memory has levelled off over a long run."""

import os

from bench.run import memory_mb
from bench.soak import growth_per_100k


def _rounds(rss: list[float], step: int = 50_000) -> list[dict[str, float]]:
    return [{"served": float(step * (i + 1)), "rss": r} for i, r in enumerate(rss)]


def test_memory_that_has_levelled_off_grows_by_nothing_over_the_last_third() -> None:
    rounds = _rounds([150, 180, 200, 210, 214, 215, 215, 215, 215])

    assert growth_per_100k(rounds) == 0.0


def test_memory_still_growing_shows_its_growth_per_100000_requests() -> None:
    rounds = _rounds([150 + 3 * i for i in range(12)])  # 3 MB every 50,000 requests

    assert abs(growth_per_100k(rounds) - 6.0) < 1e-9


def test_only_the_last_third_of_the_run_counts_toward_the_growth() -> None:
    early_climb_then_flat = _rounds([100, 150, 200, 250, 260, 260, 260, 260, 260])

    assert growth_per_100k(early_climb_then_flat) == 0.0


def test_a_process_memory_is_read_as_resident_anonymous_and_file_parts_in_mb() -> None:
    memory = memory_mb(os.getpid())

    assert memory["peak"] >= memory["rss"] > 0
    assert abs(memory["anon"] + memory["files"] - memory["rss"]) < 1.0
