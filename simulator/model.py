"""The simulated territory as a pure event generator: a scenario in, the contracts' events out, hour by hour.

:class:`TerritorySimulation` walks the timeline from an origin and returns, for any window, the events
that become known in it (ED visits, admissions and their discharges, bed snapshots every 15 minutes,
hourly weather and air quality, daily pollen, wastewater and temperature summaries). No I/O, no clock:
the caller (:mod:`simulator.run`) decides when to ask. Every hour's draws come from generators named by
(seed, source, hour) and every event id is a UUIDv5 of (seed, kind, entity, time, sequence), so:

- the same scenario and origin give the same events, ids included, however ``advance`` is sliced;
- the drawn facts of an hour (ED visits, which admissions happen and their ids, the environment) do not
  depend on where the run started; beds nearly never do: full units postpone or transfer patients by
  reading the census, which the model rebuilds over twice the longest stay (see :mod:`simulator.beds`),
  so a unit may differ by a bed when a decision fell at the edge of that window. Discharge updates are
  only sent for admissions the run itself emitted;
- re-sending an hour re-sends the same ids (and bed snapshots keep their natural key), which the
  idempotent store absorbs.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import numpy as np

from simulator import parameters as p
from simulator.beds import BedCensus
from simulator.environment import Environment, local_day_start
from simulator.hospital import HospitalModel, Stays, Visits
from simulator.randomness import PatientKeys, event_id, uniform
from simulator.scenario import Scenario, floor_hour
from simulator.territory import DEFAULT_TERRITORY, Territory
from synopse.domain.codes import INDICATOR_UNITS, Indicator
from synopse.domain.events import Admission, BedSnapshot, EmergencyVisit, EnvironmentObservation, Event

HOUR = timedelta(hours=1)
# Wastewater results come back the day after sampling, around noon (SYNTHETIC laboratory delay; kept short
# so the load still leads the wave's admissions by several days).
WASTEWATER_REPORT_LOCAL_HOUR = 12
_AIR = (Indicator.PM10, Indicator.PM2_5, Indicator.NO2, Indicator.O3)
_DAILY_TEMPERATURE = (Indicator.TEMPERATURE_DAILY_MIN, Indicator.TEMPERATURE_DAILY_MAX,
                      Indicator.TEMPERATURE_DAILY_MEAN)
_POLLEN = (Indicator.POLLEN_GRASSES, Indicator.POLLEN_BIRCH, Indicator.POLLEN_CYPRESS, Indicator.POLLEN_RAGWEED)


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(int(seconds), UTC)


class TerritorySimulation:
    """Events of a scenario from ``origin`` on, produced in time order by :meth:`advance`."""

    def __init__(self, scenario: Scenario, origin: datetime | None = None,
                 territory: Territory = DEFAULT_TERRITORY) -> None:
        """Prepare the timeline; the bed model first replays the stays that may still be in a bed at origin.

        Args:
            scenario: What happens.
            origin: First instant to emit (floored to the hour); defaults to ``scenario.start``.
            territory: Communes, facilities and stations.
        """
        self.scenario, self.territory = scenario, territory
        self.origin = floor_hour(origin if origin is not None else scenario.start)
        self.environment = Environment(scenario)
        self.hospital = HospitalModel(scenario, self.environment, territory)
        self._keys = PatientKeys(scenario.seed)
        self._census = BedCensus(self.hospital.capacity, self.hospital.bed_unit)
        self._admissions: list[tuple[int, str, int, int, Stays]] = []  # heap of stays waiting for their bed
        self._discharges: list[tuple[int, str, Admission]] = []  # heap of admissions to close
        self._warm_up()
        self.cursor = self.origin
        self._hour: datetime | None = None
        self._hour_events: list[tuple[int, int, Event]] = []
        self._hour_keys: list[tuple[int, int]] = []

    # --- public ---------------------------------------------------------------------------------------------
    def advance(self, until: datetime) -> list[Event]:
        """The events that become known in ``[cursor, until)``, in time order; moves the cursor to ``until``."""
        events: list[Event] = []
        until = until.astimezone(UTC)
        while self.cursor < until:
            hour = floor_hour(self.cursor)
            if hour != self._hour:
                self._build(hour)
            end = min(until, hour + HOUR)
            # Event times are whole seconds: t >= cursor and t < end are t >= ceil(cursor) and t < ceil(end).
            lo = bisect_left(self._hour_keys, (math.ceil(self.cursor.timestamp()), -1))
            hi = bisect_left(self._hour_keys, (math.ceil(end.timestamp()), -1))
            events.extend(e for _, _, e in self._hour_events[lo:hi])
            self.cursor = end
        return events

    # --- building an hour -----------------------------------------------------------------------------------
    def _warm_up(self) -> None:
        """Replay the stays of the look-back window, so that beds are as full at origin as on any other day."""
        hospital = self.hospital
        ed_from = self.origin - timedelta(days=hospital.ed_lookback_days)
        hour = self.origin - timedelta(days=float(np.ceil(max(hospital.ed_lookback_days,
                                                               hospital.scheduled_lookback_days))))
        while hour < self.origin:
            if hour >= ed_from:
                self._queue(hospital.draw_visits(hour).stays)
            self._queue(hospital.draw_scheduled(hour))
            hour += HOUR
            list(self._admit_until(int(hour.timestamp()) - 1))  # all before origin: nothing to emit

    def _queue(self, stays: Stays) -> None:
        for i in range(stays.bed.size):
            heapq.heappush(self._admissions, (int(stays.admitted_s[i]), stays.entity, stays.hour, i, stays))

    def _admit_until(self, last_s: int) -> Iterator[tuple[int, int, Event]]:
        """Admit, in time order, the queued stays admitted at or before ``last_s``; yield those to emit."""
        origin_s = int(self.origin.timestamp())
        while self._admissions and self._admissions[0][0] <= last_s:
            admitted_s, _, _, i, stays = heapq.heappop(self._admissions)
            self._census.release_until(admitted_s)
            deferrable = self.hospital.beds[int(stays.bed[i])][1] not in p.LONG_STAY_UNITS and uniform(
                self.scenario.seed, "deferrable", stays.entity, stays.hour, i) < p.DEFERRABLE_SCHEDULED_SHARE
            bed = self._census.place(int(stays.bed[i]), scheduled=not stays.via_emergency, deferrable=deferrable)
            if bed is None:  # postponed: the unit is full
                continue
            discharged_s = int(stays.discharged_s[i])
            self._census.admit(bed, discharged_s)
            if admitted_s >= origin_s:
                admission = self._admission(stays, i, bed)
                heapq.heappush(self._discharges, (discharged_s, str(admission.event_id), admission))
                yield admitted_s, 1, admission

    def _build(self, hour: datetime) -> None:
        start_s = int(hour.timestamp())
        end_s = start_s + 3600
        visits = self.hospital.draw_visits(hour)
        timed: list[tuple[int, int, Event]] = list(self._visit_events(visits))
        self._queue(visits.stays)
        self._queue(self.hospital.draw_scheduled(hour))
        for minute in range(0, 60, p.BED_SNAPSHOT_MINUTES):
            at = hour + timedelta(minutes=minute)
            timed.extend(self._admit_until(int(at.timestamp())))
            self._census.release_until(int(at.timestamp()))
            timed.extend(self._bed_events(at))
        timed.extend(self._admit_until(end_s - 1))
        while self._discharges and self._discharges[0][0] < end_s:
            discharged_s, _, admission = heapq.heappop(self._discharges)
            closed = Admission.model_validate({**admission.model_dump(), "discharged_at": _utc(discharged_s)})
            timed.append((discharged_s, 2, closed))
        timed.extend((start_s, 4, e) for e in self._environment_events(hour))
        timed.sort(key=lambda item: (item[0], item[1]))
        self._hour, self._hour_events = hour, timed
        self._hour_keys = [(t, k) for t, k, _ in timed]

    # --- events ------------------------------------------------------------------------------------------------
    def _commune_code(self, index: int) -> str | None:
        return None if index < 0 else self.territory.communes[index].code

    def _visit_events(self, visits: Visits) -> Iterator[tuple[int, int, Event]]:
        hour = _utc(visits.hour * 3600)
        seed = self.scenario.seed
        for i in range(visits.arrived_s.size):
            facility = self.hospital.eds[int(visits.ed[i])].facility_id
            age, reason, commune = int(visits.age[i]), int(visits.reason[i]), int(visits.commune[i])
            yield int(visits.arrived_s[i]), 0, EmergencyVisit(
                event_id=event_id(seed, "emergency_visit", facility, hour, i),
                facility_id=facility,
                arrived_at=_utc(visits.arrived_s[i]),
                age_band=p.AGE_BANDS[age],
                reason=p.REASONS[reason],
                commune_code=self._commune_code(commune),
                hospitalised=bool(visits.hospitalised[i]),
                patient_key=self._keys.key(commune, age, int(visits.patient[i])),
            )

    def _admission(self, stays: Stays, i: int, bed: int) -> Admission:
        facility, unit = self.hospital.beds[bed]
        age, commune = int(stays.age[i]), int(stays.commune[i])
        return Admission(
            event_id=event_id(self.scenario.seed, "admission", stays.entity, _utc(stays.hour * 3600),
                              int(stays.index[i])),
            facility_id=facility.facility_id,
            care_unit=unit,
            admitted_at=_utc(stays.admitted_s[i]),
            age_band=p.AGE_BANDS[age],
            reason=p.REASONS[int(stays.reason[i])],
            patient_key=self._keys.key(commune, age, int(stays.patient[i])),
            commune_code=self._commune_code(commune),
            via_emergency=stays.via_emergency,
        )

    def _bed_events(self, at: datetime) -> Iterator[tuple[int, int, Event]]:
        seed, at_s = self.scenario.seed, int(at.timestamp())
        for b, (facility, unit) in enumerate(self.hospital.beds):
            yield at_s, 3, BedSnapshot(
                event_id=event_id(seed, "bed_snapshot", f"{facility.facility_id}:{unit.value}", at, 0),
                facility_id=facility.facility_id,
                care_unit=unit,
                observed_at=at,
                beds_total=int(self._census.capacity[b]),
                beds_occupied=int(self._census.occupied[b]),
            )

    def _observation(self, station_id: str, indicator: Indicator, value: float, at: datetime) -> EnvironmentObservation:
        return EnvironmentObservation(
            event_id=event_id(self.scenario.seed, "environment", f"{station_id}:{indicator.value}", at, 0),
            station_id=station_id, indicator=indicator, value=value, unit=INDICATOR_UNITS[indicator], observed_at=at,
        )

    def _environment_events(self, hour: datetime) -> Iterator[EnvironmentObservation]:
        """Readings that become known at the top of ``hour``."""
        env = self.environment
        local = hour.astimezone(p.LOCAL_TZ)
        yesterday: date = local.date() - timedelta(days=1)
        day_start = local_day_start(yesterday)
        for station in self.territory.stations:
            sid = station.station_id
            if station.kind == "weather" and Indicator.TEMPERATURE in station.indicators:
                yield self._observation(sid, Indicator.TEMPERATURE, env.temperature(hour), hour)
                if local.hour == 0:  # the day just ended: its summary, as a weather service publishes it
                    for indicator, value in zip(_DAILY_TEMPERATURE, env.daily_temperature(yesterday), strict=True):
                        yield self._observation(sid, indicator, value, day_start)
            for indicator in station.indicators:
                if indicator in _AIR:  # the mean of the hour that just ended, labelled by its start
                    yield self._observation(sid, indicator, env.air_quality(sid, indicator, hour - HOUR), hour - HOUR)
                elif indicator in _POLLEN and local.hour == 0:
                    yield self._observation(sid, indicator, env.pollen(indicator, yesterday), day_start)
                elif indicator is Indicator.WASTEWATER_SARS_COV_2 and local.hour == WASTEWATER_REPORT_LOCAL_HOUR:
                    yield self._observation(sid, indicator, env.wastewater(sid, yesterday), day_start)


def generate(scenario: Scenario, start: datetime, end: datetime,
             territory: Territory = DEFAULT_TERRITORY) -> list[Event]:
    """Every event that becomes known in ``[start, end)`` (start floored to the hour), in time order."""
    return TerritorySimulation(scenario, start, territory).advance(end)


def count_by_kind(events: list[Event]) -> dict[str, int]:
    """Events per contract name (``Admission``, ``EmergencyVisit``...), for logs and reports."""
    counts: dict[str, int] = {}
    for event in events:
        counts[type(event).__name__] = counts.get(type(event).__name__, 0) + 1
    return counts


__all__ = ["TerritorySimulation", "count_by_kind", "generate"]
