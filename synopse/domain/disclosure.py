"""Small-count suppression: what a partner may see of a count, shared by alert payloads and dashboards.

Boundary: pure. A count under the threshold (French health-data practice: fewer than about 10 people) is
replaced by ``None`` and flagged, never by a sentinel number (a 0 or a -1 would be read, summed or plotted).
When a total is published next to its parts, one hidden part could be recomputed from the total and the
others, so a second part is hidden too (secondary suppression); values derived from a hidden count (an
excess over an expected value, a rate) are hidden with it.

Published counts (partners' and viewers' dashboards, downloads, JSON API): :func:`publish_count`,
:func:`publish_sum`, :func:`publish_difference`, :class:`PublishedGrid`; see "Published counts" below for
the differencing attack they are designed against.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

# French health-data publications commonly forbid cells describing fewer than about 10 people.
DEFAULT_SMALL_COUNT_THRESHOLD = 10


@dataclass(frozen=True)
class Suppressed:
    """Counts after suppression: hidden values are ``None`` and their keys are listed in ``suppressed``."""

    values: dict[str, float | None]
    suppressed: frozenset[str] = field(default_factory=frozenset)

    @property
    def any(self) -> bool:
        return bool(self.suppressed)


def is_small(value: float | None, threshold: int = DEFAULT_SMALL_COUNT_THRESHOLD) -> bool:
    """True for a count that must not be shown: strictly positive and under the threshold.

    A true zero is shown: "nobody" describes nobody (set ``hide_zero`` in :func:`suppress_small_counts` where a
    zero would itself disclose, e.g. a complement).
    """
    return value is not None and 0 < value < threshold


def suppress_small_counts(
    counts: Mapping[str, float | None],
    threshold: int = DEFAULT_SMALL_COUNT_THRESHOLD,
    *,
    total_key: str | None = None,
    derived: Mapping[str, Iterable[str]] | None = None,
    hide_zero: bool = False,
) -> Suppressed:
    """Hide the counts under ``threshold``, and what would let someone recompute them.

    Args:
        counts: Named counts (``None`` means unknown and stays ``None``).
        threshold: Counts strictly under it are hidden (0 too when ``hide_zero``).
        total_key: The key of a published total of the other counts: if exactly one part is hidden, the
            smallest other part is hidden too, and when parts are hidden the total is kept (it is the sum of
            many people) only if it is itself at or above the threshold.
        derived: For a count key, the keys computed from it (hidden together with it).
        hide_zero: Treat 0 as small (for counts whose zero is itself disclosive).

    Returns:
        The values with hidden ones set to ``None``, and the set of hidden keys.
    """
    if threshold < 1:
        raise ValueError(f"threshold must be at least 1, got {threshold}")

    def small(value: float | None) -> bool:
        return is_small(value, threshold) or (hide_zero and value == 0)

    values: dict[str, float | None] = dict(counts)
    hidden = {key for key, value in values.items() if small(value)}
    if total_key is not None and total_key in values:
        parts = [key for key in values if key != total_key and key not in (derived or {}).get(total_key, ())]
        hidden_parts = [key for key in parts if key in hidden]
        if len(hidden_parts) == 1:
            visible = [key for key in parts if key not in hidden and values[key] is not None]
            if visible:
                hidden.add(min(visible, key=lambda key: values[key] or 0))
    for source, targets in (derived or {}).items():
        if source in hidden:
            hidden.update(target for target in targets if target in values)
    for key in hidden:
        values[key] = None
    return Suppressed(values, frozenset(hidden))


# --- Published counts --------------------------------------------------------------------------------------
#
# The differencing attack. Every figure a partner sees is a linear function of counts of people: a total next
# to its parts, a 7-day sum next to daily values, today's figure next to yesterday's, one territory next to the
# sum of all. Subtracting two published figures gives a third, so hiding a small cell is useless if some pair
# of published figures differs by exactly that cell (the UK COVID dashboard hid counts under 3 and leaked them
# through week-to-week differences). Rounding each aggregate independently is not enough either: two hidden
# cells of 9 under a published total of 18 rounded to 20 are both pinned to 9, since each is at most 9.
#
# The design:
# 1. A protected view publishes *base cells* only: counts over fixed, non-overlapping buckets (a facility's
#    complete local day, a commune's complete ISO week), each through :func:`publish_count`: 0 is shown (it
#    describes nobody), 1 to threshold - 1 is suppressed (value None, status "suppressed"), anything else is
#    rounded to the nearest multiple of the rounding base (5, as OpenSAFELY does), never below the smallest
#    publishable multiple.
# 2. Every other figure (totals over territories, sums over days, day-to-day changes, rates) is computed from
#    the *published* cells only (:func:`publish_sum`, :func:`publish_difference`, :func:`published_rate`,
#    :class:`PublishedGrid`), never from the exact data, and a figure with a suppressed part is suppressed.
#    A derived figure then carries no information the cells do not: whatever value from 1 to threshold - 1 a
#    suppressed cell holds, the whole view is identical (the tests check exactly that), so no combination of
#    totals, differences between days or between territories can narrow it.
# 3. Rounding covers what (2) cannot: a closed bucket revised later by a late event or a correction, and the
#    identity between two partitions of the same people (by facility and by commune of residence), whose
#    published sums differ by the rounding noise of dozens of cells.

# OpenSAFELY rounds every published count to the nearest 5: a change of one person in any figure is invisible
# most of the time, and never exact.
DEFAULT_ROUNDING_BASE = 5


class CellStatus(StrEnum):
    """How a published value relates to the true count."""

    EXACT = "exact"  # the true count (crisis-cell views, a true zero, or a rounding base of 1)
    ROUNDED = "rounded"  # within half a rounding base of the true count
    SUPPRESSED = "suppressed"  # hidden: a small count, or derived from one; the value is None
    UNAVAILABLE = "unavailable"  # no data (not shared, nothing reported): the value is None


@dataclass(frozen=True)
class DisclosurePolicy:
    """The rule of protected views: suppression under ``threshold``, rounding to ``rounding_base``."""

    threshold: int = DEFAULT_SMALL_COUNT_THRESHOLD
    rounding_base: int = DEFAULT_ROUNDING_BASE

    def __post_init__(self) -> None:
        if self.threshold < 1:
            raise ValueError(f"threshold must be at least 1, got {self.threshold}")
        if self.rounding_base < 1:
            raise ValueError(f"rounding base must be at least 1, got {self.rounding_base}")

    @property
    def smallest_published(self) -> int:
        """The smallest non-zero value a protected view shows: the first multiple of the base >= threshold.

        A count at the threshold that would round below it is shown as this instead, so that a published value
        never falls in the suppressed range (10 with a threshold of 12 would mean exactly 12).
        """
        return -(-self.threshold // self.rounding_base) * self.rounding_base


@dataclass(frozen=True)
class Published:
    """One figure as a view shows it: a value (None when hidden or missing) and its status, never a sentinel."""

    value: int | None
    status: CellStatus

    def __post_init__(self) -> None:
        hidden = self.status in (CellStatus.SUPPRESSED, CellStatus.UNAVAILABLE)
        if hidden != (self.value is None):
            raise ValueError(f"a {self.status} figure must {'not ' if hidden else ''}have a value")

    @property
    def suppressed(self) -> bool:
        return self.status is CellStatus.SUPPRESSED

    @property
    def shown(self) -> bool:
        return self.value is not None


SUPPRESSED = Published(None, CellStatus.SUPPRESSED)
UNAVAILABLE = Published(None, CellStatus.UNAVAILABLE)


def round_to_base(value: int, base: int) -> int:
    """The multiple of ``base`` nearest to ``value`` (a non-negative count), halves rounded up."""
    if value < 0:
        raise ValueError(f"a count cannot be negative, got {value}")
    return (value + base // 2) // base * base


def publish_count(count: int | None, policy: DisclosurePolicy | None) -> Published:
    """One base cell as a view shows it.

    Args:
        count: The exact count of people; None when there is no data.
        policy: The protected views' rule; None for exact views (the crisis cell's).

    Raises:
        ValueError: A negative count (a count of people never is).
    """
    if count is None:
        return UNAVAILABLE
    if count < 0:
        raise ValueError(f"a count cannot be negative, got {count}")
    if policy is None or count == 0:
        return Published(count, CellStatus.EXACT)
    if count < policy.threshold:
        return SUPPRESSED
    if policy.rounding_base == 1:
        return Published(count, CellStatus.EXACT)
    value = max(round_to_base(count, policy.rounding_base), policy.smallest_published)
    return Published(value, CellStatus.ROUNDED)


def _combined_status(parts: list[Published]) -> CellStatus:
    statuses = {part.status for part in parts}
    for status in (CellStatus.SUPPRESSED, CellStatus.UNAVAILABLE, CellStatus.ROUNDED):
        if status in statuses:
            return status
    return CellStatus.EXACT


def publish_sum(parts: Iterable[Published]) -> Published:
    """A total of published figures: suppressed when any part is, unavailable when any part is missing.

    An empty sum is an exact 0 (nothing to add).
    """
    items = list(parts)
    status = _combined_status(items)
    if status in (CellStatus.SUPPRESSED, CellStatus.UNAVAILABLE):
        return Published(None, status)
    return Published(sum(part.value or 0 for part in items), status)


def publish_difference(current: Published, previous: Published) -> Published:
    """``current - previous`` of two published figures (a change), hidden when either side is."""
    status = _combined_status([current, previous])
    if current.value is None or previous.value is None:
        return Published(None, status)
    return Published(current.value - previous.value, status)


def published_rate(figure: Published, denominator: float | None, per: float = 1.0) -> float | None:
    """``figure / denominator * per`` (a rate per inhabitant, an occupancy), None when the figure is hidden.

    Computed from the published value, so that the rate never gives back a count the figure rounds.
    """
    if figure.value is None or not denominator:
        return None
    return figure.value * per / denominator


R = TypeVar("R", bound=Hashable)
C = TypeVar("C", bound=Hashable)


class PublishedGrid(Generic[R, C]):
    """A table of counts (e.g. facilities by day) as a view publishes it, cells and margins.

    Every cell goes through :func:`publish_count`; every margin is summed from the published cells (point 2
    above), so a row, a column or the whole table with a suppressed cell has a suppressed total.
    """

    def __init__(self, cells: Mapping[tuple[R, C], int | None], policy: DisclosurePolicy | None) -> None:
        self.policy = policy
        self._cells = {key: publish_count(count, policy) for key, count in cells.items()}
        self.rows: list[R] = list(dict.fromkeys(row for row, _ in cells))
        self.columns: list[C] = list(dict.fromkeys(column for _, column in cells))

    def cell(self, row: R, column: C) -> Published:
        """A cell; one absent from the table is unavailable (never a zero)."""
        return self._cells.get((row, column), UNAVAILABLE)

    def row_total(self, row: R) -> Published:
        return publish_sum(self.cell(row, column) for column in self.columns)

    def column_total(self, column: C) -> Published:
        return publish_sum(self.cell(row, column) for row in self.rows)

    def total(self) -> Published:
        return publish_sum(self.cell(row, column) for row in self.rows for column in self.columns)
