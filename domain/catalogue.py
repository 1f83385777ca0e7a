"""The catalogue: providers, their regional endpoints, and the models offered through them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

PSEUDO_MODELS = ("lowrouter/auto", "lowrouter/auto-cheap", "lowrouter/auto-green")


class Price(msgspec.Struct, frozen=True):
    """Micro-credits per 1K tokens."""

    prompt: int
    completion: int
    cached_prompt: int


class Capabilities(msgspec.Struct, frozen=True):
    tool_use: bool = False
    vision: bool = False
    structured_output: bool = False
    streaming: bool = True


class Endpoint(msgspec.Struct, frozen=True):
    """One provider in one region: the unit of health, latency and carbon."""

    provider: str
    region: str
    base_url: str | None

    @property
    def key(self) -> str:
        return f"{self.provider}@{self.region}"


class Provider(msgspec.Struct, frozen=True):
    id: str
    kind: str
    endpoints: tuple[Endpoint, ...]
    api_key_env: str | None = None
    supports_completions: bool = True

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(e.region for e in self.endpoints)


class Model(msgspec.Struct, frozen=True):
    """A model offered through one provider, under the public id `<provider>/<name>`."""

    id: str
    provider: str
    upstream_model: str
    price: Price
    context_length: int
    max_output_tokens: int
    capabilities: Capabilities
    regions: tuple[str, ...]
    eco_name: str
    name: str = ""


class Catalogue:
    """Every enabled provider and model, looked up by id."""

    def __init__(self, providers: Iterable[Provider], models: Iterable[Model], auto_pool: Iterable[str]):
        self.providers: Mapping[str, Provider] = {p.id: p for p in providers}
        self.models: Mapping[str, Model] = {m.id: m for m in models}
        self.auto_pool: tuple[str, ...] = tuple(m for m in auto_pool if m in self.models)

    def model(self, model_id: str) -> Model | None:
        return self.models.get(model_id)

    def endpoints_for(self, model: Model) -> list[Endpoint]:
        provider = self.providers[model.provider]
        return [e for e in provider.endpoints if e.region in model.regions]

    def endpoint(self, provider: str, region: str) -> Endpoint | None:
        p = self.providers.get(provider)
        if p is None:
            return None
        return next((e for e in p.endpoints if e.region == region), None)

    @property
    def regions(self) -> frozenset[str]:
        return frozenset(e.region for p in self.providers.values() for e in p.endpoints)
