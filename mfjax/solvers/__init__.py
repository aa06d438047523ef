"""Fixed-point and root solvers with status records and implicit differentiation; continuation
of equilibria with fold and Hopf points, and of those points in a second parameter."""

from ._continuation import (
    Bifurcation,
    BifurcationCurve,
    Branch,
    branch_bifurcations,
    continuation,
    equilibrium,
    fold_curve,
    hopf_curve,
    locate_fold,
    locate_hopf,
)
from ._fixed_point import FixedPointSolution, default_tolerances, solve_fixed_point
from ._root import solve_root

__all__ = [
    "FixedPointSolution",
    "solve_fixed_point",
    "default_tolerances",
    "solve_root",
    "Branch",
    "Bifurcation",
    "continuation",
    "equilibrium",
    "locate_fold",
    "locate_hopf",
    "branch_bifurcations",
    "BifurcationCurve",
    "fold_curve",
    "hopf_curve",
]
