"""JSON Schemas of the event contracts, for producers written in other languages and for schema registries."""

from __future__ import annotations

from typing import Any

from synopse.domain.codec import BATCH_FIELD
from synopse.domain.topics import INPUT_TOPICS


def contract_schemas() -> dict[str, dict[str, Any]]:
    """One schema per topic, keyed by file name; each accepts one event or a batch envelope of them."""
    schemas: dict[str, dict[str, Any]] = {}
    for spec in INPUT_TOPICS:
        event = spec.model.model_json_schema(mode="validation")
        defs = event.pop("$defs", {})
        defs[spec.model.__name__] = event
        ref = {"$ref": f"#/$defs/{spec.model.__name__}"}
        schemas[f"{spec.name}.schema.json"] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"urn:synopse:topic:{spec.name}",
            "title": f"{spec.name}: {spec.description}",
            "oneOf": [
                ref,
                {
                    "type": "object",
                    "properties": {BATCH_FIELD: {"type": "array", "items": ref}},
                    "required": [BATCH_FIELD],
                    "additionalProperties": False,
                },
            ],
            "$defs": defs,
        }
    return schemas
