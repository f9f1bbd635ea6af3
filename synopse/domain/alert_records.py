"""Row types of the alert tables: what ``synopse.db.alerts`` returns and the alerts service and screens read.

Pure: frozen dataclasses read with psycopg ``class_row``. The lifecycle itself is in ``synopse.domain.alerts``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class StoredRule:
    rule_id: str
    kind: str
    definition: dict[str, Any]
    enabled: bool
    source: str  # file or platform
    file_hash: str | None
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True)
class RuleChange:
    change_id: int
    rule_id: str
    changed_at: datetime
    changed_by: str
    action: str
    source: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    comment: str


@dataclass(frozen=True)
class AlertRow:
    """One alert episode as stored (open ones are the live state)."""

    alert_id: UUID
    rule_id: str
    scope_key: str
    indicator: str
    status: str
    severity: str
    pending_since: datetime
    firing_since: datetime | None
    clear_since: datetime | None
    resolved_at: datetime | None
    value: float | None
    details: dict[str, Any]
    summary: str
    notified: bool
    evaluated_at: datetime


@dataclass(frozen=True)
class AlertListing:
    """An alert with its latest acknowledgement, for lists (CLI, dashboard, CAP feed)."""

    alert_id: UUID
    rule_id: str
    scope_key: str
    indicator: str
    status: str
    severity: str
    pending_since: datetime
    firing_since: datetime | None
    resolved_at: datetime | None
    value: float | None
    details: dict[str, Any]
    summary: str
    acked_by: str | None
    acked_at: datetime | None
    ack_comment: str | None


@dataclass(frozen=True)
class Silence:
    silence_id: UUID
    rule_id: str | None
    scope_key: str | None
    indicator: str | None
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str

    def matches(self, rule_id: str, scope_key: str, indicator: str, at: datetime) -> bool:
        return (
            self.starts_at <= at < self.ends_at
            and (self.rule_id is None or self.rule_id == rule_id)
            and (self.scope_key is None or self.scope_key == scope_key)
            and (self.indicator is None or self.indicator == indicator)
        )


@dataclass(frozen=True)
class Subscriber:
    subscriber_id: str
    name: str
    kind: str  # webhook, email, kafka
    target: str
    secret: str | None
    organisation_id: int | None  # access_organisations: a partner's subscription; None: internal
    organisation: str | None  # the organisation's slug
    min_severity: str
    rule_ids: list[str] | None
    enabled: bool
    breaker_failures: int
    breaker_open_until: datetime | None

    @property
    def is_partner(self) -> bool:
        return self.organisation_id is not None


@dataclass(frozen=True)
class Share:
    """One row of access_shares (migration 0030): a facility, a commune or an indicator shared."""

    organisation_id: int
    kind: str  # facility, commune, indicator
    ref: str


@dataclass(frozen=True)
class Notification:
    """One row of the outbox / delivery ledger."""

    notification_id: UUID
    subscriber_id: str
    alert_id: UUID
    event_id: int
    event_kind: str
    payload: dict[str, Any]
    status: str
    attempts: int  # every attempt ever made, this one included once claimed
    attempt_base: int  # attempts before the last replay: the retry budget counts from there
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


# ----------------------------------------------------------------------------------- series the rules read


@dataclass(frozen=True)
class UnitBeds:
    facility_id: str
    commune_code: str | None
    care_unit: str
    beds_total: int
    beds_occupied: int
    observed_at: datetime


@dataclass(frozen=True)
class FacilityHourCount:
    facility_id: str
    bucket: datetime
    visits: int


@dataclass(frozen=True)
class DailyCount:
    scope_id: str  # facility id, commune code ('' for unknown residence)
    day: date
    visits: int


@dataclass(frozen=True)
class StationDay:
    station_id: str
    indicator: str
    day: date
    value: float
    observations: int


@dataclass(frozen=True)
class SourceSilence:
    topic: str
    source_id: str
    station_kind: str | None
    last_event_at: datetime
    last_ingested_at: datetime
    now: datetime


@dataclass(frozen=True)
class PipelineTopic:
    consumer_group: str
    topic: str
    lag: int | None
    dead_lettered: int
    events_in: int
    oldest_lag_at: datetime | None
    now: datetime


@dataclass(frozen=True)
class CapacityOutlook:
    """The forecast of one facility, as the forecast rules read it (see ``synopse.db.alerts``)."""

    facility_id: str
    run_at: datetime
    exceed_probability: float | None  # highest probability of exceeding capacity within the horizon
    saturation_date: date | None  # earliest expected saturation date within the horizon
