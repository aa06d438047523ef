"""Theory next to simulation: mean-field rates and CV against the spiking network."""

from __future__ import annotations

import equinox as eqx
import jax
import numpy as np

from ..neurons import lif_cv
from ..populations import Network, input_std, mean_input, solve_rates
from ._simulate import SimulationResult, simulate

__all__ = ["compare", "Comparison"]


class Comparison(eqx.Module):
    """Mean-field prediction and simulation of the same network, side by side.

    Attributes:
        names: population labels.
        theory_rates, simulated_rates: Hz, shape (P,).
        rate_error: (simulated - theory) / theory, shape (P,).
        theory_cv, simulated_cv: CV of the inter-spike intervals (theory: first-passage moments
            of the LIF under white noise, :func:`mfjax.lif_cv`).
        simulation: the full :class:`SimulationResult`.
    """

    names: tuple = eqx.field(static=True)
    theory_rates: np.ndarray
    simulated_rates: np.ndarray
    rate_error: np.ndarray
    theory_cv: np.ndarray
    simulated_cv: np.ndarray
    simulation: SimulationResult

    def table(self) -> str:
        """Plain-text table: population, rates (theory, simulation, error), CV (both)."""
        lines = [f"{'pop':>6} {'nu MF (Hz)':>11} {'nu sim (Hz)':>12} {'error':>8} {'CV MF':>7} {'CV sim':>7}"]
        for i, name in enumerate(self.names):
            lines.append(
                f"{name:>6} {self.theory_rates[i]:11.3f} {self.simulated_rates[i]:12.3f} "
                f"{100 * self.rate_error[i]:7.2f}% {self.theory_cv[i]:7.3f} {self.simulated_cv[i]:7.3f}"
            )
        return "\n".join(lines)


def compare(network: Network, duration: float = 1000.0, *, key=None, transient: float = 100.0, **kwargs) -> Comparison:
    """Solve the mean field of ``network`` and simulate it; report both with relative errors.

    ``kwargs`` go to :func:`mfjax.spiking.simulate` (``dt``, ``connectivity``, ...).  The
    theory is :func:`mfjax.solve_rates` (Siegert with the network's synapse correction); the CV
    is that of the LIF driven by white noise with the self-consistent ``mu``, ``sigma``.
    """
    if key is None:
        key = jax.random.key(0)
    theory = solve_rates(network)
    sim = simulate(network, duration, key=key, transient=transient, **kwargs)
    nu = np.asarray(theory.rates)
    cv = np.asarray(lif_cv(network.neuron, mean_input(network, theory.rates), input_std(network, theory.rates)))
    nu_sim = np.asarray(sim.rates)
    return Comparison(
        names=network.names,
        theory_rates=nu,
        simulated_rates=nu_sim,
        rate_error=(nu_sim - nu) / np.where(nu > 0, nu, np.nan),
        theory_cv=cv,
        simulated_cv=np.asarray(sim.cv),
        simulation=sim,
    )
