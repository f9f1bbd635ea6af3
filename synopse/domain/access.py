"""Who may read what: roles, principals and the access scope every read function takes.

Boundary: pure (no I/O). The database enforces a scope in SQL (``synopse.db``): a read function takes a
:class:`Scope` and joins the organisation's shares itself, so that a partner's view never depends on what
the screen chose to hide. The dashboard turns a logged-in user or an API token into a :class:`Principal`,
and the principal into its scope with :func:`scope_for`.

Roles:

- ``administrator``: everything, exact values, and the administration (users, shares, tokens);
- ``crisis_cell``: everything, exact values, acts on alerts;
- ``viewer``: every territory and indicator, read-only, through the disclosure layer (no exact counts);
- ``partner``: only the territories and indicators shared with its organisation, through the disclosure
  layer; every data access is written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from synopse.domain.codes import Indicator
from synopse.errors import SynopseError


class Role(StrEnum):
    """What a user (or a token) is allowed to do."""

    ADMINISTRATOR = "administrator"
    CRISIS_CELL = "crisis_cell"
    PARTNER = "partner"
    VIEWER = "viewer"


class Reach(StrEnum):
    """Which territories and indicators a scope covers."""

    ALL = "all"
    SHARED = "shared"  # only what is shared with the scope's organisation


class ShareKind(StrEnum):
    """What can be shared with an organisation."""

    FACILITY = "facility"  # a facility's own figures (admissions, ED visits, beds)
    COMMUNE = "commune"  # figures by commune of residence (INSEE code)
    INDICATOR = "indicator"  # an indicator, over the shared territories


class CountIndicator(StrEnum):
    """The indicators that count people: shared by name, always shown to partners through the disclosure layer."""

    ADMISSIONS = "admissions"
    ED_VISITS = "ed_visits"
    BEDS = "beds"  # occupied and staffed beds, occupancy


# The environmental indicators are measurements, not counts of people: shared by name, shown as measured.
ENVIRONMENT_INDICATORS: frozenset[str] = frozenset(indicator.value for indicator in Indicator)
SHAREABLE_INDICATORS: frozenset[str] = frozenset(c.value for c in CountIndicator) | ENVIRONMENT_INDICATORS
# A shorthand accepted by the administration commands: every environmental indicator at once.
ENVIRONMENT_GROUP = "environment"


class AccessDenied(SynopseError):
    """The principal may not do or read this."""


@dataclass(frozen=True)
class Scope:
    """What one principal may read, and how precisely.

    Attributes:
        reach: Every territory and indicator, or only those shared with ``organisation_id``.
        exact: Counts are shown exactly; False: every count goes through the disclosure layer.
        organisation_id: The organisation whose shares restrict a ``SHARED`` scope.
        audited: Every data access is written to the audit log.
    """

    reach: Reach
    exact: bool
    organisation_id: int | None = None
    audited: bool = False

    def __post_init__(self) -> None:
        if self.reach is Reach.SHARED and self.organisation_id is None:
            raise ValueError("a shared scope needs an organisation")
        if self.reach is Reach.SHARED and self.exact:
            # Exact values are the crisis cell's: a partner's view always goes through the disclosure layer.
            raise ValueError("a shared scope is never exact")

    @classmethod
    def everything(cls, *, exact: bool = True) -> Scope:
        """Every territory and indicator (the crisis cell's scope, or a viewer's with ``exact=False``)."""
        return cls(Reach.ALL, exact=exact)

    @classmethod
    def shared_with(cls, organisation_id: int) -> Scope:
        """Only what is shared with the organisation, through the disclosure layer, audited."""
        return cls(Reach.SHARED, exact=False, organisation_id=organisation_id, audited=True)

    @property
    def restricted(self) -> bool:
        return self.reach is Reach.SHARED

    def sql_params(self) -> dict[str, object]:
        """The placeholders every scoped query uses: ``scope_all`` and ``scope_org``.

        A query filters with ``(%(scope_all)s OR x IN (SELECT ref FROM access_shares WHERE organisation_id =
        %(scope_org)s AND kind = ...))``: with ``scope_all`` false and no organisation nothing matches.
        """
        return {"scope_all": self.reach is Reach.ALL, "scope_org": self.organisation_id}


@dataclass(frozen=True)
class Principal:
    """Who is asking: a logged-in user or an API token acting for an organisation."""

    name: str  # the username, or "token:<prefix>" for a token
    role: Role
    user_id: int | None = None
    organisation_id: int | None = None
    organisation: str | None = None  # the organisation's slug, for display and the audit log
    token_id: int | None = None
    display_name: str = ""

    @property
    def scope(self) -> Scope:
        return scope_for(self.role, self.organisation_id)

    @property
    def is_token(self) -> bool:
        return self.token_id is not None


def scope_for(role: Role, organisation_id: int | None) -> Scope:
    """The scope of a role: exact for the crisis cell and administrators, protected for viewers and partners.

    Raises:
        AccessDenied: A partner without an organisation (it would see nothing: refuse loudly instead).
    """
    if role in (Role.ADMINISTRATOR, Role.CRISIS_CELL):
        return Scope.everything(exact=True)
    if role is Role.VIEWER:
        return Scope.everything(exact=False)
    if organisation_id is None:
        raise AccessDenied("a partner must belong to an organisation")
    return Scope.shared_with(organisation_id)


def can_administer(role: Role) -> bool:
    """Users, organisations, shares and tokens (through the ``synopse access`` commands)."""
    return role is Role.ADMINISTRATOR


def can_act_on_alerts(role: Role) -> bool:
    """Acknowledge, comment and silence alerts."""
    return role in (Role.ADMINISTRATOR, Role.CRISIS_CELL)


def expand_indicators(names: list[str]) -> list[str]:
    """Indicator names as given to ``share grant``, with ``environment`` expanded; unknown names refused.

    Raises:
        ValueError: An indicator outside :data:`SHAREABLE_INDICATORS`.
    """
    expanded: list[str] = []
    for name in names:
        if name == ENVIRONMENT_GROUP:
            expanded.extend(sorted(ENVIRONMENT_INDICATORS))
        elif name in SHAREABLE_INDICATORS:
            expanded.append(name)
        else:
            known = ", ".join(sorted(SHAREABLE_INDICATORS | {ENVIRONMENT_GROUP}))
            raise ValueError(f"unknown indicator {name!r} (known: {known})")
    return list(dict.fromkeys(expanded))


# --- Records of the access tables (read with psycopg ``class_row`` in ``synopse.db.access``) -----------------


@dataclass(frozen=True)
class Organisation:
    """A partner organisation (or any organisation users and tokens belong to)."""

    organisation_id: int
    slug: str
    name: str
    created_at: datetime


class _SignedIn:
    """What an account row and a session row both say about who is signed in."""

    user_id: int
    username: str
    display_name: str
    role: str
    organisation_id: int | None
    organisation: str | None

    def principal(self) -> Principal:
        """Who acts, as the access checks see it."""
        return Principal(
            name=self.username,
            role=Role(self.role),
            user_id=self.user_id,
            organisation_id=self.organisation_id,
            organisation=self.organisation,
            display_name=self.display_name,
        )


@dataclass(frozen=True)
class UserAccount(_SignedIn):
    """A user as stored: the password only as its argon2id hash."""

    user_id: int
    username: str
    display_name: str
    password_hash: str
    role: str
    organisation_id: int | None
    organisation: str | None  # the organisation's slug
    active: bool
    created_at: datetime
    password_changed_at: datetime


@dataclass(frozen=True)
class SessionUser(_SignedIn):
    """The user behind a live session cookie."""

    user_id: int
    username: str
    display_name: str
    role: str
    organisation_id: int | None
    organisation: str | None
    last_seen_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Share:
    """One thing shared with an organisation."""

    organisation_id: int
    kind: str
    ref: str
    granted_at: datetime
    granted_by: str


@dataclass(frozen=True)
class ApiToken:
    """An API token as stored (its digest only), with its organisation."""

    token_id: int
    prefix: str
    organisation_id: int
    organisation: str
    name: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    def principal(self) -> Principal:
        """A token reads what a partner of its organisation reads: the shares, through the disclosure layer."""
        return Principal(
            name=f"token:{self.prefix}",
            role=Role.PARTNER,
            organisation_id=self.organisation_id,
            organisation=self.organisation,
            token_id=self.token_id,
            display_name=self.name,
        )


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log, as written."""

    actor: str
    action: str
    target: str = ""
    outcome: str = "ok"  # ok, denied, failed
    role: str = ""
    organisation_id: int | None = None
    ip: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def by(cls, principal: Principal, action: str, target: str = "", **kwargs: Any) -> AuditEntry:
        """An entry whose actor is ``principal``."""
        return cls(principal.name, action, target, role=principal.role.value,
                   organisation_id=principal.organisation_id, **kwargs)


@dataclass(frozen=True)
class AuditRecord:
    """One line of the audit log, as read back."""

    audit_id: int
    at: datetime
    actor: str
    role: str
    organisation_id: int | None
    action: str
    target: str
    outcome: str
    ip: str
    details: dict[str, Any]
