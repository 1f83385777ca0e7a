"""Shared fixtures: fake upstreams on loopback and real gateway processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.gateway import GatewayProcess, UpstreamSpec, config_text
from tests.support.upstream import FakeUpstream


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream("primary").start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def gateway(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    """One gateway process in front of one fake OpenAI-compatible upstream (provider `fake`)."""
    root: Path = tmp_path_factory.mktemp("gateway")
    proc = GatewayProcess(root, config_text([UpstreamSpec("fake", "eu-west", upstream)])).start()
    yield proc
    proc.stop()
