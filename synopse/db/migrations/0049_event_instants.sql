-- Where each admission and emergency visit is stored in time, by event id. The raw tables are keyed on
-- (event_id, time) because a TimescaleDB hypertable's unique keys must include its time column; a
-- correction that moves the event in time (an HL7 A08 fixing the admission time) would then add a row
-- beside the old one. The stream worker reads the previous instant here and deletes the moved row in
-- the same transaction as it writes the new one (synopse/db/ingest.py). A plain table: a lookup by id
-- costs one index probe, where the hypertable would probe every chunk.

CREATE TABLE IF NOT EXISTS event_instants (
    raw_table    text NOT NULL,
    event_id     uuid NOT NULL,
    occurred_at  timestamptz NOT NULL,
    PRIMARY KEY (raw_table, event_id)
);

-- Events stored before this migration: the newest row of each id (older duplicates are left as they are).
INSERT INTO event_instants (raw_table, event_id, occurred_at)
SELECT DISTINCT ON (event_id) 'admissions', event_id, admitted_at
FROM admissions ORDER BY event_id, ingested_at DESC
ON CONFLICT DO NOTHING;

INSERT INTO event_instants (raw_table, event_id, occurred_at)
SELECT DISTINCT ON (event_id) 'emergency_visits', event_id, arrived_at
FROM emergency_visits ORDER BY event_id, ingested_at DESC
ON CONFLICT DO NOTHING;
