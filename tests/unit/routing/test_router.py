"""The router: eligibility, scoring, tie-breaks and the failover order, from the same inputs."""

from __future__ import annotations

import random

import pytest

from domain.catalogue import Capabilities
from domain.errors import InvalidRequestError, NoUpstreamAvailableError, PermissionDeniedError, UnknownModelError
from domain.health import HealthBook
from domain.routing import CarbonLookup, RouteNeeds, RoutePolicy, merged_carbon_weight, plan_route
from tests.unit.routing.catalogues import carbon_by_region, catalogue, healthy, model, provider

TWO_REGIONS = catalogue([provider("acme", "eu-west", "us-east")], [model("acme/m")])
NO_CARBON = carbon_by_region({})


def picked_region(policy: RoutePolicy, seed: int, carbon: CarbonLookup = NO_CARBON) -> str:
    return plan_route(policy, RouteNeeds(), TWO_REGIONS, healthy(), carbon, rng=random.Random(seed)).order[0].region


def test_the_same_inputs_and_seed_give_the_same_plan() -> None:
    policy = RoutePolicy("acme/m")
    plans = [plan_route(policy, RouteNeeds(), TWO_REGIONS, healthy(), NO_CARBON, rng=random.Random(s))
             for s in (3, 3, 11, 11)]
    assert plans[0] == plans[1] and plans[2] == plans[3]


def test_an_exact_tie_is_broken_at_random_so_both_endpoints_get_traffic() -> None:
    picks = {picked_region(RoutePolicy("acme/m"), seed) for seed in range(30)}
    assert picks == {"eu-west", "us-east"}


def test_prefer_low_carbon_moves_traffic_to_the_lower_carbon_region() -> None:
    carbon = carbon_by_region({"eu-west": 20.0, "us-east": 380.0})
    picks = {picked_region(RoutePolicy("acme/m", carbon_weight=1.0), seed, carbon=carbon) for seed in range(30)}
    assert picks == {"eu-west"}


def test_without_a_carbon_preference_the_carbon_figures_do_not_decide() -> None:
    carbon = carbon_by_region({"eu-west": 20.0, "us-east": 380.0})
    picks = {picked_region(RoutePolicy("acme/m"), seed, carbon=carbon) for seed in range(30)}
    assert picks == {"eu-west", "us-east"}


def test_a_region_pinned_by_the_key_is_never_left_even_when_its_endpoint_is_failing() -> None:
    policy = RoutePolicy("acme/m", region="us-east", region_pinned_by="key")
    plan = plan_route(policy, RouteNeeds(), TWO_REGIONS, healthy(penalty={"acme@us-east": 1.0}), NO_CARBON)
    assert [(c.provider, c.region) for c in plan.order] == [("acme", "us-east")]
    left_out = [c for c in plan.considered if c.region == "eu-west"]
    assert [c.reason for c in left_out] == ["region pinned to us-east by the key"]


def test_a_pinned_region_that_no_provider_serves_fails_closed_with_503() -> None:
    with pytest.raises(NoUpstreamAvailableError) as caught:
        plan_route(RoutePolicy("acme/m", region="ap-south", region_pinned_by="request"), RouteNeeds(),
                   TWO_REGIONS, healthy(), NO_CARBON)
    assert caught.value.status == 503 and caught.value.retry_after


def test_the_next_candidate_in_the_same_region_comes_before_other_regions() -> None:
    cat = catalogue([provider("a", "eu-west"), provider("b", "eu-west", "us-east")],
                    [model("a/m", prompt=500), model("b/m", prompt=5000)], auto_pool=("a/m", "b/m"))
    plan = plan_route(RoutePolicy("lowrouter/auto-cheap", price_weight=2.0, auto_pool=cat.auto_pool),
                      RouteNeeds(), cat, healthy(), NO_CARBON)
    assert [(c.model, c.region) for c in plan.order] == [("a/m", "eu-west"), ("b/m", "eu-west"),
                                                         ("b/m", "us-east")]


def test_fallback_false_keeps_every_attempt_in_the_first_choice_region() -> None:
    plan = plan_route(RoutePolicy("acme/m", fallback=False), RouteNeeds(), TWO_REGIONS,
                      healthy(latency={"acme@eu-west": 100.0, "acme@us-east": 400.0}), NO_CARBON)
    assert [c.region for c in plan.order] == ["eu-west"]
    assert [c.reason for c in plan.considered if c.region == "us-east"] == ["fallback disabled"]


def test_an_explicit_model_outside_the_key_allowlist_is_forbidden() -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        plan_route(RoutePolicy("acme/m", allowed_models=("acme/other",)), RouteNeeds(), TWO_REGIONS, healthy(),
                   NO_CARBON)
    assert caught.value.status == 403 and caught.value.param == "model"


def test_an_unknown_model_is_a_400() -> None:
    with pytest.raises(UnknownModelError) as caught:
        plan_route(RoutePolicy("acme/nope"), RouteNeeds(), TWO_REGIONS, healthy(), NO_CARBON)
    assert caught.value.status == 400


def test_auto_only_considers_the_models_the_key_allows() -> None:
    cat = catalogue([provider("a", "eu-west")], [model("a/cheap", prompt=1), model("a/dear", prompt=9000)],
                    auto_pool=("a/cheap", "a/dear"))
    plan = plan_route(RoutePolicy("lowrouter/auto-cheap", price_weight=2.0, auto_pool=cat.auto_pool,
                                  allowed_models=("a/dear",)), RouteNeeds(), cat, healthy(), NO_CARBON)
    assert {c.model for c in plan.considered} == {"a/dear"}


def test_auto_cheap_picks_the_cheapest_model_of_the_pool() -> None:
    cat = catalogue([provider("a", "eu-west"), provider("b", "eu-west")],
                    [model("a/mid", prompt=3000, completion=6000), model("b/cheap", prompt=100, completion=400),
                     model("a/dear", prompt=9000, completion=30000)], auto_pool=("a/mid", "b/cheap", "a/dear"))
    plan = plan_route(RoutePolicy("lowrouter/auto-cheap", price_weight=2.0, auto_pool=cat.auto_pool),
                      RouteNeeds(), cat, healthy(), NO_CARBON)
    assert [c.model for c in plan.order] == ["b/cheap", "a/mid", "a/dear"]


@pytest.mark.parametrize(("needs", "lacking", "reason"), [
    (RouteNeeds(tools=True), Capabilities(vision=True, structured_output=True), "no tool use"),
    (RouteNeeds(vision=True), Capabilities(tool_use=True, structured_output=True), "no vision"),
    (RouteNeeds(structured_output=True), Capabilities(tool_use=True, vision=True), "no structured output"),
])
def test_a_model_without_a_needed_capability_is_left_out_with_the_reason_in_the_trace(
        needs: RouteNeeds, lacking: Capabilities, reason: str) -> None:
    cat = catalogue([provider("a", "eu-west")], [model("a/full", prompt=9000), model("a/part", caps=lacking)],
                    auto_pool=("a/full", "a/part"))
    plan = plan_route(RoutePolicy("lowrouter/auto", auto_pool=cat.auto_pool), needs, cat, healthy(), NO_CARBON)
    assert [c.model for c in plan.order] == ["a/full"]
    assert [(c.eligible, c.reason) for c in plan.considered if c.model == "a/part"] == [(False, reason)]


def test_a_model_whose_context_is_too_short_is_left_out_with_the_reason_in_the_trace() -> None:
    cat = catalogue([provider("a", "eu-west")], [model("a/long", context=200_000), model("a/short", context=8000)],
                    auto_pool=("a/long", "a/short"))
    plan = plan_route(RoutePolicy("lowrouter/auto", auto_pool=cat.auto_pool), RouteNeeds(context_tokens=50_000),
                      cat, healthy(), NO_CARBON)
    assert [c.model for c in plan.order] == ["a/long"]
    assert [c.reason for c in plan.considered if c.model == "a/short"] == ["context 8000 < 50000 tokens needed"]


def test_an_explicit_model_that_cannot_serve_the_request_gives_503_listing_the_candidates() -> None:
    cat = catalogue([provider("a", "eu-west")], [model("a/text", caps=Capabilities())])
    with pytest.raises(NoUpstreamAvailableError) as caught:
        plan_route(RoutePolicy("a/text"), RouteNeeds(tools=True), cat, healthy(), NO_CARBON)
    assert caught.value.metadata["candidates"][0]["reason"] == "no tool use"


def test_ties_within_one_percent_go_to_the_endpoint_the_user_used_last() -> None:
    latency = {"acme@eu-west": 100.0, "acme@us-east": 100.5}
    plans = [plan_route(RoutePolicy("acme/m", user="u1"), RouteNeeds(), TWO_REGIONS, healthy(latency=latency),
                        NO_CARBON, last_used="acme@us-east", rng=random.Random(seed)) for seed in range(20)]
    assert {p.order[0].region for p in plans} == {"us-east"}
    assert plans[0].reason == "tie within 1%: sticky for this user"


def test_a_difference_above_one_percent_is_not_a_tie_and_stickiness_does_not_apply() -> None:
    latency = {"acme@eu-west": 100.0, "acme@us-east": 180.0}
    plan = plan_route(RoutePolicy("acme/m", user="u1"), RouteNeeds(), TWO_REGIONS, healthy(latency=latency),
                      NO_CARBON, last_used="acme@us-east")
    assert (plan.order[0].region, plan.reason) == ("eu-west", "best score")


def test_an_endpoint_that_just_failed_sinks_below_the_healthy_ones() -> None:
    book = HealthBook()
    book.record_failure("acme@eu-west", now=1000.0)
    carbon = carbon_by_region({"eu-west": 20.0, "us-east": 380.0})
    plan = plan_route(RoutePolicy("acme/m", carbon_weight=1.0), RouteNeeds(), TWO_REGIONS,
                      lambda k: book.snapshot(k, 1001.0), carbon)
    assert [c.region for c in plan.order] == ["us-east", "eu-west"]


def test_the_failure_penalty_fades_so_the_endpoint_comes_back() -> None:
    book = HealthBook()
    book.record_failure("acme@eu-west", now=1000.0)
    carbon = carbon_by_region({"eu-west": 20.0, "us-east": 380.0})
    plan = plan_route(RoutePolicy("acme/m", carbon_weight=1.0), RouteNeeds(), TWO_REGIONS,
                      lambda k: book.snapshot(k, 1000.0 + 600), carbon)
    assert plan.order[0].region == "eu-west"


def test_the_requested_model_comes_before_its_fallback_models() -> None:
    cat = catalogue([provider("a", "eu-west"), provider("b", "eu-west")],
                    [model("a/dear", prompt=9000), model("b/cheap", prompt=1)])
    plan = plan_route(RoutePolicy("a/dear", fallback_models=("b/cheap",)), RouteNeeds(), cat, healthy(), NO_CARBON)
    assert [c.model for c in plan.order] == ["a/dear", "b/cheap"]


def test_a_legacy_completion_on_a_provider_without_it_is_a_clear_400() -> None:
    cat = catalogue([provider("chatonly", "eu-west", completions=False)], [model("chatonly/m")])
    with pytest.raises(InvalidRequestError) as caught:
        plan_route(RoutePolicy("chatonly/m"), RouteNeeds(text_completion=True), cat, healthy(), NO_CARBON)
    assert caught.value.status == 400 and "legacy text completions" in caught.value.message


def test_auto_routes_legacy_completions_only_to_providers_that_have_them() -> None:
    cat = catalogue([provider("chatonly", "eu-west", completions=False), provider("full", "eu-west")],
                    [model("chatonly/m", prompt=1), model("full/m", prompt=9000)], auto_pool=("chatonly/m", "full/m"))
    plan = plan_route(RoutePolicy("lowrouter/auto-cheap", price_weight=2.0, auto_pool=cat.auto_pool),
                      RouteNeeds(text_completion=True), cat, healthy(), NO_CARBON)
    assert [c.model for c in plan.order] == ["full/m"]


@pytest.mark.parametrize(("request_value", "key", "operator", "pseudo", "weight"), [
    (None, False, 0.3, "acme/m", 0.3),
    (None, True, 0.3, "acme/m", 1.0),
    (False, True, 0.3, "acme/m", 0.0),
    (0.4, False, 0.0, "acme/m", 0.4),
    (7, False, 0.0, "acme/m", 1.0),
    (False, False, 0.0, "lowrouter/auto-green", 1.0),
])
def test_the_carbon_weight_comes_from_the_request_then_the_key_then_the_operator(
        request_value: bool | float | None, key: bool, operator: float, pseudo: str, weight: float) -> None:
    assert merged_carbon_weight(request_value, key, operator, pseudo) == weight
