"""Alert delivery SQL: subscribers, the shares that scope partners (read from the access model), the outbox and ledger.

Boundary: functions take a psycopg connection inside the caller's transaction; they never commit. The outbox
is a table: a notification row is written in the same transaction as the state change it announces, then a
notifier claims due rows with a lease (so a crash mid-delivery makes them due again, never lost), and records
every attempt. Per subscriber and alert, notifications go out in order (a "resolved" never overtakes its
"firing").
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, LiteralString
from uuid import UUID

from psycopg import Connection
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from synopse.domain.alert_records import Notification, Share, Subscriber

# ------------------------------------------------------------------------------------------- subscribers


def list_shares(conn: Connection[Any]) -> list[Share]:
    """Every share of the access model (migration 0030): what each partner organisation may see."""
    with conn.cursor(row_factory=class_row(Share)) as cur:
        return cur.execute("SELECT organisation_id, kind, ref FROM access_shares").fetchall()


def organisation_id(conn: Connection[Any], slug: str) -> int | None:
    row = conn.execute("SELECT organisation_id FROM access_organisations WHERE slug = %s", (slug,)).fetchone()
    return None if row is None else int(row[0])


def upsert_subscriber(
    conn: Connection[Any], subscriber_id: str, *, name: str, kind: str, target: str, secret: str | None = None,
    organisation_id: int | None = None, min_severity: str = "info", rule_ids: list[str] | None = None,
    enabled: bool = True,
) -> None:
    conn.execute(
        """INSERT INTO alert_subscribers (subscriber_id, name, kind, target, secret, organisation_id, min_severity,
                                          rule_ids, enabled)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (subscriber_id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,
               target = EXCLUDED.target, secret = EXCLUDED.secret, organisation_id = EXCLUDED.organisation_id,
               min_severity = EXCLUDED.min_severity, rule_ids = EXCLUDED.rule_ids, enabled = EXCLUDED.enabled""",
        (subscriber_id, name, kind, target, secret, organisation_id, min_severity, rule_ids, enabled),
    )


_SUBSCRIBERS: LiteralString = """
SELECT s.subscriber_id, s.name, s.kind, s.target, s.secret, s.organisation_id, o.slug AS organisation,
       s.min_severity, s.rule_ids, s.enabled, s.breaker_failures, s.breaker_open_until
FROM alert_subscribers s LEFT JOIN access_organisations o USING (organisation_id)
WHERE s.enabled OR NOT %(enabled_only)s
ORDER BY s.subscriber_id
"""


def list_subscribers(conn: Connection[Any], *, enabled_only: bool = True) -> list[Subscriber]:
    with conn.cursor(row_factory=class_row(Subscriber)) as cur:
        return cur.execute(_SUBSCRIBERS, {"enabled_only": enabled_only}).fetchall()


# ------------------------------------------------------------------------------------------------ outbox


def enqueue(
    conn: Connection[Any], *, notification_id: str, subscriber_id: str, alert_id: str, event_id: int,
    event_kind: str, payload: dict[str, Any],
) -> bool:
    """Queue one notification (idempotent per subscriber and event); True when it was new."""
    cursor = conn.execute(
        """INSERT INTO alert_notifications (notification_id, subscriber_id, alert_id, event_id, event_kind, payload)
           VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (subscriber_id, event_id) DO NOTHING""",
        (notification_id, subscriber_id, alert_id, event_id, event_kind, Jsonb(payload)),
    )
    return cursor.rowcount > 0


def enqueue_many(conn: Connection[Any], notifications: list[tuple[str, str, str, int, str, dict[str, Any]]]) -> None:
    """Queue many notifications in one pipelined batch:
    (notification_id, subscriber_id, alert_id, event_id, event_kind, payload) each."""
    if notifications:
        with conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO alert_notifications (notification_id, subscriber_id, alert_id, event_id, event_kind,
                                                   payload)
                   VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (subscriber_id, event_id) DO NOTHING""",
                [(n, s, a, e, k, Jsonb(p)) for n, s, a, e, k, p in notifications],
            )


def subscribers_notified(conn: Connection[Any], alert_id: str) -> set[str]:
    """Subscribers that were queued a firing notice of this alert (they, and only they, hear "resolved")."""
    rows = conn.execute(
        "SELECT DISTINCT subscriber_id FROM alert_notifications WHERE alert_id = %s AND event_kind = 'firing'",
        (alert_id,),
    ).fetchall()
    return {row[0] for row in rows}



_CLAIM: LiteralString = (
    """
WITH due AS (
    SELECT n.notification_id FROM alert_notifications n
    JOIN alert_subscribers s USING (subscriber_id)
    WHERE n.status IN ('queued', 'failed') AND n.next_attempt_at <= now()
      AND s.enabled AND (s.breaker_open_until IS NULL OR s.breaker_open_until <= now())
      AND NOT (n.subscriber_id = ANY(%(busy)s::text[]))
      AND NOT EXISTS (SELECT 1 FROM alert_notifications e
                      WHERE e.subscriber_id = n.subscriber_id AND e.alert_id = n.alert_id
                        AND e.event_id < n.event_id AND e.status IN ('queued', 'failed'))
    ORDER BY n.next_attempt_at, n.event_id
    LIMIT %(limit)s
    FOR UPDATE OF n SKIP LOCKED
)
UPDATE alert_notifications n SET next_attempt_at = now() + %(lease)s, attempts = n.attempts + 1, updated_at = now()
FROM due WHERE n.notification_id = due.notification_id
RETURNING n.notification_id, n.subscriber_id, n.alert_id, n.event_id, n.event_kind, n.payload, n.status, n.attempts,
          n.attempt_base, n.next_attempt_at, n.last_error, n.created_at, n.delivered_at
"""
)


def claim_due(
    conn: Connection[Any], *, limit: int, lease: timedelta, busy_subscribers: list[str] | None = None
) -> list[Notification]:
    """Take up to ``limit`` due notifications for an attempt: each is leased (its next attempt moved to now +
    ``lease``) and its attempt counted, so that a notifier dying mid-attempt leaves it due again later.

    Skipped: subscribers whose circuit is open or listed in ``busy_subscribers`` (their in-flight limit is
    reached), and notifications whose earlier ones for the same alert are not settled yet.
    """
    params = {"limit": limit, "lease": lease, "busy": busy_subscribers or []}
    with conn.cursor(row_factory=class_row(Notification)) as cur:
        return cur.execute(_CLAIM, params).fetchall()


def next_due_in(conn: Connection[Any]) -> float | None:
    """Seconds until the next notification becomes due (0 if one is due); None when nothing is pending."""
    row = conn.execute(
        "SELECT extract(epoch FROM min(next_attempt_at) - now()) FROM alert_notifications"
        " WHERE status IN ('queued', 'failed')"
    ).fetchone()
    return None if row is None or row[0] is None else max(0.0, float(row[0]))


def record_attempt(
    conn: Connection[Any], notification: Notification, *, outcome: str, detail: str, duration_ms: float | None,
    next_attempt_at: datetime | None, breaker_threshold: int, breaker_cooldown: timedelta,
) -> None:
    """Settle one attempt: delivered, failed (retry at ``next_attempt_at``) or dead; update the breaker."""
    status = {"delivered": "delivered", "failed": "failed", "dead": "dead", "circuit_open": "failed"}[outcome]
    conn.execute(
        """UPDATE alert_notifications SET status = %s, last_error = %s, updated_at = now(),
               next_attempt_at = coalesce(%s, next_attempt_at),
               delivered_at = CASE WHEN %s = 'delivered' THEN now() ELSE delivered_at END
           WHERE notification_id = %s""",
        (status, None if outcome == "delivered" else detail[:1000], next_attempt_at, status,
         notification.notification_id),
    )
    conn.execute(
        "INSERT INTO alert_delivery_attempts (notification_id, attempt, outcome, detail, duration_ms)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (notification_id, attempt) DO NOTHING",
        (notification.notification_id, notification.attempts, outcome, detail[:1000], duration_ms),
    )
    if outcome == "delivered":
        conn.execute(
            "UPDATE alert_subscribers SET breaker_failures = 0, breaker_open_until = NULL WHERE subscriber_id = %s",
            (notification.subscriber_id,),
        )
    elif outcome in ("failed", "dead"):
        conn.execute(
            """UPDATE alert_subscribers SET breaker_failures = breaker_failures + 1,
                   breaker_open_until = CASE WHEN breaker_failures + 1 >= %s THEN now() + %s
                                             ELSE breaker_open_until END
               WHERE subscriber_id = %s""",
            (breaker_threshold, breaker_cooldown, notification.subscriber_id),
        )


def ledger(
    conn: Connection[Any], *, statuses: list[str] | None = None, subscriber_id: str | None = None, limit: int = 100
) -> list[Notification]:
    """The delivery ledger, newest first."""
    query: LiteralString = (
        """SELECT n.notification_id, n.subscriber_id, n.alert_id, n.event_id, n.event_kind, n.payload, n.status,
          n.attempts, n.attempt_base, n.next_attempt_at, n.last_error, n.created_at, n.delivered_at
        FROM alert_notifications n
        WHERE (%(statuses)s::text[] IS NULL OR n.status = ANY(%(statuses)s::text[]))
          AND (%(subscriber)s::text IS NULL OR n.subscriber_id = %(subscriber)s::text)
        ORDER BY n.created_at DESC, n.event_id DESC LIMIT %(limit)s"""
    )
    params = {"statuses": statuses, "subscriber": subscriber_id, "limit": limit}
    with conn.cursor(row_factory=class_row(Notification)) as cur:
        return cur.execute(query, params).fetchall()


def ledger_counts(conn: Connection[Any]) -> dict[str, int]:
    rows = conn.execute("SELECT status, count(*) FROM alert_notifications GROUP BY status").fetchall()
    return {row[0]: int(row[1]) for row in rows}


def replay_dead(
    conn: Connection[Any], *, subscriber_id: str | None = None, notification_ids: list[UUID] | None = None
) -> int:
    """Queue dead notifications again (same idempotency key, a fresh retry budget); returns how many."""
    cursor = conn.execute(
        """UPDATE alert_notifications SET status = 'queued', attempt_base = attempts, next_attempt_at = now(),
               updated_at = now()
           WHERE status = 'dead'
             AND (%(subscriber)s::text IS NULL OR subscriber_id = %(subscriber)s::text)
             AND (%(ids)s::uuid[] IS NULL OR notification_id = ANY(%(ids)s::uuid[]))""",
        {"subscriber": subscriber_id, "ids": notification_ids},
    )
    if subscriber_id is not None:
        conn.execute(
            "UPDATE alert_subscribers SET breaker_failures = 0, breaker_open_until = NULL WHERE subscriber_id = %s",
            (subscriber_id,),
        )
    return cursor.rowcount
