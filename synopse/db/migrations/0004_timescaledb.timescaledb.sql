-- Where TimescaleDB is present: raw event tables become hypertables, the aggregates of 0003 become
-- continuous aggregates of the same names and columns (real-time: materialised buckets plus the
-- newest raw rows), and old chunks are compressed or dropped by policies. The extension itself is
-- created (committed) by the migrator before this runs.
--
-- Chunk intervals: hospital tables receive about a thousand rows a day per metropolis, so a month per
-- chunk keeps chunks few and well filled; environmental sensors are denser, a week per chunk.

SELECT create_hypertable('admissions', by_range('admitted_at', INTERVAL '30 days'),
                         if_not_exists => TRUE, migrate_data => TRUE);
SELECT create_hypertable('emergency_visits', by_range('arrived_at', INTERVAL '30 days'),
                         if_not_exists => TRUE, migrate_data => TRUE);
SELECT create_hypertable('bed_snapshots', by_range('observed_at', INTERVAL '30 days'),
                         if_not_exists => TRUE, migrate_data => TRUE);
SELECT create_hypertable('environment_observations', by_range('observed_at', INTERVAL '7 days'),
                         if_not_exists => TRUE, migrate_data => TRUE);

DROP VIEW IF EXISTS admissions_hourly;
CREATE MATERIALIZED VIEW admissions_hourly
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', admitted_at) AS bucket, facility_id, care_unit, reason,
       count(*) AS admissions,
       sum(CASE WHEN via_emergency THEN 1 ELSE 0 END) AS admissions_via_emergency
FROM admissions
WHERE NOT cancelled
GROUP BY 1, 2, 3, 4
WITH NO DATA;

DROP VIEW IF EXISTS admissions_commune_daily;
CREATE MATERIALIZED VIEW admissions_commune_daily
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 day', admitted_at, 'Europe/Paris') AS bucket, commune_code, age_band, reason,
       count(*) AS admissions
FROM admissions
WHERE NOT cancelled
GROUP BY 1, 2, 3, 4
WITH NO DATA;

DROP VIEW IF EXISTS emergency_visits_hourly;
CREATE MATERIALIZED VIEW emergency_visits_hourly
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', arrived_at) AS bucket, facility_id, age_band, reason,
       count(*) AS visits,
       sum(CASE WHEN hospitalised THEN 1 ELSE 0 END) AS visits_hospitalised
FROM emergency_visits
GROUP BY 1, 2, 3, 4
WITH NO DATA;

DROP VIEW IF EXISTS emergency_visits_commune_daily;
CREATE MATERIALIZED VIEW emergency_visits_commune_daily
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 day', arrived_at, 'Europe/Paris') AS bucket, commune_code, age_band, reason,
       count(*) AS visits
FROM emergency_visits
GROUP BY 1, 2, 3, 4
WITH NO DATA;

DROP VIEW IF EXISTS bed_occupancy_hourly;
CREATE MATERIALIZED VIEW bed_occupancy_hourly
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', observed_at) AS bucket, facility_id, care_unit,
       avg(beds_occupied) AS beds_occupied_avg,
       max(beds_occupied) AS beds_occupied_max,
       max(beds_total) AS beds_total_max,
       count(*) AS snapshots
FROM bed_snapshots
GROUP BY 1, 2, 3
WITH NO DATA;

DROP VIEW IF EXISTS environment_hourly;
CREATE MATERIALIZED VIEW environment_hourly
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', observed_at) AS bucket, station_id, indicator,
       avg(value) AS value_avg, min(value) AS value_min, max(value) AS value_max,
       count(*) AS observations
FROM environment_observations
GROUP BY 1, 2, 3
WITH NO DATA;

DROP VIEW IF EXISTS environment_daily;
CREATE MATERIALIZED VIEW environment_daily
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 day', observed_at, 'Europe/Paris') AS bucket, station_id, indicator,
       avg(value) AS value_avg, min(value) AS value_min, max(value) AS value_max,
       count(*) AS observations
FROM environment_observations
GROUP BY 1, 2, 3
WITH NO DATA;

-- Refresh: every 15 minutes, re-materialise what changed in the last 90 days (TimescaleDB only
-- recomputes invalidated buckets, so a wide window is cheap and late events up to 90 days old are
-- counted). The window must stay shorter than the raw retention below, or a refresh would erase
-- aggregates of dropped raw data. The newest hour is left to real-time aggregation.
SELECT add_continuous_aggregate_policy(view_name, start_offset => INTERVAL '90 days',
                                       end_offset => end_offset, schedule_interval => INTERVAL '15 minutes',
                                       if_not_exists => TRUE)
FROM (VALUES ('admissions_hourly', INTERVAL '1 hour'),
             ('emergency_visits_hourly', INTERVAL '1 hour'),
             ('bed_occupancy_hourly', INTERVAL '1 hour'),
             ('environment_hourly', INTERVAL '1 hour'),
             ('admissions_commune_daily', INTERVAL '1 day'),
             ('emergency_visits_commune_daily', INTERVAL '1 day'),
             ('environment_daily', INTERVAL '1 day')) AS policies (view_name, end_offset);

-- Compression: chunks older than the refresh window are read rarely and only through the aggregates;
-- segmenting by source keeps per-facility and per-station reads fast on compressed chunks.
ALTER TABLE admissions SET (timescaledb.compress, timescaledb.compress_segmentby = 'facility_id',
                            timescaledb.compress_orderby = 'admitted_at DESC');
ALTER TABLE emergency_visits SET (timescaledb.compress, timescaledb.compress_segmentby = 'facility_id',
                                  timescaledb.compress_orderby = 'arrived_at DESC');
ALTER TABLE bed_snapshots SET (timescaledb.compress, timescaledb.compress_segmentby = 'facility_id, care_unit',
                               timescaledb.compress_orderby = 'observed_at DESC');
ALTER TABLE environment_observations SET (timescaledb.compress,
                                          timescaledb.compress_segmentby = 'station_id, indicator',
                                          timescaledb.compress_orderby = 'observed_at DESC');
SELECT add_compression_policy(table_name, INTERVAL '120 days', if_not_exists => TRUE)
FROM (VALUES ('admissions'), ('emergency_visits'), ('bed_snapshots'), ('environment_observations'))
     AS tables (table_name);

-- Retention of raw rows: sensor readings and bed snapshots are kept two years raw (their hourly and
-- daily aggregates stay); hospital admissions and visits are not dropped by default, because the
-- forecasts learn from years of history: set a policy matching your data-protection register.
SELECT add_retention_policy('environment_observations', INTERVAL '2 years', if_not_exists => TRUE);
SELECT add_retention_policy('bed_snapshots', INTERVAL '2 years', if_not_exists => TRUE);
