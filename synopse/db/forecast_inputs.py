"""What the forecasting jobs read from the observation store: their daily inputs, on the French civil day.

Boundary: daily values per local day in Europe/Paris (the day of the daily aggregates), built from the
hourly and daily aggregates only, never from raw events: counts, bed occupancy, environmental regressors,
reference scopes, bed capacities and the data cut-off. Functions take a psycopg connection inside the
caller's transaction and return plain rows. The forecast tables themselves are ``synopse.db.forecasts``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, LiteralString
from zoneinfo import ZoneInfo

from psycopg import Connection
from psycopg.rows import class_row

from synopse.domain.forecasts import Metric

LOCAL_TZ = ZoneInfo("Europe/Paris")  # the zone of the daily aggregates (French civil day)
# Beds reported in the last week count as current capacity; older snapshots are a unit gone silent.
CAPACITY_LOOKBACK = timedelta(days=7)


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LOCAL_TZ)


# ------------------------------------------------------------------------------------------- data cut-off

_DATA_CUTOFF: LiteralString = """
SELECT CASE WHEN newest > now() THEN now() ELSE newest END
FROM (SELECT max(last_event_at) AS newest FROM source_freshness) AS freshness
"""


def data_cutoff(conn: Connection[Any]) -> datetime | None:
    """The newest event time over all sources, capped at the database clock; None when nothing came yet."""
    row = conn.execute(_DATA_CUTOFF).fetchone()
    return None if row is None else row[0]


# ---------------------------------------------------------------------------------------------- series

@dataclass(frozen=True)
class DailyValue:
    metric: str
    scope: str
    scope_id: str
    day: date
    value: float


_HOURLY_COUNTS: dict[Metric, tuple[LiteralString, LiteralString]] = {
    Metric.ADMISSIONS: ("admissions_hourly", "admissions"),
    Metric.ED_VISITS: ("emergency_visits_hourly", "visits"),
}
_COMMUNE_COUNTS: dict[Metric, tuple[LiteralString, LiteralString]] = {
    Metric.ADMISSIONS: ("admissions_commune_daily", "admissions"),
    Metric.ED_VISITS: ("emergency_visits_commune_daily", "visits"),
}


def daily_counts(conn: Connection[Any], metric: Metric, since: date, until: date) -> list[DailyValue]:
    """Counts per local day, per facility, per commune of residence and for the territory, ``since``..``until``.

    Only days with events have rows (a missing day is a zero for a count). Cost: the hourly aggregate over
    the window grouped by day and facility, and the commune daily aggregate over the window.
    """
    hourly, column = _HOURLY_COUNTS[metric]
    daily, daily_column = _COMMUNE_COUNTS[metric]
    params = {"since": local_midnight(since), "until": local_midnight(until + timedelta(days=1)),
              "metric": metric.value}
    query: LiteralString = f"""
        WITH per_facility AS (
            SELECT (bucket AT TIME ZONE 'Europe/Paris')::date AS day, facility_id, sum({column})::float8 AS n
            FROM {hourly}
            WHERE bucket >= %(since)s AND bucket < %(until)s
            GROUP BY 1, 2
        )
        SELECT %(metric)s AS metric, 'facility' AS scope, facility_id AS scope_id, day, n AS value FROM per_facility
        UNION ALL
        SELECT %(metric)s, 'territory', 'all', day, sum(n) FROM per_facility GROUP BY day
        UNION ALL
        SELECT %(metric)s, 'commune', commune_code, (bucket AT TIME ZONE 'Europe/Paris')::date,
               sum({daily_column})::float8
        FROM {daily}
        WHERE bucket >= %(since)s AND bucket < %(until)s AND commune_code IS NOT NULL
        GROUP BY commune_code, (bucket AT TIME ZONE 'Europe/Paris')::date
    """  # noqa: S608 - table and column names come from the constant maps above, never from input
    with conn.cursor(row_factory=class_row(DailyValue)) as cur:
        return cur.execute(query, params).fetchall()


_DAILY_OCCUPANCY: LiteralString = """
WITH hourly AS (
    SELECT o.bucket, o.facility_id, f.commune_code, sum(o.beds_occupied_avg)::float8 AS occupied
    FROM bed_occupancy_hourly o
    LEFT JOIN facilities f USING (facility_id)
    WHERE o.bucket >= %(since)s AND o.bucket < %(until)s
    GROUP BY o.bucket, o.facility_id, f.commune_code
), facility_days AS (
    SELECT (bucket AT TIME ZONE 'Europe/Paris')::date AS day, facility_id, commune_code, avg(occupied) AS occupied
    FROM hourly
    GROUP BY 1, 2, 3
)
SELECT 'bed_occupancy' AS metric, 'facility' AS scope, facility_id AS scope_id, day, occupied AS value
FROM facility_days
UNION ALL
SELECT 'bed_occupancy', 'commune', commune_code, day, sum(occupied) FROM facility_days
WHERE commune_code IS NOT NULL GROUP BY commune_code, day
UNION ALL
SELECT 'bed_occupancy', 'territory', 'all', day, sum(occupied) FROM facility_days GROUP BY day
"""


def daily_occupancy(conn: Connection[Any], since: date, until: date) -> list[DailyValue]:
    """Occupied beds, daily mean of the hourly means summed over units, per facility, its commune, territory.

    A day without any snapshot has no row (unknown, not zero). Cost: the hourly occupancy aggregate over
    the window (units x hours), grouped twice.
    """
    params = {"since": local_midnight(since), "until": local_midnight(until + timedelta(days=1))}
    with conn.cursor(row_factory=class_row(DailyValue)) as cur:
        return cur.execute(_DAILY_OCCUPANCY, params).fetchall()


_ENVIRONMENT: LiteralString = """
SELECT (bucket AT TIME ZONE 'Europe/Paris')::date AS day, indicator,
       avg(value_avg)::float8 AS mean, avg(value_max)::float8 AS maximum
FROM environment_daily
WHERE bucket >= %(since)s AND bucket < %(until)s AND indicator = ANY(%(indicators)s)
GROUP BY 1, 2
ORDER BY 1
"""

# Regressors the platform can give the models: name -> (indicator, statistic of its daily aggregate,
# averaged over the stations that measured it).
ENVIRONMENT_REGRESSORS: dict[str, tuple[str, str]] = {
    "temperature_max": ("temperature", "maximum"),
    "temperature_mean": ("temperature", "mean"),
    "pm10_mean": ("pm10", "mean"),
    "pm2_5_mean": ("pm2_5", "mean"),
    "o3_max": ("o3", "maximum"),
}


def daily_environment(
    conn: Connection[Any], names: Sequence[str], since: date, until: date
) -> dict[str, dict[date, float]]:
    """Daily values of the named regressors (see :data:`ENVIRONMENT_REGRESSORS`), mean over stations."""
    wanted = {name: ENVIRONMENT_REGRESSORS[name] for name in names}
    params = {
        "since": local_midnight(since),
        "until": local_midnight(until + timedelta(days=1)),
        "indicators": sorted({indicator for indicator, _ in wanted.values()}),
    }
    out: dict[str, dict[date, float]] = {name: {} for name in wanted}
    for day, indicator, mean, maximum in conn.execute(_ENVIRONMENT, params):
        for name, (wanted_indicator, statistic) in wanted.items():
            if indicator == wanted_indicator:
                value = maximum if statistic == "maximum" else mean
                if value is not None:
                    out[name][day] = float(value)
    return out


@dataclass(frozen=True)
class ScopeRef:
    scope: str
    scope_id: str
    name: str


_SCOPES: LiteralString = """
SELECT 'facility' AS scope, facility_id AS scope_id, name FROM facilities
UNION ALL SELECT 'commune', code, name FROM communes
ORDER BY 1, 2
"""


def reference_scopes(conn: Connection[Any]) -> list[ScopeRef]:
    """Facilities and communes of the reference data: the scopes that get a series even without events."""
    with conn.cursor(row_factory=class_row(ScopeRef)) as cur:
        return cur.execute(_SCOPES).fetchall()


@dataclass(frozen=True)
class Capacity:
    scope: str
    scope_id: str
    beds: float
    source: str  # snapshots or planned


_CAPACITIES: LiteralString = """
WITH latest AS (
    SELECT DISTINCT ON (facility_id, care_unit) facility_id, care_unit, beds_total_max
    FROM bed_occupancy_hourly
    WHERE bucket > %(since)s AND bucket <= %(as_of)s
    ORDER BY facility_id, care_unit, bucket DESC
), reported AS (
    SELECT facility_id, sum(beds_total_max)::float8 AS beds FROM latest GROUP BY facility_id
), planned AS (
    SELECT facility_id, sum(beds)::float8 AS beds FROM facility_units GROUP BY facility_id
), per_facility AS (
    SELECT coalesce(r.facility_id, p.facility_id) AS facility_id,
           CASE WHEN r.beds > 0 THEN r.beds ELSE p.beds END AS beds,
           CASE WHEN r.beds > 0 THEN 'snapshots' ELSE 'planned' END AS source
    FROM reported r FULL JOIN planned p USING (facility_id)
)
SELECT 'facility' AS scope, facility_id AS scope_id, beds, source FROM per_facility WHERE beds > 0
UNION ALL
-- A commune or the territory: the facilities that report beds (their occupancy is what is forecast); the
-- planned beds only where none does.
SELECT 'commune', f.commune_code,
       CASE WHEN bool_or(c.source = 'snapshots') THEN sum(c.beds) FILTER (WHERE c.source = 'snapshots')
            ELSE sum(c.beds) END,
       CASE WHEN bool_or(c.source = 'snapshots') THEN 'snapshots' ELSE 'planned' END
FROM per_facility c JOIN facilities f USING (facility_id) WHERE c.beds > 0 GROUP BY f.commune_code
UNION ALL
SELECT 'territory', 'all',
       CASE WHEN bool_or(source = 'snapshots') THEN sum(beds) FILTER (WHERE source = 'snapshots') ELSE sum(beds) END,
       CASE WHEN bool_or(source = 'snapshots') THEN 'snapshots' ELSE 'planned' END
FROM per_facility WHERE beds > 0 HAVING count(*) > 0
"""


def capacities(conn: Connection[Any], as_of: datetime) -> list[Capacity]:
    """Bed capacity of each facility, commune and the territory at ``as_of``.

    The latest staffed beds (``beds_total``) each care unit reported in the week before ``as_of``; units
    that never reported count their planned beds (``facility_units``), and the row says so.
    """
    params = {"since": as_of - CAPACITY_LOOKBACK, "as_of": as_of}
    with conn.cursor(row_factory=class_row(Capacity)) as cur:
        return cur.execute(_CAPACITIES, params).fetchall()
