"""Fixed-point and root solvers with status records and implicit differentiation."""

from ._fixed_point import FixedPointSolution, default_tolerances, solve_fixed_point

__all__ = ["FixedPointSolution", "solve_fixed_point", "default_tolerances"]
