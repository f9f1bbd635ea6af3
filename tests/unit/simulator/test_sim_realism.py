"""The simulated territory looks like Nantes Métropole: volumes, rhythms, episodes and their lagged effects."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest

from simulator.environment import Environment
from simulator.hospital import HospitalModel
from simulator.parameters import AGE_BANDS, LOCAL_TZ, REASONS
from simulator.scenario import Scenario, winter_scenario
from simulator.territory import DEFAULT_TERRITORY
from synopse.domain.codec import decode_message, encode_batch
from synopse.domain.codes import AgeBand, CareUnit, Indicator, ReasonCategory
from synopse.domain.events import Admission, BedSnapshot, EmergencyVisit, EnvironmentObservation, Event
from synopse.domain.topics import topic_for

# A fixed Monday afternoon: the tests never depend on the day they run.
NOW = datetime(2025, 3, 10, 14, 0, tzinfo=UTC)


def _day(when: datetime) -> date:
    return when.astimezone(LOCAL_TZ).date()


def _full_days(scenario: Scenario, events: list[Event]) -> list[date]:
    """Local days wholly inside the generated window."""
    last = max(e.occurred_at for e in events if isinstance(e, EmergencyVisit))
    first_day, last_day = _day(scenario.start) + timedelta(days=1), _day(last) - timedelta(days=1)
    return [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]


def _visits_per_day(events: list[Event], reason: ReasonCategory | None = None) -> Counter[date]:
    return Counter(_day(e.arrived_at) for e in events
                   if isinstance(e, EmergencyVisit) and (reason is None or e.reason is reason))


def _first_admissions(events: list[Event]) -> list[Admission]:
    return [e for e in events if isinstance(e, Admission) and e.discharged_at is None]


def test_every_event_honours_its_contract_and_survives_the_wire(demo_events):
    by_topic: dict[str, list[Event]] = defaultdict(list)
    for event in demo_events:
        assert type(event).model_validate(event.model_dump()) == event
        by_topic[topic_for(type(event)).name].append(event)
    assert set(by_topic) == {
        "synopse.admissions.v1", "synopse.emergency_visits.v1", "synopse.bed_snapshots.v1", "synopse.environment.v1"}
    for events in by_topic.values():
        decoded = decode_message(topic_for(type(events[0])), encode_batch(events))
        assert decoded.rejected == []
        assert decoded.events == events


def test_daily_volumes_are_those_of_nantes_metropole(demo_scenario, demo_events):
    # The first five full days, before the wave is more than a ripple.
    calm = _full_days(demo_scenario, demo_events)[:5]
    visits = _visits_per_day(demo_events)
    admissions = Counter(_day(e.admitted_at) for e in _first_admissions(demo_events))
    assert 600 <= sum(visits[d] for d in calm) / len(calm) <= 800
    week = _full_days(demo_scenario, demo_events)[:7]
    assert 350 <= sum(admissions[d] for d in week) / len(week) <= 500


def test_ed_visits_peak_on_mondays_and_in_the_day_scheduled_admissions_drop_at_weekends():
    calm = Scenario(name="calm", reference=NOW, start=NOW - timedelta(days=28))
    hospital = HospitalModel(calm, Environment(calm), DEFAULT_TERRITORY)
    visits, scheduled, by_hour = Counter[int](), Counter[int](), Counter[int]()
    hour = calm.start
    while hour < calm.reference:
        local = hour.astimezone(LOCAL_TZ)
        count = hospital.draw_visits(hour).arrived_s.size
        visits[local.weekday()] += count
        by_hour[local.hour] += count
        scheduled[local.weekday()] += hospital.draw_scheduled(hour).bed.size
        hour += timedelta(hours=1)
    monday, sunday = 0, 6
    assert visits[monday] > 1.05 * visits[sunday]
    assert visits.most_common(1)[0][0] == monday
    weekend = (scheduled[5] + scheduled[6]) / 2
    weekdays = sum(scheduled[d] for d in range(5)) / 5
    assert weekend < 0.7 * weekdays
    # Within the day: late morning to evening is busy, the small hours are quiet.
    assert min(by_hour[h] for h in range(10, 20)) > 2 * max(by_hour[h] for h in range(2, 6))


def test_heat_wave_days_meet_the_loire_atlantique_thresholds(demo_scenario, demo_events):
    wave = demo_scenario.heat_waves[0]
    first = demo_scenario.first_day(wave.start)
    daily: dict[Indicator, dict[date, float]] = defaultdict(dict)
    for e in demo_events:
        if isinstance(e, EnvironmentObservation) and e.indicator in (
                Indicator.TEMPERATURE_DAILY_MIN, Indicator.TEMPERATURE_DAILY_MAX):
            daily[e.indicator][_day(e.observed_at)] = e.value
    heat_days = [first + timedelta(days=i) for i in range(wave.days) if first + timedelta(days=i) in
                 daily[Indicator.TEMPERATURE_DAILY_MAX]]
    assert len(heat_days) >= 3, "the window holds at least three complete days of the heat wave"
    for day in heat_days:
        assert daily[Indicator.TEMPERATURE_DAILY_MIN][day] >= 20.0
        assert daily[Indicator.TEMPERATURE_DAILY_MAX][day] >= 34.0
    # Météo-France's indicators: 3-day running means of minima and maxima (IBMn, IBMx).
    for start in range(len(heat_days) - 2):
        window = heat_days[start:start + 3]
        assert sum(daily[Indicator.TEMPERATURE_DAILY_MIN][d] for d in window) / 3 >= 20.0
        assert sum(daily[Indicator.TEMPERATURE_DAILY_MAX][d] for d in window) / 3 >= 34.0
    calm = [d for d in daily[Indicator.TEMPERATURE_DAILY_MAX] if d < first - timedelta(days=1)]
    assert calm and all(daily[Indicator.TEMPERATURE_DAILY_MAX][d] < 34.0 for d in calm)


def test_heat_wave_brings_heat_related_visits_and_elderly_admissions_after_it_starts(demo_scenario, demo_events):
    first = demo_scenario.first_day(demo_scenario.heat_waves[0].start)
    before = [first - timedelta(days=i) for i in range(2, 5)]  # clear of the ramp day
    during = [first + timedelta(days=i) for i in range(1, 4)]  # the lag of 0-3 days has started to act
    heat = _visits_per_day(demo_events, ReasonCategory.HEAT_RELATED)
    assert sum(heat[d] for d in during) >= 3 * sum(heat[d] for d in before)
    elderly = Counter(_day(e.admitted_at) for e in _first_admissions(demo_events)
                      if e.age_band is AgeBand.FROM_75 and e.reason is ReasonCategory.HEAT_RELATED)
    assert sum(elderly[d] for d in during) >= 3 * max(1, sum(elderly[d] for d in before))


def test_pm10_daily_mean_crosses_50_during_the_episode_and_only_then(demo_scenario, demo_events):
    episode = demo_scenario.pollution_episodes[0]
    first = demo_scenario.first_day(episode.start)
    episode_days = {first + timedelta(days=i) for i in range(len(episode.pm10_daily_means_ugm3))}
    hourly: dict[tuple[str, date], list[float]] = defaultdict(list)
    for e in demo_events:
        if isinstance(e, EnvironmentObservation) and e.indicator is Indicator.PM10:
            hourly[(e.station_id, _day(e.observed_at))].append(e.value)
    means = {key: sum(v) / len(v) for key, v in hourly.items() if len(v) >= 23}  # complete days only
    assert {station for station, _ in means} == {"FR23188", "FR23251", "FR23107", "FR23239", "FR23238"}
    for (station, day), mean in means.items():
        if day in episode_days:
            assert mean > 50, f"{station} {day}: {mean:.0f} µg/m³"
        elif min(abs((day - d).days) for d in episode_days) > 1:
            assert mean < 50, f"{station} {day}: {mean:.0f} µg/m³ on a calm day"
    assert any(mean > 80 for (_, day), mean in means.items() if day in episode_days), "alert level reached"


def test_the_episode_brings_asthma_visits_within_two_days(demo_scenario, demo_events):
    first = demo_scenario.first_day(demo_scenario.pollution_episodes[0].start)
    asthma = _visits_per_day(demo_events, ReasonCategory.ASTHMA)
    before = sum(asthma[first - timedelta(days=i)] for i in range(3, 6))
    during = sum(asthma[first + timedelta(days=i)] for i in range(1, 4))
    assert during > 1.3 * before


def test_wastewater_rises_days_before_the_wave_fills_the_hospital(demo_events):
    load: dict[str, dict[date, float]] = defaultdict(dict)
    for e in demo_events:
        if isinstance(e, EnvironmentObservation) and e.indicator is Indicator.WASTEWATER_SARS_COV_2:
            load[e.station_id][_day(e.observed_at)] = e.value
    covid_admissions = Counter(_day(e.admitted_at) for e in _first_admissions(demo_events)
                               if e.reason is ReasonCategory.COVID19)
    admissions_peak = max(sorted(covid_admissions), key=lambda d: covid_admissions[d])
    assert set(load) == {"wwtp-tougas", "wwtp-petite-californie"}
    for series in load.values():
        days = sorted(series)
        # The window opens on the rise (the load leads by ~5 days): it more than doubles before the peak.
        assert max(series.values()) > 2 * (series[days[0]] + series[days[1]]) / 2
        # Smoothed over 3 days (laboratory noise), the load peaks at least 3 days before admissions do.
        smooth = {d: sum(series.get(d + timedelta(days=k), series[d]) for k in (-1, 0, 1)) / 3 for d in days}
        assert (admissions_peak - max(days, key=lambda d: smooth[d])).days >= 3


def test_occupancy_stays_plausible_and_the_chu_goes_past_capacity_during_the_wave(demo_scenario, demo_events):
    snapshots = [e for e in demo_events if isinstance(e, BedSnapshot)]
    assert all(0 <= s.beds_occupied <= 1.3 * s.beds_total for s in snapshots)
    calm_until = demo_scenario.start + timedelta(days=4)
    chu = [s for s in snapshots if s.facility_id == "chu-nantes-hotel-dieu"
           and s.care_unit in (CareUnit.MEDICINE, CareUnit.ICU)]
    over = [s for s in chu if s.beds_occupied > s.beds_total]
    assert over, "the wave pushes the CHU's medicine or ICU beds past capacity"
    wave_from = demo_scenario.reference - timedelta(days=7)
    assert sum(s.observed_at >= wave_from for s in over) > 5 * sum(s.observed_at < calm_until for s in over)
    medicine = [s for s in chu if s.care_unit is CareUnit.MEDICINE]
    assert all(s.beds_occupied < s.beds_total for s in medicine if s.observed_at < calm_until)
    # Every unit reports every 15 minutes.
    per_unit = Counter((s.facility_id, s.care_unit) for s in snapshots)
    assert len(set(per_unit.values())) == 1


def test_patients_are_pseudonymous_keys_and_a_few_come_back(demo_events):
    admissions = _first_admissions(demo_events)
    keys = Counter(a.patient_key for a in admissions)
    assert all(re.fullmatch(r"[0-9a-f]{64}", key) for key in keys)
    returning = sum(count - 1 for count in keys.values() if count > 1)
    assert 1 <= returning <= 0.05 * len(admissions)
    # An admission after an ED visit carries the visit's patient key.
    visited = {e.patient_key for e in demo_events if isinstance(e, EmergencyVisit) and e.hospitalised}
    # (Skipping the first day: its first admissions follow visits made before the window.)
    settled = min(e.occurred_at for e in demo_events) + timedelta(days=1)
    via_ed = [a for a in admissions if a.via_emergency and a.admitted_at > settled]
    assert via_ed and all(a.patient_key in visited for a in via_ed)


@pytest.mark.parametrize(("pathogen_peak", "band", "reason"), [
    (timedelta(0), AgeBand.UNDER_2, ReasonCategory.BRONCHIOLITIS),
    (timedelta(days=8), AgeBand.FROM_75, ReasonCategory.INFLUENZA_LIKE),
])
def test_winter_waves_hit_their_age_groups(pathogen_peak, band, reason):
    scenario = winter_scenario(NOW)
    hospital = HospitalModel(scenario, Environment(scenario), DEFAULT_TERRITORY)
    a, r = AGE_BANDS.index(band), REASONS.index(reason)
    peak = hospital.ed_rates(scenario.reference + pathogen_peak).sum(axis=0)
    before = hospital.ed_rates(scenario.reference + pathogen_peak - timedelta(days=12)).sum(axis=0)
    assert peak[a, r] > 3 * before[a, r]
    admitted = peak[:, r] * hospital.p_hosp[:, r]  # expected hospitalisations per hour, by age band
    assert admitted[a] == max(admitted), f"{band.value} is the age group {reason.value} hospitalises most"


def test_seasons_follow_the_calendar():
    scenario = Scenario(reference=datetime(2024, 1, 1, tzinfo=UTC), start=datetime(2024, 1, 1, tzinfo=UTC))
    env = Environment(scenario)
    hospital = HospitalModel(scenario, env, DEFAULT_TERRITORY)

    def mean_max(month: int) -> float:
        return sum(env.daily_extremes(date(2024, month, d))[1] for d in range(1, 29)) / 28

    assert mean_max(7) > mean_max(1) + 10
    assert env.pollen(Indicator.POLLEN_GRASSES, date(2024, 6, 5)) >= 2
    assert env.pollen(Indicator.POLLEN_GRASSES, date(2024, 12, 5)) == 0
    assert env.pollen(Indicator.POLLEN_BIRCH, date(2024, 4, 5)) >= 1
    r = REASONS.index(ReasonCategory.RESPIRATORY)
    january = hospital.ed_rates(datetime(2024, 1, 15, 11, tzinfo=UTC))[:, :, r].sum()
    july = hospital.ed_rates(datetime(2024, 7, 15, 11, tzinfo=UTC))[:, :, r].sum()
    assert january > 1.5 * july
