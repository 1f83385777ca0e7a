"""The model browser `/models`: every model with prices, regions, capabilities and eco, filterable."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from app.dashboard.context import gateway, page_context, read, render, session_of
from app.dashboard.session import viewer_for
from app.gateway import Gateway
from app.http_read import model_entry

CAPABILITIES = ("tool_use", "vision", "structured_output", "streaming")
SORTS = {"price": lambda m: (m["price_sort"], m["id"]),
         "carbon": lambda m: (m["carbon_per_1k_g"] is None, m["carbon_per_1k_g"] or 0.0, m["id"]),
         "name": lambda m: m["id"]}


def _rows(gw: Gateway) -> list[dict[str, Any]]:
    """One row per model (built once per process: the catalogue does not change while running)."""
    rows: list[dict[str, Any]] | None = gw.extras.get("model_browser_rows")
    if rows is None:
        rows = []
        for model_id, model in gw.catalogue.models.items():
            entry = model_entry(gw, model_id)
            endpoint = gw.catalogue.endpoints_for(model)[0]
            pricing = entry["pricing"]
            rows.append({**entry, "provider": model.provider,
                         "carbon_per_1k_g": gw.carbon_per_1k(model, endpoint),
                         "price_sort": pricing["prompt_per_1k"] + pricing["completion_per_1k"]})
        gw.extras["model_browser_rows"] = rows
    return rows


@get("/models")
async def models_page(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Public like `/api/v1/models`; filters and sort are in the URL."""
    gw = gateway(request)
    viewer = viewer_for(gw, session_of(request))
    params = request.query_params
    capability, region, band = params.get("capability"), params.get("region"), params.get("band")
    sort = str(params.get("sort") or "name")
    sort = sort if sort in SORTS else "name"
    rows = [m for m in _rows(gw)
            if (not capability or m["capabilities"].get(capability))
            and (not region or region in m["regions"])
            and (not band or m["eco_band"] == band)]
    rows.sort(key=SORTS[sort])
    ctx = await read(lambda: page_context(gw, viewer, "models", viewer.account_id if viewer else None))
    return render("models.html", {**ctx, "rows": rows, "capabilities": CAPABILITIES,
                                  "regions": sorted(gw.catalogue.regions), "bands": ("accurate", "medium", "gross"),
                                  "chosen": {"capability": capability, "region": region, "band": band,
                                             "sort": sort}})
