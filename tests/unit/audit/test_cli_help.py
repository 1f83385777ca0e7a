"""Every audit and analytics command says what it does."""

from __future__ import annotations

import pytest

from app.cli import main


@pytest.mark.parametrize(("args", "says"), [
    (["audit"], "hash-chain"), (["events"], "billing dispute"), (["sql"], "read-only"), (["schema"], "migrations"),
    (["export", "usage"], "streamed"), (["export", "parquet"], ".parquet"),
])
def test_every_audit_and_analytics_command_explains_itself_with_help(
        args: list[str], says: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--help"])
    assert exit_.value.code == 0
    assert says in capsys.readouterr().out.replace("\n", " ")
