"""The provider table: one row per provider kind. Every other list derives from it."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from adapters.providers.openai_compatible import OpenAICompatibleProvider
from adapters.providers.simulator import SimulatorProvider
from adapters.providers.upstream_http import UpstreamClient
from domain.catalogue import Provider
from domain.ports import ChatProvider

Factory = Callable[[UpstreamClient, str | None], ChatProvider]


def _anthropic(client: UpstreamClient, key: str | None) -> ChatProvider:
    from adapters.providers.anthropic import AnthropicProvider

    provider: ChatProvider = AnthropicProvider(client, key)
    return provider


PROVIDER_KINDS: Mapping[str, Factory] = {
    "openai": lambda client, key: OpenAICompatibleProvider(client, key),
    "anthropic": _anthropic,
    "simulator": lambda client, key: SimulatorProvider(),
}


def build_providers(
    providers: Mapping[str, Provider], client: UpstreamClient,
    environ: Mapping[str, str] | None = None,
) -> dict[str, ChatProvider]:
    """One adapter per enabled provider; keys are read from the environment, here and only here."""
    env = os.environ if environ is None else environ
    return {
        p.id: PROVIDER_KINDS[p.kind](client, env.get(p.api_key_env) if p.api_key_env else None)
        for p in providers.values()
    }
