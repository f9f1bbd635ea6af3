-- Alerts and their lifecycle, durable so that a restart changes nothing: an episode of one rule on one
-- scope (a facility, a commune, a station, the metropolis, the platform) goes pending -> firing -> resolved.
-- At most one open (pending or firing) episode per rule and scope; resolved ones stay as history.
-- `notified` says whether the firing notice was fanned out (it is not while a silence covers the alert), so
-- that a "resolved" notice goes exactly to those who heard "firing".

CREATE TABLE IF NOT EXISTS alerts (
    alert_id       uuid PRIMARY KEY,
    rule_id        text NOT NULL,
    scope_key      text NOT NULL,                 -- level:id, e.g. facility:chu-nantes-hotel-dieu
    indicator      text NOT NULL,
    status         text NOT NULL CHECK (status IN ('pending', 'firing', 'resolved')),
    severity       text NOT NULL CHECK (severity IN ('info', 'warning', 'severe', 'critical')),
    pending_since  timestamptz NOT NULL,
    firing_since   timestamptz,
    clear_since    timestamptz,
    resolved_at    timestamptz,
    value          double precision,
    details        jsonb NOT NULL DEFAULT '{}',
    summary        text NOT NULL DEFAULT '',
    notified       boolean NOT NULL DEFAULT false,
    evaluated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_open_per_scope ON alerts (rule_id, scope_key)
    WHERE status IN ('pending', 'firing');
CREATE INDEX IF NOT EXISTS alerts_recent ON alerts (coalesce(resolved_at, firing_since, pending_since) DESC);

-- Every notified state change, in order: what the ledger and the Kafka topic carry.
CREATE TABLE IF NOT EXISTS alert_events (
    event_id   bigserial PRIMARY KEY,
    alert_id   uuid NOT NULL REFERENCES alerts (alert_id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('firing', 'changed', 'resolved')),
    at         timestamptz NOT NULL,
    severity   text NOT NULL,
    value      double precision,
    silenced   boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS alert_events_alert ON alert_events (alert_id, event_id);

CREATE TABLE IF NOT EXISTS alert_acks (
    alert_id  uuid NOT NULL REFERENCES alerts (alert_id) ON DELETE CASCADE,
    acked_at  timestamptz NOT NULL DEFAULT now(),
    acked_by  text NOT NULL,
    comment   text NOT NULL DEFAULT '',
    PRIMARY KEY (alert_id, acked_at)
);

-- A silence mutes notifications of the alerts it matches (every given matcher must match) until ends_at;
-- the alerts themselves are still evaluated and shown.
CREATE TABLE IF NOT EXISTS alert_silences (
    silence_id  uuid PRIMARY KEY,
    rule_id     text,
    scope_key   text,
    indicator   text,
    starts_at   timestamptz NOT NULL DEFAULT now(),
    ends_at     timestamptz NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    comment     text NOT NULL DEFAULT '',
    CHECK (rule_id IS NOT NULL OR scope_key IS NOT NULL OR indicator IS NOT NULL),
    CHECK (ends_at > starts_at)
);
CREATE INDEX IF NOT EXISTS alert_silences_active ON alert_silences (ends_at);
