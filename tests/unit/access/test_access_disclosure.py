"""The disclosure layer of protected views: published cells, derived figures, and the differencing attack.

The attack tests give the attacker more than a partner has: the exact value of every visible cell and the
publishing algorithm. It enumerates every value the hidden cells could hold and keeps those under which the
view would have been published exactly as observed. Against the published view it learns nothing (every
value from 1 to 9 stays possible); against a "naive" publisher that rounds aggregates computed from the exact
data, the same attacker recovers the hidden count, which shows that the attack is real.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence

import pytest

from synopse.domain.disclosure import (
    SUPPRESSED,
    UNAVAILABLE,
    CellStatus,
    DisclosurePolicy,
    Published,
    PublishedGrid,
    publish_count,
    publish_difference,
    publish_sum,
    published_rate,
    round_to_base,
    suppress_small_counts,
)

POLICY = DisclosurePolicy()  # threshold 10, base 5

Grid = dict[tuple[str, int], int]
View = tuple[object, ...]


# --- base cells ---------------------------------------------------------------------------------------------


def test_zero_is_shown_small_counts_are_suppressed_others_rounded_to_5() -> None:
    assert publish_count(0, POLICY) == Published(0, CellStatus.EXACT)
    for count in range(1, 10):
        assert publish_count(count, POLICY) == SUPPRESSED
    assert [publish_count(c, POLICY).value for c in (10, 11, 12, 13, 17, 18, 22, 23, 1234)] == [
        10, 10, 10, 15, 15, 20, 20, 25, 1235,
    ]
    assert publish_count(13, POLICY).status is CellStatus.ROUNDED


@pytest.mark.parametrize("threshold", range(1, 21))
@pytest.mark.parametrize("base", range(1, 11))
def test_every_policy_keeps_published_values_out_of_the_suppressed_range(threshold: int, base: int) -> None:
    policy = DisclosurePolicy(threshold, base)
    preimages: dict[int, list[int]] = {}
    for count in range(0, 150):
        cell = publish_count(count, policy)
        if 0 < count < threshold:
            assert cell.suppressed and cell.value is None
            continue
        assert cell.value is not None
        assert cell.value == 0 or cell.value >= threshold  # never a value a suppressed cell could have
        assert cell.value % base == 0 or cell.status is CellStatus.EXACT
        assert abs(cell.value - count) <= max(base // 2, policy.smallest_published - threshold)
        preimages.setdefault(cell.value, []).append(count)
    if base >= 3:  # a rounded value never pins its count (0 excepted: it is exact by design)
        assert all(len(counts) >= 2 for value, counts in preimages.items() if 0 < value < 140)


def test_the_smallest_published_value_covers_counts_at_the_threshold() -> None:
    policy = DisclosurePolicy(threshold=12, rounding_base=5)
    assert policy.smallest_published == 15
    assert publish_count(12, policy).value == 15  # 10 would say "exactly 12": 10 and 11 are suppressed
    assert DisclosurePolicy(7, 5).smallest_published == 10 and publish_count(7, DisclosurePolicy(7, 5)).value == 10


def test_exact_views_and_missing_data() -> None:
    assert publish_count(3, None) == Published(3, CellStatus.EXACT)
    assert publish_count(None, POLICY) == UNAVAILABLE and publish_count(None, None) == UNAVAILABLE
    assert publish_count(12, DisclosurePolicy(10, 1)) == Published(12, CellStatus.EXACT)
    with pytest.raises(ValueError, match="negative"):
        publish_count(-1, POLICY)
    with pytest.raises(ValueError):
        DisclosurePolicy(threshold=0)
    with pytest.raises(ValueError):
        DisclosurePolicy(rounding_base=0)


def test_a_published_figure_is_never_a_sentinel() -> None:
    with pytest.raises(ValueError):
        Published(0, CellStatus.SUPPRESSED)
    with pytest.raises(ValueError):
        Published(None, CellStatus.ROUNDED)
    assert SUPPRESSED.value is None and not SUPPRESSED.shown


def test_round_to_base_rounds_halves_up() -> None:
    assert [round_to_base(v, 5) for v in range(0, 11)] == [0, 0, 0, 5, 5, 5, 5, 5, 10, 10, 10]
    assert [round_to_base(v, 4) for v in (1, 2, 5, 6)] == [0, 4, 4, 8]
    with pytest.raises(ValueError):
        round_to_base(-5, 5)


# --- derived figures ----------------------------------------------------------------------------------------


def test_sums_differences_and_rates_are_computed_from_published_figures() -> None:
    a, b, zero = publish_count(23, POLICY), publish_count(41, POLICY), publish_count(0, POLICY)
    assert publish_sum([a, b, zero]) == Published(65, CellStatus.ROUNDED)  # 25 + 40, not round(64)
    assert publish_sum([zero, zero]) == Published(0, CellStatus.EXACT)
    assert publish_sum([]) == Published(0, CellStatus.EXACT)
    assert publish_sum([a, SUPPRESSED, UNAVAILABLE]) == SUPPRESSED
    assert publish_sum([a, UNAVAILABLE]) == UNAVAILABLE
    assert publish_difference(b, a) == Published(15, CellStatus.ROUNDED)
    assert publish_difference(a, b).value == -15
    assert publish_difference(a, SUPPRESSED) == SUPPRESSED and publish_difference(UNAVAILABLE, a) == UNAVAILABLE
    assert publish_difference(Published(4, CellStatus.EXACT), Published(1, CellStatus.EXACT)).status is CellStatus.EXACT
    assert published_rate(a, 50_000, per=100_000) == pytest.approx(50.0)  # 25, not 23, per 100,000
    assert published_rate(SUPPRESSED, 50_000) is None and published_rate(a, 0) is None
    assert published_rate(a, None) is None


def test_grid_margins_are_suppressed_with_any_suppressed_cell() -> None:
    grid = PublishedGrid({("A", 1): 120, ("A", 2): 4, ("B", 1): 33, ("B", 2): 0}, POLICY)
    assert grid.rows == ["A", "B"] and grid.columns == [1, 2]
    assert grid.cell("A", 2) == SUPPRESSED and grid.cell("B", 2).value == 0
    assert grid.row_total("A") == SUPPRESSED and grid.column_total(2) == SUPPRESSED and grid.total() == SUPPRESSED
    assert grid.row_total("B") == Published(35, CellStatus.ROUNDED)
    assert grid.column_total(1) == Published(155, CellStatus.ROUNDED)
    assert grid.cell("C", 1) == UNAVAILABLE  # not in the table: never a zero
    exact = PublishedGrid({("A", 1): 120, ("A", 2): 4}, None)
    assert exact.row_total("A") == Published(124, CellStatus.EXACT)


def test_the_alert_payload_function_is_still_there() -> None:
    result = suppress_small_counts({"observed": 4, "expected": 2.5}, derived={"observed": ("expected",)})
    assert result.values == {"observed": None, "expected": None} and result.any


# --- the differencing attack --------------------------------------------------------------------------------

FACILITIES = ("chu", "clinique-a", "clinique-b")
DAYS = 14


def _rows(cells: Grid) -> list[str]:
    return list(dict.fromkeys(facility for facility, _ in cells))


def published_view(cells: Grid, policy: DisclosurePolicy = POLICY) -> View:
    """Everything a partner can see or download of a facilities-by-day table, as the dashboard publishes it.

    Cells, per-facility totals, per-day totals over the facilities (the "all shared facilities" series),
    the grand total, rolling 7-day sums, day-to-day changes and the differences between two facilities.
    """
    grid = PublishedGrid(cells, policy)
    out: list[object] = []
    for facility in grid.rows:
        out += [grid.cell(facility, day) for day in grid.columns]
        out.append(grid.row_total(facility))
        out += [publish_sum(grid.cell(facility, d) for d in range(day - 6, day + 1)) for day in range(6, DAYS)]
        out += [publish_difference(grid.cell(facility, day), grid.cell(facility, day - 1)) for day in range(1, DAYS)]
    out += [grid.column_total(day) for day in grid.columns]
    out.append(grid.total())
    for first, second in itertools.combinations(grid.rows, 2):
        out += [publish_difference(grid.cell(first, day), grid.cell(second, day)) for day in grid.columns]
    return tuple(out)


def naive_view(cells: Grid, policy: DisclosurePolicy = POLICY) -> View:
    """The tempting alternative: aggregates computed from the exact data, then suppressed and rounded alike."""
    rows = _rows(cells)
    out: list[object] = [publish_count(count, policy) for count in cells.values()]
    for facility in rows:
        out.append(publish_count(sum(cells[facility, day] for day in range(DAYS)), policy))
        out += [publish_count(sum(cells[facility, d] for d in range(day - 6, day + 1)), policy)
                for day in range(6, DAYS)]
    out += [publish_count(sum(cells[f, day] for f in rows), policy) for day in range(DAYS)]
    return tuple(out)


def attack(
    observed: View, truth: Grid, hidden: Sequence[tuple[str, int]], publisher: Callable[[Grid], View]
) -> list[tuple[int, ...]]:
    """Every assignment of the hidden cells (1 to 9 each) under which ``publisher`` gives the observed view.

    The attacker knows every visible cell exactly (more than a partner does) and the algorithm.
    """
    feasible = []
    for values in itertools.product(range(1, POLICY.threshold), repeat=len(hidden)):
        candidate = dict(truth)
        candidate.update(zip(hidden, values, strict=True))
        if publisher(candidate) == observed:
            feasible.append(values)
    return feasible


def _table(seed: int, small: dict[tuple[str, int], int]) -> Grid:
    rng = random.Random(seed)
    sizes = {"chu": (90, 160), "clinique-a": (12, 40), "clinique-b": (10, 30)}
    cells = {(f, day): rng.randint(*sizes[f]) for f in FACILITIES for day in range(DAYS)}
    cells.update(small)
    return cells


def test_a_suppressed_day_cannot_be_recovered_from_totals_sums_and_changes() -> None:
    truth = _table(1, {("clinique-b", 9): 3})
    observed = published_view(truth)
    assert publish_count(3, POLICY) in observed  # the cell is published as suppressed...
    assert attack(observed, truth, [("clinique-b", 9)], published_view) == [(v,) for v in range(1, 10)]


def test_two_suppressed_cells_sharing_totals_stay_hidden_even_at_the_edges() -> None:
    # 9 + 9 = 18: a total rounded from exact data (20) would pin both, as each is at most 9.
    truth = _table(2, {("clinique-a", 4): 9, ("clinique-b", 4): 9, ("clinique-b", 5): 1})
    hidden = [("clinique-a", 4), ("clinique-b", 4), ("clinique-b", 5)]
    feasible = attack(published_view(truth), truth, hidden, published_view)
    assert len(feasible) == 9**3  # every combination remains possible


def test_the_same_attacker_breaks_the_naive_publisher() -> None:
    truth = _table(2, {("clinique-a", 4): 9, ("clinique-b", 4): 9})
    for cell in (("clinique-a", 4), ("clinique-b", 4)):
        assert publish_count(truth[cell], POLICY) == SUPPRESSED
    hidden = [("clinique-a", 4), ("clinique-b", 4)]
    feasible = attack(naive_view(truth), truth, hidden, naive_view)
    # 81 possibilities narrowed to 2, and clinique-b's count pinned to 9: the leak the design avoids.
    assert len(feasible) <= 2 and {b for _, b in feasible} == {9}


def test_randomised_tables_never_narrow_any_suppressed_cell() -> None:
    rng = random.Random(44)
    for seed in range(25):
        small = {(rng.choice(FACILITIES[1:]), rng.randrange(DAYS)): rng.randint(1, 9) for _ in range(3)}
        truth = _table(seed, small)
        observed = published_view(truth)
        for cell in small:
            assert len(attack(observed, truth, [cell], published_view)) == 9, (seed, cell)


def test_exact_views_are_exact() -> None:
    truth = _table(3, {("clinique-b", 2): 4})
    view = published_view(truth, DisclosurePolicy(threshold=1, rounding_base=1))
    assert Published(4, CellStatus.EXACT) in view
