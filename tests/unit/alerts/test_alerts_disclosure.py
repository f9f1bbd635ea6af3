"""Small counts are hidden (None and flagged, never a sentinel), with what would let them be recomputed."""

from __future__ import annotations

import pytest

from synopse.domain.disclosure import suppress_small_counts


def test_small_counts_become_none_and_are_flagged() -> None:
    result = suppress_small_counts({"a": 3, "b": 25, "c": 0, "d": None, "e": 10})
    assert result.values == {"a": None, "b": 25, "c": 0, "d": None, "e": 10}
    assert result.suppressed == {"a"} and result.any


def test_a_total_forces_a_second_suppression() -> None:
    result = suppress_small_counts({"total": 60, "x": 4, "y": 30, "z": 26}, total_key="total")
    assert result.suppressed == {"x", "z"}  # x alone could be recomputed as total - y - z
    assert result.values["total"] == 60


def test_derived_values_are_hidden_with_their_count() -> None:
    result = suppress_small_counts({"observed": 7, "expected": 2.5, "upper_bound": 6.1},
                                   derived={"observed": ("expected", "upper_bound")})
    assert result.values == {"observed": None, "expected": None, "upper_bound": None}


def test_threshold_is_configurable_and_zero_can_be_hidden() -> None:
    assert suppress_small_counts({"a": 4}, 3).suppressed == frozenset()
    assert suppress_small_counts({"a": 0}, hide_zero=True).suppressed == {"a"}
    with pytest.raises(ValueError):
        suppress_small_counts({"a": 1}, 0)
