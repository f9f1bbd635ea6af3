"""Statistical aberration detection on count series: EARS C1/C2/C3, CUSUM and Farrington flexible.

Boundary: pure numerical code (numpy and the standard library), no I/O. Each detector looks at the last
point of a series (the point under test is ``counts[-1]``; earlier points are its history) and returns a
:class:`Signal` carrying what a reader needs to judge it: observed, expected, upper bound, the statistic,
the algorithm and its parameters, and the baseline window used (as offsets from the tested point).
Defaults are in :data:`synopse.domain.alerts.ALGORITHM_PARAMETERS`, with their sources.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import NDArray

from synopse.domain.alerts import ALGORITHM_PARAMETERS

FloatArray = NDArray[np.float64]
# Weeks per year for Farrington's reference windows (the surveillance package's freq = 52).
WEEKS_PER_YEAR = 52


@dataclass(frozen=True)
class Signal:
    """The verdict on the last point of a series."""

    algorithm: str
    alarm: bool
    observed: float
    expected: float
    upper_bound: float
    statistic: float
    params: dict[str, Any] = field(default_factory=dict)
    baseline: tuple[int, int] = (0, 0)  # [first, last] offsets before the tested point, e.g. (-7, -1)
    note: str = ""

    def as_details(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "observed": self.observed,
            "expected": round(self.expected, 4),
            "upper_bound": round(self.upper_bound, 4),
            "statistic": round(self.statistic, 4),
            "params": self.params,
            "baseline_offsets": list(self.baseline),
            **({"note": self.note} if self.note else {}),
        }


class InsufficientHistory(ValueError):
    """The series is too short for the algorithm's baseline: no verdict (which is not a "no alarm")."""


def _params(algorithm: str, overrides: dict[str, Any] | None) -> dict[str, Any]:
    return {**ALGORITHM_PARAMETERS[algorithm], **(overrides or {})}


def _as_array(counts: Sequence[float] | FloatArray) -> FloatArray:
    return np.asarray(counts, dtype=np.float64)


def _baseline_stats(x: FloatArray, t: int, baseline: int, lag: int, min_sigma: float) -> tuple[float, float]:
    start, end = t - lag - baseline, t - lag
    if start < 0:
        raise InsufficientHistory(f"needs {baseline + lag} points of history, has {t}")
    window = x[start:end]
    return float(window.mean()), max(float(window.std(ddof=1)) if baseline > 1 else 0.0, min_sigma)


def ears(
    counts: Sequence[float] | FloatArray, variant: str = "c1", params: dict[str, Any] | None = None
) -> Signal:
    """EARS C1, C2 or C3 on the last point (Hutwagner et al. 2003; surveillance::earsC).

    C1: z-score against the 7 previous points. C2: the same with a 2-point gap between baseline and
    point. C3: the sum over the last three points of max(0, C2 - 1).
    """
    algorithm = f"ears_{variant}"
    p = _params(algorithm, params)
    x = _as_array(counts)
    t = len(x) - 1
    baseline, lag = int(p["baseline"]), int(p["lag"])
    threshold, min_sigma = float(p["threshold"]), float(p["min_sigma"])
    window = (-(lag + baseline), -(lag + 1))
    if variant in ("c1", "c2"):
        mean, sigma = _baseline_stats(x, t, baseline, lag, min_sigma)
        statistic = (x[t] - mean) / sigma
        return Signal(algorithm, bool(statistic >= threshold), float(x[t]), mean, mean + threshold * sigma,
                      float(statistic), p, window)
    if variant != "c3":
        raise ValueError(f"unknown EARS variant {variant!r}")
    if t - 2 - lag - baseline < 0:
        raise InsufficientHistory(f"needs {baseline + lag + 2} points of history, has {t}")
    terms = []
    for back in (2, 1, 0):
        mean_i, sigma_i = _baseline_stats(x, t - back, baseline, lag, min_sigma)
        terms.append(max(0.0, (x[t - back] - mean_i) / sigma_i - 1.0))
    mean, sigma = _baseline_stats(x, t, baseline, lag, min_sigma)
    previous = terms[0] + terms[1]
    statistic = previous + terms[2]
    # The value of the last point at which C3 would reach the threshold, given the two before it.
    upper = mean + sigma * (1.0 + max(0.0, threshold - previous))
    return Signal(algorithm, bool(statistic >= threshold), float(x[t]), mean, upper, float(statistic), p,
                  (window[0] - 2, window[1]))


def cusum(counts: Sequence[float] | FloatArray, params: dict[str, Any] | None = None) -> Signal:
    """Upper one-sided tabular CUSUM on standardised counts (Page 1954; Montgomery's k = 0.5, h = 4).

    Each point is standardised against the ``baseline`` points ending ``lag`` before it (sliding, so a
    seasonal level follows), then S_t = max(0, S_{t-1} + z_t - k), started at 0 on the first point that
    has a full baseline; alarm when S_t > h.
    """
    p = _params("cusum", params)
    x = _as_array(counts)
    baseline, lag, k, h, min_sigma = (int(p["baseline"]), int(p.get("lag", 2)), float(p["k"]), float(p["h"]),
                                      float(p["min_sigma"]))
    p = {**p, "lag": lag}
    first = baseline + lag
    t = len(x) - 1
    if t < first:
        raise InsufficientHistory(f"needs {first} points of history, has {t}")
    s = 0.0
    previous = 0.0
    mean = sigma = 0.0
    for i in range(first, t + 1):
        mean, sigma = _baseline_stats(x, i, baseline, lag, min_sigma)
        previous = s
        s = max(0.0, s + (x[i] - mean) / sigma - k)
    upper = mean + sigma * (h + k - previous)
    return Signal("cusum", bool(s > h), float(x[t]), mean, upper, s, p, (-(lag + baseline), -(lag + 1)),
                  note=f"accumulated over {t - first + 1} points")


# ------------------------------------------------------------------------------------------------ Farrington


@dataclass(frozen=True)
class _Fit:
    beta: FloatArray
    mu: FloatArray
    phi: float
    covariance: FloatArray  # of beta, already multiplied by phi


def _irls(
    design: FloatArray, y: FloatArray, weights: FloatArray, iterations: int = 50
) -> tuple[FloatArray, FloatArray]:
    """Poisson GLM with log link and prior weights by iteratively reweighted least squares."""
    beta: FloatArray = np.zeros(design.shape[1])
    beta[0] = math.log(max(float(np.average(y, weights=weights)), 0.5))
    for _ in range(iterations):
        eta = design @ beta
        mu = np.exp(eta)
        z = eta + (y - mu) / mu
        w = weights * mu
        xtw = design.T * w
        new = np.asarray(np.linalg.solve(xtw @ design, xtw @ z), dtype=np.float64)
        if np.max(np.abs(new - beta)) < 1e-10:
            beta = new
            break
        beta = new
    return beta, np.exp(design @ beta)


def _fit_quasipoisson(design: FloatArray, y: FloatArray, weights: FloatArray) -> _Fit:
    beta, mu = _irls(design, y, weights)
    dof = max(len(y) - design.shape[1], 1)
    phi = max(float(np.sum(weights * (y - mu) ** 2 / mu) / dof), 1.0)
    information = (design.T * (weights * mu)) @ design
    return _Fit(beta, mu, phi, np.asarray(phi * np.linalg.inv(information), dtype=np.float64))


def _anscombe_weights(design: FloatArray, y: FloatArray, fit: _Fit, threshold: float) -> FloatArray:
    mu = fit.mu
    hat = np.einsum("ij,jk,ik->i", design, fit.covariance / fit.phi, design) * mu
    residuals = 1.5 * (y ** (2 / 3) * mu ** (-1 / 6) - mu**0.5) / np.sqrt(fit.phi * np.clip(1 - hat, 1e-9, None))
    # Down-weight reference points whose residual exceeds the threshold (past outbreaks) by residual^-2.
    factors = np.where(residuals > threshold, np.maximum(residuals, threshold) ** -2.0, 1.0)
    gamma = len(y) / float(np.sum(factors))
    return np.asarray(gamma * factors, dtype=np.float64)


def _fit_farrington(wtime: FloatArray, y: FloatArray, trend: bool, reweight: bool, threshold: float) -> _Fit:
    design = np.column_stack([np.ones_like(wtime), wtime]) if trend else np.ones((len(wtime), 1))
    fit = _fit_quasipoisson(design, y, np.ones_like(y))
    if reweight:
        fit = _fit_quasipoisson(design, y, _anscombe_weights(design, y, fit, threshold))
    return fit


def farrington(counts: Sequence[float] | FloatArray, params: dict[str, Any] | None = None) -> Signal:
    """Farrington flexible on the last point of a weekly series (Farrington et al. 1996; Noufaily et al. 2012).

    Reference values: the weeks t - 52j - w ... t - 52j + w for j = 1..b. A quasi-Poisson GLM with a time
    trend, reweighted by Anscombe residuals above ``weights_threshold``; the trend is kept when significant
    (Wald test, normal approximation), when it does not extrapolate above every reference value, and when
    b >= 3 years. Upper bound: (1 - alpha) quantile by the delta method on the 2/3-power scale. No alarm
    with fewer than 5 cases in the last 4 weeks (the tested one included).
    """
    p = _params("farrington", params)
    x = _as_array(counts)
    t = len(x) - 1
    b, w = int(p["b"]), int(p["w"])
    if t - WEEKS_PER_YEAR * b - w < 0:
        raise InsufficientHistory(f"needs {WEEKS_PER_YEAR * b + w} weeks of history, has {t}")
    wtime = np.array(
        [t - WEEKS_PER_YEAR * j + d for j in range(b, 0, -1) for d in range(-w, w + 1)], dtype=np.float64
    )
    y = x[wtime.astype(int)]
    reweight, threshold = bool(p["reweight"]), float(p["weights_threshold"])
    trend = bool(p["trend"]) and b >= 3
    fit = _fit_farrington(wtime, y, trend, reweight, threshold)
    if trend:
        x0 = np.array([1.0, float(t)])
        z_trend = abs(float(fit.beta[1])) / math.sqrt(float(fit.covariance[1, 1]))
        p_value = 2 * (1 - NormalDist().cdf(z_trend))
        if p_value >= float(p["p_threshold_trend"]) or math.exp(float(x0 @ fit.beta)) > float(y.max()):
            trend = False
            fit = _fit_farrington(wtime, y, False, reweight, threshold)
    x0 = np.array([1.0, float(t)]) if trend else np.array([1.0])
    mu0 = math.exp(float(x0 @ fit.beta))
    se_fit_sq = mu0**2 * float(x0 @ fit.covariance @ x0)
    tau = fit.phi + se_fit_sq / mu0
    se = math.sqrt(4 / 9 * mu0 ** (1 / 3) * tau)
    z = NormalDist().inv_cdf(1 - float(p["alpha"]))
    upper = (mu0 ** (2 / 3) + z * se) ** 1.5
    recent = float(x[max(0, t - int(p["limit54_period"]) + 1) : t + 1].sum())
    enough = recent >= float(p["limit54_cases"])
    statistic = (x[t] - mu0) / (upper - mu0) if upper > mu0 else 0.0  # > 1 above the bound
    return Signal(
        "farrington", bool(enough and x[t] > upper), float(x[t]), mu0, upper, float(statistic),
        {**p, "trend_kept": trend, "phi": round(fit.phi, 4)},
        (-(WEEKS_PER_YEAR * b + w), -(WEEKS_PER_YEAR - w)),
        note="" if enough else f"fewer than {p['limit54_cases']} cases in {p['limit54_period']} weeks: no alarm",
    )


def detect(algorithm: str, counts: Sequence[float] | FloatArray, params: dict[str, Any] | None = None) -> Signal:
    """Run one algorithm by its rule name (``ears_c1`` ... ``farrington``) on the last point."""
    if algorithm.startswith("ears_"):
        return ears(counts, algorithm.removeprefix("ears_"), params)
    if algorithm == "cusum":
        return cusum(counts, params)
    if algorithm == "farrington":
        return farrington(counts, params)
    raise ValueError(f"unknown algorithm {algorithm!r}")


def history_needed(algorithm: str, params: dict[str, Any] | None = None) -> int:
    """Points of history before the tested one that the algorithm needs."""
    p = _params(algorithm, params)
    if algorithm == "farrington":
        return WEEKS_PER_YEAR * int(p["b"]) + int(p["w"])
    extra = 2 if algorithm == "ears_c3" else 0
    return int(p["baseline"]) + int(p.get("lag", 2)) + extra


def alarms_over(
    algorithm: str, counts: Sequence[float] | FloatArray, params: dict[str, Any] | None = None
) -> list[bool]:
    """The alarm of every point that has enough history (earlier points: False). For evaluation and tests."""
    x = _as_array(counts)
    start = history_needed(algorithm, params)
    if algorithm == "cusum":
        return _cusum_alarms(x, params)
    return [False] * start + [detect(algorithm, x[: i + 1], params).alarm for i in range(start, len(x))]


def _cusum_alarms(x: FloatArray, params: dict[str, Any] | None) -> list[bool]:
    p = _params("cusum", params)
    baseline, lag, k, h, min_sigma = (int(p["baseline"]), int(p.get("lag", 2)), float(p["k"]), float(p["h"]),
                                      float(p["min_sigma"]))
    out = [False] * min(len(x), baseline + lag)
    s = 0.0
    for i in range(baseline + lag, len(x)):
        mean, sigma = _baseline_stats(x, i, baseline, lag, min_sigma)
        s = max(0.0, s + (x[i] - mean) / sigma - k)
        out.append(s > h)
    return out


def _matrix_stats(x: FloatArray, t: int, baseline: int, lag: int, min_sigma: float) -> tuple[FloatArray, FloatArray]:
    window = x[:, t - lag - baseline : t - lag]
    sd = window.std(axis=1, ddof=1) if baseline > 1 else np.zeros(len(x))
    return window.mean(axis=1), np.maximum(sd, min_sigma)


def detect_many(algorithm: str, matrix: FloatArray, params: dict[str, Any] | None = None) -> list[Signal]:
    """The same verdicts as :func:`detect` on the last column of every row, vectorised over rows (EARS, CUSUM).

    Farrington is fitted row by row. Raises InsufficientHistory when the rows are too short.
    """
    x = np.asarray(matrix, dtype=np.float64)
    if algorithm == "farrington" or len(x) == 0:
        return [detect(algorithm, row, params) for row in x]
    t = x.shape[1] - 1
    if t < history_needed(algorithm, params):
        raise InsufficientHistory(f"needs {history_needed(algorithm, params)} points of history, has {t}")
    p = _params(algorithm, params)
    baseline, lag, min_sigma = int(p["baseline"]), int(p["lag"]), float(p["min_sigma"])
    observed = x[:, t]
    window = (-(lag + baseline), -(lag + 1))
    if algorithm in ("ears_c1", "ears_c2"):
        threshold = float(p["threshold"])
        mean, sigma = _matrix_stats(x, t, baseline, lag, min_sigma)
        statistic = (observed - mean) / sigma
        upper = mean + threshold * sigma
        alarm = statistic >= threshold
    elif algorithm == "ears_c3":
        threshold = float(p["threshold"])
        terms = []
        for back in (2, 1, 0):
            mean_i, sigma_i = _matrix_stats(x, t - back, baseline, lag, min_sigma)
            terms.append(np.maximum(0.0, (x[:, t - back] - mean_i) / sigma_i - 1.0))
        mean, sigma = _matrix_stats(x, t, baseline, lag, min_sigma)
        previous = terms[0] + terms[1]
        statistic = previous + terms[2]
        upper = mean + sigma * (1.0 + np.maximum(0.0, threshold - previous))
        alarm = statistic >= threshold
        window = (window[0] - 2, window[1])
    elif algorithm == "cusum":
        k, h = float(p["k"]), float(p["h"])
        s = np.zeros(len(x))
        previous = s
        for i in range(baseline + lag, t + 1):
            mean, sigma = _matrix_stats(x, i, baseline, lag, min_sigma)
            previous = s
            s = np.maximum(0.0, s + (x[:, i] - mean) / sigma - k)
        statistic, upper, alarm = s, mean + sigma * (h + k - previous), s > h
    else:
        raise ValueError(f"unknown algorithm {algorithm!r}")
    return [
        Signal(algorithm, bool(alarm[i]), float(observed[i]), float(mean[i]), float(upper[i]), float(statistic[i]),
               p, window)
        for i in range(len(x))
    ]
