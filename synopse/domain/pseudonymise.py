"""Pseudonymisation at the door: a hospital patient identifier becomes a keyed hash, and only that goes on.

Pure (no I/O): the key is given by the caller (``synopse.config.pseudonymisation_key``). The same
identifier under the same key always gives the same 64-hex-digit pseudonym, so re-admissions of one
patient can be linked; without the key nobody can recompute it from a guessed identifier (unlike a plain
hash, which a dictionary of hospital numbers would reverse in seconds). Rotating the key breaks linkage
between pseudonyms made before and after the rotation: that is the point of rotating, and its cost.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

# HMAC-SHA256 keys shorter than 16 bytes (128 bits) are guessable offline from a few known pairs of
# identifier and pseudonym; the settings ask for 32 characters, this floor catches a test key left by mistake.
MIN_KEY_BYTES = 16


def pseudonymise(identifier: str, key: bytes) -> str:
    """The pseudonymous patient key of ``identifier``: hex HMAC-SHA256 under ``key`` (64 lower-case hex digits).

    The identifier is normalised first (Unicode NFC, surrounding blanks removed) so that two spellings of
    one identifier from two feeds link. Qualify it by its issuer (``"<authority>|<number>"``, as the HL7 v2
    and FHIR mappers do): the same number issued by two hospitals names two patients.

    Raises:
        ValueError: The identifier is blank, or the key is shorter than :data:`MIN_KEY_BYTES`.
    """
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the pseudonymisation key must be at least {MIN_KEY_BYTES} bytes")
    normalised = unicodedata.normalize("NFC", identifier).strip()
    if not normalised:
        raise ValueError("a blank identifier cannot be pseudonymised")
    return hmac.new(key, normalised.encode("utf-8"), hashlib.sha256).hexdigest()


def qualified_identifier(authority: str | None, value: str) -> str:
    """``"<authority>|<value>"``: an identifier qualified by who issued it (blank authority: the value alone)."""
    authority = (authority or "").strip()
    return f"{authority}|{value.strip()}" if authority else value.strip()
