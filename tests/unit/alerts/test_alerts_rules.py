"""Rules are data: the shipped file validates; a bad file is refused with errors naming the YAML path."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from alerts.commands import app
from alerts.rulefile import default_rules_path, read_rule_file
from synopse.domain.alerts import (
    ForecastRule,
    RuleError,
    Severity,
    can_edit_rules,
    parse_duration,
    parse_rule,
    parse_rule_set,
    rule_document,
)


def shipped() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(default_rules_path().read_text(encoding="utf-8"))
    return document


def test_the_shipped_rules_cover_every_kind_and_validate() -> None:
    rule_set = read_rule_file(default_rules_path())
    assert {rule.kind for rule in rule_set.rules} == {
        "threshold", "heat_wave", "forecast", "aberration", "freshness", "pipeline"}
    algorithms = {rule.algorithm for rule in rule_set.rules if rule.kind == "aberration"}
    assert algorithms == {"ears_c1", "ears_c2", "ears_c3", "cusum", "farrington"}
    pm10 = next(rule for rule in rule_set.rules if rule.id == "pm10-daily-mean")
    assert [(level.severity, level.enter) for level in pm10.levels] == [  # type: ignore[union-attr]
        (Severity.WARNING, 50), (Severity.SEVERE, 80)]


def test_errors_name_the_yaml_path_and_the_rule() -> None:
    document = shipped()
    document["rules"][0]["levels"][1]["enter"] = "high"
    document["rules"][2]["colour"] = "red"
    del document["rules"][3]["indicator"]
    with pytest.raises(RuleError) as caught:
        parse_rule_set(document)
    message = str(caught.value)
    assert "rules[0](id=beds-occupancy-facility).levels[1].enter: Input should be a valid number" in message
    assert "rules[2](id=beds-occupancy-metropolis).colour: Extra inputs are not permitted" in message
    assert "rules[3](id=ed-visits-hourly-metropolis).indicator: Field required" in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"levels": [{"severity": "warning", "enter": 0.9, "exit": 0.95}]}, "safe side"),
        ({"levels": [{"severity": "critical", "enter": 0.8}, {"severity": "warning", "enter": 0.9}]},
         "must be entered above"),
        ({"scope": {"level": "station"}}, "does not fit occupancy_rate"),
        ({"filters": {"reason": "asthma"}}, "do not apply"),
        ({"for": "ten minutes"}, "expected a duration"),
    ],
)
def test_incoherent_rules_are_refused(change: dict[str, Any], expected: str) -> None:
    rule = shipped()["rules"][0] | change
    with pytest.raises(RuleError, match=expected):
        parse_rule(rule)


def test_duplicate_ids_and_unknown_algorithm_parameters_are_refused() -> None:
    document = shipped()
    document["rules"].append(document["rules"][0])
    with pytest.raises(RuleError, match="appears twice"):
        parse_rule_set(document)
    aberration = next(r for r in shipped()["rules"] if r["kind"] == "aberration") | {"params": {"kk": 1}}
    with pytest.raises(RuleError, match="unknown to"):
        parse_rule(aberration)


def test_durations_and_round_trip_of_a_rule_document() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("2h") == timedelta(hours=2)
    assert parse_duration(30) == timedelta(seconds=30)
    rule = parse_rule(next(r for r in shipped()["rules"] if r["id"] == "forecast-saturation-date"))
    assert isinstance(rule, ForecastRule)
    document = rule_document(rule)
    assert document["keep_firing_for"] == "6h" and document["for"] == "0s"
    assert parse_rule(document) == rule


def test_only_editor_roles_may_change_rules() -> None:
    assert can_edit_rules({"crisis_cell"}) and can_edit_rules({"viewer", "administrator"})
    assert not can_edit_rules({"partner", "viewer"})


def test_rules_validate_command(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["rules", "validate", str(default_rules_path())])
    assert ok.exit_code == 0 and "18 valid rules" in ok.output
    bad = tmp_path / "bad.yaml"
    document = shipped()
    document["rules"][5]["algorithm"] = "magic"
    bad.write_text(yaml.safe_dump(document), encoding="utf-8")
    failed = runner.invoke(app, ["rules", "validate", str(bad)])
    assert failed.exit_code == 2
    assert "rules[5](id=ed-aberration-heat-ears-c3).algorithm" in failed.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: [\n", encoding="utf-8")
    assert "not valid YAML" in runner.invoke(app, ["rules", "validate", str(broken)]).output
