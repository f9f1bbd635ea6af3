-- Plain PostgreSQL only (where the aggregates are still views): bucket with immutable expressions so
-- that a filter on `bucket` is pushed through the view onto an expression index, instead of
-- aggregating the whole raw table on every dashboard refresh. `date_trunc` on a timestamptz depends
-- on the session time zone and cannot be indexed; on the UTC (or Paris) wall-clock timestamp it can,
-- and converting back gives the same timestamptz buckets as TimescaleDB's time_bucket.
-- Where the aggregates are continuous aggregates (TimescaleDB), this migration does nothing.

DO $migration$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_class WHERE relname = 'admissions_hourly' AND relkind = 'v'
               AND relnamespace = to_regnamespace(current_schema())) THEN
        CREATE OR REPLACE VIEW admissions_hourly AS
        SELECT (date_trunc('hour', admitted_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS bucket,
               facility_id, care_unit, reason,
               count(*) AS admissions,
               sum(CASE WHEN via_emergency THEN 1 ELSE 0 END) AS admissions_via_emergency
        FROM admissions
        WHERE NOT cancelled
        GROUP BY 1, 2, 3, 4;
        CREATE INDEX IF NOT EXISTS admissions_hour_bucket
            ON admissions ((date_trunc('hour', admitted_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'));

        CREATE OR REPLACE VIEW admissions_commune_daily AS
        SELECT (date_trunc('day', admitted_at AT TIME ZONE 'Europe/Paris') AT TIME ZONE 'Europe/Paris') AS bucket,
               commune_code, age_band, reason,
               count(*) AS admissions
        FROM admissions
        WHERE NOT cancelled
        GROUP BY 1, 2, 3, 4;
        CREATE INDEX IF NOT EXISTS admissions_paris_day_bucket
            ON admissions ((date_trunc('day', admitted_at AT TIME ZONE 'Europe/Paris') AT TIME ZONE 'Europe/Paris'));

        CREATE OR REPLACE VIEW emergency_visits_hourly AS
        SELECT (date_trunc('hour', arrived_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS bucket,
               facility_id, age_band, reason,
               count(*) AS visits,
               sum(CASE WHEN hospitalised THEN 1 ELSE 0 END) AS visits_hospitalised
        FROM emergency_visits
        GROUP BY 1, 2, 3, 4;
        CREATE INDEX IF NOT EXISTS emergency_visits_hour_bucket
            ON emergency_visits ((date_trunc('hour', arrived_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'));

        CREATE OR REPLACE VIEW emergency_visits_commune_daily AS
        SELECT (date_trunc('day', arrived_at AT TIME ZONE 'Europe/Paris') AT TIME ZONE 'Europe/Paris') AS bucket,
               commune_code, age_band, reason,
               count(*) AS visits
        FROM emergency_visits
        GROUP BY 1, 2, 3, 4;
        CREATE INDEX IF NOT EXISTS emergency_visits_paris_day_bucket
            ON emergency_visits ((date_trunc('day', arrived_at AT TIME ZONE 'Europe/Paris') AT TIME ZONE 'Europe/Paris'));

        CREATE OR REPLACE VIEW bed_occupancy_hourly AS
        SELECT (date_trunc('hour', observed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS bucket,
               facility_id, care_unit,
               avg(beds_occupied) AS beds_occupied_avg,
               max(beds_occupied) AS beds_occupied_max,
               max(beds_total) AS beds_total_max,
               count(*) AS snapshots
        FROM bed_snapshots
        GROUP BY 1, 2, 3;
        CREATE INDEX IF NOT EXISTS bed_snapshots_hour_bucket
            ON bed_snapshots ((date_trunc('hour', observed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'));

        CREATE OR REPLACE VIEW environment_hourly AS
        SELECT (date_trunc('hour', observed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS bucket,
               station_id, indicator,
               avg(value) AS value_avg, min(value) AS value_min, max(value) AS value_max,
               count(*) AS observations
        FROM environment_observations
        GROUP BY 1, 2, 3;
        CREATE INDEX IF NOT EXISTS environment_observations_hour_bucket
            ON environment_observations ((date_trunc('hour', observed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'));

        CREATE OR REPLACE VIEW environment_daily AS
        SELECT (date_trunc('day', observed_at AT TIME ZONE 'Europe/Paris') AT TIME ZONE 'Europe/Paris') AS bucket,
               station_id, indicator,
               avg(value) AS value_avg, min(value) AS value_min, max(value) AS value_max,
               count(*) AS observations
        FROM environment_observations
        GROUP BY 1, 2, 3;
        CREATE INDEX IF NOT EXISTS environment_observations_paris_day_bucket
            ON environment_observations
            ((date_trunc('day', observed_at AT TIME ZONE 'Europe/Paris') AT TIME ZONE 'Europe/Paris'));
    END IF;
END
$migration$;
