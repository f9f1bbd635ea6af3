"""Synthetic events for the dashboard tests: a tiny exact set with known answers, and a plausible month.

Made by the project (no real data): counts and capacities are invented with plausible orders of magnitude.
Events are written with the real ingestion path (``store_events``), so the live tables are fed as in
production.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

from synopse.db.ingest import store_events
from synopse.domain.codes import INDICATOR_UNITS, AgeBand, CareUnit, Indicator, ReasonCategory
from synopse.domain.events import Admission, BedSnapshot, EmergencyVisit, EnvironmentObservation, Event
from synopse.domain.territory import COMMUNES, FACILITIES, STATIONS
from synopse.domain.topics import topic_for

# The reference instant of the exact set: 12:40 UTC, so the current hourly bucket is 12:00.
REFERENCE = datetime(2025, 1, 15, 12, 40, tzinfo=UTC)
HOUR = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


def _key(n: object) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


def _id() -> uuid.UUID:
    return uuid.uuid4()


def load_events(dsn: str, events: Iterable[Event], *, schema: str | None = None) -> None:
    """Write events through ``store_events``, one batch per contract, in one transaction.

    ``schema`` goes first on the search path (the TimescaleDB test server isolates tests by schema).
    """
    by_type: dict[type[Event], list[Event]] = defaultdict(list)
    for event in events:
        by_type[type(event)].append(event)

    async def _run() -> None:
        async with await psycopg.AsyncConnection.connect(dsn) as conn:
            if schema is not None:
                await conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))
            async with conn.transaction():
                for model, batch in by_type.items():
                    await store_events(conn, topic_for(model).name, batch)

    asyncio.run(_run())


def admission(at: datetime, facility: str, commune: str | None = "44109", *, cancelled: bool = False,
              unit: CareUnit = CareUnit.MEDICINE) -> Admission:
    return Admission(event_id=_id(), admitted_at=at, facility_id=facility, care_unit=unit,
                     age_band=AgeBand.FROM_15_TO_74, reason=ReasonCategory.RESPIRATORY, patient_key=_key(_id()),
                     commune_code=commune, cancelled=cancelled)


def visit(at: datetime, facility: str, commune: str | None = "44109") -> EmergencyVisit:
    return EmergencyVisit(event_id=_id(), arrived_at=at, facility_id=facility, age_band=AgeBand.FROM_75,
                          reason=ReasonCategory.OTHER, commune_code=commune)


def beds(at: datetime, facility: str, unit: CareUnit, total: int, occupied: int) -> BedSnapshot:
    return BedSnapshot(event_id=_id(), observed_at=at, facility_id=facility, care_unit=unit,
                       beds_total=total, beds_occupied=occupied)


def observation(at: datetime, station: str, indicator: Indicator, value: float) -> EnvironmentObservation:
    return EnvironmentObservation(event_id=_id(), observed_at=at, station_id=station, indicator=indicator,
                                  value=value, unit=INDICATOR_UNITS[indicator])


def exact_events() -> list[Event]:
    """A few hours of events whose answers the tests know (see the expectations beside each group)."""
    h = HOUR
    confluent, hotel_dieu = "hp-confluent", "chu-nantes-hotel-dieu"
    events: list[Event] = [
        # hp-confluent admissions: 24 h window = buckets 13:00 (Jan 14) .. 12:00 (Jan 15) -> 6;
        # previous 24 h = buckets 13:00 (Jan 13) .. 12:00 (Jan 14) -> 3; older and cancelled ones -> none.
        admission(h + timedelta(minutes=10), confluent, "44109"),
        admission(h + timedelta(minutes=15), confluent, "44143"),
        admission(h - timedelta(minutes=40), confluent, "44109"),
        admission(h - timedelta(minutes=30), confluent, None),
        admission(h - timedelta(minutes=20), confluent, "75056"),  # Paris: outside the territory
        admission(h - timedelta(hours=23) + timedelta(minutes=30), confluent, "44109"),
        admission(h - timedelta(hours=24) + timedelta(minutes=30), confluent, "44109"),
        admission(h - timedelta(hours=24) + timedelta(minutes=45), confluent, "44109"),
        admission(h - timedelta(hours=47) + timedelta(minutes=5), confluent, "44109"),
        admission(h - timedelta(hours=48) + timedelta(minutes=30), confluent, "44109"),  # before both windows
        admission(h + timedelta(minutes=20), confluent, "44109", cancelled=True),  # entered in error
        # Hôtel-Dieu: 4 admissions in the last 24 h, none before.
        *(admission(h - timedelta(hours=2, minutes=m), hotel_dieu, "44162") for m in (5, 10, 15, 20)),
        # A facility missing from the reference data: not a tile, but part of the territory.
        admission(h - timedelta(minutes=5), "clinique-inconnue", "44109"),
        admission(h - timedelta(minutes=6), "clinique-inconnue", "44109"),
        # hp-confluent ED visits: last complete hour (11:00) -> 3; last 24 h -> 6; 25 h ago -> outside.
        visit(h - timedelta(minutes=55), confluent),
        visit(h - timedelta(minutes=35), confluent),
        visit(h - timedelta(minutes=15), confluent, "44143"),
        visit(h + timedelta(minutes=5), confluent),
        visit(h - timedelta(hours=10), confluent, None),
        visit(h - timedelta(hours=10, minutes=1), confluent),
        visit(h - timedelta(hours=25), confluent),
        # Beds. hp-confluent now: 120 + 210 + 16 over 150 + 220 + 16 = 346 / 386 (89.6 %, tension);
        # during the 11:00 hour only medicine reported: 100 / 150.
        beds(h - timedelta(minutes=30), confluent, CareUnit.MEDICINE, 150, 100),
        beds(h, confluent, CareUnit.MEDICINE, 150, 120),
        beds(h + timedelta(minutes=15), confluent, CareUnit.SURGERY, 220, 210),
        beds(h + timedelta(minutes=15), confluent, CareUnit.ICU, 16, 16),
        # Hôtel-Dieu: 600 + 410 over 620 + 420 = 1010 / 1040 (97.1 %, saturation).
        beds(h + timedelta(minutes=10), hotel_dieu, CareUnit.MEDICINE, 620, 600),
        beds(h + timedelta(minutes=10), hotel_dieu, CareUnit.SURGERY, 420, 410),
        # Environment: temperature latest hour 12:00 -> 9.5 at one station; PM10 12:00 -> mean 25, max 30.
        observation(h - timedelta(minutes=30), "07222", Indicator.TEMPERATURE, 8.0),
        observation(h + timedelta(minutes=30), "07222", Indicator.TEMPERATURE, 9.5),
        observation(h + timedelta(minutes=10), "FR23188", Indicator.PM10, 20.0),
        observation(h + timedelta(minutes=20), "FR23251", Indicator.PM10, 30.0),
        observation(h + timedelta(minutes=40), "FR23251", Indicator.NO2, 41.0),  # the newest event: REFERENCE
    ]
    return events


# --- A plausible month, for the page served end to end and for screenshots -------------------------------

# Share of each facility in the territory's activity, and its target occupancy (to show every level).
_ACTIVITY = {
    "chu-nantes-hotel-dieu": (0.40, 0.90),
    "chu-nantes-nord-laennec": (0.20, 0.82),
    "chu-nantes-saint-jacques": (0.05, 0.78),
    "chu-nantes-bellier": (0.03, 0.80),
    "chu-nantes-la-seilleraye": (0.02, None),  # never reports beds: "pas de données"
    "sante-atlantique": (0.12, 0.87),
    "hp-confluent": (0.12, 0.96),
    "clinique-jules-verne": (0.06, 0.72),
}
_STALE_BEDS = "chu-nantes-bellier"  # its bed feed stops 5 h before the end


def _diurnal(hour_local: int) -> float:
    """ED arrivals: low at night, high from late morning to evening."""
    return 0.35 + 0.65 * max(0.0, math.sin(math.pi * (hour_local - 6) / 18)) if hour_local >= 6 else 0.35


def month_events(end: datetime, days: int = 30, seed: int = 44) -> list[Event]:
    """``days`` of hourly activity for every facility and station, ending at ``end``."""
    rng = random.Random(seed)
    populations = [c.population for c in COMMUNES]
    communes = [c.code for c in COMMUNES]
    start = (end - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    events: list[Event] = []
    hours = int((end - start).total_seconds() // 3600) + 1
    for i in range(hours):
        at = start + timedelta(hours=i)
        local_hour = (at.hour + 1) % 24
        wave = 1.0 + 0.25 * i / hours  # a slow rise over the period
        for facility in FACILITIES:
            share, occupancy = _ACTIVITY[facility.facility_id]
            for _ in range(_poisson(rng, 18 * share * wave * (0.5 + _diurnal(local_hour)))):
                minute = rng.randrange(60)
                if at + timedelta(minutes=minute) > end:
                    continue
                commune = rng.choices(communes, populations)[0] if rng.random() > 0.05 else None
                unit = rng.choice(list(facility.beds))
                events.append(admission(at + timedelta(minutes=minute), facility.facility_id, commune, unit=unit))
            if facility.has_emergency_department:
                for _ in range(_poisson(rng, 45 * share * wave * _diurnal(local_hour))):
                    minute = rng.randrange(60)
                    if at + timedelta(minutes=minute) > end:
                        continue
                    commune = rng.choices(communes, populations)[0] if rng.random() > 0.05 else None
                    events.append(visit(at + timedelta(minutes=minute), facility.facility_id, commune))
            if occupancy is None or (facility.facility_id == _STALE_BEDS and at > end - timedelta(hours=5)):
                continue
            for unit, capacity in facility.beds.items():
                level = occupancy * (0.97 + 0.06 * i / hours) + rng.uniform(-0.02, 0.02)
                occupied = max(0, min(round(capacity * level), round(capacity * 1.05)))
                events.append(beds(at, facility.facility_id, unit, capacity, occupied))
        for station in STATIONS:
            for indicator in station.indicators:
                value = _environment_value(rng, indicator, at, local_hour)
                if value is not None:
                    events.append(observation(at + timedelta(minutes=5), station.station_id, indicator, value))
    return events


def _poisson(rng: random.Random, mean: float) -> int:
    threshold, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


def _environment_value(rng: random.Random, indicator: Indicator, at: datetime, local_hour: int) -> float | None:
    daily = math.sin(math.pi * (local_hour - 8) / 12) if 8 <= local_hour <= 20 else -0.3
    if indicator is Indicator.TEMPERATURE:
        return round(6.0 + 4.0 * daily + rng.uniform(-0.5, 0.5), 1)
    if indicator is Indicator.PM10:
        return round(max(2.0, 24 + 10 * daily + rng.uniform(-6, 6)), 1)
    if indicator is Indicator.PM2_5:
        return round(max(1.0, 13 + 6 * daily + rng.uniform(-3, 3)), 1)
    if indicator is Indicator.NO2:
        return round(max(1.0, 32 + 15 * daily + rng.uniform(-8, 8)), 1)
    if indicator is Indicator.O3:
        return round(max(1.0, 45 + 20 * daily + rng.uniform(-8, 8)), 1)
    if indicator in (Indicator.POLLEN_GRASSES, Indicator.POLLEN_BIRCH):
        return float(rng.choice([0, 1, 1, 2])) if local_hour == 9 else None
    if indicator is Indicator.WASTEWATER_SARS_COV_2:
        return round(rng.uniform(2e4, 9e4)) if at.weekday() in (0, 3) and local_hour == 8 else None
    return None
