"""The running server's control file: how CLI commands on the same data directory reach it.

At start-up the server writes `server.json` (mode 0600) into its data directory with its URL and a
random control token that it accepts as the operator's key. Whoever can read the data directory
already holds the ledger, so this grants nothing new; it lets `lowrouter keys revoke` make a
running server apply the change before the command returns.
"""

from __future__ import annotations

import json
import os
import secrets
import urllib.request
from pathlib import Path
from typing import Any

CONTROL_FILE = "server.json"


def write_control_file(data_dir: Path, url: str) -> str:
    token = "lr-ctl-" + secrets.token_urlsafe(32)
    path = data_dir / CONTROL_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"url": url, "pid": os.getpid(), "control_token": token}, f)
    return token


def remove_control_file(data_dir: Path) -> None:
    (data_dir / CONTROL_FILE).unlink(missing_ok=True)


def read_control_file(data_dir: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads((data_dir / CONTROL_FILE).read_text())
    except (OSError, ValueError):
        return None
    try:
        os.kill(int(data["pid"]), 0)
    except (OSError, KeyError, ValueError):
        return None
    return data


def call_server(data_dir: Path, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
    """Call the running server's API as the operator; None when no server runs on this directory."""
    control = read_control_file(data_dir)
    if control is None:
        return None
    request = urllib.request.Request(
        control["url"] + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {control['control_token']}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def notify_server(data_dir: Path) -> bool:
    """Ask a running server to bring its projections (and key directory) up to the ledger's end."""
    try:
        return call_server(data_dir, "POST", "/api/v1/admin/sync", {}) is not None
    except OSError:
        return False
