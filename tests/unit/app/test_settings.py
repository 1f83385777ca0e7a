"""Settings: the bundled default and the example config load; a broken config is one clear error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.settings import ConfigError, build_catalogue, load_settings

ROOT = Path(__file__).resolve().parents[3]


def test_the_bundled_default_enables_only_the_simulator_when_no_provider_key_is_set() -> None:
    catalogue = build_catalogue(load_settings(environ={}), {})
    assert {m.split("/")[0] for m in catalogue.models} == {"simulator"}
    assert catalogue.auto_pool == ("simulator/small", "simulator/large")


def test_a_provider_key_variable_enables_that_provider_and_retires_the_simulator() -> None:
    catalogue = build_catalogue(load_settings(environ={}), {"OPENAI_API_KEY": "sk-test"})
    assert {m.split("/")[0] for m in catalogue.models} == {"openai"}


def test_the_example_config_in_the_repository_is_valid() -> None:
    settings = load_settings(ROOT / "config" / "lowrouter.example.toml")
    assert settings.routing.carbon_weight == 0.3
    assert settings.platform_fee_micro_per_1k == 1000


@pytest.mark.parametrize(("text", "names"), [
    ("[server]\nport = 'eighty'\n", "port"),
    ("[[providers]]\nid = 'x'\nkind = 'grpc'\nendpoints = [{region = 'eu-west', base_url = 'http://h'}]\n", "kind"),
    ("[[providers]]\nid = 'x'\nkind = 'openai'\nendpoints = [{region = 'eu-west'}]\n", "base_url"),
    ("[[providers]]\nid = 'x'\nkind = 'openai'\nendpoints = [{region = 'r', base_url = 'http://h'}]\n"
     "[[models]]\nid = 'x/m'\nupstream = 'm'\nprompt_per_1k = '-1'\ncompletion_per_1k = '1'\n"
     "context_length = 10\n", "prompt_per_1k"),
    ("[[models]]\nid = 'nope/m'\nupstream = 'm'\nprompt_per_1k = '1'\ncompletion_per_1k = '1'\n"
     "context_length = 10\n", "nope/m"),
    ("this is not toml", "TOML"),
    # DuckDB's JSON reader takes a 32 MiB buffer for every batch: below 64 MB the projector fails.
    ("[ledger]\nprojections_memory_mb = 48\n", "projections_memory_mb"),
])
def test_an_invalid_config_fails_with_one_error_naming_the_setting(tmp_path: Path, text: str, names: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=names):
        load_settings(path)


def test_serve_with_a_broken_config_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[server]\nport = 'eighty'\n")
    result = subprocess.run([sys.executable, "-m", "app.cli", "serve", "--config", str(path),
                             "--data-dir", str(tmp_path / "data")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lowrouter: configuration error:") and "port" in lines[0]


def test_every_command_explains_itself_with_help() -> None:
    for args in (["--help"], ["serve", "--help"], ["keys", "create", "--help"], ["replay", "--help"]):
        result = subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and "usage: lowrouter" in result.stdout
