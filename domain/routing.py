"""The router: which model, provider and region serve a request, in which order to try them.

Decision order, most specific first: the request's `route` (and `X-LowRouter-Region`), the key's
policy, the operator's defaults, then scoring of what is left on health, latency, carbon and
price; ties within 1% go to the endpoint the same `user` used last, else to a seeded random pick.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence

import msgspec

from domain.catalogue import Catalogue, Endpoint, Model
from domain.errors import (
    InvalidRequestError,
    NoUpstreamAvailableError,
    PermissionDeniedError,
    UnknownModelError,
)
from domain.health import EndpointHealth

TIE_MARGIN = 0.01
TIE_FLOOR = 0.1  # scores near zero tie within 0.001, not within 1% of almost nothing
NO_TEXT_COMPLETIONS = "no legacy text completions"


class RouteNeeds(msgspec.Struct, frozen=True):
    """What the request asks of a model."""

    tools: bool = False
    vision: bool = False
    structured_output: bool = False
    context_tokens: int = 0
    streaming: bool = False
    text_completion: bool = False


class RoutePolicy(msgspec.Struct, frozen=True):
    """The merged constraints: request over key over operator defaults."""

    requested_model: str
    fallback_models: tuple[str, ...] = ()
    provider: str | None = None
    region: str | None = None
    region_pinned_by: str | None = None
    allowed_models: tuple[str, ...] = ()
    carbon_weight: float = 0.0
    price_weight: float = 0.05
    preferred_regions: tuple[str, ...] = ()
    auto_pool: tuple[str, ...] = ()
    fallback: bool = True
    user: str | None = None


class Candidate(msgspec.Struct, frozen=True):
    model: str
    provider: str
    region: str
    eligible: bool
    reason: str
    score: float | None = None
    carbon_per_1k_g: float | None = None


class RoutePlan(msgspec.Struct, frozen=True):
    """Eligible candidates in the order to try them, and every candidate weighed (the trace)."""

    order: tuple[Candidate, ...]
    considered: tuple[Candidate, ...]
    reason: str
    region_locked: bool = False  # a pinned region or `fallback: false`: the first region is never left


CarbonLookup = Callable[[Model, Endpoint], "float | None"]


def _models_for(policy: RoutePolicy, catalogue: Catalogue) -> list[Model]:
    name = policy.requested_model
    if name.startswith("lowrouter/"):
        if name not in ("lowrouter/auto", "lowrouter/auto-cheap", "lowrouter/auto-green"):
            raise UnknownModelError(f"unknown pseudo-model {name!r}", param="model")
        pool = policy.auto_pool or tuple(catalogue.models)
        models = [catalogue.models[m] for m in pool if m in catalogue.models]
        if policy.allowed_models:
            models = [m for m in models if m.id in policy.allowed_models]
        if not models:
            raise PermissionDeniedError("no model in the auto pool is allowed for this key", param="model")
        return models
    names = [name, *policy.fallback_models]
    models = []
    for n in names:
        model = catalogue.model(n)
        if model is None:
            if n == name:
                raise UnknownModelError(f"unknown model {n!r}; see GET /api/v1/models", param="model")
            continue
        if policy.allowed_models and n not in policy.allowed_models:
            if n == name:
                raise PermissionDeniedError(f"this key may not use model {n!r}", param="model")
            continue
        models.append(model)
    return models


def _ineligible_reason(model: Model, endpoint: Endpoint, needs: RouteNeeds, policy: RoutePolicy,
                       catalogue: Catalogue) -> str | None:
    if needs.text_completion and not catalogue.providers[endpoint.provider].supports_completions:
        return NO_TEXT_COMPLETIONS
    if policy.provider and endpoint.provider != policy.provider:
        return f"provider pinned to {policy.provider}"
    if policy.region and endpoint.region != policy.region:
        return f"region pinned to {policy.region} by the {policy.region_pinned_by}"
    caps = model.capabilities
    if needs.tools and not caps.tool_use:
        return "no tool use"
    if needs.vision and not caps.vision:
        return "no vision"
    if needs.structured_output and not caps.structured_output:
        return "no structured output"
    if needs.streaming and not caps.streaming:
        return "no streaming"
    if needs.context_tokens > model.context_length:
        return f"context {model.context_length} < {needs.context_tokens} tokens needed"
    return None


def _scaled(values: Sequence[float | None], unknown: float) -> list[float]:
    """Each value as a share of the largest (0..1), so a 1% difference stays a 1% difference;
    `unknown` stands in for a missing value."""
    high = max((v for v in values if v is not None), default=0.0)
    return [unknown if v is None else (0.0 if high <= 0 else max(v, 0.0) / high) for v in values]


def plan_route(
    policy: RoutePolicy,
    needs: RouteNeeds,
    catalogue: Catalogue,
    health: Callable[[str], EndpointHealth],
    carbon: CarbonLookup,
    *,
    last_used: str | None = None,
    rng: random.Random | None = None,
) -> RoutePlan:
    """Rank every (model, endpoint) pair; raise when nothing is eligible."""
    models = _models_for(policy, catalogue)
    if policy.region and policy.region not in catalogue.regions:
        raise NoUpstreamAvailableError(f"no provider serves region {policy.region!r}", retry_after=30)
    considered: list[Candidate] = []
    pairs: list[tuple[Model, Endpoint, EndpointHealth, float | None, int]] = []
    for rank, model in enumerate(models):
        for endpoint in catalogue.endpoints_for(model):
            why = _ineligible_reason(model, endpoint, needs, policy, catalogue)
            if why is not None:
                considered.append(Candidate(model.id, endpoint.provider, endpoint.region, False, why))
                continue
            pairs.append((model, endpoint, health(endpoint.key), carbon(model, endpoint), rank))
    if not pairs and considered and all(c.reason == NO_TEXT_COMPLETIONS for c in considered):
        raise InvalidRequestError(
            f"{policy.requested_model!r} is served only by providers without legacy text completions; "
            "use /chat/completions", param="model")
    if not pairs:
        raise NoUpstreamAvailableError(
            "no eligible upstream for this request",
            metadata={"candidates": [msgspec.to_builtins(c) for c in considered]},
            retry_after=30,
        )
    explicit = not policy.requested_model.startswith("lowrouter/")
    latency = _scaled([h.median_latency_ms for _, _, h, _, _ in pairs], unknown=0.5)
    carbon_n = _scaled([c for _, _, _, c, _ in pairs], unknown=1.0)
    price_n = _scaled([float(m.price.prompt + 3 * m.price.completion) for m, _, _, _, _ in pairs], unknown=1.0)
    scored: list[tuple[float, Candidate]] = []
    for i, (model, endpoint, h, c, rank) in enumerate(pairs):
        score = (
            2.0 * h.penalty
            + 0.2 * latency[i]
            + policy.carbon_weight * carbon_n[i]
            + policy.price_weight * price_n[i]
            + (0.0 if not policy.preferred_regions or endpoint.region in policy.preferred_regions else 0.1)
            + (rank * 10.0 if explicit else 0.0)
        )
        scored.append((score, Candidate(model.id, endpoint.provider, endpoint.region, True, "eligible",
                                        round(score, 6), c)))
    scored.sort(key=lambda sc: sc[0])
    best_score = scored[0][0]
    ties = [sc for sc in scored if sc[0] <= best_score + TIE_MARGIN * max(abs(best_score), TIE_FLOOR)]
    reason = "best score"
    pick = ties[0]
    if len(ties) > 1:
        sticky = next((sc for sc in ties if f"{sc[1].provider}@{sc[1].region}" == last_used), None)
        if sticky is not None:
            pick, reason = sticky, "tie within 1%: sticky for this user"
        else:
            pick, reason = (rng or random.Random()).choice(ties), "tie within 1%: random pick"
    first = pick[1]
    rest = [sc[1] for sc in scored if sc[1] is not first]
    same_region = [c for c in rest if c.region == first.region]
    other_regions = [c for c in rest if c.region != first.region]
    may_leave_region = policy.fallback and policy.region is None
    order = [first, *same_region, *(other_regions if may_leave_region else [])]
    if not may_leave_region:
        why = "fallback disabled" if not policy.fallback else f"region pinned by the {policy.region_pinned_by}"
        considered.extend(msgspec.structs.replace(c, eligible=False, reason=why) for c in other_regions)
    return RoutePlan(order=tuple(order), considered=tuple(considered + order), reason=reason,
                     region_locked=not may_leave_region)


def merged_carbon_weight(request: bool | float | None, key: bool, operator: float, pseudo: str) -> float:
    """`prefer_low_carbon` as a weight 0..1: request over key over operator; auto-green is 1."""
    if pseudo == "lowrouter/auto-green":
        return 1.0
    if request is not None:
        return (1.0 if request else 0.0) if isinstance(request, bool) else max(0.0, min(float(request), 1.0))
    if key:
        return 1.0
    return operator


def route_health_lookup(stats: Mapping[str, EndpointHealth]) -> Callable[[str], EndpointHealth]:
    default = EndpointHealth("ok", 0.0, None, None, 0, 0)
    return lambda key: stats.get(key, default)
