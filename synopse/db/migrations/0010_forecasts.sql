-- Forecasting: the record of every run, each series' outcome, the forecasts as 23 quantiles, the capacity
-- projections, the scores, and the level projections kept to calibrate later runs. Plain tables with the
-- same names on PostgreSQL and TimescaleDB: a run writes a few tens of thousands of rows that are read by
-- run and series, never scanned over time, so hypertables would bring nothing.

CREATE TABLE IF NOT EXISTS forecast_runs (
    run_id           uuid PRIMARY KEY,
    started_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    as_of            timestamptz NOT NULL,             -- data cut-off: nothing observed after it was used
    origin_date      date NOT NULL,                    -- last complete local day; horizon 1 is the day after
    trigger          text NOT NULL CHECK (trigger IN ('manual', 'schedule', 'new_data')),
    status           text NOT NULL CHECK (status IN ('running', 'succeeded', 'partial', 'failed')),
    model            text NOT NULL,
    model_version    text NOT NULL,
    horizon_days     integer NOT NULL CHECK (horizon_days BETWEEN 1 AND 366),
    parameters       jsonb NOT NULL DEFAULT '{}',      -- the run's settings (never a pickle)
    quantile_levels  double precision[] NOT NULL,      -- the meaning of forecasts.quantiles, in order
    series_total     integer NOT NULL DEFAULT 0,
    series_ok        integer NOT NULL DEFAULT 0,
    series_fallback  integer NOT NULL DEFAULT 0,
    series_skipped   integer NOT NULL DEFAULT 0,
    duration_s       double precision,
    error            text
);
CREATE INDEX IF NOT EXISTS forecast_runs_started ON forecast_runs (started_at DESC);

-- One row per series and run: which model, on what data window, with which fitted parameters, and why a
-- series fell back to the simple model or got no forecast.
CREATE TABLE IF NOT EXISTS forecast_series_runs (
    run_id        uuid NOT NULL REFERENCES forecast_runs (run_id) ON DELETE CASCADE,
    metric        text NOT NULL,                       -- admissions, ed_visits, bed_occupancy
    scope         text NOT NULL,                       -- facility, commune, territory
    scope_id      text NOT NULL,
    status        text NOT NULL CHECK (status IN ('ok', 'fallback', 'skipped')),
    model         text NOT NULL,
    reason        text,
    data_start    date,
    data_end      date,
    observations  integer NOT NULL DEFAULT 0,
    fit_seconds   double precision NOT NULL DEFAULT 0,
    parameters    jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, metric, scope, scope_id)
);

-- The forecast distribution of one series for one day: quantiles at forecast_runs.quantile_levels.
CREATE TABLE IF NOT EXISTS forecasts (
    run_id       uuid NOT NULL REFERENCES forecast_runs (run_id) ON DELETE CASCADE,
    metric       text NOT NULL,
    scope        text NOT NULL,
    scope_id     text NOT NULL,
    target_date  date NOT NULL,
    horizon      integer NOT NULL CHECK (horizon >= 1),
    quantiles    double precision[] NOT NULL,
    PRIMARY KEY (run_id, metric, scope, scope_id, target_date)
);
CREATE INDEX IF NOT EXISTS forecasts_series ON forecasts (metric, scope, scope_id, target_date);

-- Occupied beds against capacity, per scope and day ahead, and per scope the expected saturation date.
CREATE TABLE IF NOT EXISTS capacity_projections (
    run_id             uuid NOT NULL REFERENCES forecast_runs (run_id) ON DELETE CASCADE,
    scope              text NOT NULL,
    scope_id           text NOT NULL,
    target_date        date NOT NULL,
    horizon            integer NOT NULL,
    capacity_beds      double precision NOT NULL,
    occupancy_median   double precision NOT NULL,
    p_exceed_capacity  double precision NOT NULL CHECK (p_exceed_capacity BETWEEN 0 AND 1),
    PRIMARY KEY (run_id, scope, scope_id, target_date)
);

CREATE TABLE IF NOT EXISTS capacity_outlooks (
    run_id           uuid NOT NULL REFERENCES forecast_runs (run_id) ON DELETE CASCADE,
    scope            text NOT NULL,
    scope_id         text NOT NULL,
    capacity_beds    double precision NOT NULL,
    capacity_source  text NOT NULL CHECK (capacity_source IN ('snapshots', 'planned')),
    occupied_now     double precision,
    max_p_exceed     double precision NOT NULL,
    saturation_date  date,                             -- NULL: not expected within the horizon
    PRIMARY KEY (run_id, scope, scope_id)
);

-- Skill per series and horizon: WIS, the hub baseline's WIS on the same targets, MAE of the median,
-- coverage of the 50 % and 90 % intervals.
CREATE TABLE IF NOT EXISTS forecast_scores (
    run_id        uuid NOT NULL REFERENCES forecast_runs (run_id) ON DELETE CASCADE,
    metric        text NOT NULL,
    scope         text NOT NULL,
    scope_id      text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('backtest', 'prospective')),
    horizon       integer NOT NULL,
    origins       integer NOT NULL,
    wis           double precision NOT NULL,
    wis_baseline  double precision NOT NULL,
    relative_wis  double precision,
    mae           double precision NOT NULL,
    coverage_50   double precision NOT NULL,
    coverage_90   double precision NOT NULL,
    PRIMARY KEY (run_id, metric, scope, scope_id, kind, horizon)
);

-- Level projections of the main model's members from each origin (model scale), kept so that later runs
-- calibrate on them without refitting: one row per series, model version and origin day.
CREATE TABLE IF NOT EXISTS forecast_projections (
    metric          text NOT NULL,
    scope           text NOT NULL,
    scope_id        text NOT NULL,
    model_version   text NOT NULL,
    origin_date     date NOT NULL,
    member_names    text[] NOT NULL,
    paths           real[] NOT NULL,                   -- members x horizon, row-major
    holiday_effect  real[] NOT NULL,
    volatility      double precision NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (metric, scope, scope_id, model_version, origin_date)
);

-- Long format for readers that want one row per quantile.
CREATE OR REPLACE VIEW forecast_quantiles AS
SELECT f.run_id, f.metric, f.scope, f.scope_id, f.target_date, f.horizon, q.level AS quantile, f.quantiles[q.i] AS value
FROM forecasts f
JOIN forecast_runs r USING (run_id)
CROSS JOIN LATERAL unnest(r.quantile_levels) WITH ORDINALITY AS q (level, i);

-- The forecasts of the newest finished run of each series (a failed run is never "the latest").
CREATE OR REPLACE VIEW latest_forecasts AS
WITH latest AS (
    SELECT DISTINCT ON (s.metric, s.scope, s.scope_id) s.run_id, s.metric, s.scope, s.scope_id, s.status, s.model
    FROM forecast_series_runs s
    JOIN forecast_runs r USING (run_id)
    WHERE r.status IN ('succeeded', 'partial') AND s.status <> 'skipped'
    ORDER BY s.metric, s.scope, s.scope_id, r.started_at DESC
)
SELECT f.run_id, f.metric, f.scope, f.scope_id, f.target_date, f.horizon, f.quantiles, latest.status, latest.model
FROM forecasts f
JOIN latest USING (run_id, metric, scope, scope_id);

-- The interface the alert rules read (synopse.db.alerts.capacity_outlook): one row per facility, finished
-- run and day ahead.
CREATE OR REPLACE VIEW capacity_forecast_daily AS
SELECT p.scope_id AS facility_id, r.started_at AS run_at, p.target_date AS day, p.p_exceed_capacity,
       o.saturation_date AS expected_saturation_date, p.capacity_beds, p.occupancy_median, p.run_id
FROM capacity_projections p
JOIN forecast_runs r USING (run_id)
LEFT JOIN capacity_outlooks o USING (run_id, scope, scope_id)
WHERE p.scope = 'facility' AND r.status IN ('succeeded', 'partial');
