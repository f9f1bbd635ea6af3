"""Bed occupancy: a census per care unit, moved by admissions in and discharges out, and what a full unit does.

The census is advanced in time order: an admission at instant a first frees the beds of every stay that
ended by a, then takes a bed. A unit at or above its staffed capacity postpones the scheduled admissions
that can wait (the "plan blanc" lever), and an ED patient bound for a unit past the transfer level goes
to the least occupied unit of the same kind (DOMAIN.md: plan blanc, ORSAN). Pure: no clock, no I/O.

These decisions read the census, so the beds of an hour depend a little on the past decisions: the model
rebuilds the census over twice the longest stay before a run's first hour, which makes the beds of an
hour the same whatever the run's start unless a unit hit a threshold at the very edge of that window.
"""

from __future__ import annotations

import heapq

import numpy as np

from simulator import parameters as p
from simulator.hospital import IntArray


class BedCensus:
    """Occupied beds per bed index (a facility's care unit) at the census's current instant."""

    def __init__(self, capacity: IntArray, unit_of_bed: IntArray) -> None:
        self.capacity = capacity
        self._unit = unit_of_bed
        self.occupied: IntArray = np.zeros(capacity.size, dtype=np.int64)
        self._leaving: list[tuple[int, int]] = []  # heap of (discharge second, bed index)

    def release_until(self, at_s: int) -> None:
        """Free the beds of every stay whose discharge is at or before ``at_s``."""
        while self._leaving and self._leaving[0][0] <= at_s:
            _, bed = heapq.heappop(self._leaving)
            self.occupied[bed] -= 1

    def ratio(self, bed: int) -> float:
        """Occupied beds over staffed beds of one unit."""
        return float(self.occupied[bed] / max(int(self.capacity[bed]), 1))

    def place(self, bed: int, *, scheduled: bool, deferrable: bool) -> int | None:
        """Where an admission drawn for ``bed`` goes: the same bed index, another one, or None (postponed).

        Args:
            bed: The bed index the stay was drawn for.
            scheduled: A scheduled admission (else one after an ED visit).
            deferrable: For a scheduled admission, whether it can wait when the unit is full.
        """
        ratio = self.ratio(bed)
        if scheduled:
            return None if deferrable and ratio >= p.DEPROGRAMMING_OCCUPANCY else bed
        if ratio < p.TRANSFER_OCCUPANCY:
            return bed
        others = np.flatnonzero(self._unit == self._unit[bed])
        others = others[others != bed]
        if others.size == 0:
            return bed
        ratios = self.occupied[others] / np.maximum(self.capacity[others], 1)
        best = int(np.argmin(ratios))  # ties go to the first facility listed: deterministic
        return int(others[best]) if ratios[best] < p.TRANSFER_OCCUPANCY else bed

    def admit(self, bed: int, discharged_s: int) -> None:
        """Take a bed until ``discharged_s``."""
        self.occupied[bed] += 1
        heapq.heappush(self._leaving, (discharged_s, bed))

    def __len__(self) -> int:
        return len(self._leaving)
