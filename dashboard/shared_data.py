"""The data of the protected views (partners and viewers): base cells read through the scope, then published.

Boundary: :class:`PoolSharedSource` reads with the principal's :class:`~synopse.domain.access.Scope` (the
SQL keeps only what is shared) and writes the audit line of a partner's read in the same transaction; the
pure functions :func:`publish_overview` and :func:`publish_activity` turn exact base cells into what the
screen may show (``synopse.domain.disclosure``). Only complete buckets are published: local days per
facility, ISO weeks per commune, so that a figure never moves while a partner watches it (a moving figure
would count the events arriving between two refreshes).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from synopse.db.access import record_audit
from synopse.db.indicators import (
    LOCAL_TZ,
    commune_week,
    facility_beds,
    facility_days,
    latest_data_time,
    latest_environment,
    set_statement_timeout,
    source_freshness,
)
from synopse.domain.access import AuditEntry, Principal
from synopse.domain.disclosure import (
    DisclosurePolicy,
    Published,
    PublishedGrid,
    publish_count,
)
from synopse.domain.indicators import (
    CommuneWeek,
    EnvironmentReading,
    FacilityBeds,
    FacilityDay,
    SourceFreshness,
)
from synopse.errors import ServiceUnavailableError

log = logging.getLogger(__name__)

# As for the crisis cell's page: a saturated pool is said on the page rather than holding the web worker.
POOL_WAIT_S = 5.0
# Topics whose events are people (an admission, a visit): their freshness is not shown in protected views,
# since the time of the last admission at a facility (even to the hour) tells when someone arrived there.
PEOPLE_TOPICS = ("synopse.admissions.v1", "synopse.emergency_visits.v1")
# The longest period a protected chart or download covers: three months of complete days.
MAX_DAYS = 92


@dataclass(frozen=True)
class SharedFacility:
    """One facility's tile in a protected view."""

    facility: FacilityBeds
    beds_occupied: Published
    admissions: Published  # on the last complete day
    admissions_before: Published  # on the day before
    ed_visits: Published

    @property
    def occupancy_rate(self) -> float | None:
        """Published occupied beds over staffed beds (capacity is no count of people: exact)."""
        total = self.facility.beds_total
        return None if self.beds_occupied.value is None or not total else self.beds_occupied.value / total


@dataclass(frozen=True)
class SharedCommune:
    """One commune's row in a protected view: residents' counts over the last complete week."""

    commune_code: str
    name: str
    population: int
    admissions: Published
    ed_visits: Published


@dataclass(frozen=True)
class SharedOverview:
    """Everything a protected overview shows besides the chart."""

    reference_time: datetime | None  # the newest data time; None: no data yet
    last_day: date  # the last complete local day (tiles)
    week: tuple[date, date]  # Monday and Sunday of the last complete ISO week (commune table)
    facilities: list[SharedFacility]
    communes: list[SharedCommune]
    environment: list[EnvironmentReading]
    freshness: list[SourceFreshness]
    restricted: bool  # a partner's (shared) scope, rather than a viewer's (everything)


@dataclass(frozen=True)
class SharedActivity:
    """A protected chart: published daily counts of one facility or of all the facilities of the scope."""

    days: list[date]
    admissions: list[Published]
    ed_visits: list[Published]
    occupancy: list[float | None]
    available: bool  # False: the facility asked for is not in the scope (or does not exist)


def last_complete_day(reference: datetime) -> date:
    """The local (Europe/Paris) day before the one containing ``reference``."""
    return reference.astimezone(LOCAL_TZ).date() - timedelta(days=1)


def last_complete_week(reference: datetime) -> tuple[date, date]:
    """Monday and Sunday of the last ISO week that ended before ``reference`` (local days)."""
    today = reference.astimezone(LOCAL_TZ).date()
    monday = today - timedelta(days=today.weekday() + 7)
    return monday, monday + timedelta(days=6)


def _published_freshness(rows: list[SourceFreshness]) -> list[SourceFreshness]:
    # Beds and environment feeds only; their running totals count events (a change between two refreshes
    # would be a count): never carried.
    return [replace(row, events_total=0) for row in rows if not row.topic.endswith(PEOPLE_TOPICS)]


def _beds_cell(mean: float | None) -> int | None:
    # Occupied beds are a count of patients: the day's mean, to the unit, is published like any count.
    return None if mean is None else round(mean)


def publish_overview(
    *,
    reference: datetime | None,
    anchor: datetime,
    facilities: list[FacilityBeds],
    days: list[FacilityDay],
    communes: list[CommuneWeek],
    environment: list[EnvironmentReading],
    freshness: list[SourceFreshness],
    policy: DisclosurePolicy,
    restricted: bool,
) -> SharedOverview:
    """The protected overview from exact base cells: every count published, every derived figure from them."""
    last_day = last_complete_day(anchor)
    by_key = {(d.facility_id, d.day): d for d in days}
    tiles = []
    for facility in facilities:
        today = by_key.get((facility.facility_id, last_day))
        before = by_key.get((facility.facility_id, last_day - timedelta(days=1)))
        tiles.append(
            SharedFacility(
                facility=facility,
                beds_occupied=publish_count(facility.beds_occupied, policy),
                admissions=publish_count(today.admissions if today else None, policy),
                admissions_before=publish_count(before.admissions if before else None, policy),
                ed_visits=publish_count(today.ed_visits if today else None, policy),
            )
        )
    rows = [
        SharedCommune(c.commune_code, c.name, c.population, publish_count(c.admissions, policy),
                      publish_count(c.ed_visits, policy))
        for c in communes
    ]
    return SharedOverview(
        reference_time=reference,
        last_day=last_day,
        week=last_complete_week(anchor),
        facilities=tiles,
        communes=rows,
        environment=environment,
        freshness=_published_freshness(freshness),
        restricted=restricted,
    )


def publish_activity(
    days: list[FacilityDay], first: date, last: date, policy: DisclosurePolicy, *, available: bool = True
) -> SharedActivity:
    """Daily published series over the facilities in ``days`` (summed from published cells, never from exact)."""
    span = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    if not days:
        return SharedActivity(span, [], [], [], available)
    admissions = PublishedGrid({(d.facility_id, d.day): d.admissions for d in days}, policy)
    visits = PublishedGrid({(d.facility_id, d.day): d.ed_visits for d in days}, policy)
    occupied = PublishedGrid({(d.facility_id, d.day): _beds_cell(d.beds_occupied_mean) for d in days},
                             policy)
    totals: dict[date, int] = {}
    for d in days:
        if d.beds_total is not None:
            totals[d.day] = totals.get(d.day, 0) + d.beds_total
    occupancy: list[float | None] = []
    for day in span:
        beds = occupied.column_total(day)
        occupancy.append(None if beds.value is None or not totals.get(day) else beds.value / totals[day])
    return SharedActivity(
        days=span,
        admissions=[admissions.column_total(day) for day in span],
        ed_visits=[visits.column_total(day) for day in span],
        occupancy=occupancy,
        available=available,
    )


class SharedSource(ABC):
    """Where the protected view's callbacks read (a test gives a fake with canned published rows)."""

    policy: DisclosurePolicy

    @abstractmethod
    def overview(self) -> SharedOverview: ...

    @abstractmethod
    def activity(self, facility_id: str | None, days: int) -> SharedActivity: ...


class PoolSharedSource(SharedSource):
    """Reads base cells through a pool with the principal's scope; audits a partner's every read."""

    def __init__(
        self,
        pool: ConnectionPool[Any],
        principal: Principal,
        policy: DisclosurePolicy,
        *,
        now: datetime | None = None,
        ip: str = "",
    ) -> None:
        scope = principal.scope
        if scope.exact:
            raise ValueError("an exact scope reads the crisis cell's page, not the protected one")
        self._pool = pool
        self.principal = principal
        self.scope = scope
        self.policy = policy
        self._now = now
        self._ip = ip

    def _audit(self, conn: psycopg.Connection[Any], target: str, outcome: str = "ok", **details: Any) -> None:
        if self.scope.audited:
            record_audit(conn, AuditEntry.by(self.principal, "data.read", target, outcome=outcome, ip=self._ip,
                                             details=details))

    def overview(self) -> SharedOverview:
        try:
            with self._pool.connection(timeout=POOL_WAIT_S) as conn:
                set_statement_timeout(conn)
                reference = self._now if self._now is not None else latest_data_time(conn)
                anchor = reference if reference is not None else datetime.now(UTC)
                last_day = last_complete_day(anchor)
                monday, _ = last_complete_week(anchor)
                facilities = facility_beds(conn, scope=self.scope)
                days = facility_days(conn, scope=self.scope, first=last_day - timedelta(days=1), last=last_day)
                communes = commune_week(conn, scope=self.scope, monday=monday)
                environment = latest_environment(conn, anchor, scope=self.scope)
                freshness = source_freshness(conn, scope=self.scope)
                self._audit(conn, "dashboard:overview", facilities=[f.facility_id for f in facilities],
                            communes=[c.commune_code for c in communes], day=last_day.isoformat())
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise ServiceUnavailableError(f"cannot read the shared overview: {exc}") from exc
        return publish_overview(
            reference=reference, anchor=anchor, facilities=facilities, days=days, communes=communes,
            environment=environment, freshness=freshness, policy=self.policy, restricted=self.scope.restricted,
        )

    def activity(self, facility_id: str | None, days: int) -> SharedActivity:
        days = max(1, min(days, MAX_DAYS))
        try:
            with self._pool.connection(timeout=POOL_WAIT_S) as conn:
                set_statement_timeout(conn)
                reference = self._now if self._now is not None else latest_data_time(conn)
                last = last_complete_day(reference if reference is not None else datetime.now(UTC))
                first = last - timedelta(days=days - 1)
                rows = facility_days(conn, scope=self.scope, first=first, last=last, facility_id=facility_id)
                available = facility_id is None or bool(rows)
                self._audit(conn, f"dashboard:activity:{facility_id or 'all'}", "ok" if available else "denied",
                            first=first.isoformat(), last=last.isoformat())
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise ServiceUnavailableError(f"cannot read the shared activity: {exc}") from exc
        if not available:
            log.warning("facility outside the scope asked for", extra={"user": self.principal.name})
        return publish_activity(rows, first, last, self.policy, available=available)
