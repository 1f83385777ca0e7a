"""A broken eco data file stops `lowrouter serve` before it listens, with one line naming the entry.

The test runs a copy of the project's packages whose bundled `models.toml` has one bad entry, so
the real start path (CLI → serve → data files) is exercised without patching anything.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.gateway import config_text
from tests.support.upstream import free_port

PROJECT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "domain", "projections", "adapters")


def copy_with_models_toml(target: Path, edit: tuple[str, str]) -> None:
    for package in PACKAGES:
        shutil.copytree(PROJECT / package, target / package, ignore=shutil.ignore_patterns("__pycache__"))
    models = target / "domain" / "data" / "models.toml"
    text = models.read_text()
    old, new = edit
    assert old in text
    models.write_text(text.replace(old, new, 1))


def serve(project: Path, data_dir: Path) -> subprocess.CompletedProcess[str]:
    config = project / "config.toml"
    config.write_text(config_text([]))
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--config", str(config), "--data-dir", str(data_dir),
         "--port", str(free_port())],
        cwd=project, capture_output=True, text=True, timeout=60)


def test_a_model_entry_with_a_negative_size_stops_start_up_with_one_line_naming_it(tmp_path: Path) -> None:
    project = tmp_path / "project"
    block = '[models."gpt-4o"]\n'
    copy_with_models_toml(project, (block, block + "# broken below\n"))
    text = (project / "domain/data/models.toml").read_text()
    start = text.index("# broken below")
    line_start = text.index("active_params_b", start)
    line_end = text.index("\n", line_start)
    (project / "domain/data/models.toml").write_text(text[:line_start] + "active_params_b = -1" + text[line_end:])
    result = serve(project, tmp_path / "data")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "lowrouter: eco data error: models.gpt-4o: active_params_b must be positive, got -1"]
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "data" / "ledger.sqlite").exists()
