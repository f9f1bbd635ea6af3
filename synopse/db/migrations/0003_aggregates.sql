-- Aggregates the dashboard and the alert rules read, never the raw events. On plain PostgreSQL they
-- are views over indexed raw tables; where TimescaleDB is present, migration 0004 replaces each by a
-- continuous aggregate of the same name and columns (real-time: materialised buckets plus the newest
-- raw rows). Daily buckets are local days in Europe/Paris: regulatory daily means (PM10) and heat-wave
-- indicators are defined on the French civil day.

CREATE OR REPLACE VIEW admissions_hourly AS
SELECT date_trunc('hour', admitted_at) AS bucket, facility_id, care_unit, reason,
       count(*) AS admissions,
       sum(CASE WHEN via_emergency THEN 1 ELSE 0 END) AS admissions_via_emergency
FROM admissions
WHERE NOT cancelled
GROUP BY 1, 2, 3, 4;

CREATE OR REPLACE VIEW admissions_commune_daily AS
SELECT date_trunc('day', admitted_at, 'Europe/Paris') AS bucket, commune_code, age_band, reason,
       count(*) AS admissions
FROM admissions
WHERE NOT cancelled
GROUP BY 1, 2, 3, 4;

CREATE OR REPLACE VIEW emergency_visits_hourly AS
SELECT date_trunc('hour', arrived_at) AS bucket, facility_id, age_band, reason,
       count(*) AS visits,
       sum(CASE WHEN hospitalised THEN 1 ELSE 0 END) AS visits_hospitalised
FROM emergency_visits
GROUP BY 1, 2, 3, 4;

CREATE OR REPLACE VIEW emergency_visits_commune_daily AS
SELECT date_trunc('day', arrived_at, 'Europe/Paris') AS bucket, commune_code, age_band, reason,
       count(*) AS visits
FROM emergency_visits
GROUP BY 1, 2, 3, 4;

CREATE OR REPLACE VIEW bed_occupancy_hourly AS
SELECT date_trunc('hour', observed_at) AS bucket, facility_id, care_unit,
       avg(beds_occupied) AS beds_occupied_avg,
       max(beds_occupied) AS beds_occupied_max,
       max(beds_total) AS beds_total_max,
       count(*) AS snapshots
FROM bed_snapshots
GROUP BY 1, 2, 3;

CREATE OR REPLACE VIEW environment_hourly AS
SELECT date_trunc('hour', observed_at) AS bucket, station_id, indicator,
       avg(value) AS value_avg, min(value) AS value_min, max(value) AS value_max,
       count(*) AS observations
FROM environment_observations
GROUP BY 1, 2, 3;

CREATE OR REPLACE VIEW environment_daily AS
SELECT date_trunc('day', observed_at, 'Europe/Paris') AS bucket, station_id, indicator,
       avg(value) AS value_avg, min(value) AS value_min, max(value) AS value_max,
       count(*) AS observations
FROM environment_observations
GROUP BY 1, 2, 3;
