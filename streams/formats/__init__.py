"""Input formats as they exist in the field, mapped to the domain events (pure: bytes in, events out).

Each decoder returns a :class:`synopse.domain.codec.Decoded` (events, and what was refused with a
reason a person understands), like the JSON codec, so an agent calls any of them the same way:
:func:`raw_decoder` gives the decoder of a raw topic (``synopse.domain.topics.RAW_TOPICS``) with the
pseudonymisation key bound.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import tzinfo

from streams.formats.fhir import decode_fhir_encounter
from streams.formats.hl7v2 import decode_hl7v2
from streams.formats.sensors import decode_sensor_payload
from synopse.domain.codec import Decoded
from synopse.domain.topics import FHIR_ENCOUNTER, HL7V2_ADT, RawTopicSpec

__all__ = ["decode_fhir_encounter", "decode_hl7v2", "decode_sensor_payload", "raw_decoder"]


def raw_decoder(
    spec: RawTopicSpec,
    key: bytes,
    *,
    facilities: Collection[str] | None = None,
    local_zone: tzinfo | None = None,
) -> Callable[[bytes | None], Decoded]:
    """The decoder of a raw topic's messages, with the key (and the site's options) bound.

    Args:
        spec: ``HL7V2_ADT`` or ``FHIR_ENCOUNTER``.
        key: ``synopse.config.pseudonymisation_key(settings)``.
        facilities: When given, events of other facilities are refused (the reference data's ids).
        local_zone: HL7 v2 only: the zone of times sent without offset (None refuses them).
    """
    if spec == HL7V2_ADT:
        return lambda raw: decode_hl7v2(raw, key, facilities=facilities, local_zone=local_zone)
    if spec == FHIR_ENCOUNTER:
        return lambda raw: decode_fhir_encounter(raw, key, facilities=facilities)
    raise KeyError(spec.name)
