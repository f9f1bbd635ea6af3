"""The simulator is deterministic: same seed and window, same events (ids included), however it is sliced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from simulator.model import TerritorySimulation, generate
from simulator.scenario import default_scenario, winter_scenario
from synopse.domain.events import Admission, BedSnapshot, EmergencyVisit, EnvironmentObservation, Event

NOW = datetime(2025, 3, 10, 14, 0, tzinfo=UTC)


def _without_discharge_updates(events: list[Event]) -> list[Event]:
    return [e for e in events if not (isinstance(e, Admission) and e.discharged_at is not None)]


def test_same_seed_and_window_give_identical_events_and_ids():
    scenario = default_scenario(NOW, backfill=timedelta(hours=30))
    first = generate(scenario, scenario.start, NOW)
    second = generate(scenario, scenario.start, NOW)
    assert len(first) > 3000
    assert first == second
    assert [e.event_id for e in first] == [e.event_id for e in second]


def test_chunking_does_not_change_the_events():
    scenario = default_scenario(NOW, backfill=timedelta(hours=20))
    whole = generate(scenario, scenario.start, NOW)

    hourly = TerritorySimulation(scenario)
    by_hour: list[Event] = []
    at = scenario.start
    while at < NOW:
        at += timedelta(hours=1)
        by_hour.extend(hourly.advance(at))

    # Irregular slices, like a live run at an odd speed: 7 min 13.4 s, never on an hour boundary.
    odd = TerritorySimulation(scenario)
    by_slice: list[Event] = []
    at = scenario.start
    while at < NOW:
        at = min(NOW, at + timedelta(minutes=7, seconds=13.4))
        by_slice.extend(odd.advance(at))

    assert by_hour == whole
    assert by_slice == whole


def test_events_come_in_time_order_within_the_window():
    scenario = default_scenario(NOW, backfill=timedelta(hours=6))
    sim = TerritorySimulation(scenario)
    cut = scenario.start + timedelta(hours=2, minutes=40)
    before, after = sim.advance(cut), sim.advance(NOW)
    assert before and after
    # Everything before the cut is known at the cut: arrivals, admissions, snapshots; hourly means end at it.
    for event in before:
        known_at = event.discharged_at if isinstance(event, Admission) and event.discharged_at else event.occurred_at
        assert known_at < cut
    for event in after:
        if isinstance(event, Admission) and event.discharged_at is not None:
            assert event.discharged_at >= cut
        elif not hasattr(event, "indicator"):
            assert event.occurred_at >= cut


def test_an_hour_is_the_same_whatever_the_run_started():
    scenario = default_scenario(NOW)
    early = TerritorySimulation(scenario, NOW - timedelta(days=14))
    early.advance(NOW - timedelta(days=3))
    late = TerritorySimulation(scenario, NOW - timedelta(days=3))
    from_early = _without_discharge_updates(early.advance(NOW))
    from_late = _without_discharge_updates(late.advance(NOW))

    def kind(events: list[Event], model: type[Event]) -> list[Event]:
        return [e for e in events if isinstance(e, model)]

    # Drawn facts are exact: visits, the environment, which admissions happen and their ids.
    for model in (EmergencyVisit, EnvironmentObservation):
        assert kind(from_early, model) == kind(from_late, model)
    early_admissions = {e.event_id: e for e in kind(from_early, Admission)}
    late_admissions = {e.event_id: e for e in kind(from_late, Admission)}
    assert early_admissions.keys() == late_admissions.keys()
    moved = [i for i in early_admissions if early_admissions[i] != late_admissions[i]]
    assert len(moved) <= len(early_admissions) // 200, "a transfer decided on a slightly different census"
    # Beds read the census, rebuilt over twice the longest stay: the same, give or take a bed at times.
    early_beds, late_beds = kind(from_early, BedSnapshot), kind(from_late, BedSnapshot)
    assert [b.event_id for b in early_beds] == [b.event_id for b in late_beds]
    gaps = [abs(a.beds_occupied - b.beds_occupied) for a, b in zip(early_beds, late_beds, strict=True)]
    assert max(gaps) <= 2
    assert sum(g > 0 for g in gaps) <= len(gaps) // 20


def test_another_seed_gives_other_events():
    a = default_scenario(NOW, seed=1, backfill=timedelta(hours=3))
    b = default_scenario(NOW, seed=2, backfill=timedelta(hours=3))
    events_a, events_b = generate(a, a.start, NOW), generate(b, b.start, NOW)
    assert {e.event_id for e in events_a}.isdisjoint({e.event_id for e in events_b})


def test_event_ids_are_unique_except_discharge_updates():
    scenario = winter_scenario(NOW, backfill=timedelta(days=2))
    events = generate(scenario, scenario.start, NOW)
    firsts = _without_discharge_updates(events)
    assert len({e.event_id for e in firsts}) == len(firsts)
    admitted = {e.event_id: e for e in firsts if isinstance(e, Admission)}
    updates = [e for e in events if isinstance(e, Admission) and e.discharged_at is not None]
    assert updates, "two days are enough for some short stays to end"
    for update in updates:
        # A discharge re-sends the admission under its id, with only the discharge time added.
        assert update.model_copy(update={"discharged_at": None}) == admitted[update.event_id]
