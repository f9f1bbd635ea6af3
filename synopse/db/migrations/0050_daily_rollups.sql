-- Daily rollups per facility and per commune of residence, read by the dashboard's detail page instead of
-- re-aggregating the hourly aggregates over long windows. Same names and columns in both modes:
--
--   admissions_facility_daily         (bucket, facility_id, admissions)
--   emergency_visits_facility_daily   (bucket, facility_id, visits)
--   admissions_residents_daily        (bucket, commune_code, admissions)      residents, wherever admitted
--   emergency_visits_residents_daily  (bucket, commune_code, visits)
--   bed_occupancy_daily               (bucket, facility_id, care_unit, beds_occupied_avg, beds_total_max, hours)
--
-- `bucket` is the start of the civil day in Europe/Paris; `beds_occupied_avg` is the mean of the unit's hourly
-- means (bed_occupancy_hourly) over the hours it reported, `hours` how many.
--
-- Plain PostgreSQL (this file): real tables, exact for every day before `daily_rollup_state.complete_before`.
-- Statement-level triggers on the raw tables record the local days (before the current one) that a statement
-- inserted, corrected or deleted in `daily_rollup_requests`; `synopse.db.rollups.refresh_daily_rollups`, run by
-- the stream worker's health round, recomputes those days from the raw rows (a recount, never an increment:
-- corrections and cancellations stay exact) and moves `complete_before` forward at each day change. Readers take
-- days from `complete_before` on, and days still requested, from the hourly views: always exact, fast once
-- refreshed. On TimescaleDB (0051) these names are continuous aggregates and `complete_before` is 'infinity'.

CREATE TABLE IF NOT EXISTS daily_rollup_state (
    singleton        boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    complete_before  date NOT NULL   -- rollup rows are exact for every local day before this one
);

CREATE TABLE IF NOT EXISTS daily_rollup_requests (
    id            bigserial PRIMARY KEY,
    raw_table     text NOT NULL,
    day           date NOT NULL,     -- local (Europe/Paris) day to recompute
    requested_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS daily_rollup_requests_day ON daily_rollup_requests (day);

DO $migration$
DECLARE
    hypertables boolean := false;
    horizon date := ((now() - interval '1 hour') AT TIME ZONE 'Europe/Paris')::date;  -- see rollups.py
    backlog date[];
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables
                                WHERE hypertable_schema = current_schema() AND hypertable_name = ''admissions'')'
            INTO hypertables;
    END IF;
    IF hypertables THEN
        RETURN;  -- TimescaleDB: continuous aggregates of the same names (0051)
    END IF;

    CREATE TABLE IF NOT EXISTS admissions_facility_daily (
        bucket timestamptz NOT NULL, facility_id text NOT NULL, admissions bigint NOT NULL,
        PRIMARY KEY (facility_id, bucket));
    CREATE INDEX IF NOT EXISTS admissions_facility_daily_bucket ON admissions_facility_daily (bucket);
    CREATE TABLE IF NOT EXISTS emergency_visits_facility_daily (
        bucket timestamptz NOT NULL, facility_id text NOT NULL, visits bigint NOT NULL,
        PRIMARY KEY (facility_id, bucket));
    CREATE INDEX IF NOT EXISTS emergency_visits_facility_daily_bucket ON emergency_visits_facility_daily (bucket);
    CREATE TABLE IF NOT EXISTS admissions_residents_daily (
        bucket timestamptz NOT NULL, commune_code text NOT NULL, admissions bigint NOT NULL,
        PRIMARY KEY (commune_code, bucket));
    CREATE TABLE IF NOT EXISTS emergency_visits_residents_daily (
        bucket timestamptz NOT NULL, commune_code text NOT NULL, visits bigint NOT NULL,
        PRIMARY KEY (commune_code, bucket));
    CREATE TABLE IF NOT EXISTS bed_occupancy_daily (
        bucket timestamptz NOT NULL, facility_id text NOT NULL, care_unit text NOT NULL,
        beds_occupied_avg float8 NOT NULL, beds_total_max integer, hours integer NOT NULL,
        PRIMARY KEY (facility_id, care_unit, bucket));
    CREATE INDEX IF NOT EXISTS bed_occupancy_daily_bucket ON bed_occupancy_daily (bucket);

    -- Recompute the rollups of one raw table over the given local days from the raw rows: upsert what the
    -- days hold now, delete the keys they no longer hold (every admission of a facility that day cancelled).
    -- Admissions and visits are found through the local-day expression index of 0005, bed snapshots through
    -- its hourly one.
    CREATE OR REPLACE FUNCTION recompute_daily_rollups(source text, days date[]) RETURNS void
    LANGUAGE plpgsql AS $function$
    DECLARE
        starts timestamptz[] := ARRAY(SELECT d::timestamp AT TIME ZONE 'Europe/Paris' FROM unnest(days) AS d);
    BEGIN
        IF source = 'admissions' THEN
            WITH fresh AS (
                SELECT (date_trunc('day', admitted_at AT TIME ZONE 'Europe/Paris') AT TIME ZONE 'Europe/Paris') AS bucket,
                       facility_id, count(*) AS admissions
                FROM admissions
                WHERE NOT cancelled
                  AND (date_trunc('day', admitted_at AT TIME ZONE 'Europe/Paris') AT TIME ZONE 'Europe/Paris') = ANY(starts)
                GROUP BY 1, 2
            ), gone AS (
                DELETE FROM admissions_facility_daily AS t
                WHERE t.bucket = ANY(starts)
                  AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.bucket = t.bucket AND f.facility_id = t.facility_id)
            )
            INSERT INTO admissions_facility_daily (bucket, facility_id, admissions) SELECT * FROM fresh
            ON CONFLICT (facility_id, bucket) DO UPDATE SET admissions = EXCLUDED.admissions
            WHERE admissions_facility_daily.admissions IS DISTINCT FROM EXCLUDED.admissions;

            WITH fresh AS (
                SELECT (date_trunc('day', admitted_at AT TIME ZONE 'Europe/Paris') AT TIME ZONE 'Europe/Paris') AS bucket,
                       commune_code, count(*) AS admissions
                FROM admissions
                WHERE NOT cancelled AND commune_code IS NOT NULL
                  AND (date_trunc('day', admitted_at AT TIME ZONE 'Europe/Paris') AT TIME ZONE 'Europe/Paris') = ANY(starts)
                GROUP BY 1, 2
            ), gone AS (
                DELETE FROM admissions_residents_daily AS t
                WHERE t.bucket = ANY(starts)
                  AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.bucket = t.bucket AND f.commune_code = t.commune_code)
            )
            INSERT INTO admissions_residents_daily (bucket, commune_code, admissions) SELECT * FROM fresh
            ON CONFLICT (commune_code, bucket) DO UPDATE SET admissions = EXCLUDED.admissions
            WHERE admissions_residents_daily.admissions IS DISTINCT FROM EXCLUDED.admissions;

        ELSIF source = 'emergency_visits' THEN
            WITH fresh AS (
                SELECT (date_trunc('day', arrived_at AT TIME ZONE 'Europe/Paris') AT TIME ZONE 'Europe/Paris') AS bucket,
                       facility_id, count(*) AS visits
                FROM emergency_visits
                WHERE (date_trunc('day', arrived_at AT TIME ZONE 'Europe/Paris') AT TIME ZONE 'Europe/Paris') = ANY(starts)
                GROUP BY 1, 2
            ), gone AS (
                DELETE FROM emergency_visits_facility_daily AS t
                WHERE t.bucket = ANY(starts)
                  AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.bucket = t.bucket AND f.facility_id = t.facility_id)
            )
            INSERT INTO emergency_visits_facility_daily (bucket, facility_id, visits) SELECT * FROM fresh
            ON CONFLICT (facility_id, bucket) DO UPDATE SET visits = EXCLUDED.visits
            WHERE emergency_visits_facility_daily.visits IS DISTINCT FROM EXCLUDED.visits;

            WITH fresh AS (
                SELECT (date_trunc('day', arrived_at AT TIME ZONE 'Europe/Paris') AT TIME ZONE 'Europe/Paris') AS bucket,
                       commune_code, count(*) AS visits
                FROM emergency_visits
                WHERE commune_code IS NOT NULL
                  AND (date_trunc('day', arrived_at AT TIME ZONE 'Europe/Paris') AT TIME ZONE 'Europe/Paris') = ANY(starts)
                GROUP BY 1, 2
            ), gone AS (
                DELETE FROM emergency_visits_residents_daily AS t
                WHERE t.bucket = ANY(starts)
                  AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.bucket = t.bucket AND f.commune_code = t.commune_code)
            )
            INSERT INTO emergency_visits_residents_daily (bucket, commune_code, visits) SELECT * FROM fresh
            ON CONFLICT (commune_code, bucket) DO UPDATE SET visits = EXCLUDED.visits
            WHERE emergency_visits_residents_daily.visits IS DISTINCT FROM EXCLUDED.visits;

        ELSIF source = 'bed_snapshots' THEN
            WITH hours AS (
                SELECT (date_trunc('hour', b.observed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS hour,
                       b.facility_id, b.care_unit, avg(b.beds_occupied) AS occupied, max(b.beds_total) AS total
                FROM unnest(starts) AS d (start)
                JOIN bed_snapshots AS b
                  ON (date_trunc('hour', b.observed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') >= d.start
                 AND (date_trunc('hour', b.observed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')
                     < ((d.start AT TIME ZONE 'Europe/Paris')::date + 1)::timestamp AT TIME ZONE 'Europe/Paris'
                GROUP BY 1, 2, 3
            ), fresh AS (
                SELECT (date_trunc('day', hour AT TIME ZONE 'Europe/Paris') AT TIME ZONE 'Europe/Paris') AS bucket,
                       facility_id, care_unit, avg(occupied)::float8 AS beds_occupied_avg,
                       max(total) AS beds_total_max, count(*)::integer AS hours
                FROM hours GROUP BY 1, 2, 3
            ), gone AS (
                DELETE FROM bed_occupancy_daily AS t
                WHERE t.bucket = ANY(starts)
                  AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.bucket = t.bucket AND f.facility_id = t.facility_id
                                                        AND f.care_unit = t.care_unit)
            )
            INSERT INTO bed_occupancy_daily (bucket, facility_id, care_unit, beds_occupied_avg, beds_total_max, hours)
            SELECT * FROM fresh
            ON CONFLICT (facility_id, care_unit, bucket) DO UPDATE SET
                beds_occupied_avg = EXCLUDED.beds_occupied_avg, beds_total_max = EXCLUDED.beds_total_max,
                hours = EXCLUDED.hours
            WHERE (bed_occupancy_daily.beds_occupied_avg, bed_occupancy_daily.beds_total_max, bed_occupancy_daily.hours)
                  IS DISTINCT FROM (EXCLUDED.beds_occupied_avg, EXCLUDED.beds_total_max, EXCLUDED.hours);
        ELSE
            RAISE EXCEPTION 'no daily rollup over %', source;
        END IF;
    END
    $function$;

    -- One function for the three raw tables and the three kinds of statement (a trigger with transition tables
    -- fires for one event only). Only days before the current local day are recorded: the current day is read
    -- from the hourly views, and the refresher never materialises a day before it is an hour over (see
    -- synopse/db/rollups.py), so a batch writing into the day that just ended is always counted. An upsert that
    -- changes nothing (a re-delivery) leaves its transition tables empty and records nothing.
    CREATE OR REPLACE FUNCTION record_daily_rollup_requests() RETURNS trigger
    LANGUAGE plpgsql AS $function$
    DECLARE
        today timestamptz := date_trunc('day', now() AT TIME ZONE 'Europe/Paris') AT TIME ZONE 'Europe/Paris';
    BEGIN
        IF TG_OP = 'TRUNCATE' THEN
            IF TG_TABLE_NAME = 'admissions' THEN
                DELETE FROM admissions_facility_daily;
                DELETE FROM admissions_residents_daily;
            ELSIF TG_TABLE_NAME = 'emergency_visits' THEN
                DELETE FROM emergency_visits_facility_daily;
                DELETE FROM emergency_visits_residents_daily;
            ELSE
                DELETE FROM bed_occupancy_daily;
            END IF;
            RETURN NULL;
        END IF;
        IF TG_TABLE_NAME = 'admissions' THEN
            INSERT INTO daily_rollup_requests (raw_table, day)
            SELECT DISTINCT 'admissions', (admitted_at AT TIME ZONE 'Europe/Paris')::date
            FROM changed_rows WHERE admitted_at < today;
        ELSIF TG_TABLE_NAME = 'emergency_visits' THEN
            INSERT INTO daily_rollup_requests (raw_table, day)
            SELECT DISTINCT 'emergency_visits', (arrived_at AT TIME ZONE 'Europe/Paris')::date
            FROM changed_rows WHERE arrived_at < today;
        ELSE
            INSERT INTO daily_rollup_requests (raw_table, day)
            SELECT DISTINCT 'bed_snapshots', (observed_at AT TIME ZONE 'Europe/Paris')::date
            FROM changed_rows WHERE observed_at < today;
        END IF;
        IF TG_OP = 'UPDATE' THEN  -- an update that moved a row's time dirties the day it left too
            IF TG_TABLE_NAME = 'admissions' THEN
                INSERT INTO daily_rollup_requests (raw_table, day)
                SELECT DISTINCT 'admissions', (admitted_at AT TIME ZONE 'Europe/Paris')::date
                FROM previous_rows WHERE admitted_at < today;
            ELSIF TG_TABLE_NAME = 'emergency_visits' THEN
                INSERT INTO daily_rollup_requests (raw_table, day)
                SELECT DISTINCT 'emergency_visits', (arrived_at AT TIME ZONE 'Europe/Paris')::date
                FROM previous_rows WHERE arrived_at < today;
            ELSE
                INSERT INTO daily_rollup_requests (raw_table, day)
                SELECT DISTINCT 'bed_snapshots', (observed_at AT TIME ZONE 'Europe/Paris')::date
                FROM previous_rows WHERE observed_at < today;
            END IF;
        END IF;
        RETURN NULL;
    END
    $function$;

    DROP TRIGGER IF EXISTS admissions_rollup_insert ON admissions;
    CREATE TRIGGER admissions_rollup_insert AFTER INSERT ON admissions
        REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION record_daily_rollup_requests();
    DROP TRIGGER IF EXISTS admissions_rollup_update ON admissions;
    CREATE TRIGGER admissions_rollup_update AFTER UPDATE ON admissions
        REFERENCING OLD TABLE AS previous_rows NEW TABLE AS changed_rows
        FOR EACH STATEMENT EXECUTE FUNCTION record_daily_rollup_requests();
    DROP TRIGGER IF EXISTS admissions_rollup_delete ON admissions;
    CREATE TRIGGER admissions_rollup_delete AFTER DELETE ON admissions
        REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION record_daily_rollup_requests();
    DROP TRIGGER IF EXISTS admissions_rollup_truncate ON admissions;
    CREATE TRIGGER admissions_rollup_truncate AFTER TRUNCATE ON admissions
        FOR EACH STATEMENT EXECUTE FUNCTION record_daily_rollup_requests();

    DROP TRIGGER IF EXISTS emergency_visits_rollup_insert ON emergency_visits;
    CREATE TRIGGER emergency_visits_rollup_insert AFTER INSERT ON emergency_visits
        REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION record_daily_rollup_requests();
    DROP TRIGGER IF EXISTS emergency_visits_rollup_update ON emergency_visits;
    CREATE TRIGGER emergency_visits_rollup_update AFTER UPDATE ON emergency_visits
        REFERENCING OLD TABLE AS previous_rows NEW TABLE AS changed_rows
        FOR EACH STATEMENT EXECUTE FUNCTION record_daily_rollup_requests();
    DROP TRIGGER IF EXISTS emergency_visits_rollup_delete ON emergency_visits;
    CREATE TRIGGER emergency_visits_rollup_delete AFTER DELETE ON emergency_visits
        REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION record_daily_rollup_requests();
    DROP TRIGGER IF EXISTS emergency_visits_rollup_truncate ON emergency_visits;
    CREATE TRIGGER emergency_visits_rollup_truncate AFTER TRUNCATE ON emergency_visits
        FOR EACH STATEMENT EXECUTE FUNCTION record_daily_rollup_requests();

    DROP TRIGGER IF EXISTS bed_snapshots_rollup_insert ON bed_snapshots;
    CREATE TRIGGER bed_snapshots_rollup_insert AFTER INSERT ON bed_snapshots
        REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION record_daily_rollup_requests();
    DROP TRIGGER IF EXISTS bed_snapshots_rollup_update ON bed_snapshots;
    CREATE TRIGGER bed_snapshots_rollup_update AFTER UPDATE ON bed_snapshots
        REFERENCING OLD TABLE AS previous_rows NEW TABLE AS changed_rows
        FOR EACH STATEMENT EXECUTE FUNCTION record_daily_rollup_requests();
    DROP TRIGGER IF EXISTS bed_snapshots_rollup_delete ON bed_snapshots;
    CREATE TRIGGER bed_snapshots_rollup_delete AFTER DELETE ON bed_snapshots
        REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION record_daily_rollup_requests();
    DROP TRIGGER IF EXISTS bed_snapshots_rollup_truncate ON bed_snapshots;
    CREATE TRIGGER bed_snapshots_rollup_truncate AFTER TRUNCATE ON bed_snapshots
        FOR EACH STATEMENT EXECUTE FUNCTION record_daily_rollup_requests();

    -- Backfill an existing database: every day with raw rows before the one that ended less than an hour ago.
    -- The triggers above commit with this migration, so nothing written meanwhile is missed.
    backlog := ARRAY(SELECT DISTINCT (admitted_at AT TIME ZONE 'Europe/Paris')::date FROM admissions
                     WHERE admitted_at < horizon::timestamp AT TIME ZONE 'Europe/Paris');
    PERFORM recompute_daily_rollups('admissions', backlog);
    backlog := ARRAY(SELECT DISTINCT (arrived_at AT TIME ZONE 'Europe/Paris')::date FROM emergency_visits
                     WHERE arrived_at < horizon::timestamp AT TIME ZONE 'Europe/Paris');
    PERFORM recompute_daily_rollups('emergency_visits', backlog);
    backlog := ARRAY(SELECT DISTINCT (observed_at AT TIME ZONE 'Europe/Paris')::date FROM bed_snapshots
                     WHERE observed_at < horizon::timestamp AT TIME ZONE 'Europe/Paris');
    PERFORM recompute_daily_rollups('bed_snapshots', backlog);
    INSERT INTO daily_rollup_state (complete_before) VALUES (horizon)
    ON CONFLICT (singleton) DO UPDATE SET complete_before = EXCLUDED.complete_before;
END
$migration$;
