"""The input topics: name, key, contract and dead-letter topic of each.

Topic names carry the contract version (``.v1``); a breaking change gets a new topic, so old producers
and new consumers never meet on one.
"""

from __future__ import annotations

from dataclasses import dataclass

from synopse.domain.events import (
    Admission,
    BedSnapshot,
    EmergencyVisit,
    EnvironmentObservation,
    Event,
    HospitalDailyCount,
)

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

HOSPITAL_DAILY = TopicSpec(
    "synopse.hospital_daily.v1",
    HospitalDailyCount,
    "Published daily hospital counts per area (open-data replays such as Santé publique France), keyed by area.",
)

# Contract topics not yet consumed by the stream worker: producers can already send to them (topic_for
# finds them), and the worker adds them to what it consumes once it stores their contract.
DAILY_COUNT_TOPICS: tuple[TopicSpec, ...] = (HOSPITAL_DAILY,)


def topic_for(model: type[Event]) -> TopicSpec:
    """The contract topic that carries events of this contract."""
    for spec in (*INPUT_TOPICS, *DAILY_COUNT_TOPICS):
        if spec.model is model:
            return spec
    raise KeyError(model.__name__)


@dataclass(frozen=True)
class RawTopicSpec:
    """A topic of a clinical format as it exists in the field, inside the hospital network.

    Its messages still carry patient identifiers: the stream worker maps them to domain events,
    pseudonymising on the way, and they never leave the hospital side. Keep its retention short and
    its access restricted, and the same for its dead-letter topic (it holds the original bytes).
    """

    name: str
    format: str
    description: str
    target: TopicSpec  # the contract its messages become (stored and counted as that topic's events)
    key: str = "facility_id"

    @property
    def dead_letter(self) -> str:
        return self.name + DEAD_LETTER_SUFFIX


HL7V2_ADT = RawTopicSpec(
    "synopse.hl7v2.adt.v1",
    "hl7v2",
    "HL7 v2 ADT messages (A01, A02, A03, A04, A08, A11, A12, A13), ER7 text, one message (or an MLLP/batch "
    "file of several) per Kafka message, keyed by facility; mapped to Admission.",
    ADMISSIONS,
)
FHIR_ENCOUNTER = RawTopicSpec(
    "synopse.fhir.encounter.v1",
    "fhir-r4-json",
    "FHIR R4 Encounter resources as JSON (one Encounter, or a Bundle of Encounters and Patients), keyed by "
    "facility; mapped to Admission.",
    ADMISSIONS,
)

RAW_TOPICS: tuple[RawTopicSpec, ...] = (HL7V2_ADT, FHIR_ENCOUNTER)
