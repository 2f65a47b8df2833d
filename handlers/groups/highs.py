"""HiGHS with a starting solution and an LP relaxation's reduced costs.

scipy's public `milp` cannot be given a starting solution, and without one HiGHS spends most of
its time at the root looking for a first good solution, long after its bound is within reach.
HiGHS's own Python binding (`highspy`, from the HiGHS project) can: this module is the only
place that uses it. `available()` is False if it cannot be imported; callers then use
`scipy.optimize.milp` without a start.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np


@functools.cache
def _highspy() -> Any:
    """The binding, imported when first needed (not by every process that loads the
    features): None if it cannot be imported."""
    try:
        import highspy
    except ImportError:  # pragma: no cover - highspy is a dependency; a broken install falls back
        return None
    return highspy


def available() -> bool:
    return _highspy() is not None


@dataclass
class Matrix:
    """A minimisation MILP in column-wise (CSC) form."""

    cost: np.ndarray
    upper: np.ndarray
    integer: np.ndarray
    start: np.ndarray
    index: np.ndarray
    value: np.ndarray
    row_lo: np.ndarray
    row_hi: np.ndarray


@dataclass
class Outcome:
    x: np.ndarray | None
    objective: float | None
    """the minimised objective of `x`"""
    bound: float | None
    """a proven lower bound of every solution (the LP's optimum for a relaxation)"""
    proven: bool
    """HiGHS stopped because the gap asked for was reached (not on time)"""
    reduced: np.ndarray | None = None
    """the reduced costs of an LP relaxation"""


def run(
    model: Matrix,
    *,
    upper: np.ndarray | None = None,
    relax: bool = False,
    start: np.ndarray | None = None,
    gap: float = 1e-4,
    time_limit: float = 30.0,
) -> Outcome:
    """Solve `model` (with other column upper bounds, or its LP relaxation), from `start`."""
    _h = _highspy()
    assert _h is not None
    n, rows = len(model.cost), len(model.row_lo)
    lp = _h.HighsLp()
    lp.num_col_, lp.num_row_ = n, rows
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, rows
    lp.a_matrix_.format_ = _h.MatrixFormat.kColwise
    lp.a_matrix_.start_ = model.start
    lp.a_matrix_.index_ = model.index
    lp.a_matrix_.value_ = model.value
    lp.col_cost_ = model.cost
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = model.upper if upper is None else upper
    lp.row_lower_ = model.row_lo
    lp.row_upper_ = model.row_hi
    if not relax:
        lp.integrality_ = [_h.HighsVarType(int(i)) for i in model.integer]
    highs = _h.Highs()
    for key, value in (
        ("output_flag", False),
        ("time_limit", max(0.05, float(time_limit))),
        ("mip_rel_gap", float(gap)),
    ):
        highs.setOptionValue(key, value)
    highs.passModel(lp)
    if start is not None and not relax:
        solution = _h.HighsSolution()
        solution.col_value = [float(v) for v in start]
        solution.value_valid = True
        highs.setSolution(solution)
    highs.run()
    status = highs.getModelStatus()
    info = highs.getInfo()
    found: Any = highs.getSolution()
    has_x = bool(found.value_valid) and info.objective_function_value < _h.kHighsInf
    x = np.array(found.col_value) if has_x else None
    if relax:
        ok = status == _h.HighsModelStatus.kOptimal
        return Outcome(
            x if ok else None,
            info.objective_function_value if ok else None,
            info.objective_function_value if ok else None,
            ok,
            np.array(found.col_dual) if ok and found.dual_valid else None,
        )
    bound = info.mip_dual_bound
    return Outcome(
        x,
        info.objective_function_value if x is not None else None,
        float(bound) if np.isfinite(bound) else None,
        status == _h.HighsModelStatus.kOptimal,
    )
