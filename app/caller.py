"""Who is calling: the bearer key resolved against the key directory, or the operator's admin key."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

import msgspec

from app.gateway import Gateway
from domain.api_key import KEY_PREFIX, hash_key
from domain.errors import AuthenticationError, PermissionDeniedError
from projections.key_directory import KeyRecord


class Caller(msgspec.Struct, frozen=True):
    key: KeyRecord | None
    is_admin: bool = False

    @property
    def account_id(self) -> str | None:
        return None if self.key is None else self.key.account_id


def bearer_token(authorization: str | None, x_api_key: str | None = None) -> str:
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    if x_api_key:
        return x_api_key.strip()
    raise AuthenticationError("missing API key: send 'Authorization: Bearer lr-sk-…'")


def authenticate(gateway: Gateway, authorization: str | None, x_api_key: str | None = None) -> Caller:
    """Resolve the caller, or raise 401 for a missing, unknown, revoked, disabled or expired key."""
    token = bearer_token(authorization, x_api_key)
    digest = hash_key(token)
    for operator in (gateway.admin_key_hash, gateway.control_key_hash):
        if operator is not None and hmac.compare_digest(digest, operator):
            return Caller(key=None, is_admin=True)
    if not token.startswith(KEY_PREFIX):
        raise AuthenticationError("invalid API key")
    key = gateway.keys.by_hash(digest)
    if key is None:
        raise AuthenticationError("invalid API key")
    if key.revoked:
        raise AuthenticationError("this API key has been revoked", metadata={"key_id": key.key_id})
    if not key.policy.enabled:
        raise AuthenticationError("this API key is disabled", metadata={"key_id": key.key_id})
    if key.policy.expires_at and datetime.fromisoformat(key.policy.expires_at) <= datetime.now(UTC):
        raise AuthenticationError("this API key has expired", metadata={"key_id": key.key_id})
    return Caller(key=key)


def require_key(caller: Caller) -> KeyRecord:
    if caller.key is None:
        raise PermissionDeniedError("this endpoint needs an account's API key, not the admin key")
    return caller.key


def require_admin(caller: Caller) -> None:
    if not caller.is_admin:
        raise PermissionDeniedError("this endpoint needs the operator's admin key")
