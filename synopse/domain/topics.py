"""The input topics: name, key, contract and dead-letter topic of each.

Topic names carry the contract version (``.v1``); a breaking change gets a new topic, so old producers
and new consumers never meet on one.
"""

from __future__ import annotations

from dataclasses import dataclass

from synopse.domain.events import Admission, BedSnapshot, EmergencyVisit, EnvironmentObservation, Event

DEAD_LETTER_SUFFIX = ".dlq"

# Header names of a dead-lettered record; the value is the original bytes, untouched, so it can be replayed.
DLQ_HEADER_ERROR = "synopse.dlq.error"
DLQ_HEADER_TOPIC = "synopse.dlq.topic"
DLQ_HEADER_PARTITION = "synopse.dlq.partition"
DLQ_HEADER_OFFSET = "synopse.dlq.offset"
DLQ_HEADER_INDEX = "synopse.dlq.index"
DLQ_HEADER_TIMESTAMP = "synopse.dlq.timestamp"


@dataclass(frozen=True)
class TopicSpec:
    """What travels on one input topic."""

    name: str
    model: type[Event]
    description: str

    @property
    def key_field(self) -> str:
        return self.model.key_field

    @property
    def dead_letter(self) -> str:
        return self.name + DEAD_LETTER_SUFFIX


ADMISSIONS = TopicSpec("synopse.admissions.v1", Admission, "Hospital admissions, keyed by facility.")
EMERGENCY_VISITS = TopicSpec(
    "synopse.emergency_visits.v1", EmergencyVisit, "Emergency-department visits, keyed by facility."
)
BED_SNAPSHOTS = TopicSpec(
    "synopse.bed_snapshots.v1", BedSnapshot, "Bed capacity and occupancy per care unit, keyed by facility."
)
ENVIRONMENT = TopicSpec(
    "synopse.environment.v1",
    EnvironmentObservation,
    "Environmental observations (weather, air quality, pollen, wastewater), keyed by station.",
)

INPUT_TOPICS: tuple[TopicSpec, ...] = (ADMISSIONS, EMERGENCY_VISITS, BED_SNAPSHOTS, ENVIRONMENT)


def topic_for(model: type[Event]) -> TopicSpec:
    """The input topic that carries events of this contract."""
    for spec in INPUT_TOPICS:
        if spec.model is model:
            return spec
    raise KeyError(model.__name__)
