-- Published daily hospital counts per area (contract HospitalDailyCount, topic synopse.hospital_daily.v1):
-- open data such as Santé publique France's hospital files, department by day. One row per natural key
-- (area, condition, measure, day, source): a revised count replaces the stored value. A few thousand rows a
-- year per area: a plain table on PostgreSQL and on TimescaleDB alike (a hypertable would buy nothing).

CREATE TABLE IF NOT EXISTS hospital_daily_counts (
    territory    text NOT NULL,               -- fr, reg:52, dep:44, com:44109
    condition    text NOT NULL,               -- a reason category (covid19...) or 'all'
    measure      text NOT NULL,               -- hospitalised, admissions, deaths_cumulative... (HospitalMeasure)
    day          date NOT NULL,               -- civil day in Europe/Paris
    source       text NOT NULL,               -- publisher and dataset, e.g. spf-sivic
    value        integer NOT NULL CHECK (value >= 0),
    event_id     uuid NOT NULL,
    ingested_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (territory, condition, measure, day, source)
);
