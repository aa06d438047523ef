"""The balanced state of excitatory-inhibitory networks (van Vreeswijk & Sompolinsky 1996,
Science 274:1724; 1998, Neural Comput. 10:1321).

Every neuron of population a receives ``K_ab = c_ab K`` inputs from population b of strength
``J_ab = j_ab / sqrt(K)`` and ``K_a0 = c_a0 K`` external inputs of strength ``j_a0 / sqrt(K)`` at
rate ``nu_0``.  The mean input is then of order sqrt(K) and its fluctuations of order 1:

    mu_a      = sqrt(K) tau_m [ sum_b W_ab nu_b + I_a ],   W_ab = c_ab j_ab,  I_a = c_a0 j_a0 nu_0,
    sigma_a^2 = tau_m [ sum_b c_ab j_ab^2 nu_b + c_a0 j_a0^2 nu_0 ]                (LIF, diffusion)

(tau_m in s for rates in Hz).  A finite rate needs a finite mu, so as K -> infinity the rates
approach the solution of the *linear* balance equations

    sum_b W_ab nu_b + I_a = 0,        nu_inf = -W^{-1} I,                              (1)

whatever the neuron model; the balanced state exists when every nu_inf,a > 0 (for two
populations with W = [[w_EE, -w_EI], [w_IE, -w_II]]: I_E / I_I > w_EI / w_II > w_EE / w_IE or the
reverse inequalities, van Vreeswijk & Sompolinsky 1998 eq. 4.9-4.10).  The first correction
follows from (1) with the O(1) mean input ``m_a`` that gives the rate nu_inf,a at the limit's
sigma_a, ``phi_a(m_a, sigma_a) = nu_inf,a``:

    nu(K) = nu_inf + W^{-1} m / (tau_m sqrt(K)) + O(1/K).                              (2)

The same holds for binary units (activities m in [0, 1] instead of rates, thresholds theta,
``tau_m`` replaced by 1 and ``sigma_a^2 = sum_b c_ab j_ab^2 m_b (1 - m_b)`` as in
:mod:`mfjax.ising._binary`; the O(1) input is ``theta_a - sqrt(2) sigma_a erfcinv(2 m_a)``).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erfinv

from .._checks import as_checked_array
from ..neurons import LIF
from ..neurons._lif import _lif_rate
from ..populations import Network
from ..populations._network import SYNAPSE_MODELS
from ..solvers import solve_root

__all__ = ["BalancedNetwork", "BalancedLimit", "BinaryParameters", "balanced_limit", "binary_balanced_limit"]


class BinaryParameters(NamedTuple):
    """Arguments ``(K, J, h, theta)`` of :func:`mfjax.ising.binary_rates` and
    :func:`mfjax.ising.simulate_binary`."""

    K: jax.Array
    J: jax.Array
    h: jax.Array
    theta: jax.Array


class BalancedNetwork(eqx.Module):
    """Couplings of a P-population network in the balanced scaling J = j / sqrt(K).

    Attributes:
        j: O(1) couplings ``j_ab`` (mV for LIF networks; signed: negative from inhibitory
            populations), shape (P, P), rows targets.
        j_ext: O(1) external couplings ``j_a0``, shape (P,).
        nu_ext: external rate nu_0 (Hz; for binary units the external activity m_0 in [0, 1]).
        fractions: ``c_ab = K_ab / K``, shape (P, P) (default all 1).
        ext_fractions: ``c_a0 = K_a0 / K``, shape (P,) (default all 1).
    """

    j: jax.Array
    j_ext: jax.Array
    nu_ext: jax.Array
    fractions: jax.Array
    ext_fractions: jax.Array

    def __init__(self, j, j_ext, nu_ext, *, fractions=None, ext_fractions=None):
        j = _as_float("j", j)
        if j.ndim != 2 or j.shape[0] != j.shape[1]:
            raise ValueError(f"j must be a square (P, P) matrix, got shape {j.shape}")
        p = j.shape[0]
        self.j = j
        self.j_ext = _as_float("j_ext", j_ext, shape=(p,))
        self.nu_ext = _as_float("nu_ext", nu_ext, nonnegative=True, shape=())
        self.fractions = _as_float("fractions", np.ones((p, p)) if fractions is None else fractions,
                                   nonnegative=True, shape=(p, p))
        self.ext_fractions = _as_float("ext_fractions", np.ones(p) if ext_fractions is None else ext_fractions,
                                       nonnegative=True, shape=(p,))

    @property
    def balance_matrix(self) -> jax.Array:
        """``W_ab = c_ab j_ab`` of the balance equations (1)."""
        return self.fractions * self.j

    @property
    def balance_input(self) -> jax.Array:
        """``I_a = c_a0 j_a0 nu_0``."""
        return self.ext_fractions * self.j_ext * self.nu_ext

    def parameters_valid(self) -> jax.Array:
        """The constructor's conditions as a traced bool (all finite, ``nu_ext`` and the
        fractions >= 0): what :func:`balanced_limit` folds into ``valid`` under ``jit``."""
        leaves = (self.j, self.j_ext, self.nu_ext, self.fractions, self.ext_fractions)
        finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))
        return finite & (self.nu_ext >= 0) & jnp.all(self.fractions >= 0) & jnp.all(self.ext_fractions >= 0)

    def limit_rates(self) -> jax.Array:
        """Solution ``-W^{-1} I`` of the linear balance equations (1) (Hz or activities);
        the balanced state exists only where all of them are positive (see
        :func:`balanced_limit`, which checks)."""
        return -jnp.linalg.solve(self.balance_matrix, self.balance_input)

    def network(self, K, neuron: LIF | None = None, **network_kwargs) -> Network:
        """The LIF :class:`mfjax.populations.Network` with in-degrees ``c K`` and PSPs
        ``j / sqrt(K)`` (default neuron ``LIF(tau_m=20, tau_ref=2, v_th=20, v_reset=10)``;
        other keywords, e.g. ``delay`` or ``synapses``, go to ``Network``)."""
        K = _check_scale(K)
        scale = jnp.sqrt(K)
        return Network(
            LIF(20.0, 2.0, 20.0, 10.0) if neuron is None else neuron,
            self.fractions * K,
            self.j / scale,
            K_ext=self.ext_fractions * K,
            J_ext=self.j_ext / scale,
            nu_ext=jnp.broadcast_to(self.nu_ext, self.j_ext.shape),
            **network_kwargs,
        )

    def binary(self, K, theta) -> BinaryParameters:
        """Binary threshold units in the same scaling: in-degrees ``c K``, weights ``j/sqrt(K)``,
        external input ``h_a = sqrt(K) c_a0 j_a0 m_0``, thresholds ``theta`` (shape (P,))."""
        K = _check_scale(K)
        theta = jnp.broadcast_to(_as_float("theta", theta), self.j_ext.shape)
        scale = jnp.sqrt(K)
        return BinaryParameters(self.fractions * K, self.j / scale, scale * self.balance_input, theta)


def _as_float(name, x, **rules):
    """``x`` checked (concrete values; see :func:`as_checked_array`) as a float array."""
    return jnp.asarray(as_checked_array(name, x, **rules), float)


def _check_scale(K):
    return _as_float("K", K, positive=True, shape=())


class BalancedLimit(eqx.Module):
    """The K -> infinity limit of a balanced network and its first correction.

    Attributes:
        rates: nu_inf of eq. (1) (Hz; activities for binary units), shape (P,).
        mu: O(1) mean input ``m_a`` giving nu_inf at the limit's sigma (mV; input units), (P,).
        sigma: input std at the limit (mV), shape (P,).
        correction: ``c`` of eq. (2): ``nu(K) = rates + c / sqrt(K) + O(1/K)``, shape (P,).
        valid: the balanced state exists (all rates positive, below saturation) and ``mu``
            was found; where False every field is NaN.
    """

    rates: jax.Array
    mu: jax.Array
    sigma: jax.Array
    correction: jax.Array
    valid: jax.Array


def _masked_limit(spec, rates, mu, sigma, valid, time_scale):
    correction = jnp.linalg.solve(spec.balance_matrix, mu) / time_scale
    nan = jnp.nan
    return BalancedLimit(*(jnp.where(valid, x, nan) for x in (rates, mu, sigma, correction)), valid=valid)


def balanced_limit(spec: BalancedNetwork, neuron: LIF | None = None, synapses: str = "delta") -> BalancedLimit:
    """Balanced limit (1) of the LIF network ``spec.network(K, neuron)`` and its 1/sqrt(K)
    correction (2).

    ``m_a`` solves ``log phi(m_a, sigma_a) = log nu_inf,a`` with the LIF transfer function of the
    synapse model (Newton from v_th; :func:`mfjax.solvers.solve_root`).  Differentiable in every
    field of ``spec`` and ``neuron``.  Raises ``ValueError`` for a concrete ``spec`` with no
    balanced state (a rate <= 0 or >= 1/tau_ref); traced, the result has ``valid=False``.
    """
    neuron = LIF(20.0, 2.0, 20.0, 10.0) if neuron is None else neuron
    if not isinstance(neuron, LIF):
        raise TypeError(f"neuron must be an mfjax LIF, got {type(neuron).__name__}")
    if synapses not in SYNAPSE_MODELS:
        raise ValueError(f"synapses must be one of {tuple(SYNAPSE_MODELS)}, got {synapses!r}")
    out = _lif_limit(spec, neuron, SYNAPSE_MODELS[synapses])
    _raise_if_invalid(out, spec, "rates in (0, 1/tau_ref)")
    return out


def _raise_if_invalid(out, spec, where):
    if isinstance(out.valid, jax.core.Tracer) or bool(np.all(np.asarray(out.valid))):
        return
    raise ValueError(
        f"no balanced state: the balance equations give rates {np.asarray(spec.limit_rates())}, which must be "
        f"{where} (van Vreeswijk & Sompolinsky 1998, eq. 4.9-4.10)"
    )


@partial(jax.jit, static_argnames="correction")
def _lif_limit(spec, neuron, correction):
    rates = spec.limit_rates()
    tau = 1e-3 * neuron.tau_m
    var = tau * ((spec.fractions * spec.j**2) @ rates + spec.ext_fractions * spec.j_ext**2 * spec.nu_ext)
    tau_ref = 1e-3 * jnp.broadcast_to(neuron.tau_ref, rates.shape)
    valid = spec.parameters_valid() & jnp.all(rates > 0) & jnp.all(rates * tau_ref < 1) & jnp.all(var > 0)
    safe_rates = jnp.where(valid, rates, 1.0)
    sigma = jnp.sqrt(jnp.where(valid, var, 1.0))

    def mismatch(mu, params):  # every traced value through params (closures must be constant)
        nu, s, model = params
        return jnp.log(_lif_rate(model, mu, s, correction)) - jnp.log(nu)

    start = jnp.broadcast_to(neuron.v_th, rates.shape).astype(rates.dtype)
    sol = solve_root(mismatch, start, (safe_rates, sigma, neuron), max_steps=100)
    return _masked_limit(spec, rates, sol.value, sigma, valid & sol.converged, tau * jnp.ones_like(rates))


def binary_balanced_limit(spec: BalancedNetwork, theta) -> BalancedLimit:
    """Balanced limit (1) of the binary network ``spec.binary(K, theta)`` (activities in (0, 1))
    and its 1/sqrt(K) correction (2), with ``m_a = theta_a - sqrt(2) sigma_a erfcinv(2 m_a)``.
    Raises ``ValueError`` when a limit activity is outside (0, 1) (``valid=False`` when traced)."""
    theta = jnp.broadcast_to(_as_float("theta", theta), spec.j_ext.shape)
    out = _binary_limit(spec, theta)
    _raise_if_invalid(out, spec, "activities in (0, 1)")
    return out


@jax.jit
def _binary_limit(spec, theta):
    m = spec.limit_rates()
    valid = spec.parameters_valid() & jnp.all((m > 0) & (m < 1))
    safe = jnp.where(valid, m, 0.5)
    var = (spec.fractions * spec.j**2) @ (safe * (1.0 - safe))
    valid = valid & jnp.all(var > 0)
    sigma = jnp.sqrt(jnp.where(valid, var, 1.0))
    # 1/2 erfc(x) = m  <=>  x = erfcinv(2 m) = -erfinv(2 m - 1)
    mu = theta + jnp.sqrt(2.0) * sigma * erfinv(2.0 * safe - 1.0)
    return _masked_limit(spec, m, mu, sigma, valid, jnp.ones_like(m))


