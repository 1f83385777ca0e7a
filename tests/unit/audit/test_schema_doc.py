"""docs/schema.md is generated from the migrations, and the committed copy is the generated one."""

from __future__ import annotations

from pathlib import Path

from projections.schema_doc import render_schema_doc

DOC = Path(__file__).resolve().parents[3] / "docs" / "schema.md"


def test_the_committed_schema_doc_equals_the_generated_one() -> None:
    assert DOC.read_text() == render_schema_doc(), "run: lowrouter schema --out docs/schema.md"


def test_every_projection_column_has_a_description() -> None:
    undocumented = [line for line in render_schema_doc().splitlines() if line.startswith("| `") and
                    line.endswith("|  |")]
    assert undocumented == []
