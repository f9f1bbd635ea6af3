"""Pseudonyms: keyed, stable, normalised, shaped for the contract; and the key setting behind them."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from synopse.config import PSEUDONYMISATION_KEY_FILE, Settings, load_settings, pseudonymisation_key
from synopse.domain.events import PatientKey  # noqa: F401  (the shape checked below)
from synopse.domain.pseudonymise import pseudonymise, qualified_identifier
from synopse.errors import ConfigurationError

KEY = b"unit-test-key-0123456789abcdef-0123"


def test_a_pseudonym_is_64_hex_stable_and_keyed() -> None:
    first = pseudonymise("1.2.250.1|123456", KEY)
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert pseudonymise("  1.2.250.1|123456 ", KEY) == first  # blanks around do not split a patient in two
    assert pseudonymise("1.2.250.1|123456", b"another-key-0123456789abcdef") != first
    assert pseudonymise("1.2.250.2|123456", KEY) != first  # same number, other issuer: another patient


def test_unicode_spellings_link() -> None:
    composed, decomposed = "H\u00c9L\u00c8NE", "HE\u0301LE\u0300NE"
    assert pseudonymise(composed, KEY) == pseudonymise(decomposed, KEY)


def test_refusals() -> None:
    with pytest.raises(ValueError, match="blank identifier"):
        pseudonymise("  ", KEY)
    with pytest.raises(ValueError, match="at least 16 bytes"):
        pseudonymise("123", b"short")
    assert qualified_identifier(None, " 42 ") == "42"
    assert qualified_identifier("1.2.3", "42") == "1.2.3|42"


def test_embedded_runtime_keeps_one_private_key(tmp_path: Path) -> None:
    settings = Settings(runtime={"home": tmp_path / "home"})
    key = pseudonymisation_key(settings)
    path = tmp_path / "home" / PSEUDONYMISATION_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) == 64
    assert pseudonymisation_key(settings) == key  # the same after a restart: re-admissions still link
    path.chmod(0o644)
    with pytest.raises(ConfigurationError, match="readable by other users"):
        pseudonymisation_key(settings)


def test_an_external_database_needs_a_configured_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SYNOPSE_DB__DSN", "postgresql://synopse@db:5432/synopse")
    monkeypatch.setenv("SYNOPSE_RUNTIME__HOME", str(tmp_path))
    monkeypatch.delenv("SYNOPSE_PRIVACY__PSEUDONYMISATION_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="SYNOPSE_PRIVACY__PSEUDONYMISATION_KEY must be set"):
        pseudonymisation_key(load_settings())
    monkeypatch.setenv("SYNOPSE_PRIVACY__PSEUDONYMISATION_KEY", "k" * 40)
    settings = load_settings()
    assert pseudonymisation_key(settings) == b"k" * 40
    assert "kkkk" not in repr(settings)  # a secret: never printed
    assert not (tmp_path / PSEUDONYMISATION_KEY_FILE).exists()


def test_a_short_key_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNOPSE_PRIVACY__PSEUDONYMISATION_KEY", "too-short")
    expected = "SYNOPSE_PRIVACY__PSEUDONYMISATION_KEY: Value error, must be at least 32"
    with pytest.raises(ConfigurationError, match=expected):
        load_settings()
