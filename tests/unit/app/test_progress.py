"""Progress lines of long CLI work: in place on a terminal, whole lines now and then elsewhere."""

from __future__ import annotations

import io

from app.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_captured_log_gets_whole_lines_at_most_once_per_interval() -> None:
    out, clock = io.StringIO(), Clock()
    progress = Progress(out, every_s=10.0, clock=clock)
    for second, line in ((0, "replay: 1 events"), (4, "replay: 2 events"), (10, "replay: 3 events"),
                         (15, "replay: 4 events"), (21, "replay: 5 events")):
        clock.now = second
        progress(line)
    progress.end()
    assert out.getvalue() == "replay: 1 events\nreplay: 3 events\nreplay: 5 events\n"


def test_a_terminal_sees_one_line_rewritten_in_place_and_ended_once() -> None:
    out = Terminal()
    progress = Progress(out, every_s=10.0, clock=Clock())
    progress("export: 10 usage records")
    progress("export: 20 usage records")
    progress.end()
    progress.end()
    assert out.getvalue() == "\rexport: 10 usage records\033[K\rexport: 20 usage records\033[K\n"


def test_ending_a_progress_that_never_showed_anything_writes_nothing() -> None:
    out = Terminal()
    Progress(out).end()
    assert out.getvalue() == ""
