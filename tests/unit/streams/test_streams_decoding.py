"""The fast decoder agrees with the domain codec on every message, and refuses unknown sources."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from streams.decoding import KnownIds, ReferenceIds, decode_fast, decoder_for
from synopse.domain.codec import decode_message, encode_batch, encode_event
from synopse.domain.codes import Indicator
from synopse.domain.events import EnvironmentObservation
from synopse.domain.topics import ENVIRONMENT

NOW = datetime(2024, 7, 1, 12, tzinfo=UTC)


def observation(station: str = "FR23188", minutes: int = 0) -> EnvironmentObservation:
    return EnvironmentObservation(event_id=uuid.uuid4(), station_id=station, indicator=Indicator.PM10, value=12.0,
                                  unit="µg/m³", observed_at=NOW - timedelta(minutes=minutes))


def _item(event: EnvironmentObservation, **changes: object) -> dict[str, object]:
    return {**json.loads(encode_event(event)), **changes}


MESSAGES = [
    encode_event(observation()),
    encode_batch([observation(minutes=i) for i in range(4)]),
    json.dumps(_item(observation(), unit="ug/m3", observed_at="2024-07-01T14:00:00+02:00")).encode(),
    json.dumps({"events": [_item(observation()), _item(observation(), value="x"), _item(observation())]}).encode(),
    json.dumps({"events": [_item(observation())], "extra": 1}).encode(),
    json.dumps(_item(observation(), observed_at="2024-07-01T12:00:00")).encode(),
    b'{"events": [',
    b"\xff",
    b"[]",
    None,
    b"",
]


@pytest.mark.parametrize("raw", MESSAGES)
def test_fast_decoding_returns_what_the_codec_returns(raw: bytes | None) -> None:
    assert decode_fast(ENVIRONMENT, raw) == decode_message(ENVIRONMENT, raw)


def test_unknown_sources_are_refused_alone_with_their_position() -> None:
    reference = ReferenceIds()
    decode = decoder_for(ENVIRONMENT, reference)
    items = [_item(observation("FR23188")), _item(observation("nowhere")), {"bad": 1}, _item(observation("elsewhere"))]
    raw = json.dumps({"events": items}).encode()
    assert len(decode(raw).events) == 3  # nothing loaded yet: nothing is unknown
    reference.stations.replace({"FR23188"})
    decoded = decode(raw)
    assert [e.station_id for e in decoded.events] == ["FR23188"]
    unknown = {r.index: r for r in decoded.rejected if "unknown" in r.reason}
    assert sorted(unknown) == [1, 3]
    assert unknown[1].reason == "unknown station 'nowhere' (not in the reference data)"
    assert json.loads(unknown[1].raw) == items[1]
    single = encode_event(observation("nowhere"))
    [refused] = decode(single).rejected
    assert (refused.raw, refused.index) == (single, None)


def test_known_ids_contain_everything_until_loaded() -> None:
    ids = KnownIds()
    assert "anything" in ids and len(ids) == 0
    ids.replace(["a"])
    assert "a" in ids and "b" not in ids and list(ids) == ["a"]
