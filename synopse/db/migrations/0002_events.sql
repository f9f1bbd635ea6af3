-- Raw events of the input topics. Each table's primary key is the event's natural key and includes
-- the time column, so that it is also a valid unique index on a TimescaleDB hypertable. Writes are
-- upserts on that key: at-least-once delivery has an exactly-once effect. Events are not bound to the
-- reference tables by foreign keys on purpose: a facility missing from the reference data must not
-- block ingestion (it shows as unknown instead).

CREATE TABLE IF NOT EXISTS admissions (
    event_id       uuid NOT NULL,
    admitted_at    timestamptz NOT NULL,
    facility_id    text NOT NULL,
    care_unit      text NOT NULL,
    age_band       text NOT NULL,
    reason         text NOT NULL,
    patient_key    text NOT NULL,           -- keyed hash; never a hospital identifier
    commune_code   text,
    via_emergency  boolean NOT NULL DEFAULT false,
    discharged_at  timestamptz,
    cancelled      boolean NOT NULL DEFAULT false,
    ingested_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, admitted_at)
);
CREATE INDEX IF NOT EXISTS admissions_facility_time ON admissions (facility_id, admitted_at DESC);

CREATE TABLE IF NOT EXISTS emergency_visits (
    event_id       uuid NOT NULL,
    arrived_at     timestamptz NOT NULL,
    facility_id    text NOT NULL,
    age_band       text NOT NULL,
    reason         text NOT NULL,
    commune_code   text,
    hospitalised   boolean,
    patient_key    text,
    ingested_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, arrived_at)
);
CREATE INDEX IF NOT EXISTS emergency_visits_facility_time ON emergency_visits (facility_id, arrived_at DESC);

CREATE TABLE IF NOT EXISTS bed_snapshots (
    facility_id    text NOT NULL,
    care_unit      text NOT NULL,
    observed_at    timestamptz NOT NULL,
    beds_total     integer NOT NULL CHECK (beds_total >= 0),
    beds_occupied  integer NOT NULL CHECK (beds_occupied >= 0),
    event_id       uuid NOT NULL,
    ingested_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, care_unit, observed_at)
);

CREATE TABLE IF NOT EXISTS environment_observations (
    station_id   text NOT NULL,
    indicator    text NOT NULL,
    observed_at  timestamptz NOT NULL,
    value        double precision NOT NULL,
    unit         text NOT NULL,
    event_id     uuid NOT NULL,
    ingested_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (station_id, indicator, observed_at)
);

-- Latest bed snapshot per care unit, kept by the stream worker: "how full is it now" without
-- scanning history.
CREATE TABLE IF NOT EXISTS bed_occupancy_current (
    facility_id    text NOT NULL,
    care_unit      text NOT NULL,
    observed_at    timestamptz NOT NULL,
    beds_total     integer NOT NULL,
    beds_occupied  integer NOT NULL,
    PRIMARY KEY (facility_id, care_unit)
);

-- Freshness of every source (a facility on a topic, a station for an indicator): the last event time
-- and when it reached us; a silent source is "feed late", which is not the same as a true zero.
CREATE TABLE IF NOT EXISTS source_freshness (
    topic             text NOT NULL,
    source_id         text NOT NULL,
    last_event_at     timestamptz NOT NULL,
    last_ingested_at  timestamptz NOT NULL,
    events_total      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (topic, source_id)
);
