-- Time ranges of late events to re-materialise in the continuous aggregates (TimescaleDB only; the
-- plain-PostgreSQL aggregates are views, always right, and this table stays empty there). A real-time
-- continuous aggregate shows raw rows only above its watermark; an event older than that is visible
-- once its bucket is refreshed. The refresh policy (every 15 min over the last 90 days) does it in
-- time for recent events; an event older than 90 days would never be. The stream worker writes a
-- request per batch holding events older than the real-time window, and a worker refreshes the
-- requested ranges within seconds (refresh cannot run inside the batch's transaction).

CREATE TABLE IF NOT EXISTS aggregate_refresh_requests (
    id            bigserial PRIMARY KEY,
    raw_table     text NOT NULL,
    range_start   timestamptz NOT NULL,
    range_end     timestamptz NOT NULL,
    requested_at  timestamptz NOT NULL DEFAULT now()
);
