"""Typed settings, read once at start-up from one TOML file (the bundled default unless given).

Secrets are never in the file: a provider names the environment variable holding its key.
Anything missing or invalid stops start-up with one line naming the setting.
"""

from __future__ import annotations

import functools
import os
import tomllib
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from domain.catalogue import Capabilities, Catalogue, Endpoint, Model, Price, Provider
from domain.money import to_micro

CAPABILITY_NAMES = frozenset(Capabilities.__struct_fields__)
PROVIDER_KINDS = frozenset({"openai", "anthropic", "simulator"})


class ConfigError(Exception):
    """The configuration cannot be used; the message names the setting."""


class ServerSettings(msgspec.Struct, forbid_unknown_fields=True):
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 10_000_000
    access_log: bool = True


class PostgresSettings(msgspec.Struct, forbid_unknown_fields=True):
    host: str = "127.0.0.1"
    port: int = 5432
    dbname: str = "lowrouter"
    user: str = "postgres"
    password_env: str | None = None
    schema: str | None = None


class LedgerSettings(msgspec.Struct, forbid_unknown_fields=True):
    backend: Literal["sqlite", "postgres"] = "sqlite"
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "NORMAL"
    store_content: bool = False
    postgres: PostgresSettings = msgspec.field(default_factory=PostgresSettings)
    projector_poll_ms: int = 250
    # DuckDB's JSON reader takes a 32 MiB read buffer for every batch the projector stages; at 48 MB
    # batches failed under load (docs/configuration.md), so less than 64 is refused at start.
    projections_memory_mb: Annotated[int, msgspec.Meta(ge=64)] = 96


class CreditSettings(msgspec.Struct, forbid_unknown_fields=True):
    currency: str = "EUR"
    credit_value: str = "0.01"
    platform_fee_per_1k: str = "0"


class RoutingSettings(msgspec.Struct, forbid_unknown_fields=True):
    preferred_regions: list[str] = msgspec.field(default_factory=list)
    carbon_weight: float = 0.0
    auto_pool: list[str] = msgspec.field(default_factory=list)
    connect_timeout_s: float = 5.0
    first_byte_timeout_s: float = 60.0
    idle_timeout_s: float = 120.0
    keepalive_after_s: float = 2.0
    keepalive_every_s: float = 10.0
    default_max_output_tokens: int = 4096


class EndpointSettings(msgspec.Struct, forbid_unknown_fields=True):
    region: str
    base_url: str | None = None


class ProviderSettings(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    kind: str
    endpoints: list[EndpointSettings]
    api_key_env: str | None = None
    enabled: bool | Literal["if_key", "if_no_provider_keys"] = "if_key"
    supports_completions: bool = True


class ModelSettings(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    upstream: str
    prompt_per_1k: str | float
    completion_per_1k: str | float
    context_length: int
    cached_prompt_per_1k: str | float | None = None
    max_output_tokens: int = 4096
    capabilities: list[str] = msgspec.field(default_factory=lambda: ["streaming"])
    regions: list[str] | None = None
    eco_name: str | None = None
    name: str = ""


class Settings(msgspec.Struct, forbid_unknown_fields=True):
    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    ledger: LedgerSettings = msgspec.field(default_factory=LedgerSettings)
    credits: CreditSettings = msgspec.field(default_factory=CreditSettings)
    routing: RoutingSettings = msgspec.field(default_factory=RoutingSettings)
    providers: list[ProviderSettings] = msgspec.field(default_factory=list)
    models: list[ModelSettings] = msgspec.field(default_factory=list)
    admin_key_env: str = "LOWROUTER_ADMIN_KEY"

    @property
    def platform_fee_micro_per_1k(self) -> int:
        return _fee_micro(self.credits.platform_fee_per_1k)


@functools.lru_cache(maxsize=16)
def _fee_micro(fee: str) -> int:
    return to_micro(fee)


def default_config_text() -> str:
    return resources.files("app").joinpath("default_config.toml").read_text()


def load_settings(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read the config file (or the bundled default) into typed settings, or raise ConfigError."""
    env = os.environ if environ is None else environ
    chosen = path or env.get("LOWROUTER_CONFIG")
    try:
        text = Path(chosen).read_text() if chosen else default_config_text()
    except OSError as e:
        raise ConfigError(f"cannot read config file {chosen}: {e.strerror}") from e
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {chosen or '(default)'} is not valid TOML: {e}") from e
    try:
        settings = msgspec.convert(raw, Settings)
    except msgspec.ValidationError as e:
        raise ConfigError(f"config file {chosen or '(default)'}: {e}") from e
    _check(settings)
    return settings


def _check(settings: Settings) -> None:
    try:
        Decimal(settings.credits.credit_value)
        to_micro(settings.credits.platform_fee_per_1k)
    except (ArithmeticError, ValueError) as e:
        raise ConfigError(f"credits: not a number: {e}") from e
    ids = [p.id for p in settings.providers]
    for p in settings.providers:
        if p.kind not in PROVIDER_KINDS:
            raise ConfigError(f"providers.{p.id}.kind must be one of {sorted(PROVIDER_KINDS)}, not {p.kind!r}")
        if not p.endpoints:
            raise ConfigError(f"providers.{p.id}.endpoints is empty")
        for endpoint in p.endpoints:
            if p.kind != "simulator" and not endpoint.base_url:
                raise ConfigError(f"providers.{p.id}.endpoints[{endpoint.region}].base_url is missing")
    if len(set(ids)) != len(ids):
        raise ConfigError("providers: duplicate provider id")
    seen: set[str] = set()
    for m in settings.models:
        where = f"models.{m.id}"
        if m.id in seen:
            raise ConfigError(f"{where}: duplicate model id")
        seen.add(m.id)
        provider = m.id.split("/", 1)[0]
        if "/" not in m.id or provider not in ids:
            raise ConfigError(f"{where}: id must be <provider>/<model> with a configured provider")
        unknown = set(m.capabilities) - CAPABILITY_NAMES
        if unknown:
            raise ConfigError(f"{where}.capabilities: unknown {sorted(unknown)}")
        for price_name in ("prompt_per_1k", "completion_per_1k", "cached_prompt_per_1k"):
            value = getattr(m, price_name)
            if value is None:
                continue
            try:
                micro = to_micro(value)
            except ValueError as err:
                raise ConfigError(f"{where}.{price_name}: {err}") from err
            if micro < 0:
                raise ConfigError(f"{where}.{price_name} is negative")
        if m.context_length <= 0 or m.max_output_tokens <= 0:
            raise ConfigError(f"{where}: context_length and max_output_tokens must be positive")


def provider_enabled(p: ProviderSettings, environ: dict[str, str] | os._Environ[str], any_keys: bool) -> bool:
    if isinstance(p.enabled, bool):
        return p.enabled
    if p.enabled == "if_no_provider_keys":
        return not any_keys
    return p.api_key_env is None or bool(environ.get(p.api_key_env))


def build_catalogue(settings: Settings, environ: dict[str, str] | os._Environ[str] | None = None) -> Catalogue:
    """The catalogue of enabled providers and their models."""
    env = os.environ if environ is None else environ
    any_keys = any(p.api_key_env and env.get(p.api_key_env) for p in settings.providers if p.kind != "simulator")
    providers = [
        Provider(
            id=p.id,
            kind=p.kind,
            endpoints=tuple(Endpoint(p.id, e.region, e.base_url) for e in p.endpoints),
            api_key_env=p.api_key_env,
            supports_completions=p.supports_completions and p.kind != "anthropic",
        )
        for p in settings.providers
        if provider_enabled(p, env, bool(any_keys))
    ]
    enabled = {p.id: p for p in providers}
    models = []
    for m in settings.models:
        provider = enabled.get(m.id.split("/", 1)[0])
        if provider is None:
            continue
        prompt = to_micro(m.prompt_per_1k)
        models.append(
            Model(
                id=m.id,
                provider=provider.id,
                upstream_model=m.upstream,
                price=Price(
                    prompt=prompt,
                    completion=to_micro(m.completion_per_1k),
                    cached_prompt=prompt if m.cached_prompt_per_1k is None else to_micro(m.cached_prompt_per_1k),
                ),
                context_length=m.context_length,
                max_output_tokens=m.max_output_tokens,
                capabilities=Capabilities(**{c: (c in m.capabilities) for c in CAPABILITY_NAMES}),
                regions=tuple(m.regions) if m.regions else provider.regions,
                eco_name=m.eco_name or m.upstream,
                name=m.name or m.id,
            )
        )
    return Catalogue(providers, models, settings.routing.auto_pool)


def settings_to_builtins(settings: Settings) -> dict[str, Any]:
    return msgspec.to_builtins(settings)  # type: ignore[no-any-return]
