"""Mean field of conductance-based (COBA) networks: the effective-time-constant reduction.

The membrane of a neuron with conductance synapses (:class:`Conductance`; ``V`` relative to rest,
conductances in units of the leak ``g_L = C_m / tau_m``)::

    tau_m dV/dt = -V + g_ex(t) (E_ex - V) + g_in(t) (E_in - V) + mu_dc,    mu_dc = tau_m I_ext / C_m

is reduced to a current-based LIF neuron (Richardson 2004, Phys. Rev. E 69:051918; Kuhn, Aertsen &
Rotter 2004, J. Neurosci. 24:2345; Brunel & Wang 2001):

* every conductance is filtered Poisson shot noise (jumps ``a = J / g_L`` decaying with
  ``tau_ex`` or ``tau_in``); by Campbell's theorem its mean and variance are
  ``g = tau_s sum K nu E[a]`` and ``var g = (tau_s / 2) sum K nu E[a^2]`` (rates in events/ms);
* the mean conductances set the effective time constant and the effective reversal potential
  ``tau_eff = tau_m / (1 + g_ex + g_in)``, ``mu = (mu_dc + g_ex E_ex + g_in E_in) / (1 + g_ex + g_in)``;
* the conductance fluctuations, with the driving force taken at ``mu``, are Ornstein-Uhlenbeck
  current noise of variance ``s_k^2 = var g_k (E_k - mu)^2 / (1 + g_ex + g_in)^2`` and correlation
  time ``tau_k``; through the membrane filter they give the free-membrane variance
  ``sigma_v^2 = sum_k s_k^2 tau_k / (tau_k + tau_eff)`` (exact for the linear membrane; the
  unified colored-noise (Fox) approximation, Jung & Hanggi 1987, as used for COBA neurons by
  Becker & Idiart 2023, arXiv:2305.15295), and the rate is the Siegert rate of the LIF neuron
  with ``tau_eff`` and white noise of the same free variance, ``sigma = sqrt(2) sigma_v``.

With random in-degrees (``connectivity`` ``"fixed_probability"``: binomial, variance
``K (1 - K/N_b)``; ``"fixed_total_number"``: ``K (1 - 1/N_a)``) the neurons of one population
differ in their input, and the population rate is the rate averaged over the in-degrees: the
recurrent excitatory and inhibitory inputs are each scaled by a normal factor of mean 1 and the
in-degrees' relative spread (8-point Gauss-Hermite rule per channel).  In the COBA benchmark
network (80 inputs per neuron) this average raises the predicted rate by 58 % (14.1 -> 22.4 Hz).

Measured against ``mfjax.spiking.simulate`` (``python benchmarks/coba_mean_field.py`` ->
``benchmarks/results/coba_mean_field.json``; 4000 neurons, 3 s, dt 0.1 ms):

* ``spiking.coba()`` (Brette et al. 2007 benchmark 1): 22.4 Hz against 19.5 Hz simulated (+15 %);
  over drives 11-40 mV at the benchmark's jumps +12 to +17 %;
* the inhibitory jump changed: 40 nS +77 to +84 %, 100 nS -16 to -28 % (the theory's rate is
  too sensitive to inhibition);
* 10x more, 10x weaker synapses (p = 0.2; 1-7 Hz, CV 0.6-0.8): +9 to +56 %.

The reduction assumes Gaussian input and a driving force fixed at the mean; the benchmark network
is in the high-conductance state (tau_eff = 0.6 ms, an eighth of tau_ex) with jumps of several mV,
where neither holds.  It is an approximation, not an exact theory.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import Conditions
from ..neurons._lif import _lif_rate
from ._network import Conductance, Network, _float_array

__all__ = ["ConductanceInput", "conductance_input", "coba_rate"]

#: Gauss-Hermite nodes and weights (probabilists', normalised) for the in-degree average
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(8)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


class ConductanceInput(eqx.Module):
    """Effective input of each population of a COBA network (see :func:`conductance_input`);
    arrays of shape (..., P).

    Attributes:
        g_ex, g_in: mean conductances (units of g_L).
        var_ex, var_in: their variances (units of g_L^2).
        tau_eff: effective membrane time constant ``tau_m / (1 + g_ex + g_in)`` (ms).
        mu: effective reversal potential, the mean free membrane potential (mV).
        sigma_v: standard deviation of the free membrane potential (mV).
        sigma: the white-noise amplitude of the equivalent current-based LIF, ``sqrt(2) sigma_v``
            (mV).
    """

    g_ex: jax.Array
    g_in: jax.Array
    var_ex: jax.Array
    var_in: jax.Array
    tau_eff: jax.Array
    mu: jax.Array
    sigma_v: jax.Array
    sigma: jax.Array


def _channel_rates(network, rates):
    """Per target population and channel (excitatory, inhibitory): the recurrent and the external
    ``sum K nu E[a^n]`` for n = 1, 2 (events/ms x g_L^n), and the recurrent in-degree spread."""
    n = network.neuron
    g_leak = jnp.broadcast_to(n.c_m / n.tau_m, network.J.shape[:1])[:, None]
    J, sd = network.J / g_leak, network.J_sd / g_leak
    flow = 1e-3 * network.K * rates[None, :]  # events/ms from each source
    ext_flow = 1e-3 * network.K_ext * network.nu_ext
    j_ext = network.J_ext / g_leak[:, 0]
    if network.connectivity == "fixed_probability":
        k_var = network.K * (1.0 - network.K / network.N[None, :])
    elif network.connectivity == "fixed_total_number":
        k_var = network.K * (1.0 - 1.0 / network.N[:, None])
    else:
        k_var = jnp.zeros_like(network.K)
    out = []
    for mask, ext_mask in ((J > 0, j_ext > 0), (J < 0, j_ext < 0)):
        a = jnp.where(mask, jnp.abs(J), 0.0)
        a2 = jnp.where(mask, J**2 + sd**2, 0.0)
        m1 = jnp.sum(flow * a, axis=-1)
        m2 = jnp.sum(flow * a2, axis=-1)
        # relative spread of sum_b K_ab nu_b a_ab over the in-degrees (independent K_ab)
        spread_var = jnp.sum(k_var * (1e-3 * rates[None, :] * a) ** 2, axis=-1)
        pos = m1 > 0
        cv = jnp.where(pos, jnp.sqrt(spread_var) / jnp.where(pos, m1, 1.0), 0.0)
        e1 = ext_flow * jnp.where(ext_mask, jnp.abs(j_ext), 0.0)
        e2 = ext_flow * jnp.where(ext_mask, j_ext**2, 0.0)
        out.append((m1, m2, e1, e2, cv))
    return out


def _effective(network, ex, inh):
    """:class:`ConductanceInput` from the excitatory and inhibitory ``(sum K nu E[a], sum K nu
    E[a^2])`` (events/ms)."""
    syn, n = network.synapses, network.neuron
    g_ex, g_in = syn.tau_ex * ex[0], syn.tau_in * inh[0]
    var_ex, var_in = 0.5 * syn.tau_ex * ex[1], 0.5 * syn.tau_in * inh[1]
    total = 1.0 + g_ex + g_in
    tau_eff = n.tau_m / total
    mu_dc = n.tau_m * network.I_ext / n.c_m
    mu = (mu_dc + g_ex * syn.e_ex + g_in * syn.e_in) / total
    s_ex = var_ex * ((syn.e_ex - mu) / total) ** 2
    s_in = var_in * ((syn.e_in - mu) / total) ** 2
    var_v = s_ex * syn.tau_ex / (syn.tau_ex + tau_eff) + s_in * syn.tau_in / (syn.tau_in + tau_eff)
    pos = var_v > 0
    sigma_v = jnp.where(pos, jnp.sqrt(jnp.where(pos, var_v, 1.0)), 0.0)
    return ConductanceInput(
        g_ex=g_ex, g_in=g_in, var_ex=var_ex, var_in=var_in, tau_eff=tau_eff, mu=mu,
        sigma_v=sigma_v, sigma=np.sqrt(2.0) * sigma_v,
    )


def _checked(network, rates):
    """Conditions of a COBA network and population rates (named errors for concrete values,
    runtime errors for traced ones)."""
    if not isinstance(network, Network) or not isinstance(network.synapses, Conductance):
        raise TypeError("needs an mfjax Network with Conductance synapses (network.synapses)")
    if not network.is_lif:
        raise ValueError("the conductance-based mean field is for LIF neurons (network.neuron)")
    rates = _float_array("rates", rates)
    p = network.num_populations
    if jnp.shape(rates) != (p,):
        raise ValueError(f"rates must have shape ({p},), got {jnp.shape(rates)}")
    conds = Conditions().require("rates", rates, nonnegative=True)
    Network.conditions(network, conds.traced_only())
    return conds, rates


def conductance_input(network, rates) -> ConductanceInput:
    """The effective input of every population of a COBA network at population rates ``rates``
    (Hz), for the mean in-degrees: mean and variance of the excitatory and inhibitory
    conductances (Campbell's theorem), the effective time constant and reversal potential, and
    the free-membrane fluctuations (module docstring: Richardson 2004; Kuhn et al. 2004).

    Args:
        network: :class:`Network` with :class:`Conductance` synapses (``J``, ``J_ext`` in nS).
        rates: population rates (Hz), shape (P,).

    Returns:
        :class:`ConductanceInput`, arrays of shape (P,).
    """
    conds, rates = _checked(network, rates)
    return conds.enforce(_conductance_input(network, rates))


def _conductance_input(network, rates):
    (m1e, m2e, e1e, e2e, _), (m1i, m2i, e1i, e2i, _) = _channel_rates(network, rates)
    return _effective(network, (m1e + e1e, m2e + e2e), (m1i + e1i, m2i + e2i))


def coba_rate(network, rates) -> jax.Array:
    """Output rates (Hz) of every population of a COBA network whose populations fire at
    ``rates`` (Hz): the Siegert rate of the effective LIF neuron (:func:`conductance_input`),
    averaged over the random in-degrees of the network's ``connectivity`` (module docstring).
    An approximation; its measured error is in the module docstring.  Shape (P,)."""
    conds, rates = _checked(network, rates)
    return conds.enforce(_coba_rate(network, rates))


def _coba_rate(network, rates):
    (m1e, m2e, e1e, e2e, cve), (m1i, m2i, e1i, e2i, cvi) = _channel_rates(network, rates)
    neuron = network.neuron

    def rate(zeta_ex, zeta_in):
        eff = _effective(
            network,
            (zeta_ex * m1e + e1e, zeta_ex * m2e + e2e),
            (zeta_in * m1i + e1i, zeta_in * m2i + e2i),
        )
        return _lif_rate(eqx.tree_at(lambda nrn: nrn.tau_m, neuron, eff.tau_eff), eff.mu, eff.sigma, "none")

    if network.connectivity == "fixed_indegree":
        return rate(1.0, 1.0)
    x_ex, x_in = (jnp.asarray(x, m1e.dtype).ravel() for x in np.meshgrid(_NODES, _NODES, indexing="ij"))
    weights = jnp.asarray(np.outer(_WEIGHTS, _WEIGHTS).ravel(), m1e.dtype)
    nu = jax.vmap(lambda a, b: rate(jnp.maximum(1.0 + cve * a, 0.0), jnp.maximum(1.0 + cvi * b, 0.0)))(x_ex, x_in)
    return weights @ nu
