"""`just bench` summaries: rounds, and the gateway's CPU per request."""

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


def test_the_gateways_cpu_per_request_is_summarised_by_its_median_when_measured() -> None:
    rounds = [{"rps": 900.0, "p50": 1.2, "p99": 4.0, "requests": 9000, "non2xx": 0, "cpu_us_main": c,
               "cpu_us_all": c + 200} for c in (700.0, 650.0, 800.0)]

    summary = median_of_rounds(rounds)

    assert (summary["cpu_us_main"], summary["cpu_us_all"]) == (700.0, 900.0)


def test_a_process_main_thread_cpu_is_part_of_all_its_threads_cpu_and_grows_with_work() -> None:
    import os
    import threading
    import time

    from bench.run import thread_cpu_s

    def burn(seconds: float) -> None:
        end = time.process_time() + seconds
        while time.process_time() < end:
            pass

    main_before, all_before = thread_cpu_s(os.getpid())
    burn(0.1)
    worker = threading.Thread(target=burn, args=(0.1,))
    worker.start()
    worker.join()
    main_after, all_after = thread_cpu_s(os.getpid())
    assert main_after - main_before >= 0.05
    assert all_after - all_before >= (main_after - main_before) + 0.05
