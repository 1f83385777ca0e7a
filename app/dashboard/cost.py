"""The cost breakdown of one generation: prompt, cached prompt, completion and platform fee.

The projection stores the total charged; the parts are recomputed with the catalogue's current
prices for the resolved model, and flagged when they no longer add up to what was charged.
"""

from __future__ import annotations

from typing import Any

from app.gateway import Gateway
from domain.money import to_micro


def cost_lines(gw: Gateway, g: dict[str, Any]) -> dict[str, Any] | None:
    model = gw.catalogue.model(g["resolved_model"] or "")
    if model is None or g["cost_credits"] is None or g["prompt_tokens"] is None:
        return None
    prompt, completion = g["prompt_tokens"] or 0, g["completion_tokens"] or 0
    cached = min(g["cached_tokens"] or 0, prompt)
    fee = gw.settings.platform_fee_micro_per_1k
    lines = [
        ("Prompt (uncached)", prompt - cached, model.price.prompt),
        ("Prompt (cached)", cached, model.price.cached_prompt),
        ("Completion", completion, model.price.completion),
        ("Platform fee", prompt + completion, fee),
    ]
    kept = [(what, tokens, per_1k) for what, tokens, per_1k in lines if tokens or what != "Prompt (cached)"]
    # tokens × micro-credits per 1K = milli-micro-credits; the charge rounds the sum up once.
    computed = -(-sum(tokens * per_1k for _, tokens, per_1k in kept) // 1000)
    rows = [{"what": what, "tokens": tokens, "per_1k": per_1k, "credits": tokens * per_1k / 1e9}
            for what, tokens, per_1k in kept]
    charged = to_micro(g["cost_credits"])
    return {"rows": rows, "computed_micro": computed, "charged_micro": charged, "matches": computed == charged}
