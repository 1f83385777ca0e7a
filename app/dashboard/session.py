"""Dashboard sessions: a signed cookie (HttpOnly, SameSite=Lax) naming who is logged in, plus CSRF.

The cookie holds `{sub, acct, csrf, exp}` as base64url JSON and an HMAC-SHA256 over it. `sub` is
`admin:<fingerprint>` or `key:<key_id>` — never a token. Every request re-checks the subject (the key may have
been revoked, disabled or expired since; the admin key may have changed), so a session is never
worth more than the credential it was opened with. Anonymous visitors get a session without a
subject, so the login form carries a CSRF token too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from datetime import UTC, datetime
from typing import Any

import msgspec

from app.gateway import Gateway

COOKIE = "lr_session"
SESSION_SECONDS = 12 * 3600
SECRET_ENV = "LOWROUTER_SESSION_SECRET"


class Session(msgspec.Struct, frozen=True):
    csrf: str
    exp: int
    sub: str | None = None
    acct: str | None = None


class Viewer(msgspec.Struct, frozen=True):
    """Who is looking, and at which account (None: an operator who has not chosen one yet)."""

    is_admin: bool
    account_id: str | None
    key_id: str | None
    csrf: str


def session_secret(gw: Gateway) -> bytes:
    """The signing key: `LOWROUTER_SESSION_SECRET` if set (sessions survive restarts and are shared
    by several processes), else random per process."""
    secret = gw.extras.get("session_secret")
    if secret is None:
        configured = os.environ.get(SECRET_ENV)
        secret = hashlib.sha256(configured.encode()).digest() if configured else secrets.token_bytes(32)
        gw.extras["session_secret"] = secret
    assert isinstance(secret, bytes)
    return secret


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: bytes, session: Session) -> str:
    body = _b64(msgspec.json.encode(session))
    mac = hmac.new(secret, body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def unsign(secret: bytes, value: str | None, now: float | None = None) -> Session | None:
    """The session in a cookie value, or None when it is missing, forged, malformed or expired."""
    if not value or "." not in value:
        return None
    body, _, mac = value.partition(".")
    expected = _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(mac, expected):
        return None
    try:
        session = msgspec.json.decode(_unb64(body), type=Session)
    except (msgspec.DecodeError, ValueError):
        return None
    if session.exp < (time.time() if now is None else now):
        return None
    return session


def new_session(sub: str | None = None, acct: str | None = None) -> Session:
    """A fresh session with a fresh CSRF token (a login always rotates it)."""
    return Session(csrf=secrets.token_urlsafe(24), exp=int(time.time()) + SESSION_SECONDS, sub=sub, acct=acct)


def cookie_header(secret: bytes, session: Session | None, secure: bool) -> str:
    """The Set-Cookie value: the signed session, or an expired cookie to log out."""
    value, age = (sign(secret, session), SESSION_SECONDS) if session else ("", 0)
    flags = "; Secure" if secure else ""
    return f"{COOKIE}={value}; Path=/; Max-Age={age}; HttpOnly; SameSite=Lax{flags}"


def csrf_ok(session: Session | None, submitted: Any) -> bool:
    return (session is not None and isinstance(submitted, str) and bool(submitted)
            and hmac.compare_digest(session.csrf.encode(), submitted.encode()))


def operator_subject(gw: Gateway, key_hash: str) -> str:
    """`admin:` + a fingerprint of the operator key used, so a changed admin key ends its sessions."""
    return "admin:" + hmac.new(session_secret(gw), key_hash.encode(), hashlib.sha256).hexdigest()[:24]


def viewer_for(gw: Gateway, session: Session | None) -> Viewer | None:
    """The viewer a session stands for, re-checked against the current keys; None when not valid."""
    if session is None or session.sub is None:
        return None
    if session.sub.startswith("admin:"):
        current = {operator_subject(gw, h) for h in (gw.admin_key_hash, gw.control_key_hash) if h}
        if session.sub not in current:
            return None
        return Viewer(True, session.acct if session.acct in gw.credits.accounts else None, None, session.csrf)
    key_id = session.sub.removeprefix("key:")
    key = gw.keys.by_id(key_id)
    if key is None or key.revoked or not key.policy.enabled:
        return None
    if key.policy.expires_at and datetime.fromisoformat(key.policy.expires_at) <= datetime.now(UTC):
        return None
    return Viewer(False, key.account_id, key.key_id, session.csrf)
