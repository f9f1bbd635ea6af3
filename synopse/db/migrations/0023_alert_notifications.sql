-- The outbox and delivery ledger: one row per notification per subscriber, written in the same transaction
-- as the state change it announces, so a crash loses nothing. notification_id is the idempotency key sent
-- with every attempt. Status: queued -> delivered, or queued -> failed (retry scheduled) -> ... -> dead
-- once the retry budget is spent (`synopse alerts replay-dead` queues it again, with a new budget).

CREATE TABLE IF NOT EXISTS alert_notifications (
    notification_id  uuid PRIMARY KEY,
    subscriber_id    text NOT NULL REFERENCES alert_subscribers (subscriber_id) ON DELETE CASCADE,
    alert_id         uuid NOT NULL REFERENCES alerts (alert_id) ON DELETE CASCADE,
    event_id         bigint NOT NULL REFERENCES alert_events (event_id) ON DELETE CASCADE,
    event_kind       text NOT NULL,
    payload          jsonb NOT NULL,
    status           text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'delivered', 'failed', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,      -- every attempt ever made (the ledger numbers them)
    attempt_base     integer NOT NULL DEFAULT 0,      -- attempts before the last replay: the budget restarts there
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    UNIQUE (subscriber_id, event_id)
);
CREATE INDEX IF NOT EXISTS alert_notifications_due ON alert_notifications (next_attempt_at)
    WHERE status IN ('queued', 'failed');
CREATE INDEX IF NOT EXISTS alert_notifications_alert ON alert_notifications (alert_id);

CREATE TABLE IF NOT EXISTS alert_delivery_attempts (
    notification_id  uuid NOT NULL REFERENCES alert_notifications (notification_id) ON DELETE CASCADE,
    attempt          integer NOT NULL,
    at               timestamptz NOT NULL DEFAULT now(),
    outcome          text NOT NULL CHECK (outcome IN ('delivered', 'failed', 'dead', 'circuit_open')),
    detail           text NOT NULL DEFAULT '',
    duration_ms      double precision,
    PRIMARY KEY (notification_id, attempt)
);

-- Wake the notifier as soon as notifications are queued (delivered at commit, so it never sees a
-- notification before it exists). One notification per statement keeps the cost flat.
CREATE OR REPLACE FUNCTION alert_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('synopse_alert_outbox', '');
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS alert_notifications_queued ON alert_notifications;
CREATE TRIGGER alert_notifications_queued AFTER INSERT OR UPDATE OF status ON alert_notifications
    FOR EACH STATEMENT EXECUTE FUNCTION alert_outbox_notify();
