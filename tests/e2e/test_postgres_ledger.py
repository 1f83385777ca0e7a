"""Two gateway processes sharing one PostgreSQL ledger, each with its own DuckDB projections."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.integration.conftest import PG, temporary_schema
from tests.support.gateway import GatewayProcess, UpstreamSpec, config_text
from tests.support.upstream import FakeUpstream

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def schema() -> Iterator[str]:
    with temporary_schema("lr_e2e_") as name:
        yield name


@pytest.fixture(scope="module")
def pair(upstream: FakeUpstream, schema: str,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GatewayProcess, GatewayProcess]]:
    ledger = (f'[ledger]\nbackend = "postgres"\n[ledger.postgres]\nhost = "{PG["host"]}"\nport = {PG["port"]}\n'
              f'dbname = "{PG["dbname"]}"\nuser = "{PG["user"]}"\nschema = "{schema}"\n')
    text = config_text([UpstreamSpec("fake", "eu-west", upstream)], extra=ledger)
    root: Path = tmp_path_factory.mktemp("pg")
    first = GatewayProcess(root / "one", text).start()
    second = GatewayProcess(root / "two", text).start()
    yield first, second
    second.stop()
    first.stop()


def test_a_key_issued_through_one_gateway_works_on_the_other_and_both_read_every_generation(
        pair: tuple[GatewayProcess, GatewayProcess]) -> None:
    first, second = pair
    key = first.new_key(credits="10", name="shared")
    ids = []
    for gateway in (first, second, first):
        deadline = time.monotonic() + 5
        while True:  # the second process learns of the key from the shared log within a poll
            try:
                with openai.OpenAI(base_url=gateway.api, api_key=key, max_retries=0) as sdk:
                    ids.append(sdk.chat.completions.create(
                        model="fake/fake", messages=[{"role": "user", "content": "hi"}], max_tokens=2).id)
                break
            except openai.AuthenticationError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    for gateway in (first, second):
        for generation_id in ids:
            record = gateway.generation(key, generation_id)
            assert record["status"] == "ok" and record["completion_tokens"] == 2
    positions = [httpx.get(f"{g.url}/healthz").json()["ledger_position"] for g in (first, second)]
    assert positions[0] == positions[1] > 0
