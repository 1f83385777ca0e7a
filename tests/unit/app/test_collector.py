import gc
from collections.abc import Iterator

import pytest

from app.server import GC_YOUNG_THRESHOLD, settle_collector


@pytest.fixture()
def restored_collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.set_threshold(*threshold)
    gc.unfreeze()


@pytest.mark.usefixtures("restored_collector")
def test_after_start_up_the_collector_ignores_what_start_up_built_and_collects_young_objects_less_often() -> None:
    built_at_start_up = [{"n": i} for i in range(1000)]
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)

    settle_collector()

    assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, 10, 10) and GC_YOUNG_THRESHOLD > 700
    assert gc.get_freeze_count() >= len(built_at_start_up)
