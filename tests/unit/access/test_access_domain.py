"""Roles, scopes and principals: who reads what, and how precisely."""

from __future__ import annotations

import pytest

from synopse.domain.access import (
    ENVIRONMENT_INDICATORS,
    AccessDenied,
    ApiToken,
    AuditEntry,
    Principal,
    Reach,
    Role,
    Scope,
    can_act_on_alerts,
    can_administer,
    expand_indicators,
    scope_for,
)


def test_each_role_has_its_scope() -> None:
    assert scope_for(Role.ADMINISTRATOR, None) == Scope(Reach.ALL, exact=True)
    assert scope_for(Role.CRISIS_CELL, 3) == Scope(Reach.ALL, exact=True)  # an organisation changes nothing
    assert scope_for(Role.VIEWER, None) == Scope(Reach.ALL, exact=False)
    partner = scope_for(Role.PARTNER, 7)
    assert partner == Scope(Reach.SHARED, exact=False, organisation_id=7, audited=True) and partner.restricted
    with pytest.raises(AccessDenied):
        scope_for(Role.PARTNER, None)


def test_a_scope_cannot_be_built_wrong() -> None:
    with pytest.raises(ValueError, match="organisation"):
        Scope(Reach.SHARED, exact=False)
    with pytest.raises(ValueError, match="never exact"):
        Scope(Reach.SHARED, exact=True, organisation_id=1)


def test_sql_params_deny_by_default() -> None:
    assert Scope.everything().sql_params() == {"scope_all": True, "scope_org": None}
    assert Scope.shared_with(4).sql_params() == {"scope_all": False, "scope_org": 4}


def test_permissions() -> None:
    assert can_administer(Role.ADMINISTRATOR) and not can_administer(Role.CRISIS_CELL)
    assert can_act_on_alerts(Role.CRISIS_CELL) and can_act_on_alerts(Role.ADMINISTRATOR)
    assert not can_act_on_alerts(Role.PARTNER) and not can_act_on_alerts(Role.VIEWER)


def test_indicator_names_are_checked_and_environment_expands() -> None:
    assert expand_indicators(["admissions", "beds", "admissions"]) == ["admissions", "beds"]
    expanded = expand_indicators(["environment"])
    assert set(expanded) == ENVIRONMENT_INDICATORS and "pm10" in expanded
    with pytest.raises(ValueError, match="unknown indicator 'deaths'"):
        expand_indicators(["deaths"])


def test_principals_and_audit_entries() -> None:
    partner = Principal("reze", Role.PARTNER, user_id=1, organisation_id=2, organisation="ville-reze")
    assert partner.scope.restricted and not partner.is_token
    entry = AuditEntry.by(partner, "data.read", "api:/x", ip="10.0.0.1")
    assert (entry.actor, entry.role, entry.organisation_id, entry.ip) == ("reze", "partner", 2, "10.0.0.1")
    token = ApiToken(5, "syn_abcdefgh", 2, "ville-reze", "etl", partner_time(), "cli:root", None, None, None)
    machine = token.principal()
    assert machine.name == "token:syn_abcdefgh" and machine.role is Role.PARTNER and machine.is_token
    assert machine.scope == Scope.shared_with(2)


def partner_time():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime(2025, 1, 1, tzinfo=UTC)
