"""The Brunel (2000) model A (g, eta) rate sweep: the default job of the ``mfjax`` command."""

from __future__ import annotations

import numpy as np

from ..populations import brunel_a, solve_rates
from ._grid import SweepResult, grid_sweep

__all__ = ["brunel_point", "brunel_rate_sweep"]


def brunel_point(g, eta):
    """Stationary state of Brunel model A at one (g, eta): rate (Hz), mu, sigma (mV), status."""
    sol = solve_rates(brunel_a(g, eta), on_failure="return")
    return {
        "rate": sol.rates[0],
        "mu": sol.mu[0],
        "sigma": sol.sigma[0],
        "converged": sol.converged,
        "residual": sol.residual,
        "num_steps": sol.num_steps,
    }


def brunel_rate_sweep(g, eta, *, chunk_size=512, checkpoint=None) -> SweepResult:
    """Mean-field rates of Brunel model A on the grid ``g`` x ``eta`` (1-d arrays).

    E and I rates are equal in model A, so one ``rate`` per point is returned; ``converged``
    marks the points where the self-consistency was met (mask the others, e.g.
    ``result.masked("rate")``).
    """
    return grid_sweep(
        brunel_point,
        {"g": np.asarray(g, float), "eta": np.asarray(eta, float)},
        chunk_size=chunk_size,
        checkpoint=checkpoint,
        tag="brunel_a",
    )
