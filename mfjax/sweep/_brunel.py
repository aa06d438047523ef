"""Brunel (2000) model A over (g, eta): the rate sweep (the default job of the ``mfjax``
command) and the phase diagram of the asynchronous state's stability."""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np

from .._checks import as_checked_array, as_int
from ..populations import brunel_a, solve_rates, working_point
from ..populations._response import Theory
from ..populations._stability import _stability
from ._grid import SweepResult, grid_sweep

__all__ = ["brunel_point", "brunel_rate_sweep", "brunel_phase_diagram", "PHASES"]

#: codes of the ``phase`` output of :func:`brunel_phase_diagram`
PHASES = {
    -1: "undetermined (working point not converged, or the Nyquist count not resolved and no growing root found)",
    0: "AI: asynchronous state stable",
    1: "rate instability (the dominant root is real)",
    2: "slow oscillation (oscillatory instability below fast_above Hz: SI slow)",
    3: "fast oscillation (oscillatory instability at or above fast_above Hz: SI fast, SR)",
    4: "unstable by the Nyquist count, growing root not located",
}


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


#: units of the outputs of :func:`brunel_rate_sweep` and :func:`brunel_phase_diagram`
UNITS = {"g": "", "eta": "", "rate": "Hz", "mu": "mV", "sigma": "mV", "residual": "Hz", "growth_rate": "1/s",
         "frequency": "Hz"}


def brunel_rate_sweep(g, eta, *, chunk_size=512, checkpoint=None, **scale) -> SweepResult:
    """Mean-field rates of Brunel model A on the grid ``g`` x ``eta`` (1-d arrays).

    E and I rates are equal in model A, so one ``rate`` per point is returned; ``converged``
    marks the points where the self-consistency was met (mask the others, e.g.
    ``result.masked("rate")``).  ``scale``: ``devices``, ``share`` and ``progress`` of
    :func:`mfjax.sweep.grid_sweep`.
    """
    return grid_sweep(
        brunel_point,
        {"g": np.asarray(g, float), "eta": np.asarray(eta, float)},
        chunk_size=chunk_size,
        checkpoint=checkpoint,
        tag="brunel_a",
        units=UNITS,
        **scale,
    )


def _phase_point(g, eta, *, frequencies, n_guesses, max_steps, fast_above):
    net = brunel_a(g, eta)
    sol = solve_rates(net, on_failure="return")
    wp = working_point(net, sol)
    # E and I neurons of model A are identical and receive the same input: one transfer function,
    # evaluated for the whole chunk at once (no gradients flow through the diagram)
    st = _stability(net, wp, frequencies, None, Theory(shared=True, flat=True), n_guesses, max_steps, skip_stable=True)
    fast = jnp.abs(st.frequency) >= fast_above
    phase = jnp.where(st.kind == 2, jnp.where(fast, 3, 2), jnp.where(st.kind == 3, 4, st.kind))
    return {
        "rate": sol.rates[0],
        "converged": sol.converged,
        "stable": st.stable,
        "resolved": st.resolved,
        "unstable_roots": st.unstable_roots,
        "phase": phase,
        "growth_rate": st.growth_rate,
        "frequency": st.frequency,
        "root_found": jnp.any(st.roots.converged),
    }


def brunel_phase_diagram(
    g,
    eta,
    *,
    frequencies=None,
    n_guesses: int = 3,
    max_steps: int = 20,
    fast_above: float = 100.0,
    chunk_size: int = 1024,
    checkpoint=None,
    **scale,
) -> SweepResult:
    """Phase diagram of Brunel (2000) model A on the grid ``g`` x ``eta`` (1-d arrays): at every
    point the stationary rate and the linear stability of the asynchronous state
    (:func:`mfjax.populations.stability`: the Nyquist count of unstable roots of
    ``det(I - W(lambda)) = 0`` and the dominant root by the secant method), classified as in
    Brunel (2000, Fig. 2): AI (stable), a rate instability, a slow or a fast oscillation
    (:data:`PHASES`).

    Args:
        g, eta: relative inhibition and external drive ``nu_ext / nu_thr``.
        frequencies: Nyquist grid (Hz, from 0, increasing); default 0 and 95 log-spaced
            frequencies from 0.5 Hz to 5 kHz (points where it does not resolve the phase are
            marked ``resolved=False``, ``phase=-1``).
        n_guesses, max_steps: root search (see :func:`mfjax.populations.stability`).
        fast_above: frequency (Hz) that separates slow from fast oscillations.
        chunk_size, checkpoint: as :func:`mfjax.sweep.grid_sweep` (resumable).
        scale: ``devices``, ``share`` and ``progress`` of :func:`mfjax.sweep.grid_sweep`.

    Returns:
        :class:`SweepResult` with ``rate`` (Hz), ``converged``, ``stable``, ``resolved``,
        ``unstable_roots``, ``phase``, ``growth_rate`` (1/s), ``frequency`` (Hz) of the
        dominant root and ``root_found``.
    """
    n_guesses = as_int("n_guesses", n_guesses, minimum=2)
    max_steps = as_int("max_steps", max_steps, minimum=1)
    as_checked_array("fast_above", fast_above, nonnegative=True)
    if frequencies is None:
        frequencies = default_frequencies()
    freqs = np.asarray(as_checked_array("frequencies", frequencies), float)
    if freqs.ndim != 1 or freqs.size < 3 or freqs[0] != 0 or np.any(np.diff(freqs) <= 0):
        raise ValueError("frequencies must be a 1-d increasing grid of at least 3 frequencies starting at 0 Hz")
    point = _phase_points(tuple(freqs.tolist()), n_guesses, max_steps, float(fast_above))
    return grid_sweep(
        point,
        {"g": np.asarray(g, float), "eta": np.asarray(eta, float)},
        chunk_size=chunk_size,
        checkpoint=checkpoint,
        tag="brunel_a_phase_diagram",
        units=UNITS,
        **scale,
    )


def default_frequencies() -> np.ndarray:
    """The phase diagram's Nyquist grid: 0 and 95 log-spaced frequencies from 0.5 Hz to 5 kHz."""
    return np.concatenate([[0.0], np.geomspace(0.5, 5000.0, 95)])


@functools.lru_cache(maxsize=8)
def _phase_points(freqs: tuple, n_guesses: int, max_steps: int, fast_above: float):
    """One function object per setting, so that grid_sweep's compiled program is reused."""
    grid = np.asarray(freqs)

    def point(g, eta):
        return _phase_point(
            g, eta, frequencies=jnp.asarray(grid), n_guesses=n_guesses, max_steps=max_steps, fast_above=fast_above
        )

    point.__qualname__ = f"brunel_phase_point[{len(freqs)} frequencies, {n_guesses} guesses, {max_steps} steps, fast >= {fast_above} Hz]"
    return point
