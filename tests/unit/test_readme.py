"""The README documents every setting, and only settings that exist."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from synopse.config import Settings, env_name

README = Path(__file__).resolve().parents[2] / "README.md"


def setting_names(model: type[BaseModel], loc: tuple[str, ...] = ()) -> set[str]:
    names: set[str] = set()
    for field_name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= setting_names(annotation, (*loc, field_name))
        else:
            names.add(env_name((*loc, field_name)))
    return names


def test_settings_table_matches_the_settings() -> None:
    text = README.read_text(encoding="utf-8").split("\n## Settings", 1)[1].split("\n## ", 1)[0]
    table = {m.group(1) for m in re.finditer(r"^\| `(SYNOPSE_[A-Z0-9_]+)` \|", text, re.MULTILINE)}
    expected = setting_names(Settings)
    assert expected - table == set(), "settings missing from the README table"
    assert table - expected == set(), "README documents settings that do not exist"


def test_quick_start_is_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    block = text.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make run", "make test"]
