"""Password hashing with argon2id (argon2-cffi), the policy new passwords follow, and generated passwords.

argon2-cffi's defaults are RFC 9106's low-memory profile (64 MiB, 3 passes, 4 lanes): about a tenth of a
second per hash on a server core, slow enough to make an offline guess costly and fast enough for a login.
"""

from __future__ import annotations

import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# ANSSI and NIST SP 800-63B favour length over composition rules: 12 characters at least, any characters.
MIN_PASSWORD_LENGTH = 12
# argon2-cffi hashes at most 4 GiB; a bound keeps a login form from being used to make the server hash megabytes.
MAX_PASSWORD_LENGTH = 1024
# 18 random bytes: a 24-character URL-safe password (144 bits), for generated and bootstrap passwords.
GENERATED_PASSWORD_BYTES = 18

_HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    """The argon2id hash of a password that follows the policy. Raises ValueError otherwise."""
    check_password_policy(password)
    return _HASHER.hash(password)


def check_password_policy(password: str) -> None:
    """Raise ValueError, saying why, for a password too short or too long."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"a password has at most {MAX_PASSWORD_LENGTH} characters")


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _HASHER.hash(secrets.token_urlsafe(GENERATED_PASSWORD_BYTES))


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches ``password_hash``.

    With no hash (an unknown user) a dummy hash is verified anyway, so that the answer takes as long for an
    unknown user as for a wrong password: timing does not tell which usernames exist.
    """
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _HASHER.verify(password_hash if password_hash is not None else _dummy_hash(), password) and (
            password_hash is not None
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's: rehash it at the next login."""
    return _HASHER.check_needs_rehash(password_hash)


def generate_password() -> str:
    """A random password for a new account or a reset, shown once to the administrator."""
    return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
