"""The JSON Schemas published in docs/contracts are those of the code (regenerate with `synopse contracts export`)."""

from __future__ import annotations

import json
from pathlib import Path

from synopse.domain.schemas import contract_schemas

DOCS = Path(__file__).resolve().parents[3] / "docs" / "contracts"


def test_published_schemas_match_the_contracts() -> None:
    for filename, schema in contract_schemas().items():
        published = json.loads((DOCS / filename).read_text(encoding="utf-8"))
        assert published == schema, f"{filename} is stale: run `synopse contracts export docs/contracts`"
