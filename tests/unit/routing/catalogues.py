"""Small catalogues and health views for router tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from domain.catalogue import Capabilities, Catalogue, Endpoint, Model, Price, Provider
from domain.health import EndpointHealth

ALL_CAPS = Capabilities(tool_use=True, vision=True, structured_output=True, streaming=True)


def provider(pid: str, *regions: str, completions: bool = True) -> Provider:
    return Provider(pid, "openai", tuple(Endpoint(pid, r, f"http://{pid}.{r}") for r in regions),
                    supports_completions=completions)


def model(mid: str, *, prompt: int = 1000, completion: int = 2000, context: int = 32_000,
          caps: Capabilities = ALL_CAPS, regions: tuple[str, ...] = ()) -> Model:
    pid, name = mid.split("/", 1)
    return Model(mid, pid, name, Price(prompt, completion, prompt // 2), context, 1000, caps, regions, name)


def catalogue(providers: list[Provider], models: list[Model], auto_pool: tuple[str, ...] = ()) -> Catalogue:
    by_id = {p.id: p for p in providers}
    placed = [m if m.regions else Model(**{**{f: getattr(m, f) for f in m.__struct_fields__},
                                           "regions": by_id[m.provider].regions}) for m in models]
    return Catalogue(providers, placed, auto_pool)


def healthy(latency: Mapping[str, float] | None = None,
            penalty: Mapping[str, float] | None = None) -> Callable[[str], EndpointHealth]:
    """A health view: every endpoint ok, with the given median latencies and penalties."""
    lat, pen = latency or {}, penalty or {}
    return lambda key: EndpointHealth("ok", pen.get(key, 0.0), lat.get(key), None, 0, 0)


def carbon_by_region(values: Mapping[str, float]) -> Callable[[Model, Endpoint], float | None]:
    return lambda m, e: values.get(e.region)
