"""A bad setting stops the process with a message naming the variable; defaults fit the embedded runtime."""

from __future__ import annotations

import pytest

from synopse.config import load_settings
from synopse.errors import ConfigurationError


def test_defaults_point_at_the_embedded_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SYNOPSE_KAFKA__BOOTSTRAP_SERVERS", "SYNOPSE_DB__DSN"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.uses_embedded_broker and settings.uses_embedded_database
    assert settings.bootstrap_servers == "127.0.0.1:9092"
    assert settings.dsn.endswith("@127.0.0.1:5433/synopse")
    assert settings.dashboard.port == 8050


def test_external_services_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNOPSE_KAFKA__BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")
    monkeypatch.setenv("SYNOPSE_DB__DSN", "postgresql://synopse:secret@db:5432/synopse")
    settings = load_settings()
    assert settings.bootstrap_servers == "kafka-1:9092,kafka-2:9092"
    assert not settings.uses_embedded_database
    assert "secret" not in repr(settings)  # secrets never print


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SYNOPSE_KAFKA__BOOTSTRAP_SERVERS", "kafka-without-port"),
        ("SYNOPSE_KAFKA__PARTITIONS", "zero"),
        ("SYNOPSE_DASHBOARD__REFRESH_S", "1"),
        ("SYNOPSE_RUNTIME__BROKER_PORT", "70000"),
        ("SYNOPSE_LOG_LEVEL", "chatty"),
        ("SYNOPSE_DB__TIMESCALEDB", "maybe"),
    ],
)
def test_a_bad_value_names_its_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert variable in str(caught.value)
