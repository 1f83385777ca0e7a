"""The eco estimate on every response: the same numbers in the JSON body, the streamed usage chunk,
the `EcoEstimated` event and the generation record; none at all for a model of unknown size."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.support.gateway import GatewayProcess, UpstreamSpec, config_text
from tests.support.ledger_file import stored_events
from tests.support.upstream import FakeUpstream

ECO_FIELDS = ("energy_wh", "carbon_g", "carbon_per_1k_tokens_g", "accuracy", "methodology_version")


@pytest.fixture(scope="module")
def eco_gateway(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    """`known/fake` is sized (llama-3.1-8b); `mystery/fake` names a model the registry does not have."""
    root: Path = tmp_path_factory.mktemp("eco-gateway")
    specs = [UpstreamSpec("known", "eu-west", upstream),
             UpstreamSpec("mystery", "eu-west", upstream, active_params="mystery-model-9000")]
    proc = GatewayProcess(root, config_text(specs)).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def key(eco_gateway: GatewayProcess) -> str:
    return eco_gateway.new_key(credits="50", name="eco-key")


@pytest.fixture()
def client(eco_gateway: GatewayProcess, key: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=eco_gateway.api, api_key=key, max_retries=0) as sdk:
        yield sdk




def eco_events(gateway: GatewayProcess, generation_id: str) -> list[dict[str, Any]]:
    return [state for origin, state in stored_events(gateway.data_dir, "Generation.EcoEstimated")
            if origin == generation_id]


def test_a_json_response_record_and_event_carry_the_same_estimate(
        eco_gateway: GatewayProcess, client: openai.OpenAI, key: str) -> None:
    completion = client.chat.completions.create(
        model="known/fake", messages=[{"role": "user", "content": "three words please"}], max_tokens=3)
    eco = completion.model_extra["lowrouter"]["eco"]
    assert set(eco) == set(ECO_FIELDS)
    [event] = eco_events(eco_gateway, completion.id)
    assert {f: event["estimate"][f] for f in ECO_FIELDS} == eco
    assert event["methodology_version"] == eco["methodology_version"] == "ecologits-0.11"
    assert event["inputs"]["model"] == "llama-3.1-8b" and event["inputs"]["completion_tokens"] == 3
    assert eco_gateway.generation(key, completion.id)["eco"] == eco
    assert eco["energy_wh"] > 0 and eco["carbon_g"] > 0


def test_a_streamed_usage_chunk_record_and_event_carry_the_same_estimate(
        eco_gateway: GatewayProcess, client: openai.OpenAI, key: str) -> None:
    chunks = list(client.chat.completions.create(
        model="known/fake", messages=[{"role": "user", "content": "stream"}], max_tokens=4, stream=True))
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == []
    eco = usage_chunk.model_extra["lowrouter"]["eco"]
    [event] = eco_events(eco_gateway, usage_chunk.id)
    assert {f: event["estimate"][f] for f in ECO_FIELDS} == eco
    assert event["inputs"]["completion_tokens"] == 4
    assert eco_gateway.generation(key, usage_chunk.id)["eco"] == eco


def test_a_model_of_unknown_size_gets_no_eco_block_no_event_and_a_recorded_reason(
        eco_gateway: GatewayProcess, client: openai.OpenAI, key: str) -> None:
    completion = client.chat.completions.create(
        model="mystery/fake", messages=[{"role": "user", "content": "who am i"}], max_tokens=2)
    chunks = list(client.chat.completions.create(
        model="mystery/fake", messages=[{"role": "user", "content": "who am i"}], max_tokens=2, stream=True))
    for generation_id, block in ((completion.id, completion.model_extra["lowrouter"]),
                                 (chunks[-1].id, chunks[-1].model_extra["lowrouter"])):
        assert block["provider"] == "mystery"
        assert "eco" not in block
        assert eco_events(eco_gateway, generation_id) == []
        stored = eco_gateway.generation(key, generation_id)
        assert stored["eco"] is None
        assert stored["eco_missing_reason"] == "active parameter count unknown for 'mystery-model-9000'"
