-- Who receives alerts. A subscriber of a partner organisation (the access model of migration 0030:
-- access_organisations, access_shares) receives only the alerts whose territory or indicator is shared with
-- that organisation, with small counts suppressed. organisation_id refers to access_organisations; it has no
-- foreign key because 0030 runs after this file (the alerts service checks it when a subscriber is added).

-- A subscriber: a webhook (Alertmanager v4 JSON, HMAC-SHA256 signed with `secret`), an e-mail address, or
-- a Kafka topic. No organisation: internal, the crisis cell's (everything, exact counts). The circuit breaker of each
-- subscriber is kept here so that it survives a restart.
CREATE TABLE IF NOT EXISTS alert_subscribers (
    subscriber_id       text PRIMARY KEY,
    name                text NOT NULL,
    kind                text NOT NULL CHECK (kind IN ('webhook', 'email', 'kafka')),
    target              text NOT NULL,          -- URL, e-mail address or topic name (without prefix)
    secret              text,                   -- HMAC key of a webhook
    organisation_id     integer,                -- access_organisations; NULL: internal
    min_severity        text NOT NULL DEFAULT 'info' CHECK (min_severity IN ('info', 'warning', 'severe', 'critical')),
    rule_ids            text[],                 -- only these rules; NULL: every rule
    enabled             boolean NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now(),
    breaker_failures    integer NOT NULL DEFAULT 0,
    breaker_open_until  timestamptz
);
