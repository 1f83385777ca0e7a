"""The ledger and analytics commands: `audit`, `events`, `sql`, `schema`, `export`.

`register` adds them to the `lowrouter` parser; `run` executes one (each loads its own settings,
so `schema` works without a config or data directory).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.parse
import urllib.request
from pathlib import Path

from app.progress import Progress
from app.query_output import FORMATS, write_result
from projections.sql_guard import MAX_ROWS, TIMEOUT_S

COMMANDS = frozenset({"audit", "events", "sql", "schema", "export"})


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="TOML config file (default: $LOWROUTER_CONFIG or the bundled default)")
    p.add_argument("--data-dir", default=os.environ.get("LOWROUTER_DATA_DIR", "lowrouter-data"),
                   help="directory of the SQLite ledger and DuckDB projections (default: %(default)s)")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = sub.add_parser(
        "audit", help="verify the ledger: chain, lifecycles, charges, balances, eco, projections",
        description="Read the whole ledger and prove it: every hash-chain link and version, every generation "
                    "ended exactly once, every charge equal to its tokens at the recorded price (and that price "
                    "equal to the price list), every balance equal to credit_balances, every eco estimate "
                    "recomputable, and the projections equal to a fresh replay. Works while a gateway runs "
                    "(projections are read through it). Exits 1 when any violation is found.")
    audit.add_argument("--json", action="store_true", help="print one JSON document instead of the summary")
    audit.add_argument("--ignore-price-list", action="store_true",
                       help="do not compare recorded prices with the config's current price list")
    audit.add_argument("--batch-size", type=int, default=10_000, help="events read per batch (default: %(default)s)")
    _common(audit)

    events = sub.add_parser(
        "events", help="print the event history of one generation, account or key",
        description="Print every stored event of one aggregate — log position, version, timestamp, event and "
                    "payload — and verify its hash chain. The first thing to look at in a billing dispute.")
    which = events.add_mutually_exclusive_group(required=True)
    which.add_argument("--generation", help="generation id (gen_…)")
    which.add_argument("--account", help="account id (acct_…)")
    which.add_argument("--key", help="key id (key_…)")
    events.add_argument("--json", action="store_true", help="one JSON object per event")
    _common(events)

    sql = sub.add_parser(
        "sql", help="run one read-only SQL query over the projections",
        description="Run one read-only query (SELECT, EXPLAIN SELECT, read-only PRAGMA) over the DuckDB "
                    "projections and print the result. Through the running gateway when one holds the data "
                    "directory, else on the file opened read-only. Writes, COPY, ATTACH, INSTALL/LOAD, SET, "
                    "EXPORT, file-reading functions and multiple statements are refused. Tables: docs/schema.md.")
    sql.add_argument("query", help='the SQL, e.g. "SELECT model, sum(cost_micro) FROM generations GROUP BY 1"')
    sql.add_argument("--format", choices=FORMATS, default="table", help="output format (default: %(default)s)")
    sql.add_argument("--max-rows", type=int, default=MAX_ROWS, help="row limit (default: %(default)s)")
    sql.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds before the query is interrupted")
    _common(sql)

    schema = sub.add_parser(
        "schema", help="print the projection tables and columns (docs/schema.md)",
        description="Generate the reference of every projection table and column from the migrations "
                    "(their SQL comments and DuckDB's catalogue).")
    schema.add_argument("--out", help="write to this file instead of stdout (e.g. docs/schema.md)")

    export = sub.add_parser("export", help="export usage as CSV, or every projection as Parquet",
                            description="Export from the projections.")
    ex_sub = export.add_subparsers(dest="what", required=True, metavar="WHAT")
    usage = ex_sub.add_parser(
        "usage", help="usage records as CSV on stdout (streamed)",
        description="Write usage records (ended generations) as CSV to stdout, streamed in chunks. Through "
                    "the running gateway when one holds the data directory.")
    usage.add_argument("--from", dest="start", help="ISO date or date-time, inclusive (completed_at)")
    usage.add_argument("--to", dest="end", help="ISO date or date-time, exclusive")
    usage.add_argument("--key", help="only this key id")
    _common(usage)
    parquet = ex_sub.add_parser(
        "parquet", help="a Parquet file per projection table",
        description="Write every projection table to <DIR>/<table>.parquet (stop the gateway first: it holds "
                    "the DuckDB file).")
    parquet.add_argument("--out", required=True, help="output directory")
    _common(parquet)


def run(args: argparse.Namespace) -> int:
    if args.command == "schema":
        return schema_command(args.out)
    from app.settings import load_settings

    settings = load_settings(args.config)
    data_dir = Path(args.data_dir)
    if args.command == "audit":
        from app.audit import run_audit
        from app.audit_report import as_dict, as_text

        progress = Progress()
        result = run_audit(settings, data_dir, ignore_price_list=args.ignore_price_list,
                           batch_size=args.batch_size, progress=progress)
        progress.end()
        report = as_dict(result)
        print(json.dumps(report, indent=2) if args.json else as_text(result, str(data_dir)), end="\n" if args.json
              else "")
        return 0 if report["clean"] else 1
    if args.command == "events":
        from app.cli_events import events_command

        return events_command(settings, data_dir, args.generation or args.account or args.key, args.json)
    if args.command == "sql":
        return sql_command(data_dir, args.query, args.format, args.max_rows, args.timeout)
    if args.what == "usage":
        return export_usage(data_dir, args.start, args.end, args.key)
    return export_parquet_command(data_dir, Path(args.out))


def schema_command(out: str | None) -> int:
    from projections.schema_doc import render_schema_doc

    text = render_schema_doc()
    if out:
        Path(out).write_text(text)
        print(f"wrote {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def sql_command(data_dir: Path, query: str, fmt: str, max_rows: int, timeout: float) -> int:
    from app.composition import PROJECTIONS_FILE
    from app.sql_client import QueryRefusedError, run_query

    try:
        result, where = run_query(data_dir, data_dir / PROJECTIONS_FILE, query, max_rows, timeout)
    except QueryRefusedError as e:
        print(f"lowrouter sql: {e}", file=sys.stderr)
        return 1
    write_result(sys.stdout, fmt, result.columns, result.rows)
    more = f", truncated at {max_rows:,} (raise --max-rows)" if result.truncated else ""
    print(f"{len(result.rows):,} row(s) from the {where}{more}", file=sys.stderr)
    return 0


def export_usage(data_dir: Path, start: str | None, end: str | None, key: str | None) -> int:
    from app.composition import PROJECTIONS_FILE
    from app.control import read_control_file
    from app.http_sql import parse_when
    from domain.errors import InvalidRequestError

    try:
        start_at, end_at = parse_when(start, "--from"), parse_when(end, "--to")
    except InvalidRequestError as e:
        print(f"lowrouter export usage: {e.message}", file=sys.stderr)
        return 2
    out = sys.stdout.buffer
    lines = 0
    progress = Progress()
    control = read_control_file(data_dir)
    if control is not None:
        query = urllib.parse.urlencode({k: v for k, v in (("from", start), ("to", end), ("key_id", key)) if v})
        request = urllib.request.Request(f"{control['url']}/api/v1/admin/exports/usage.csv?{query}",
                                         headers={"Authorization": f"Bearer {control['control_token']}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            while chunk := response.read(1 << 16):
                out.write(chunk)
                lines += chunk.count(b"\n")
                progress(f"export: {max(lines - 1, 0):,} usage records")
    else:
        import duckdb

        from projections.exports import iter_usage_csv

        if not (data_dir / PROJECTIONS_FILE).exists():
            print(f"lowrouter export usage: no projections in {data_dir}", file=sys.stderr)
            return 1
        con = duckdb.connect(str(data_dir / PROJECTIONS_FILE), read_only=True)
        try:
            for chunk in iter_usage_csv(con.cursor(), start_at, end_at, key):
                out.write(chunk)
                lines += chunk.count(b"\n")
                progress(f"export: {max(lines - 1, 0):,} usage records")
        finally:
            con.close()
    out.flush()
    progress.end()
    print(f"exported {max(lines - 1, 0):,} usage records", file=sys.stderr)
    return 0


def export_parquet_command(data_dir: Path, out_dir: Path) -> int:
    import duckdb

    from app.composition import PROJECTIONS_FILE
    from app.control import read_control_file
    from projections.exports import export_parquet

    if read_control_file(data_dir) is not None:
        print("lowrouter export parquet: a gateway holds the projections file; stop it first (or use "
              "`lowrouter sql` / `lowrouter export usage`, which go through it)", file=sys.stderr)
        return 1
    con = duckdb.connect(str(data_dir / PROJECTIONS_FILE), read_only=True)
    try:
        written = export_parquet(con, out_dir)
    finally:
        con.close()
    for table, rows, path in written:
        print(f"{table}: {rows:,} rows → {path}", file=sys.stderr)
    print(json.dumps({"tables": len(written), "rows": sum(r for _, r, _ in written), "out": str(out_dir)}))
    return 0
