-- Live indicators computed in the stream, for the dashboard and the alert rules: exact hourly counts of
-- admissions and emergency-department visits per facility and per commune of residence, kept by the
-- stream worker (each batch recounts, from the raw rows, every hour it touched, so re-deliveries,
-- corrections and late events land in their own hour), and a view of the figures read live: last
-- complete hour, current hour, rolling 7 days, bed occupancy. Plain PostgreSQL and TimescaleDB alike.

-- The recount of a commune's hour reads the raw rows of that commune and hour.
CREATE INDEX IF NOT EXISTS admissions_commune_time ON admissions (commune_code, admitted_at);
CREATE INDEX IF NOT EXISTS emergency_visits_commune_time ON emergency_visits (commune_code, arrived_at);

CREATE TABLE IF NOT EXISTS live_activity_hourly (
    scope       text NOT NULL CHECK (scope IN ('facility', 'commune')),
    scope_id    text NOT NULL,                   -- facility_id, or INSEE code of the commune of residence
    kind        text NOT NULL CHECK (kind IN ('admissions', 'ed_visits')),
    bucket      timestamptz NOT NULL,            -- start of the UTC hour
    events      integer NOT NULL CHECK (events >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, scope_id, kind, bucket)
);
-- The live view reads the last 7 days of every scope.
CREATE INDEX IF NOT EXISTS live_activity_hourly_bucket ON live_activity_hourly (bucket);

-- One row per facility and per commune with activity in the last 7 days or beds reported. Hours are
-- UTC hours; "last hour" is the last complete one, "7d" the 168 hours ending with the current one.
CREATE OR REPLACE VIEW live_indicators AS
WITH clock AS (
    SELECT date_trunc('hour', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS current_hour
),
activity AS (
    SELECT a.scope, a.scope_id,
           sum(a.events) FILTER (WHERE a.kind = 'admissions' AND a.bucket = c.current_hour - INTERVAL '1 hour')
               AS admissions_last_hour,
           sum(a.events) FILTER (WHERE a.kind = 'admissions' AND a.bucket = c.current_hour) AS admissions_current_hour,
           sum(a.events) FILTER (WHERE a.kind = 'admissions') AS admissions_7d,
           sum(a.events) FILTER (WHERE a.kind = 'ed_visits' AND a.bucket = c.current_hour - INTERVAL '1 hour')
               AS ed_visits_last_hour,
           sum(a.events) FILTER (WHERE a.kind = 'ed_visits' AND a.bucket = c.current_hour) AS ed_visits_current_hour,
           sum(a.events) FILTER (WHERE a.kind = 'ed_visits') AS ed_visits_7d,
           max(a.updated_at) AS activity_updated_at
    FROM live_activity_hourly AS a CROSS JOIN clock AS c
    WHERE a.bucket > c.current_hour - INTERVAL '7 days' AND a.bucket <= c.current_hour
    GROUP BY a.scope, a.scope_id
),
beds AS (
    SELECT 'facility'::text AS scope, b.facility_id AS scope_id,
           sum(b.beds_total) AS beds_total, sum(b.beds_occupied) AS beds_occupied,
           min(b.observed_at) AS beds_observed_at
    FROM bed_occupancy_current AS b
    GROUP BY b.facility_id
    UNION ALL
    SELECT 'commune'::text, f.commune_code,
           sum(b.beds_total), sum(b.beds_occupied), min(b.observed_at)
    FROM bed_occupancy_current AS b JOIN facilities AS f ON f.facility_id = b.facility_id
    GROUP BY f.commune_code
)
SELECT coalesce(a.scope, b.scope) AS scope,
       coalesce(a.scope_id, b.scope_id) AS scope_id,
       coalesce(a.admissions_last_hour, 0)::integer AS admissions_last_hour,
       coalesce(a.admissions_current_hour, 0)::integer AS admissions_current_hour,
       coalesce(a.admissions_7d, 0)::integer AS admissions_7d,
       coalesce(a.ed_visits_last_hour, 0)::integer AS ed_visits_last_hour,
       coalesce(a.ed_visits_current_hour, 0)::integer AS ed_visits_current_hour,
       coalesce(a.ed_visits_7d, 0)::integer AS ed_visits_7d,
       b.beds_total::integer AS beds_total,
       b.beds_occupied::integer AS beds_occupied,
       -- No staffed bed reported: no rate, which is not 0 %. May exceed 1 in a crisis.
       CASE WHEN b.beds_total > 0 THEN b.beds_occupied::double precision / b.beds_total END AS occupancy_rate,
       b.beds_observed_at,
       a.activity_updated_at,
       now() AS as_of
FROM activity AS a
FULL JOIN beds AS b ON b.scope = a.scope AND b.scope_id = a.scope_id;
