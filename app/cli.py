"""`lowrouter`: run the gateway and manage accounts, credits, keys and projections from a shell."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app import accounts_service as svc
from app.control import notify_server
from app.settings import ConfigError, Settings, build_catalogue, load_settings
from domain.eco import EcoDataError
from domain.errors import GatewayError
from domain.money import credits_number

DEFAULT_DATA_DIR = "lowrouter-data"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="TOML config file (default: $LOWROUTER_CONFIG or the bundled default)")
    p.add_argument("--data-dir", default=os.environ.get("LOWROUTER_DATA_DIR", DEFAULT_DATA_DIR),
                   help="directory of the SQLite ledger and DuckDB projections (default: %(default)s)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lowrouter",
        description="LowRouter: a self-hostable LLM gateway with prepaid credits, carbon estimates "
                    "and an event-sourced ledger.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the gateway (HTTP API on --host:--port)",
                           description="Run the gateway: the OpenAI-compatible API, the ledger and the projector.")
    _common(serve)
    serve.add_argument("--host", help="address to listen on (default: from config, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: from config, 8080)")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])

    accounts = sub.add_parser("accounts", help="open and list accounts",
                              description="Open and list accounts (prepaid credit balances).")
    acc_sub = accounts.add_subparsers(dest="action", required=True, metavar="ACTION")
    a_create = acc_sub.add_parser("create", help="open an account",
                                  description="Open an account; prints its id. Amounts are in credits "
                                              "(at most six decimals).")
    a_create.add_argument("name", help="a name for the account, e.g. the team or customer")
    a_create.add_argument("--credits", help="credits to add at once, e.g. 25 or 12.5")
    _common(a_create)
    a_list = acc_sub.add_parser("list", help="list accounts with balances", description="List accounts.")
    _common(a_list)

    credits = sub.add_parser("credits", help="add credits to an account", description="Manage credits.")
    cr_sub = credits.add_subparsers(dest="action", required=True, metavar="ACTION")
    c_add = cr_sub.add_parser("add", help="add credits", description="Add credits to an account (a top-up).")
    c_add.add_argument("account_id", help="the account's id (acct_…), as printed by 'accounts create/list'")
    c_add.add_argument("amount", help="credits to add, e.g. 25 or 12.5")
    c_add.add_argument("--reference", default="", help="your reference for the top-up (invoice, payment id)")
    _common(c_add)

    keys = sub.add_parser("keys", help="create, list, edit and revoke API keys", description="Manage API keys.")
    k_sub = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    k_create = k_sub.add_parser("create", help="create a key (its token is printed once)",
                                description="Create an API key. Without --account, uses (or opens) the "
                                            "account named 'default'.")
    k_create.add_argument("--name", required=True, help="a name for the key, shown in usage records")
    k_create.add_argument("--account", help="account id (default: the 'default' account, opened if needed)")
    k_create.add_argument("--credits", help="credits to add to the account first")
    _policy_args(k_create)
    _common(k_create)
    k_list = k_sub.add_parser("list", help="list keys", description="List keys (prefix and last four only).")
    _common(k_list)
    k_edit = k_sub.add_parser("edit", help="edit a key's policy", description="Edit a key; applies from the "
                              "next request, also on a running server.")
    k_edit.add_argument("key_id", help="the key's id (key_…), as printed by 'keys create/list'")
    k_edit.add_argument("--name", help="rename the key")
    _policy_args(k_edit)
    k_edit.add_argument("--enable", dest="enabled", action="store_const", const=True,
                        help="accept requests with this key again")
    k_edit.add_argument("--disable", dest="enabled", action="store_const", const=False,
                        help="refuse requests with this key (401) until --enable")
    _common(k_edit)
    k_revoke = k_sub.add_parser("revoke", help="revoke a key", description="Revoke a key, for good.")
    k_revoke.add_argument("key_id", help="the key's id (key_…), as printed by 'keys create/list'")
    _common(k_revoke)

    replay = sub.add_parser("replay", help="drop and rebuild every projection from the ledger",
                            description="Drop every DuckDB projection and rebuild it from the ledger's events. "
                                        "Stop the gateway first (DuckDB lets one process open the file).")
    _common(replay)
    from app import cli_audit

    cli_audit.register(sub)
    return parser


def _policy_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--models", help="comma-separated allowlist of model ids (empty: all)")
    p.add_argument("--region", help="pin the key to a region, e.g. eu-west ('none' to unpin)")
    p.add_argument("--daily-limit", help="daily credit limit, UTC day ('none' for no limit)")
    p.add_argument("--monthly-limit", help="monthly credit limit, UTC month ('none' for no limit)")
    p.add_argument("--expires-at", help="ISO 8601 expiry, e.g. 2027-01-01T00:00:00Z ('none' never expires)")
    p.add_argument("--prefer-low-carbon", action="store_const", const=True, default=None,
                   help="route this key's requests to low-carbon regions when there is a choice")
    p.add_argument("--no-prefer-low-carbon", dest="prefer_low_carbon", action="store_const", const=False,
                   help="stop preferring low-carbon regions")


def _policy_fields(args: argparse.Namespace) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if getattr(args, "name", None):
        fields["name"] = args.name
    if args.models is not None:
        fields["models"] = [m.strip() for m in args.models.split(",") if m.strip()]
    for attr, field in (("region", "region"), ("daily_limit", "daily_credit_limit"),
                        ("monthly_limit", "monthly_credit_limit"), ("expires_at", "expires_at"),
                        ("prefer_low_carbon", "prefer_low_carbon"), ("enabled", "enabled")):
        value = getattr(args, attr, None)
        if isinstance(value, str) and value.lower() == "none" and field != "name":
            value, fields[field] = None, None  # 'none' clears a limit, the region pin or the expiry
        if value is not None:
            fields[field] = value
    return fields


def _configure_logging(level: str) -> None:
    """Plain lines on stderr: the access log is one JSON object per request."""
    from app.log_output import BatchingStreamHandler

    handler = BatchingStreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger("lowrouter")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except ConfigError as e:
        print(f"lowrouter: configuration error: {e}", file=sys.stderr)
        return 2
    except EcoDataError as e:
        print(f"lowrouter: eco data error: {e}", file=sys.stderr)
        return 2
    except GatewayError as e:
        print(f"lowrouter: {e.message}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    from app import cli_audit
    from app.cli_commands import replay_command, serve_command

    if args.command in cli_audit.COMMANDS:
        return cli_audit.run(args)
    data_dir = Path(args.data_dir)
    settings = _settings(args)
    if args.command == "serve":
        _configure_logging(args.log_level.upper())
        return serve_command(settings, data_dir, args.host, args.port)
    if args.command == "replay":
        return replay_command(settings, data_dir)
    from app.composition import open_ledger_for

    ledger = open_ledger_for(settings, data_dir)
    catalogue = build_catalogue(settings)
    regions, models = catalogue.regions, list(catalogue.models)
    if args.command == "accounts" and args.action == "create":
        if args.credits:  # refuse a bad amount before anything is written
            svc.parse_credits(args.credits, "--credits")
        account_id = svc.open_account(ledger, args.name)
        if args.credits:
            svc.add_credits(ledger, account_id, args.credits, "initial credits", "cli")
        notify_server(data_dir)
        print(json.dumps({"account_id": account_id, "name": args.name}))
        return 0
    if args.command == "accounts" and args.action == "list":
        from app.cli_commands import list_accounts

        return list_accounts(ledger, data_dir)
    if args.command == "credits":
        micro = svc.add_credits(ledger, args.account_id, args.amount, args.reference, "cli")
        notify_server(data_dir)
        print(json.dumps({"account_id": args.account_id, "added": credits_number(micro)}))
        return 0
    if args.command == "keys":
        from app.cli_commands import default_account, list_keys

        if args.action == "create":
            if args.credits:  # refuse a bad amount before anything is written
                svc.parse_credits(args.credits, "--credits")
            account_id = args.account or default_account(ledger)
            key_id, token = svc.issue_key(ledger, account_id, _policy_fields(args), regions, models)
            if args.credits:
                svc.add_credits(ledger, account_id, args.credits, "added with a new key", "cli")
            notify_server(data_dir)
            print(json.dumps({"key": token, "key_id": key_id, "account_id": account_id}))
            print("Keep this key now: it is stored only as a hash and cannot be shown again.", file=sys.stderr)
            return 0
        if args.action == "list":
            return list_keys(ledger)
        if args.action == "edit":
            svc.change_key(ledger, args.key_id, _policy_fields(args), regions, models, "cli")
            notify_server(data_dir)
            print(json.dumps({"key_id": args.key_id, "changed": sorted(_policy_fields(args))}))
            return 0
        if args.action == "revoke":
            svc.revoke_key(ledger, args.key_id, "cli")
            notify_server(data_dir)
            print(json.dumps({"key_id": args.key_id, "revoked": True}))
            return 0
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    raise SystemExit(main())
