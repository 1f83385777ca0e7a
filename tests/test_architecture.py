"""The dependency arrow points inward: checked by parsing every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "domain", "projections", "adapters")
DOMAIN_MAY_IMPORT = {"msgspec", "eventsourcing.domain"}
FRAMEWORKS = {"litestar", "httpx", "aiohttp", "duckdb", "uvicorn", "psycopg", "anyio", "jinja2"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def top(name: str) -> str:
    return name.split(".", 1)[0]


@pytest.mark.parametrize("path", modules("domain"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_domain_imports_only_the_standard_library_msgspec_and_eventsourcing_domain(path: Path) -> None:
    import sys

    for name in imports_of(path):
        if top(name) in ("domain", "__future__") or top(name) in sys.stdlib_module_names:
            continue
        assert name in DOMAIN_MAY_IMPORT or top(name) == "msgspec", f"{path.name} imports {name}"


@pytest.mark.parametrize("package", ["projections", "adapters"])
def test_projections_and_adapters_never_import_the_app(package: str) -> None:
    offenders = [f"{p.relative_to(ROOT)}: {n}" for p in modules(package) for n in imports_of(p) if top(n) == "app"]
    assert offenders == []


def test_projections_do_not_reach_for_adapters_or_http() -> None:
    offenders = [f"{p.relative_to(ROOT)}: {n}" for p in modules("projections") for n in imports_of(p)
                 if top(n) in ("adapters", "litestar", "httpx", "aiohttp")]
    assert offenders == []


def test_only_the_composition_root_and_the_cli_name_concrete_providers() -> None:
    allowed = {"app/composition.py", "app/cli_commands.py"}
    offenders = [str(p.relative_to(ROOT)) for p in modules("app")
                 if any(n.startswith("adapters.providers") for n in imports_of(p))
                 and str(p.relative_to(ROOT)) not in allowed]
    assert offenders == []


def test_no_module_is_a_grab_bag() -> None:
    names = {p.name for package in PACKAGES for p in modules(package)}
    assert not names & {"utils.py", "helpers.py", "misc.py"}
