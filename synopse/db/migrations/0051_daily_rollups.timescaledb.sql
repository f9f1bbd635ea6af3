-- Where TimescaleDB is present: the daily rollups of 0050 are hierarchical continuous aggregates over the
-- hourly (and commune-daily) ones of 0004, same names and columns, real-time like them. Built on the
-- aggregates rather than the raw rows: a refresh reads at most 24 materialised rows per key and day instead of
-- the raw events (compressed after 120 days), and they outlive the retention of raw bed snapshots as the hourly
-- aggregates do. A late event is re-materialised by the stream worker's refresh of the requested ranges
-- (synopse.db.health: the hourly aggregate first, then these), like the aggregates it derives from.

CREATE MATERIALIZED VIEW IF NOT EXISTS admissions_facility_daily
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 day', bucket, 'Europe/Paris') AS bucket, facility_id,
       sum(admissions) AS admissions
FROM admissions_hourly
GROUP BY 1, 2
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS emergency_visits_facility_daily
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 day', bucket, 'Europe/Paris') AS bucket, facility_id,
       sum(visits) AS visits
FROM emergency_visits_hourly
GROUP BY 1, 2
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS admissions_residents_daily
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 day', bucket, 'Europe/Paris') AS bucket, commune_code,
       sum(admissions) AS admissions
FROM admissions_commune_daily
WHERE commune_code IS NOT NULL
GROUP BY 1, 2
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS emergency_visits_residents_daily
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 day', bucket, 'Europe/Paris') AS bucket, commune_code,
       sum(visits) AS visits
FROM emergency_visits_commune_daily
WHERE commune_code IS NOT NULL
GROUP BY 1, 2
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS bed_occupancy_daily
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 day', bucket, 'Europe/Paris') AS bucket, facility_id, care_unit,
       avg(beds_occupied_avg)::float8 AS beds_occupied_avg,
       max(beds_total_max) AS beds_total_max,
       count(*)::integer AS hours
FROM bed_occupancy_hourly
GROUP BY 1, 2, 3
WITH NO DATA;

-- Same policy as the daily aggregates of 0004: every 15 minutes over the last 90 days, the current day left
-- to real-time aggregation.
SELECT add_continuous_aggregate_policy(view_name, start_offset => INTERVAL '90 days',
                                       end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '15 minutes',
                                       if_not_exists => TRUE)
FROM (VALUES ('admissions_facility_daily'), ('emergency_visits_facility_daily'), ('admissions_residents_daily'),
             ('emergency_visits_residents_daily'), ('bed_occupancy_daily')) AS policies (view_name);

-- Continuous aggregates are complete at every instant (real-time): readers take every day from them.
INSERT INTO daily_rollup_state (complete_before) VALUES ('infinity')
ON CONFLICT (singleton) DO UPDATE SET complete_before = EXCLUDED.complete_before;

-- Existing history: the policy only materialises the last 90 days and a refresh cannot run inside this
-- migration's transaction, so ask the stream worker's next health round to materialise the whole stored range
-- (older days read as empty until then: the real-time part only covers what is above the watermark).
INSERT INTO aggregate_refresh_requests (raw_table, range_start, range_end)
SELECT raw_table, range_start, range_end
FROM (SELECT 'admissions', min(admitted_at), max(admitted_at) FROM admissions
      UNION ALL SELECT 'emergency_visits', min(arrived_at), max(arrived_at) FROM emergency_visits
      UNION ALL SELECT 'bed_snapshots', min(observed_at), max(observed_at) FROM bed_snapshots)
     AS stored (raw_table, range_start, range_end)
WHERE range_start IS NOT NULL;
