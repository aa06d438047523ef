"""Binary (0/1) neural networks with threshold units and asynchronous Glauber dynamics, and their
population mean-field theory (van Vreeswijk & Sompolinsky 1998, Science 274:1724; Helias,
Tetzlaff & Diesmann 2014, PLoS Comput. Biol. 10:e1003428, eq. 3-5).

Unit i of population a, updated at rate 1/tau (asynchronously, one random unit at a time)::

    n_i <- H(sum_j J_ij n_j + h_a - theta_a),       H = Heaviside step,

with K_ab presynaptic partners in population b drawn at random (fixed in-degree), weight J_ab.
Mean field (inputs Gaussian, uncorrelated)::

    m_a = 1/2 erfc((theta_a - mu_a) / (sqrt 2 sigma_a)),
    mu_a = sum_b K_ab J_ab m_b + h_a,   sigma_a^2 = sum_b K_ab J_ab^2 m_b (1 - m_b).

Time in units of the update time constant tau; activities m in [0, 1] (fraction of active units).
"""

from __future__ import annotations

from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erfc

from .._checks import as_checked_array
from ..solvers import solve_fixed_point

__all__ = ["BinaryActivity", "binary_rates", "simulate_binary"]


def _check_populations(K, J, h, theta):
    Ka = np.asarray(as_checked_array("K", K, nonnegative=True), float)
    if Ka.ndim != 2 or Ka.shape[0] != Ka.shape[1]:
        raise ValueError(f"K must be a square (P, P) matrix, got shape {Ka.shape}")
    p = Ka.shape[0]
    as_checked_array("J", J, shape=(p, p))
    for name, v in (("h", h), ("theta", theta)):
        a = np.asarray(as_checked_array(name, v), float)
        if a.ndim > 1 or (a.ndim == 1 and a.shape[0] != p):
            raise ValueError(f"{name} must be a scalar or have shape ({p},), got {a.shape}")
    f = jnp.result_type(float)
    return (
        jnp.asarray(K, f),
        jnp.asarray(J, f),
        jnp.broadcast_to(jnp.asarray(h, f), (p,)),
        jnp.broadcast_to(jnp.asarray(theta, f), (p,)),
    )


class BinaryActivity(eqx.Module):
    """Population activities of a binary network.

    Attributes:
        m: mean activity per population (fraction of active units), shape (P,).
        mu, sigma: mean and std of the input per population (mean field), shape (P,).
        converged, residual, num_steps: solver status (mean field; True/0/0 for simulations).
    """

    m: jax.Array
    mu: jax.Array
    sigma: jax.Array
    converged: jax.Array
    residual: jax.Array
    num_steps: jax.Array


def _moments(m, K, J, h):
    mu = (K * J) @ m + h
    var = (K * J * J) @ (m * (1.0 - m))
    return mu, jnp.sqrt(jnp.maximum(var, 1e-300))


def _gain(m, p):
    K, J, h, theta = p
    mu, sigma = _moments(m, K, J, h)
    return 0.5 * erfc((theta - mu) / (jnp.sqrt(2.0) * sigma))


@jax.jit
def _binary_rates(K, J, h, theta, m0):
    sol = solve_fixed_point(_gain, m0, (K, J, h, theta), nonnegative=True)
    mu, sigma = _moments(sol.value, K, J, h)
    return BinaryActivity(sol.value, mu, sigma, sol.converged, sol.residual, sol.num_steps)


def binary_rates(K, J, h, theta, *, init=None) -> BinaryActivity:
    """Mean-field population activities of a binary threshold network (module docstring).

    Args:
        K: in-degrees, shape (P, P) (target x source).
        J: weights, shape (P, P).
        h: external input per population; theta: thresholds.
        init: starting activities (default 0.1 each).

    Returns:
        :class:`BinaryActivity`; differentiable (implicit function theorem).
    """
    K, J, h, theta = _check_populations(K, J, h, theta)
    m0 = jnp.full(K.shape[0], 0.1, K.dtype) if init is None else jnp.asarray(init, K.dtype)
    return _binary_rates(K, J, h, theta, m0)


def _connectivity(key, N, K):
    """Presynaptic indices (fixed in-degree, drawn with replacement, no autapses) and their
    source population, padded to the total in-degree of each target population."""
    offsets = np.concatenate([[0], np.cumsum(N)])
    pop_of = np.repeat(np.arange(len(N)), N)
    k_tot = K.sum(axis=1)
    width = int(k_tot.max())
    pre = np.zeros((offsets[-1], width), np.int32)
    src = np.zeros((offsets[-1], width), np.int32)
    valid = np.zeros((offsets[-1], width), bool)
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel()[-1].item())
    for a in range(len(N)):
        cols = []
        for b in range(len(N)):
            k = int(K[a, b])
            draw = rng.integers(offsets[b], offsets[b + 1], size=(N[a], k))
            cols.append((draw, np.full((N[a], k), b)))
        ids = np.concatenate([c[0] for c in cols], axis=1)
        sp = np.concatenate([c[1] for c in cols], axis=1)
        rows = slice(offsets[a], offsets[a + 1])
        pre[rows, : ids.shape[1]] = ids
        src[rows, : ids.shape[1]] = sp
        valid[rows, : ids.shape[1]] = True
        # no autapses: redirect a self-connection to the next unit of the same source population
        self_hit = ids == np.arange(offsets[a], offsets[a + 1])[:, None]
        if np.any(self_hit):
            b_of = sp[self_hit]
            nxt = ids[self_hit] + 1
            nxt = np.where(nxt >= offsets[b_of + 1], offsets[b_of], nxt)
            pre[rows, : ids.shape[1]][self_hit] = nxt
    return pre, src, valid, pop_of


@partial(jax.jit, static_argnames=("n_pops", "n_updates", "n_burn"))
def _run_binary(key, pre, weight, drive, n0, pop_of, n_pops, n_updates, n_burn):
    """Asynchronous updates of randomly chosen units; the active count per population is kept
    incrementally, so a micro-step costs O(in-degree), not O(N).  The state is int8: XLA CPU
    copies the state vector once per step (gather and in-place update of the same buffer), and
    int8 makes that copy 8x cheaper than float64."""
    n_units = pre.shape[0]
    dtype = weight.dtype
    sizes = jax.ops.segment_sum(jnp.ones(n_units, dtype), pop_of, n_pops)

    def update(carry, i):
        n, active = carry
        new = (jnp.dot(weight[i], n[pre[i]].astype(dtype)) + drive[i] > 0).astype(n.dtype)
        active = active.at[pop_of[i]].add((new - n[i]).astype(dtype))
        return n.at[i].set(new), active

    kb, km = jax.random.split(key)
    carry = (n0, jax.ops.segment_sum(n0.astype(dtype), pop_of, n_pops))
    carry, _ = jax.lax.scan(lambda c, i: (update(c, i), None), carry,
                            jax.random.randint(kb, (n_burn,), 0, n_units))

    def measure(carry, i):
        state, acc = carry
        state = update(state, i)
        return (state, acc + state[1]), None

    init = (carry, jnp.zeros(n_pops, dtype))
    (_, acc), _ = jax.lax.scan(measure, init, jax.random.randint(km, (n_updates,), 0, n_units), unroll=4)
    return acc / n_updates / sizes


def simulate_binary(K, J, h, theta, N, *, key, duration: float = 50.0, burn_in: float = 10.0) -> BinaryActivity:
    """Simulate the binary network with asynchronous Glauber updates (one random unit per
    micro-step; ``N_total`` micro-steps = one time constant tau) and fixed in-degree random
    connectivity.

    Args:
        K, J, h, theta: as :func:`binary_rates`; N: units per population (ints).
        key: ``jax.random`` key (connectivity, initial state and update order).
        duration, burn_in: measured and discarded time in units of tau.

    Returns:
        :class:`BinaryActivity` with the time- and population-averaged activities ``m`` (mu and
        sigma are the mean-field moments evaluated at the measured m).
    """
    K, J, h, theta = _check_populations(K, J, h, theta)
    N = np.asarray(N)
    if N.shape != (K.shape[0],) or not np.all(N >= 1) or not np.issubdtype(N.dtype, np.integer):
        raise ValueError(f"N must be {K.shape[0]} positive integers, got {N!r}")
    if duration <= 0 or burn_in < 0:
        raise ValueError(f"duration must be > 0 and burn_in >= 0, got {duration}, {burn_in}")
    Kn = np.asarray(K)
    if not np.all(Kn == np.round(Kn)):
        raise ValueError("K must hold integer in-degrees for a simulation")
    kc, kr, k0 = jax.random.split(key, 3)
    pre, src, valid, pop_of = _connectivity(kc, N, Kn.astype(int))
    Jn = np.asarray(J)
    weight = np.where(valid, Jn[pop_of[:, None], src], 0.0)
    drive = np.asarray(h - theta)[pop_of]
    n_total = int(N.sum())
    n0 = jax.random.bernoulli(k0, 0.5, (n_total,)).astype(jnp.int8)
    m = _run_binary(
        kr, jnp.asarray(pre), jnp.asarray(weight, K.dtype), jnp.asarray(drive, K.dtype), n0,
        jnp.asarray(pop_of), len(N), int(duration * n_total), int(burn_in * n_total),
    )
    mu, sigma = _moments(m, K, J, h)
    return BinaryActivity(m, mu, sigma, jnp.asarray(True), jnp.asarray(0.0, K.dtype), jnp.asarray(0))
