"""The ledger of replayed dead letters: which dead-letter records were sent back, when, in which replay.

Boundary: functions take a psycopg connection; the caller owns the transaction. Written by
``synopse dlq replay`` after the broker confirmed the resent messages; read by it to skip records
already replayed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import Connection


def replayed_positions(conn: Connection[Any], dlq_topic: str) -> set[tuple[str, int, int]]:
    """(dead-letter topic, partition, offset) of every record of ``dlq_topic`` already replayed."""
    rows = conn.execute(
        "SELECT dlq_topic, dlq_partition, dlq_offset FROM dead_letter_replays WHERE dlq_topic = %s", (dlq_topic,)
    ).fetchall()
    return {(str(t), int(p), int(o)) for t, p, o in rows}


def record_replays(
    conn: Connection[Any], replay_id: str, replays: Sequence[tuple[str, int, int, str]]
) -> None:
    """Note replayed records: (dead-letter topic, partition, offset, source topic) each."""
    if not replays:
        return
    conn.execute(
        """INSERT INTO dead_letter_replays (dlq_topic, dlq_partition, dlq_offset, source_topic, replay_id)
           SELECT * , %s FROM unnest(%s::text[], %s::integer[], %s::bigint[], %s::text[])
           ON CONFLICT (dlq_topic, dlq_partition, dlq_offset) DO UPDATE SET
               replay_id = EXCLUDED.replay_id, replayed_at = now(), replays = dead_letter_replays.replays + 1""",
        (
            replay_id,
            [r[0] for r in replays],
            [r[1] for r in replays],
            [r[2] for r in replays],
            [r[3] for r in replays],
        ),
    )
