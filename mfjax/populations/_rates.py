"""Stationary working point of a multi-population LIF network (self-consistent rates).

Diffusion approximation (Amit & Brunel 1997; Brunel 2000 eq. 4-5; NNMT conventions)::

    mu_a      = tau_m [ sum_b K_ab J_ab nu_b + K_ext,a J_ext,a nu_ext,a ] + tau_m I_ext,a / C_m
    sigma_a^2 = tau_m [ sum_b K_ab (J_ab^2 + J_sd,ab^2) nu_b + K_ext,a J_ext,a^2 nu_ext,a ]

(tau_m in s when rates are in Hz: the code multiplies by 1e-3), and the rates solve the
self-consistency ``nu_a = phi_a(mu_a(nu), sigma_a(nu))`` with ``phi`` the LIF transfer function
(:func:`mfjax.lif_rate`, with the network's synapse model).  ``J_sd`` (weights drawn per
synapse with that standard deviation) adds the second moment ``E[w^2] = J^2 + J_sd^2`` of the
weights to the variance; it is 0 in the presets, as in NNMT.

With ``network.input_model == "shot"`` the transfer is instead the exact rate of Poisson shot
noise with exponential jumps (:func:`mfjax.lif_shot_rate`) fitted to the input by its first three
cumulants (:func:`shot_input`).  Networks with conductance synapses (:class:`Conductance`) use
the effective-time-constant reduction of :mod:`mfjax.populations._conductance`
(:func:`coba_rate`, an approximation whose error against simulations is stated there).
Populations of EIF or QIF neurons take the Fokker-Planck engine's rate (:func:`mfjax.firing_rate`)
at the same (mu, sigma).
"""

from __future__ import annotations

from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import Conditions, as_checked_array, as_int, is_concrete
from ..neurons import LIF
from ..neurons._lif import _lif_rate
from ..neurons._threshold import _DEFAULT_STEPS, _engine_rate
from ..neurons._shot import _lif_shot_rate
from ..solvers import solve_fixed_point
from ._conductance import _coba_rate, _conductance_input
from ._network import SYNAPSE_MODELS, Conductance, Network

__all__ = [
    "RateSolution",
    "ConvergenceError",
    "mean_input",
    "input_std",
    "shot_input",
    "ShotInput",
    "transfer",
    "solve_rates",
]


class ConvergenceError(RuntimeError):
    """The self-consistent rates did not converge (raised at the Python edge only)."""


def mean_input(network: Network, rates) -> jax.Array:
    """Mean input mu (mV) of each population for population rates ``rates`` (Hz), shape (P,)."""
    tau_m, c_m = network.neuron_field("tau_m"), network.neuron_field("c_m")
    recurrent = (network.K * network.J) @ rates
    external = network.K_ext * network.J_ext * network.nu_ext
    return 1e-3 * tau_m * (recurrent + external) + tau_m * network.I_ext / c_m


def input_std(network: Network, rates) -> jax.Array:
    """Input standard deviation sigma (mV) of each population, shape (P,)."""
    var = (network.K * (network.J**2 + network.J_sd**2)) @ rates + network.K_ext * network.J_ext**2 * network.nu_ext
    var = 1e-3 * network.neuron_field("tau_m") * var
    pos = var > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, var, 1.0)), 0.0)


class ShotInput(eqx.Module):
    """Input of each population as exponential shot noise (see :func:`shot_input`); arrays of
    shape (P,).

    Attributes:
        mu: DC drive (mV), including the offset that keeps the mean input exact.
        rate_exc, rate_inh: rates of excitatory and inhibitory input events (Hz).
        jump_exc, jump_inh: their mean jump sizes (mV, both positive).
    """

    mu: jax.Array
    rate_exc: jax.Array
    jump_exc: jax.Array
    rate_inh: jax.Array
    jump_inh: jax.Array


#: floor of the excitatory event rate (events per membrane time constant) of a population without
#: excitatory input (the shot rate formula needs R_e > 0; below threshold the rate is then
#: ~1e-12/tau_m instead of 0)
_MIN_EVENTS = 1e-12


def _exponential_shot(k1, k2, k3, tau_m):
    """Rate (Hz), mean jump (mV) and DC offset (mV) of exponential shot noise with cumulant rates
    ``k_n = sum K nu E[w^n]`` (mV^n/s): ``2 R a^2 = k2``, ``6 R a^3 = k3``, offset ``k1 - R a``."""
    present = k2 > 0
    jump = jnp.where(present, k3 / (3.0 * jnp.where(present, k2, 1.0)), 1.0)
    rate = jnp.where(present, k2 / (2.0 * jump**2), 0.0)
    return rate, jump, 1e-3 * tau_m * (k1 - rate * jump)


def shot_input(network: Network, rates) -> ShotInput:
    """The input of each population as Poisson shot noise with exponentially distributed jumps,
    one excitatory and one inhibitory stream, matched to the real input's first three cumulants.

    The input of population a is a sum of Poisson streams (rate ``K_ab nu_b``, weights ``w`` of
    mean ``J_ab`` and standard deviation ``J_sd,ab``, normal, as the simulator draws them; and
    ``K_ext nu_ext`` of weight ``J_ext``).  For the excitatory streams the cumulant rates are
    ``k_n = sum K nu E[w^n]`` with ``E[w^2] = J^2 + J_sd^2``, ``E[w^3] = J^3 + 3 J J_sd^2``; an
    exponential stream of rate R and mean jump a has ``k_n = n! R a^n``, so
    ``a = k3/(3 k2)``, ``R = k2/(2 a^2)``, and a DC offset ``tau_m (k1 - R a)`` keeps the mean.
    The same for the inhibitory streams (``|w|``).  The mean, variance and skewness of the free
    membrane potential are then exact; only the fourth and higher cumulants differ.  For fixed
    jumps ``J`` this is ``a = J/3`` at ``4.5`` times the rate.  Exponentially distributed weights
    would be represented exactly (their ``k_n`` are ``n! K nu J^n``).

    Measured against ``mfjax.spiking.simulate`` (one population of unconnected neurons driven at
    mu = 15 mV, v_th = 20, v_reset = 10 mV, tau_m = 20 ms, fixed jumps 0.5-4 mV,
    ``tests/populations/test_shot_network.py``): the rate is within 0.01-1.4 % of the simulation,
    where the diffusion (Siegert) rate is 21 % (0.5 mV), 7 % (1 mV) and 9 % (4 mV) off.

    Args:
        network: :class:`Network` (any ``input_model``).
        rates: population rates (Hz), shape (P,).

    Returns:
        :class:`ShotInput`.  Populations without excitatory input get a floor rate of
        ``1e-12`` events per ``tau_m``.
    """
    tau_m = jnp.broadcast_to(network.neuron.tau_m, network.J.shape[:1])
    J, sd = network.J, network.J_sd
    moments = (J, J**2 + sd**2, J**3 + 3.0 * J * sd**2)
    exc, inh = J > 0, J < 0
    ext_exc, ext_inh = network.J_ext > 0, network.J_ext < 0
    ext = network.K_ext * network.nu_ext
    cumulants = []
    for mask, ext_mask, sign in ((exc, ext_exc, 1.0), (inh, ext_inh, -1.0)):
        k = [(network.K * jnp.where(mask, sign**n * m, 0.0)) @ rates
             + ext * jnp.where(ext_mask, (sign * network.J_ext)**n, 0.0)
             for n, m in zip((1, 2, 3), moments)]
        cumulants.append(k)
    r_e, a_e, off_e = _exponential_shot(*cumulants[0], tau_m)
    r_i, a_i, off_i = _exponential_shot(*cumulants[1], tau_m)
    r_e = jnp.maximum(r_e, 1e3 * _MIN_EVENTS / tau_m)
    mu = network.neuron.tau_m * network.I_ext / network.neuron.c_m + off_e - off_i
    return ShotInput(mu=mu, rate_exc=r_e, jump_exc=a_e, rate_inh=r_i, jump_inh=a_i)


def transfer(network: Network, rates) -> jax.Array:
    """Output rates (Hz) phi(mu(rates), sigma(rates)) of every population, shape (P,)."""
    conds = Conditions().require("rates", rates)
    Network.conditions(network, conds.traced_only())  # concrete fields: checked when built
    return conds.enforce(_transfer_params(rates, network))


class RateSolution(eqx.Module):
    """Stationary rates of a :class:`Network` and the solver status.

    Attributes:
        rates: population rates (Hz), shape (P,).
        mu, sigma: mean and std of the input at the working point (mV), shape (P,); for
            conductance synapses the effective reversal potential and the equivalent white-noise
            amplitude at the mean in-degrees (:func:`conductance_input`).
        converged: bool; residual: max |phi(nu) - nu| (Hz); num_steps: iterations used.
    """

    rates: jax.Array
    mu: jax.Array
    sigma: jax.Array
    converged: jax.Array
    residual: jax.Array
    num_steps: jax.Array


def _transfer_params(rates, network):
    """:func:`transfer` without checks (the solver folds the network's conditions into its
    status)."""
    if isinstance(network.synapses, Conductance):
        return _coba_rate(network, rates)
    if network.input_model == "shot":
        shot = shot_input(network, rates)
        return _lif_shot_rate(network.neuron, shot.mu, shot.rate_exc, shot.jump_exc, shot.rate_inh, shot.jump_inh)
    return _population_rates(network, mean_input(network, rates), input_std(network, rates))


def _model_rate(neuron, mu, sigma, correction):
    """Diffusion-approximation rate (Hz) of one neuron model: the LIF's closed form (with the
    synapse model's colored-noise correction), the Fokker-Planck engine for EIF and QIF."""
    if isinstance(neuron, LIF):
        return _lif_rate(neuron, mu, sigma, correction)
    return _engine_rate(neuron, mu, sigma, _DEFAULT_STEPS)


def _population_rates(network, mu, sigma):
    """Rates (Hz) of every population at input (mu, sigma), shape (P,): one model for all
    populations at once, or one model per population."""
    correction = SYNAPSE_MODELS[network.synapses]
    if isinstance(network.neuron, tuple):
        return jnp.stack([_model_rate(m, mu[a], sigma[a], correction) for a, m in enumerate(network.neuron)])
    return _model_rate(network.neuron, mu, sigma, correction)


def solve_rates(
    network: Network,
    init=None,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    max_steps: int = 300,
    on_failure: str = "raise",
) -> RateSolution:
    """Self-consistent stationary rates ``nu = phi(mu(nu), sigma(nu))`` of ``network``.

    Pseudo-transient continuation (relaxation that turns into Newton's method, see
    :func:`mfjax.solvers.solve_fixed_point`) from ``init`` (default 0 Hz in every population, as
    NNMT).  It follows the rate dynamics ``d nu/ds = phi(nu) - nu`` and so converges to the stable
    working point that NNMT's ODE integration finds; where several stable states coexist, pass
    another ``init`` to reach the others.  Convergence is relative, ``|phi(nu) - nu| <= rtol nu``
    (``rtol`` 1e-12 in float64, 1e-5 in float32; ``atol`` defaults to 0), so even rates of
    1e-250 Hz in quiescent populations are resolved to full relative precision.  Gradients with respect to every array of
    ``network`` (J, K, nu_ext, neuron fields, ...) come from the implicit function theorem.

    Invalid parameters (NaN or inf anywhere, negative K, nu_ext or time constants,
    v_reset >= v_th, ...) raise ``ValueError`` naming the field when they are concrete; when
    they are traced (a user's ``jit`` or ``vmap``) the point is returned with
    ``converged=False``, never as converged.

    Works under ``jit``, ``vmap`` and ``grad``.  Outside a trace, a non-converged result raises
    :class:`ConvergenceError` when ``on_failure="raise"`` (default); with ``"return"`` the
    record is returned and ``converged`` must be checked (inside ``jit`` it always is returned).

    Example:
        >>> sol = solve_rates(brunel_a(g=5.0, eta=2.0))
        >>> sol.rates  # [37.9497, 37.9497] Hz
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be an mfjax Network, got {type(network).__name__}")
    if isinstance(network.synapses, Conductance) and not network.is_lif:
        raise ValueError("the conductance-based mean field (coba_rate) is for LIF neurons; simulate "
                         "EIF/QIF networks with conductance synapses with mfjax.spiking.simulate")
    if on_failure not in ("raise", "return"):
        raise ValueError(f"on_failure must be 'raise' or 'return', got {on_failure!r}")
    p = network.num_populations
    dtype = network.K.dtype
    if atol is None:
        atol = 0.0
    max_steps = as_int("max_steps", max_steps, minimum=1)
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if tol is not None:
            as_checked_array(name, tol, nonnegative=True)
    # parameters: concrete ones were checked when the network was built; traced ones (inside a
    # user's jit or vmap) are folded into ``converged``
    conds = Conditions()
    Network.conditions(network, conds.traced_only())
    if init is None:
        init = jnp.zeros((p,), dtype)
    else:
        as_checked_array("init", init, nonnegative=True, shape=(p,) if is_concrete(init) else None)
        if jnp.shape(init) not in ((), (p,)):
            raise ValueError(f"init must have shape ({p},), got {jnp.shape(init)}")
        conds.require("init", init, nonnegative=True)
        init = jnp.broadcast_to(jnp.asarray(init, dtype), (p,))
    result = _solve_rates(network, init, rtol, atol, max_steps, conds.valid())
    if on_failure == "raise" and is_concrete(result.converged):
        if not np.all(np.asarray(result.converged)):
            raise ConvergenceError(
                f"solve_rates did not converge: residual {np.asarray(result.residual)} Hz after "
                f"{np.asarray(result.num_steps)} steps (rates {np.asarray(result.rates)}); try another "
                "init, a larger max_steps, or on_failure='return' to inspect the record"
            )
    return result


@partial(jax.jit, static_argnames=("rtol", "atol", "max_steps"))
def _solve_rates(network, init, rtol, atol, max_steps, valid) -> RateSolution:
    sol = solve_fixed_point(
        _transfer_params, init, network, rtol=rtol, atol=atol, max_steps=max_steps, nonnegative=True
    )
    rates = sol.value
    if isinstance(network.synapses, Conductance):
        eff = _conductance_input(network, rates)
        mu, sigma = eff.mu, eff.sigma
    else:
        mu, sigma = mean_input(network, rates), input_std(network, rates)
    # a point counts as converged only with valid parameters and a finite working point
    finite = jnp.all(jnp.isfinite(rates)) & jnp.all(jnp.isfinite(mu)) & jnp.all(jnp.isfinite(sigma))
    return RateSolution(
        rates=rates,
        mu=mu,
        sigma=sigma,
        converged=sol.converged & valid & finite & jnp.isfinite(sol.residual),
        residual=sol.residual,
        num_steps=sol.num_steps,
    )
