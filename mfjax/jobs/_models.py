"""The models ``mfjax sweep`` knows: their parameters (axes or fixed), outputs and units.

Each :class:`SweepModel` maps its parameters to one point of the grid with a pure JAX function
(``evaluate(**parameters) -> dict of arrays``).  A parameter is *sweepable* when the function
accepts it traced (it can be a grid axis); the others fix array shapes or code paths and are
given as fixed values only.  :func:`point_function` builds (and caches, so that a repeated sweep
reuses its compiled program) the function of the axes alone with the fixed values bound.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable

import equinox as eqx
import jax.numpy as jnp

from ..dmft import NONLINEARITIES

__all__ = ["Parameter", "SweepModel", "SWEEP_MODELS", "point_function"]


@dataclass(frozen=True)
class Parameter:
    """A model parameter: its default, unit, meaning, whether it can be a grid axis, bounds."""

    default: object
    unit: str = ""
    doc: str = ""
    sweepable: bool = True
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple | None = None


@dataclass(frozen=True)
class SweepModel:
    """A sweepable model (module docstring).

    Attributes:
        name, doc: registry name and one line of what it computes (with its source).
        parameters: name -> :class:`Parameter`.
        outputs: name -> unit of every output of ``evaluate``.
        evaluate: pure JAX function of all parameters (keywords) -> dict of outputs.
        dims: output name -> names of its trailing dimensions; coords: those dimensions' labels.
        valid: the boolean output that marks a trustworthy point (masked in figures).
        figure: the output drawn by default, and whether on a log scale.
    """

    name: str
    doc: str
    parameters: dict
    outputs: dict
    evaluate: Callable
    dims: dict = field(default_factory=dict)
    coords: object = field(default_factory=dict)  # a dict, or a function of the fixed parameters -> dict
    valid: str = "converged"
    figure: tuple = ("", False)
    plot: str = ""  # a figure of its own (``"phases"``: the categorical phase diagram)


# ---- the models --------------------------------------------------------------------------------


def _brunel(g, eta, J, tau_m, tau_ref, v_th, v_reset, delay, N_E, epsilon, gamma):
    from ..populations import brunel_a, solve_rates

    net = brunel_a(g, eta, J=J, N_E=N_E, gamma=gamma, epsilon=epsilon, tau_m=tau_m, tau_ref=tau_ref, v_th=v_th,
                   v_reset=v_reset, delay=delay)
    sol = solve_rates(net, on_failure="return")
    return {"rate": sol.rates[0], "mu": sol.mu[0], "sigma": sol.sigma[0], "converged": sol.converged,
            "residual": sol.residual, "num_steps": sol.num_steps}


_BRUNEL_NETWORK = {
    "J": Parameter(0.1, "mV", "excitatory PSP amplitude", minimum=0.0),
    "tau_m": Parameter(20.0, "ms", "membrane time constant", minimum=0.0),
    "tau_ref": Parameter(2.0, "ms", "refractory period", minimum=0.0),
    "v_th": Parameter(20.0, "mV", "threshold (relative to rest)"),
    "v_reset": Parameter(10.0, "mV", "reset potential (relative to rest)"),
    "delay": Parameter(1.5, "ms", "transmission delay", minimum=0.0),
    "N_E": Parameter(10000, "", "excitatory neurons (N_I = gamma N_E)", sweepable=False, minimum=1),
    "epsilon": Parameter(0.1, "", "connection probability (K = epsilon N)", sweepable=False, minimum=0.0, maximum=1.0),
    "gamma": Parameter(0.25, "", "N_I / N_E", sweepable=False, minimum=0.0),
}


def _brunel_phases(g, eta, fast_above, n_guesses, max_steps):
    from ..sweep._brunel import _phase_point, default_frequencies

    return _phase_point(g, eta, frequencies=jnp.asarray(default_frequencies()), n_guesses=n_guesses,
                        max_steps=max_steps, fast_above=fast_above)


def _spectrum_frequencies(f_min, f_max, n_frequencies):
    import numpy as np

    return np.geomspace(f_min, f_max, int(n_frequencies))


def _brunel_spectrum(g, eta, J, delay, N_E, epsilon, f_min, f_max, n_frequencies, variance_response):
    from ..populations import brunel_a, power_spectra, solve_rates

    net = brunel_a(g, eta, J=J, N_E=N_E, epsilon=epsilon, delay=delay)
    sol = solve_rates(net, on_failure="return")
    f = jnp.asarray(_spectrum_frequencies(f_min, f_max, n_frequencies))
    spectrum = power_spectra(net, f, sol.rates, variance_response=variance_response)[:, 0]
    k = jnp.argmax(spectrum)
    return {"spectrum": spectrum, "peak_frequency": f[k], "peak_power": spectrum[k], "rate": sol.rates[0],
            "converged": sol.converged & jnp.all(jnp.isfinite(spectrum))}


def _microcircuit(nu_ext, J_scale, g_scale, variant, synapses):
    from ..populations import microcircuit, solve_rates

    net = microcircuit(variant, synapses)
    J = net.J * J_scale
    J = jnp.where(J < 0, J * g_scale, J)
    net = eqx.tree_at(lambda n: (n.J, n.nu_ext), net, (J, jnp.broadcast_to(nu_ext, net.nu_ext.shape) * 1.0))
    sol = solve_rates(net, on_failure="return")
    return {"rates": sol.rates, "mu": sol.mu, "sigma": sol.sigma, "converged": sol.converged, "residual": sol.residual}


def _ising(T, h, J, z, method):
    from ..ising import lattice_magnetization

    m, ok = lattice_magnetization(T, method=method, z=z, J=J, h=h)
    return {"magnetization": m, "converged": ok}


def _dmft(g, sigma, J0, I, phi):
    from ..dmft import order_parameters

    o = order_parameters(g, sigma, J0, I, phi)
    return {"delta0": o.delta0, "delta_inf": o.delta_inf, "mean": o.mean, "converged": o.converged,
            "residual": o.residual}


def _memory(alpha, T):
    from ..memory import ags_overlap

    s = ags_overlap(alpha, T)
    return {"overlap": s.m, "q": s.q, "r": s.r, "converged": s.converged}


def _lif(mu, sigma, tau_m, tau_ref, v_th, v_reset):
    from ..neurons import LIF, lif_rate

    rate = lif_rate(LIF(tau_m=tau_m, tau_ref=tau_ref, v_th=v_th, v_reset=v_reset), mu, sigma)
    return {"rate": rate, "converged": jnp.isfinite(rate)}


_PD14 = ("L2/3E", "L2/3I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")

SWEEP_MODELS = {
    m.name: m
    for m in [
        SweepModel(
            "brunel", "stationary rate of Brunel (2000) model A (LIF, Siegert self-consistency)",
            {"g": Parameter(5.0, "", "relative inhibition J_I / J_E", minimum=0.0),
             "eta": Parameter(2.0, "", "external drive nu_ext / nu_thr", minimum=0.0), **_BRUNEL_NETWORK},
            {"rate": "Hz", "mu": "mV", "sigma": "mV", "converged": "", "residual": "Hz", "num_steps": ""},
            _brunel, figure=("rate", True)),
        SweepModel(
            "brunel_phases", "stability of the asynchronous state of Brunel model A (Brunel 2000 Fig. 2; "
            "phase codes in mfjax.sweep.PHASES)",
            {"g": Parameter(5.0, "", "relative inhibition", minimum=0.0),
             "eta": Parameter(2.0, "", "external drive nu_ext / nu_thr", minimum=0.0),
             "fast_above": Parameter(100.0, "Hz", "slow/fast oscillation boundary", sweepable=False, minimum=0.0),
             "n_guesses": Parameter(3, "", "root-search starts", sweepable=False, minimum=2),
             "max_steps": Parameter(20, "", "secant steps per root", sweepable=False, minimum=1)},
            {"rate": "Hz", "converged": "", "stable": "", "resolved": "", "unstable_roots": "", "phase": "",
             "growth_rate": "1/s", "frequency": "Hz", "root_found": ""},
            _brunel_phases, figure=("phase", False), plot="phases"),
        SweepModel(
            "brunel_spectrum", "population-rate power spectrum of Brunel model A, excitatory population (linear "
            "response, Bos et al. 2016 eq. 18; finite N)",
            {"g": Parameter(5.0, "", "relative inhibition", minimum=0.0),
             "eta": Parameter(2.0, "", "external drive nu_ext / nu_thr", minimum=0.0),
             "J": Parameter(0.1, "mV", "excitatory PSP amplitude", minimum=0.0),
             "delay": Parameter(1.5, "ms", "transmission delay", minimum=0.0),
             "N_E": _BRUNEL_NETWORK["N_E"], "epsilon": _BRUNEL_NETWORK["epsilon"],
             "f_min": Parameter(1.0, "Hz", "lowest frequency", sweepable=False, minimum=1e-3),
             "f_max": Parameter(1000.0, "Hz", "highest frequency", sweepable=False, minimum=1e-3),
             "n_frequencies": Parameter(64, "", "log-spaced frequencies", sweepable=False, minimum=2),
             "variance_response": Parameter(True, "", "include the rate response to the input variance",
                                            sweepable=False, choices=(True, False))},
            {"spectrum": "Hz", "peak_frequency": "Hz", "peak_power": "Hz", "rate": "Hz", "converged": ""},
            _brunel_spectrum, dims={"spectrum": ("frequency",)},
            coords=lambda fixed: {"frequency": _spectrum_frequencies(fixed["f_min"], fixed["f_max"], fixed["n_frequencies"])},
            figure=("peak_frequency", False)),
        SweepModel(
            "microcircuit", "stationary rates of the Potjans & Diesmann (2014) microcircuit",
            {"nu_ext": Parameter(8.0, "Hz", "background rate per external synapse", minimum=0.0),
             "J_scale": Parameter(1.0, "", "factor on every PSP amplitude", minimum=0.0),
             "g_scale": Parameter(1.0, "", "extra factor on the inhibitory PSP amplitudes", minimum=0.0),
             "variant": Parameter("pd14", "", "microcircuit variant", sweepable=False, choices=("pd14", "bos2016")),
             "synapses": Parameter("shift", "", "synapse model of the mean field", sweepable=False,
                                   choices=("delta", "shift", "taylor"))},
            {"rates": "Hz", "mu": "mV", "sigma": "mV", "converged": "", "residual": "Hz"},
            _microcircuit, dims={k: ("population",) for k in ("rates", "mu", "sigma")},
            coords={"population": _PD14}, figure=("rates", True)),
        SweepModel(
            "ising", "magnetisation of the homogeneous Ising ferromagnet (naive, TAP or Bethe mean field)",
            {"T": Parameter(2.0, "", "temperature (units of J)", minimum=0.0),
             "h": Parameter(0.0, "", "uniform field", minimum=0.0),
             "J": Parameter(1.0, "", "coupling", minimum=0.0),
             "z": Parameter(4, "", "coordination number", sweepable=False, minimum=1),
             "method": Parameter("naive", "", "mean-field approximation", sweepable=False,
                                 choices=("naive", "tap", "bethe"))},
            {"magnetization": "", "converged": ""}, _ising, figure=("magnetization", False)),
        SweepModel(
            "dmft", "stationary DMFT of the random rate network (Sompolinsky, Crisanti & Sommers 1988; noise, "
            "mean coupling, input)",
            {"g": Parameter(1.5, "", "coupling gain", minimum=0.0),
             "sigma": Parameter(0.0, "", "white-noise amplitude", minimum=0.0),
             "J0": Parameter(0.0, "", "mean coupling"),
             "I": Parameter(0.0, "", "constant input"),
             "phi": Parameter("tanh", "", "nonlinearity", sweepable=False, choices=tuple(NONLINEARITIES))},
            {"delta0": "", "delta_inf": "", "mean": "", "converged": "", "residual": ""}, _dmft,
            figure=("delta0", False)),
        SweepModel(
            "memory", "retrieval overlap of the Hopfield network (Amit, Gutfreund & Sompolinsky 1987)",
            {"alpha": Parameter(0.05, "", "load P / N", minimum=0.0),
             "T": Parameter(0.0, "", "temperature", sweepable=False, minimum=0.0)},
            {"overlap": "", "q": "", "r": "", "converged": ""}, _memory, figure=("overlap", False)),
        SweepModel(
            "lif", "stationary rate of one LIF neuron in the diffusion limit (Siegert 1951; Brunel 2000 eq. 21)",
            {"mu": Parameter(15.0, "mV", "mean input"),
             "sigma": Parameter(5.0, "mV", "input noise amplitude", minimum=0.0),
             "tau_m": Parameter(20.0, "ms", "membrane time constant", minimum=0.0),
             "tau_ref": Parameter(2.0, "ms", "refractory period", minimum=0.0),
             "v_th": Parameter(20.0, "mV", "threshold"),
             "v_reset": Parameter(10.0, "mV", "reset")},
            {"rate": "Hz", "converged": ""}, _lif, figure=("rate", True)),
    ]
}


@functools.lru_cache(maxsize=64)
def point_function(model: str, fixed: tuple, axes: tuple) -> Callable:
    """The function of the axes alone (keywords ``axes``) with ``fixed`` ((name, value) pairs)
    bound; one object per (model, fixed, axes), so grid_sweep's compiled program is reused."""
    spec = SWEEP_MODELS[model]
    bound = dict(fixed)

    def point(**values):
        return spec.evaluate(**bound, **values)

    point.__qualname__ = f"{model}[{', '.join(axes)}; {', '.join(f'{k}={v!r}' for k, v in fixed)}]"
    return point
