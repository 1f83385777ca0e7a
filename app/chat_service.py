"""The use case `complete_chat`: admit, route, record, call upstreams with failover, settle.

Ledger order, per request: `RequestReceived` + the first `RouteResolved` are committed while the
first upstream call goes out, and are durable before anything of its answer is used (relayed,
charged) and before any later save; each failed attempt's `AttemptFailed` is saved with the next
`RouteResolved`; `UsageRecorded` (+ `EcoEstimated`) is durable before the client gets the final
body or usage chunk.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from app.gateway import Gateway
from domain.catalogue import Model
from domain.chat import GATEWAY_FIELDS, ChatRequest, message_text, validate_chat
from domain.eco import EcoEstimate, estimate
from domain.errors import (
    GatewayError,
    InsufficientCreditsError,
    InternalError,
    InvalidRequestError,
    NoUpstreamAvailableError,
    PermissionDeniedError,
    UpstreamError,
)
from domain.generation import STATUS_OK, STATUS_UPSTREAM_ERROR, Generation
from domain.ids import new_generation_id
from domain.money import credits_number
from domain.pricing import TokenUsage, affordable_output_tokens, cost_micro, worst_case_micro
from domain.routing import Candidate, RouteNeeds, RoutePlan, RoutePolicy, merged_carbon_weight, plan_route
from domain.tokens import estimate_prompt_tokens
from domain.upstream_usage import read_usage
from projections.credit_book import Reservation
from projections.key_directory import KeyRecord

log = logging.getLogger("lowrouter.chat")


@dataclass
class Attempt:
    candidate: Candidate
    model: Model
    number: int
    started: float


@dataclass
class Prepared:
    """A request admitted and recorded, ready for its upstream attempts."""

    generation: Generation
    request: ChatRequest
    body: dict[str, Any]
    plan: RoutePlan
    key: KeyRecord
    reservation: Reservation
    endpoint_kind: str
    started: float
    prompt_estimate: int
    attempt: Attempt
    tried: list[Candidate] = field(default_factory=list)
    # The opening record (`RequestReceived` + first `RouteResolved`) until it is known durable.
    opening: asyncio.Future[int] | None = None


@dataclass
class Outcome:
    """What the client is told at the end: usage with cost, and the `lowrouter` block."""

    usage: dict[str, Any]
    block: dict[str, Any]
    balance_micro: int


def parse_chat(raw: object) -> ChatRequest:
    if not isinstance(raw, dict):
        raise InvalidRequestError("the request body must be a JSON object")
    try:
        return validate_chat(raw)
    except msgspec.ValidationError as e:
        text = str(e)
        param = text.rpartition("at `$.")[2].rstrip("`") if "at `$." in text else None
        raise InvalidRequestError(f"invalid request: {text}", param=param) from e


def _policy(gw: Gateway, req: ChatRequest, key: KeyRecord, region_header: str | None) -> RoutePolicy:
    route = req.route
    region, pinned_by = None, None
    if key.policy.region:
        region, pinned_by = key.policy.region, "key"
    asked = (route.region if route and route.region else None) or region_header
    if asked:
        if region and asked != region:
            raise PermissionDeniedError(f"this key is pinned to region {region!r}", param="route.region")
        region, pinned_by = asked, "request"
    # The operator's defaults recorded in the ledger (dashboard) win over the config file's.
    recorded = gw.routing_defaults.current()
    defaults = gw.settings.routing if recorded is None else recorded
    auto_pool = gw.catalogue.auto_pool if recorded is None else tuple(
        m for m in recorded.auto_pool if m in gw.catalogue.models)
    return RoutePolicy(
        requested_model=req.model,
        fallback_models=tuple(m for m in (req.models or []) if m != req.model),
        provider=route.provider if route else None,
        region=region,
        region_pinned_by=pinned_by,
        allowed_models=key.policy.models,
        carbon_weight=merged_carbon_weight(route.prefer_low_carbon if route else None,
                                           key.policy.prefer_low_carbon, defaults.carbon_weight, req.model),
        price_weight=2.0 if req.model == "lowrouter/auto-cheap" else 0.05,
        preferred_regions=tuple(defaults.preferred_regions),
        auto_pool=auto_pool,
        fallback=route.fallback if route else True,
        user=req.user,
    )


def _upstream_body(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k not in GATEWAY_FIELDS}


async def prepare(gw: Gateway, key: KeyRecord, raw: dict[str, Any], endpoint_kind: str,
                  region_header: str | None = None, req: ChatRequest | None = None) -> Prepared:
    """Validate, route, admit (reserve the worst case) and record the request.

    The record is queued, not awaited: its commit is made while the first upstream call goes out
    (at one connection 991 → 1,128 req/s against committing first, docs/benchmarks.md), and
    `opening_recorded` waits for it before the answer is used.
    """
    received = time.monotonic()
    req = req or parse_chat(raw)
    if req.n is not None and req.n > 1:
        raise InvalidRequestError("n > 1 is not supported", param="n")
    chars, count = message_text(req.messages)
    prompt_estimate = estimate_prompt_tokens(chars, count)
    if endpoint_kind == "completions":
        prompt_estimate = estimate_prompt_tokens(len(str(raw.get("prompt", ""))), 1)
    cap = req.output_cap()
    needs = RouteNeeds(tools=bool(req.tools), vision=req.needs_vision(),
                       structured_output=req.needs_structured_output(),
                       context_tokens=prompt_estimate + (cap or 0), streaming=req.stream,
                       text_completion=endpoint_kind == "completions")
    policy = _policy(gw, req, key, region_header)
    now = time.monotonic()
    plan = plan_route(policy, needs, gw.catalogue, lambda k: gw.health.snapshot(k, now), gw.carbon_per_1k,
                      last_used=gw.sticky.get(req.user) if req.user else None, rng=gw.rng)
    fee = gw.settings.platform_fee_micro_per_1k
    worst = 0
    for c in plan.order:
        m = gw.catalogue.models[c.model]
        out = min(cap or m.max_output_tokens, m.max_output_tokens)
        worst = max(worst, worst_case_micro(prompt_estimate, out, m.price, fee))
    reservation, limit, left = gw.credits.try_reserve(
        key.account_id, key.key_id, worst, datetime.now(UTC),
        key.policy.daily_credit_limit_micro, key.policy.monthly_credit_limit_micro)
    if reservation is None:
        # The largest max_tokens admitted again: it must fit on every candidate, as `worst` does.
        affordable = min(min(affordable_output_tokens(max(left, 0), prompt_estimate, m.price, fee),
                             m.max_output_tokens)
                         for m in (gw.catalogue.models[c.model] for c in plan.order))
        what = {"balance": "not enough credits", "daily_credit_limit": "the key's daily credit limit is reached",
                "monthly_credit_limit": "the key's monthly credit limit is reached"}[limit or "balance"]
        raise InsufficientCreditsError(
            f"{what}: this request may cost up to {credits_number(worst)} credits, "
            f"{credits_number(max(left, 0))} are available; lower max_tokens to at most {affordable}",
            metadata={"limit": limit, "required_credits": credits_number(worst),
                      "available_credits": credits_number(max(left, 0)), "max_affordable_tokens": affordable,
                      "prompt_tokens_estimate": prompt_estimate})
    generation_id = new_generation_id()
    first = plan.order[0]
    store = gw.settings.ledger.store_content
    generation = Generation.receive(
        generation_id,
        account_id=key.account_id, key_id=key.key_id, requested_model=req.model, endpoint=endpoint_kind,
        streamed=req.stream, prompt_tokens_estimate=prompt_estimate, max_tokens=cap,
        reserved_micro=reservation.amount_micro,
        route={"provider": policy.provider, "region": policy.region, "region_pinned_by": policy.region_pinned_by,
               "carbon_weight": policy.carbon_weight, "fallback": policy.fallback,
               "models": list(policy.fallback_models)},
        user_hash=hashlib.sha256(req.user.encode()).hexdigest()[:16] if req.user else None,
        content={"messages": raw.get("messages"), "prompt": raw.get("prompt")} if store else None,
    )
    attempt = _resolve(gw, generation, plan, first, 1)
    opening = gw.writer.queue(generation.collect_events())
    return Prepared(generation, req, _upstream_body(raw), plan, key, reservation, endpoint_kind,
                    received, prompt_estimate, attempt, opening=opening)


async def opening_recorded(gw: Gateway, p: Prepared) -> None:
    """Wait until the request's opening record is durable: before any later save of the generation
    (`next_attempt`, `finish`) and before a stream's first chunk is relayed (`open_stream`).

    If the ledger refused it, the reservation is released and the ledger's error raised: the
    answer is dropped, nothing is charged or relayed. A caller cancelled while waiting leaves the
    write to finish (it is in its batch either way) and the wait to whoever comes next.
    """
    opening = p.opening
    if opening is None:
        return
    if not opening.done():
        await asyncio.shield(opening)
    p.opening = None
    error = opening.exception()
    if error is not None:
        gw.credits.release(p.reservation)
        raise error


def _resolve(gw: Gateway, generation: Generation, plan: RoutePlan, candidate: Candidate, number: int) -> Attempt:
    generation.resolve_route(
        attempt=number, provider=candidate.provider, region=candidate.region, model=candidate.model,
        upstream_model=gw.catalogue.models[candidate.model].upstream_model,
        reason=plan.reason if number == 1 else "failover: next candidate",
        candidates=[msgspec.to_builtins(c) for c in plan.considered],
    )
    return Attempt(candidate, gw.catalogue.models[candidate.model], number, time.monotonic())


async def next_attempt(gw: Gateway, p: Prepared, error: UpstreamError) -> Attempt | None:
    """Record a failed attempt; pick, record and return the next one, or None when none is left."""
    await opening_recorded(gw, p)
    a = p.attempt
    now = time.monotonic()
    if error.retryable:  # a request the upstream rightly refused says nothing about its health
        gw.health.record_failure(f"{a.candidate.provider}@{a.candidate.region}", now)
    p.generation.fail_attempt(
        attempt=a.number, provider=a.candidate.provider, region=a.candidate.region, model=a.candidate.model,
        error_type=error.type, upstream_status=error.upstream_status, message=error.message,
        elapsed_ms=round((now - a.started) * 1000, 3))
    p.tried.append(a.candidate)
    remaining = [c for c in p.plan.order if c not in p.tried]
    if not error.retryable or not remaining:
        return None
    p.attempt = _resolve(gw, p.generation, p.plan, remaining[0], a.number + 1)
    await gw.writer.save(p.generation.collect_events())
    return p.attempt


def final_error(p: Prepared, last: UpstreamError) -> GatewayError:
    """What the client sees when no attempt succeeded.

    A failure that is the request's own fault (400 rejected): that error. One retryable failure of
    the only candidate: that upstream's own failure (502 bad answer or 5xx, 504 timeout, 503
    unreachable, 429 rate limited). Several retryable failures, or a region the request may not
    leave (pinned, or `fallback: false`) with nothing left in it: 503 `no_upstream_available`
    (fail closed), listing each attempt in `metadata`.
    """
    if not last.retryable or (len(p.tried) <= 1 and not p.plan.region_locked):
        if last.retryable:
            last.retry_after = 10
        return last
    region = p.attempt.candidate.region
    where = f" in region {region}, which this request may not leave," if p.plan.region_locked else ""
    return NoUpstreamAvailableError(
        f"every eligible upstream{where} failed ({len(p.tried)} tried); last: {last.message}",
        metadata={"attempts": [f"{c.provider}@{c.region} {c.model}" for c in p.tried]},
        retry_after=30,
    )


def upstream_body(p: Prepared) -> dict[str, Any]:
    return {**p.body, "model": p.attempt.model.upstream_model}


async def finish(
    gw: Gateway, p: Prepared, *, usage: TokenUsage | None, estimated: bool, finish_reason: str | None,
    status: str, http_status: int, latency_ms: float, cancelled: bool = False,
    error: GatewayError | None = None,
) -> Outcome:
    """Price, estimate eco, settle the reservation and durably record the end of the generation."""
    await opening_recorded(gw, p)
    a = p.attempt
    answered = usage is not None
    tokens = usage or TokenUsage(0, 0)
    model = a.model if answered else None
    owed = cost_micro(tokens, model.price, gw.settings.platform_fee_micro_per_1k) if model else 0
    generation_ms = round((time.monotonic() - a.started) * 1000, 3)
    eco: EcoEstimate | None = None
    eco_note = None
    if model is not None:
        inputs = gw.eco.inputs_for(model.eco_name, a.candidate.provider, a.candidate.region,
                                   tokens.prompt_tokens, tokens.completion_tokens, generation_ms / 1000)
        if inputs is None:
            eco_note = f"active parameter count unknown for {model.eco_name!r}"
        else:
            eco = estimate(inputs)
    # Settle first (it may cap a cost above the reservation, see CreditBook.settle), then record
    # exactly what was charged, dated as the book dated it.
    charged_at = datetime.now(UTC)
    charged_on = charged_at.date()
    cost = gw.credits.settle(p.reservation, p.generation.id, owed, charged_on)
    try:
        p.generation.record_usage(
            timestamp=charged_at,
            account_id=p.key.account_id, key_id=p.key.key_id, status=status, http_status=http_status,
            finish_reason=finish_reason, provider=a.candidate.provider if answered else None,
            region=a.candidate.region if answered else None, model=model.id if model else None,
            prompt_tokens=tokens.prompt_tokens, completion_tokens=tokens.completion_tokens,
            cached_tokens=tokens.cached_tokens, usage_estimated=estimated, cost_micro=cost,
            price=msgspec.to_builtins(model.price) | {"platform_fee": gw.settings.platform_fee_micro_per_1k}
            if model else None,
            latency_ms=round(latency_ms, 3), generation_ms=generation_ms, cancelled=cancelled,
            error_type=error.type if error else None, error_message=error.message if error else None,
            eco_note=eco_note, uncharged_micro=owed - cost,
        )
        if eco is not None and inputs is not None:
            p.generation.estimate_eco(methodology_version=eco.methodology_version,
                                      inputs=msgspec.to_builtins(inputs), estimate=msgspec.to_builtins(eco))
        await gw.writer.save(p.generation.collect_events())
    except BaseException:
        gw.credits.unsettle(p.reservation, p.generation.id, cost, charged_on)
        raise
    if answered:
        gw.health.record_success(f"{a.candidate.provider}@{a.candidate.region}", time.monotonic(), latency_ms)
        if p.request.user:
            gw.remember_endpoint(p.request.user, f"{a.candidate.provider}@{a.candidate.region}")
    usage_out: dict[str, Any] = {
        "prompt_tokens": tokens.prompt_tokens, "completion_tokens": tokens.completion_tokens,
        "total_tokens": tokens.total_tokens, "prompt_tokens_details": {"cached_tokens": tokens.cached_tokens},
        "cost": credits_number(cost),
    }
    if estimated and answered:
        usage_out["estimated"] = True
    block: dict[str, Any] = {"generation_id": p.generation.id, "provider": a.candidate.provider,
                             "region": a.candidate.region, "model": a.candidate.model}
    if eco is not None:
        block["eco"] = {"energy_wh": eco.energy_wh, "carbon_g": eco.carbon_g,
                        "carbon_per_1k_tokens_g": eco.carbon_per_1k_tokens_g, "accuracy": eco.accuracy,
                        "methodology_version": eco.methodology_version}
    return Outcome(usage_out, block, gw.credits.available(p.key.account_id))


async def fail(gw: Gateway, p: Prepared, error: GatewayError, latency_ms: float) -> None:
    """Close a generation that got no answer: free, with the error recorded."""
    await finish(gw, p, usage=None, estimated=False, finish_reason=None, status=STATUS_UPSTREAM_ERROR,
                 http_status=error.status, latency_ms=latency_ms, error=error)


async def abandon(gw: Gateway, p: Prepared, error: Exception) -> InternalError:
    """Close a generation whose provider call failed in a way no upstream answer explains (a bug in
    a provider adapter): recorded as failed with `internal_error`, charged nothing, its reservation
    released. Returns the error for the client; the details go to the log, not to the client."""
    log.error("provider %s failed unexpectedly on generation %s", p.attempt.candidate.provider, p.generation.id,
              exc_info=error)
    internal = InternalError(f"internal error while calling provider {p.attempt.candidate.provider!r}")
    await fail(gw, p, internal, (time.monotonic() - p.started) * 1000)
    return internal


async def complete_json(gw: Gateway, p: Prepared) -> tuple[dict[str, Any], Outcome]:
    """Call upstreams until one answers; return the OpenAI-shaped body and the outcome."""
    while True:
        a = p.attempt
        provider = gw.providers[a.candidate.provider]
        endpoint = gw.catalogue.endpoint(a.candidate.provider, a.candidate.region)
        assert endpoint is not None
        try:
            if p.endpoint_kind == "completions":
                answer = await provider.complete_text(upstream_body(p), a.model, endpoint, gw.timeouts)
            else:
                answer = await provider.complete(upstream_body(p), a.model, endpoint, gw.timeouts)
        except UpstreamError as e:
            if await next_attempt(gw, p, e) is None:
                final = final_error(p, e)
                await fail(gw, p, final, (time.monotonic() - p.started) * 1000)
                raise final from None
            continue
        except Exception as e:
            raise await abandon(gw, p, e) from e
        choices = answer.get("choices") or [{}]
        first = choices[0] if isinstance(choices[0], dict) else {}
        message = first.get("message") or {}
        text = message.get("content") if isinstance(message, dict) else first.get("text")
        usage, estimated = read_usage(answer, p.prompt_estimate, len(text) if isinstance(text, str) else 0)
        reason = first.get("finish_reason")
        if reason is not None and not isinstance(reason, str):  # an upstream's bug: relayed and recorded as none
            reason = first["finish_reason"] = None
        outcome = await finish(gw, p, usage=usage, estimated=estimated, finish_reason=reason,
                               status=STATUS_OK, http_status=200,
                               latency_ms=(time.monotonic() - p.started) * 1000)
        answer["id"] = p.generation.id
        answer["model"] = a.candidate.model
        answer["usage"] = outcome.usage
        answer["lowrouter"] = outcome.block
        return answer, outcome
