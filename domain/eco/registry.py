"""The model registry: parameter counts per model, and lookup by the names upstreams use."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

from domain.eco.accuracy import Band


class ModelParams(msgspec.Struct, frozen=True):
    """Size of one model, in billions of parameters, and where the count comes from."""

    name: str
    total_params_b: float
    active_params_b: float
    moe: bool
    kind: str
    source: str
    band: Band
    aliases: tuple[str, ...] = ()


def normalise_name(name: str) -> str:
    """The lookup key for a model name: trimmed and lowercased."""
    return name.strip().lower()


class ModelRegistry:
    """Finds a model's parameters by canonical name or alias, case-insensitively."""

    def __init__(self, models: Iterable[ModelParams]) -> None:
        self._models: tuple[ModelParams, ...] = tuple(models)
        self._by_key: dict[str, ModelParams] = {}
        for model in self._models:
            for key in (model.name, *model.aliases):
                self._by_key[normalise_name(key)] = model

    @property
    def models(self) -> tuple[ModelParams, ...]:
        return self._models

    @property
    def keys(self) -> Mapping[str, ModelParams]:
        return self._by_key

    def find(self, model_name: str) -> ModelParams | None:
        """The model's parameters, trying the whole name, then what follows its first "/"."""
        key = normalise_name(model_name)
        found = self._by_key.get(key)
        if found is None and "/" in key:
            found = self._by_key.get(key.split("/", 1)[1])
        return found
