"""Reproducible randomness and identities: every draw and every id is a function of (seed, what, where, when).

Nothing here keeps state between calls, which is what makes an hour's events the same whatever the
run's speed, chunking or start: a random generator is derived from the seed, the kind of draw, the entity
(a facility, a station) and the hour; event ids are UUIDv5 names of the same things; patient keys are
keyed hashes of synthetic patient numbers.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import struct
import uuid
from datetime import datetime

import numpy as np

# Namespace of the simulator's UUIDv5 event ids (a fixed, arbitrary UUIDv5 of the project's name).
EVENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/synopse/simulator")


def stable_hash(*parts: object) -> int:
    """A 64-bit integer of the parts' text, identical across processes and machines (unlike ``hash``)."""
    digest = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=8).digest()
    value: int = struct.unpack("<Q", digest)[0]
    return value


def hour_index(when: datetime) -> int:
    """Hours since the Unix epoch: the time coordinate of hourly draws."""
    return int(when.timestamp() // 3600)


def generator(seed: int, kind: str, entity: str, index: int) -> np.random.Generator:
    """The numpy generator of one (kind, entity, hour or day): independent of every other one."""
    return np.random.default_rng(np.random.SeedSequence([seed, stable_hash(kind, entity), index & (2**63 - 1)]))


def uniform(seed: int, *key: object) -> float:
    """One uniform draw in [0, 1) named by the key (cheaper than a generator for a single value)."""
    return stable_hash(seed, *key) / 2.0**64


def normal(seed: int, *key: object) -> float:
    """One standard normal draw named by the key (Box-Muller on two named uniforms)."""
    u1 = max(uniform(seed, *key, "u1"), 1e-300)
    u2 = uniform(seed, *key, "u2")
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def event_id(seed: int, kind: str, entity: str, when: datetime, sequence: int) -> uuid.UUID:
    """The id of a simulated fact: re-generating the same hour gives the same ids, so replays are harmless."""
    return uuid.uuid5(EVENT_NAMESPACE, f"{seed}/{kind}/{entity}/{when.isoformat()}/{sequence}")


class PatientKeys:
    """Pseudonymous patient keys: HMAC-SHA256 of a synthetic patient number under a seed-derived key.

    The same person (commune, age band, number in the pool) always gets the same key, so the few people
    who come back within the window show as re-admissions, as they would in a real pseudonymised feed.
    """

    def __init__(self, seed: int) -> None:
        self._key = hashlib.sha256(f"synopse-simulator/patient-key/{seed}".encode()).digest()

    def key(self, commune: int, age_band: int, number: int) -> str:
        """64 lowercase hex characters (the contract's ``PatientKey``)."""
        return hmac.new(self._key, f"{commune}/{age_band}/{number}".encode(), hashlib.sha256).hexdigest()
