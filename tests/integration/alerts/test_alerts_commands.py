"""The `synopse alerts` commands against a real database (Typer's CliRunner on the component's own app)."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest
import yaml
from typer.testing import CliRunner

from alerts.commands import app
from alerts.rulefile import default_rules_path

pytestmark = pytest.mark.integration


def test_rules_audit_ack_silence_ledger_and_replay(pg_dsn: str, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.setenv("SYNOPSE_DB__DSN", pg_dsn)
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, result.output
        return result.output

    assert "created 18" in run("rules", "load", "--by", "ops")
    heat = next(r for r in yaml.safe_load(default_rules_path().read_text())["rules"] if r["id"] == "heat-wave")
    edit = tmp_path / "heat.yaml"
    edit.write_text(yaml.safe_dump(heat | {"ibmx_enter": 33}), encoding="utf-8")
    assert "may not edit rules" in run("rules", "set", str(edit), "--by", "eve", "--role", "viewer", code=2)
    assert "heat-wave: update" in run("rules", "set", str(edit), "--by", "dr.martin", "--role", "crisis_cell",
                                      "--comment", "seuil local")
    history = run("rules", "history", "--rule", "heat-wave")
    assert "update  heat-wave" in history and "by dr.martin (platform) seuil local" in history
    assert "platform" in run("rules", "list")

    alert_id = str(uuid.uuid4())
    with psycopg.connect(pg_dsn) as conn:
        conn.execute("""INSERT INTO alerts (alert_id, rule_id, scope_key, indicator, status, severity, pending_since,
                        summary) VALUES (%s, 'heat-wave', 'metropolis:nantes-metropole', 'heat_wave', 'firing',
                        'severe', now(), 'Canicule')""", (alert_id,))
        event_id = conn.execute("INSERT INTO alert_events (alert_id, kind, at, severity) VALUES (%s, 'firing', now(),"
                                " 'severe') RETURNING event_id", (alert_id,)).fetchone()[0]  # type: ignore[index]
        conn.execute("INSERT INTO alert_subscribers (subscriber_id, name, kind, target) VALUES ('x', 'x', 'webhook',"
                     " 'http://127.0.0.1:9')")
        conn.execute("""INSERT INTO alert_notifications (notification_id, subscriber_id, alert_id, event_id, event_kind,
                        payload, status) VALUES (%s, 'x', %s, %s, 'firing', '{}', 'dead')""",
                     (uuid.uuid4(), alert_id, event_id))
    assert "acknowledged by dr.martin" in run("ack", alert_id, "--by", "dr.martin", "--comment", "plan canicule")
    assert "ack dr.martin" in run("list", "--status", "firing")
    assert "no alert" in run("ack", str(uuid.uuid4()), "--by", "x", code=1)
    silence = run("silence", "add", "--rule", "heat-wave", "--until", "2h", "--by", "ops").split()[1]
    assert "rule=heat-wave" in run("silence", "list")
    assert "expired" in run("silence", "expire", silence)
    assert "give at least one" in run("silence", "add", "--until", "2h", "--by", "ops", code=2)
    monkeypatch.setenv("HOOK_KEY", "k" * 32)
    assert "no organisation" in run("subscribers", "add", "ars", "--kind", "webhook", "--target", "http://ars.test",
                                    "--organisation", "nobody", code=2)
    run("subscribers", "add", "ars", "--kind", "webhook", "--target", "http://ars.test/hook",
        "--secret-env", "HOOK_KEY")
    assert "ars" in run("subscribers", "list")
    assert "totals: dead 1" in run("ledger", "--status", "dead")
    assert "1 dead notifications queued again" in run("replay-dead", "--subscriber", "x")
    assert "totals: queued 1" in run("ledger")
