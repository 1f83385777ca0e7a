# LowRouter task runner: `just` lists the recipes. CI runs `just test` (through .ci/run).

set shell := ["bash", "-euo", "pipefail", "-c"]

python := justfile_directory() / ".venv/bin/python"

# List the recipes
default:
    @just --list

# Run the gateway on the embedded default (SQLite + DuckDB in ./lowrouter-data, simulator when no keys)
serve *ARGS:
    {{python}} -m app.cli serve {{ARGS}}

# Lint, type-check and run the whole test suite (what CI runs)
test *ARGS: system-deps lint
    {{python}} -m pytest {{ARGS}}

# ruff and mypy --strict over the four packages
lint:
    {{python}} -m ruff check app domain projections adapters tests bench
    {{python}} -m mypy

# System packages the tests use (Debian's chromium for the dashboard, PostgreSQL running); idempotent
system-deps:
    #!/usr/bin/env bash
    set -euo pipefail
    if [[ $(id -u) == 0 ]] && ! command -v chromium >/dev/null; then
        (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "could not install chromium: browser tests will skip" >&2
    fi
    if command -v pg_ctlcluster >/dev/null && [[ -d /etc/postgresql ]] && ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
        pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start || echo "could not start PostgreSQL" >&2
    fi

# Benchmarks: direct upstream vs. through the gateway (see docs/benchmarks.md)
bench *ARGS:
    #!/usr/bin/env bash
    set -euo pipefail
    command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null)
    {{python}} -m bench.run {{ARGS}}

# The gateway's memory over a long run of JSON load (default 1,000,000 requests; see docs/benchmarks.md)
soak *ARGS:
    #!/usr/bin/env bash
    set -euo pipefail
    command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null)
    {{python}} -m bench.soak {{ARGS}}

# Drop and rebuild every projection from the ledger (stop the gateway first)
replay *ARGS:
    {{python}} -m app.cli replay {{ARGS}}
