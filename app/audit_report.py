"""The audit's answer: a human summary, or one JSON document (`--json`)."""

from __future__ import annotations

from typing import Any

import msgspec

from app.audit import AuditResult
from domain.audit_types import Finding
from domain.ledger_audit import CHECKS


def _what(result: AuditResult) -> dict[str, str]:
    a = result.audit
    snap = result.snapshot
    accounts = len(a.balances_at_mark or {})
    return {
        "lifecycle": f"{a.generations:,} generations each end in exactly one UsageRecorded or Abandoned",
        "charge": f"{a.charges_checked:,} charges recomputed from their recorded price and tokens",
        "price_list": "recorded prices equal the config's price list" if a.price_list is not None
        else "skipped (--ignore-price-list)",
        "balance": f"{accounts:,} accounts' top-ups − charges equal credit_balances" if snap
        else "skipped (projections not read)",
        "eco": f"{a.estimates_checked:,} eco estimates recomputed from their stored inputs",
        "projection": f"{result.tables_compared} tables equal a fresh replay at position {snap.position:,}"
        if snap else "skipped (projections not read)",
        "chain": f"{a.chain.links_verified:,} links verified over {a.chain.aggregates:,} aggregates",
    }


def first_broken_link(result: AuditResult) -> Finding | None:
    chain = result.audit.findings.get("chain") or []
    return min(chain, key=lambda f: f.positions[-1] if f.positions else 0) if chain else None


def as_dict(result: AuditResult) -> dict[str, Any]:
    a = result.audit
    violations = sum(a.counts.values())
    first = first_broken_link(result)
    return {
        "clean": violations == 0,
        "violations": violations,
        "events": a.events,
        "aggregates": a.chain.aggregates,
        "log_position": result.top,
        "projections_position": result.snapshot.position if result.snapshot else None,
        "projections_read_through": ("gateway" if result.server else "file") if result.snapshot else None,
        "checks": {c: {"violations": a.counts.get(c, 0), "checked": text} for c, text in _what(result).items()},
        "first_broken_link": msgspec.to_builtins(first) if first else None,
        "findings": [msgspec.to_builtins(f) for c in CHECKS for f in a.findings.get(c, [])],
        "in_flight": [msgspec.to_builtins(f) for f in result.in_flight],
        "skipped": result.skipped,
        "seconds": round(result.seconds, 3),
    }


def as_text(result: AuditResult, data_dir: str) -> str:
    a = result.audit
    lines = [f"audit of {data_dir}: {a.events:,} events, {a.chain.aggregates:,} aggregates, log position "
             f"{result.top:,} ({result.seconds:.1f} s)"]
    for check, text in _what(result).items():
        n = a.counts.get(check, 0)
        lines.append(f"  {check:<11} {'ok' if n == 0 else f'{n:,} VIOLATION' + ('S' if n > 1 else '')}  {text}")
    for note in result.skipped:
        lines.append(f"  skipped: {note}")
    if result.in_flight:
        lines.append(f"in flight (a gateway is serving them, not violations): {len(result.in_flight)}")
        lines += [f"  {f.aggregate_id}: {f.message}" for f in result.in_flight[:20]]
    first = first_broken_link(result)
    if first is not None:
        lines.append(f"first broken link: {first.aggregate_id} at position {first.positions[-1]}")
    total = sum(a.counts.values())
    if total:
        lines.append("violations:")
        for check in CHECKS:
            for f in a.findings.get(check, []):
                lines.append(f"  [{check}] {_where(f)}{f.message}")
            hidden = a.counts.get(check, 0) - len(a.findings.get(check, []))
            if hidden > 0:
                lines.append(f"  [{check}] … and {hidden:,} more")
    lines.append(f"result: {'CLEAN' if total == 0 else f'{total:,} violation(s)'}")
    return "\n".join(lines) + "\n"


def _where(f: Finding) -> str:
    parts = []
    if f.aggregate_id:
        parts.append(f.aggregate_id)
    if f.positions:
        parts.append("position" + ("s " if len(f.positions) > 1 else " ") + ", ".join(map(str, f.positions)))
    return (" ".join(parts) + ": ") if parts else ""
