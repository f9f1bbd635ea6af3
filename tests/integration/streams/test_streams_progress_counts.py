"""pipeline_health counts each offset once, with one row per partition per batch and redeliveries overlapping."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import psycopg

from streams.batches import Incoming, MessagePlan, partition_progress, progress_of
from streams.deadletter import SourcePosition, build_dead_letter
from synopse.db.health import record_progress
from synopse.domain.codec import Rejected

GROUP = "g"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _plans(partition: int, offsets: range) -> list[MessagePlan]:
    """One message per offset, each a bad one (progress needs only positions and counts)."""
    plans = []
    for offset in offsets:
        position = SourcePosition("t", partition, offset, None)
        letter = build_dead_letter(Rejected(b"x", "not JSON"), source=position, dead_letter_topic="t.dlq", now=T0)
        plans.append(MessagePlan(Incoming(position, b"x"), [], [letter]))
    return plans


async def _record(dsn: str, plans: list[MessagePlan]) -> None:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        await record_progress(
            conn, GROUP, partition_progress("t", plans), lambda parts: progress_of("t", plans, parts)
        )


def _counts(dsn: str) -> dict[int, tuple[int, int, int]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT partition, messages_in, events_in, last_offset FROM pipeline_health WHERE consumer_group = %s",
            (GROUP,),
        ).fetchall()
    return {int(p): (int(m), int(e), int(o)) for p, m, e, o in rows}


def test_batches_are_counted_per_partition_and_redeliveries_once(pg_dsn: str) -> None:
    asyncio.run(_record(pg_dsn, _plans(0, range(0, 10)) + _plans(1, range(100, 105))))
    assert _counts(pg_dsn) == {0: (10, 10, 9), 1: (5, 5, 104)}

    # A redelivery overlapping what was stored (offsets 5-9 again, then 10-14 new) adds only the new ones;
    # partition 1's batch starts after its stored offset and is added whole.
    asyncio.run(_record(pg_dsn, _plans(0, range(5, 15)) + _plans(1, range(105, 108))))
    assert _counts(pg_dsn) == {0: (15, 15, 14), 1: (8, 8, 107)}

    # The same batch delivered again entirely: nothing changes.
    asyncio.run(_record(pg_dsn, _plans(0, range(5, 15)) + _plans(1, range(105, 108))))
    assert _counts(pg_dsn) == {0: (15, 15, 14), 1: (8, 8, 107)}


def test_partition_rows_carry_the_batch_span_and_newest_event() -> None:
    plans = _plans(2, range(7, 10))
    rows = partition_progress("t", plans)
    assert [(r.partition, r.first_offset, r.last_offset, r.messages, r.events_in, r.dead_lettered) for r in rows] == [
        (2, 7, 9, 3, 3, 3)
    ]
    assert rows[0].last_event_at is None
