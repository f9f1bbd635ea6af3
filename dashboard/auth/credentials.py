"""Random credentials and their digests: session ids, API tokens, CSRF tokens.

Session ids and API tokens are 256-bit random values; only their SHA-256 digests are stored, so that the
database never holds a usable cookie or token. CSRF tokens are HMACs of the session id under the access
secret: every worker computes the same one without storing it, and a page of another site cannot forge it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

# 32 random bytes: 256 bits, beyond any guessing, for session ids, API tokens and login nonces.
RANDOM_BYTES = 32
# An API token reads "syn_" followed by 43 URL-safe characters; its first 12 characters (prefix included)
# name it in listings and in the audit log without revealing it.
TOKEN_PREFIX = "syn_"  # noqa: S105 - a fixed marker, not a secret
TOKEN_SHOWN_CHARS = 12


def new_secret_value() -> str:
    """A fresh random value (session id, login nonce)."""
    return secrets.token_urlsafe(RANDOM_BYTES)


def digest(value: str) -> bytes:
    """The SHA-256 digest stored in place of a session id or a token."""
    return hashlib.sha256(value.encode()).digest()


def new_api_token() -> tuple[str, str]:
    """A new API token and the prefix that names it."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(RANDOM_BYTES)
    return token, token[:TOKEN_SHOWN_CHARS]


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None for any other header or none."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def _hmac(secret: bytes, purpose: str, value: str) -> str:
    return hmac.new(secret, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


def csrf_token(secret: bytes, session_id: str) -> str:
    """The CSRF token of a session: sent by the page as a header (Dash) or a form field (logout)."""
    return _hmac(secret, "csrf", session_id)


def login_form_token(secret: bytes, nonce: str) -> str:
    """The CSRF token of the login form, bound to the nonce cookie set with the form."""
    return _hmac(secret, "login", nonce)


def same(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a token received with the expected one."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())
