from bench.run import median_of_rounds


def test_several_rounds_are_summarised_by_their_medians_with_the_range_and_the_totals() -> None:
    rounds = [
        {"rps": 900.0, "p50": 1.2, "p99": 4.0, "requests": 9000, "non2xx": 0},
        {"rps": 1200.0, "p50": 0.9, "p99": 9.5, "requests": 12000, "non2xx": 1},
        {"rps": 1000.0, "p50": 1.0, "p99": 3.5, "requests": 10000, "non2xx": 0},
    ]

    summary = median_of_rounds(rounds)

    assert (summary["rps"], summary["p50"], summary["p99"]) == (1000.0, 1.0, 4.0)
    assert summary["rps_range"] == [900.0, 1200.0]
    assert (summary["requests"], summary["non2xx"]) == (31000, 1)


def test_one_round_is_its_own_median() -> None:
    only = {"rps": 850.0, "p50": 1.1, "p99": 5.0, "requests": 8500, "non2xx": 0}

    summary = median_of_rounds([only])

    assert (summary["rps"], summary["p99"], summary["rps_range"]) == (850.0, 5.0, [850.0, 850.0])
