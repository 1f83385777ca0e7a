"""Printing query results (table, CSV, JSON) and making DuckDB values JSON-safe."""

from __future__ import annotations

import base64
import csv
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, TextIO

import msgspec

FORMATS = ("table", "csv", "json")
_INT64 = 1 << 63
_encode = msgspec.json.Encoder(enc_hook=str).encode


def jsonable(value: Any) -> Any:
    """A DuckDB value as JSON can carry it: HUGEINTs and decimals as text, blobs as base64, nesting kept."""
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return value
    if isinstance(value, int):
        return value if -_INT64 <= value < _INT64 else str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return str(value)


def encode_json(value: Any) -> bytes:
    return _encode(jsonable(value))


def write_result(out: TextIO, fmt: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print rows as an aligned text table, CSV with a header, or a JSON array of objects."""
    if fmt == "json":
        out.write(encode_json([dict(zip(columns, r, strict=True)) for r in rows]).decode() + "\n")
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_text(v, "") for v in r] for r in rows)
    else:
        cells = [[_text(v, "NULL") for v in r] for r in rows]
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
        line = "  ".join
        out.write(line(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip() + "\n")
        out.write(line("-" * w for w in widths) + "\n")
        for r in cells:
            out.write(line(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() + "\n")


def _text(value: Any, null: str) -> str:
    if value is None:
        return null
    v = jsonable(value)
    if isinstance(v, dict | list):
        return _encode(v).decode()
    return str(v)

