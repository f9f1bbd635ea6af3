"""Loads territory reference data (communes, facilities, care units, stations) into the store.

Idempotent: re-seeding updates names, capacities and positions in place.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg

from synopse.domain.territory import COMMUNES, FACILITIES, STATIONS, Commune, Facility, Station


def seed_territory(
    conn: psycopg.Connection[Any],
    communes: Iterable[Commune] = COMMUNES,
    facilities: Iterable[Facility] = FACILITIES,
    stations: Iterable[Station] = STATIONS,
) -> tuple[int, int, int]:
    """Upsert the reference rows; returns the number of communes, facilities and stations written."""
    communes, facilities, stations = list(communes), list(facilities), list(stations)
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO communes (code, name, population, latitude, longitude) VALUES (%s, %s, %s, %s, %s)
               ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, population = EXCLUDED.population,
                   latitude = EXCLUDED.latitude, longitude = EXCLUDED.longitude""",
            [(c.code, c.name, c.population, c.latitude, c.longitude) for c in communes],
        )
        cur.executemany(
            """INSERT INTO facilities (facility_id, name, commune_code, latitude, longitude,
                                       has_emergency_department, synthetic_capacity)
               VALUES (%s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (facility_id) DO UPDATE SET name = EXCLUDED.name,
                   commune_code = EXCLUDED.commune_code, latitude = EXCLUDED.latitude,
                   longitude = EXCLUDED.longitude, has_emergency_department = EXCLUDED.has_emergency_department,
                   synthetic_capacity = EXCLUDED.synthetic_capacity""",
            [
                (f.facility_id, f.name, f.commune_code, f.latitude, f.longitude, f.has_emergency_department,
                 f.synthetic_capacity)
                for f in facilities
            ],
        )
        cur.executemany(
            """INSERT INTO facility_units (facility_id, care_unit, beds) VALUES (%s, %s, %s)
               ON CONFLICT (facility_id, care_unit) DO UPDATE SET beds = EXCLUDED.beds""",
            [(f.facility_id, unit.value, beds) for f in facilities for unit, beds in f.beds.items()],
        )
        cur.executemany(
            """INSERT INTO stations (station_id, name, kind, commune_code, latitude, longitude, indicators, synthetic)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (station_id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,
                   commune_code = EXCLUDED.commune_code, latitude = EXCLUDED.latitude,
                   longitude = EXCLUDED.longitude, indicators = EXCLUDED.indicators,
                   synthetic = EXCLUDED.synthetic""",
            [
                (s.station_id, s.name, s.kind, s.commune_code, s.latitude, s.longitude,
                 [i.value for i in s.indicators], s.synthetic)
                for s in stations
            ],
        )
    return len(communes), len(facilities), len(stations)
