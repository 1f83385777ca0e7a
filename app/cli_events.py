"""`lowrouter events`: the stored history of one generation, account or key, with its chain checked."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import msgspec

from adapters.event_history import aggregate_history
from app.composition import open_ledger_for
from app.settings import Settings
from domain.audit_types import AuditedEvent
from domain.chain_audit import ChainAudit

_decode = msgspec.json.Decoder().decode


def events_command(settings: Settings, data_dir: Path, aggregate_id: str, as_json: bool) -> int:
    ledger = open_ledger_for(settings, data_dir)
    try:
        history = aggregate_history(ledger.recorder, aggregate_id)
    finally:
        ledger.close()
    if not history:
        print(f"lowrouter events: no events for {aggregate_id!r} in the ledger", file=sys.stderr)
        return 1
    chain = ChainAudit()
    broken: list[str] = []
    out = sys.stdout
    for row in history:
        state: dict[str, Any] = _decode(row.state)
        stamp = state.pop("timestamp", None)
        when = str(stamp["_data_"] if isinstance(stamp, dict) else stamp)
        link = str(state.pop("chain", ""))
        event = AuditedEvent(row.position or 0, aggregate_id, row.version, row.topic, when, link, state)
        finding = chain.observe(event)
        if finding is not None:
            broken.append(finding.message)
        if as_json:
            out.write(json.dumps({"position": row.position, "version": row.version, "timestamp": when,
                                  "event": event.name, "topic": row.topic, "payload": state, "chain": link,
                                  "chain_ok": finding is None}) + "\n")
        else:
            mark = "" if finding is None else "  ✗ CHAIN BROKEN"
            out.write(f"#{row.position if row.position is not None else '?':<8} v{row.version:<3} {when}  "
                      f"{event.name}{mark}\n    {json.dumps(state, sort_keys=True)}\n")
    summary = (f"{aggregate_id}: {len(history)} events, chain verified" if not broken
               else f"{aggregate_id}: {len(history)} events, chain BROKEN: " + "; ".join(broken))
    print(summary, file=sys.stderr)
    if aggregate_id.startswith("acct_") and not as_json:
        print(f"charges are events of generations: lowrouter sql \"SELECT * FROM credit_ledger WHERE account_id "
              f"= '{aggregate_id}' ORDER BY position\"", file=sys.stderr)
    return 0 if not broken else 1
