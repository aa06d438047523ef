"""Markov-chain Monte Carlo ground truth for Ising models.

* :func:`monte_carlo_lattice`: the L x L periodic square lattice (``H = -J sum_<ij> s_i s_j -
  h sum_i s_i``, each bond once), checkerboard updates (all sites of one colour at once, which
  is exact because same-colour sites do not interact; the colours are stored as two L x L/2
  arrays), Metropolis or Glauber (heat-bath)
  acceptance, vmapped over temperatures and independent chains; statistics accumulated online
  (no stored trajectory): <|m|>, <m^2>, <m^4>, <e>, <e^2> per site, the Binder cumulant.
* :func:`monte_carlo`: dense couplings (``H = -1/2 s.J.s - h.s``), sequential Glauber sweeps,
  vmapped over chains; returns m and the connected correlations C.

Temperatures and energies in units of the coupling (k_B = 1).
"""

from __future__ import annotations

from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_checked_array, as_int
from ._models import check_model

__all__ = ["LatticeSamples", "monte_carlo_lattice", "binder_crossing", "DenseSamples", "monte_carlo"]

ALGORITHMS = ("metropolis", "glauber")


class LatticeSamples(eqx.Module):
    """Equilibrium averages of :func:`monte_carlo_lattice`, shape (n_T,) each (chains pooled),
    plus per-chain <|m|> for error bars.

    Attributes:
        T: temperatures.
        abs_m, m2, m4: <|m|>, <m^2>, <m^4> of the magnetisation per site m = sum s / L^2.
        energy, energy2: <e>, <e^2> of the energy per site.
        binder: U_4 = 1 - <m^4> / (3 <m^2>^2) (Binder 1981).
        abs_m_chains: <|m|> per chain, shape (n_T, n_chains).
        susceptibility: L^2 (<m^2> - <|m|>^2) / T;  specific_heat: L^2 (<e^2> - <e>^2) / T^2.
    """

    T: jax.Array
    abs_m: jax.Array
    m2: jax.Array
    m4: jax.Array
    energy: jax.Array
    energy2: jax.Array
    binder: jax.Array
    abs_m_chains: jax.Array
    susceptibility: jax.Array
    specific_heat: jax.Array


def _neighbour_sum(other, parity):
    """Sum of the 4 neighbours of every site of one checkerboard colour, from the other colour.

    Colour c is stored as ``X_c[i, k] = s[i, 2k + (i + c) % 2]`` (shape (L, L/2)).  A site's
    vertical neighbours are ``X_{1-c}[i +- 1, k]``, its horizontal ones ``X_{1-c}[i, k]`` and
    ``X_{1-c}[i, k + 1]`` (rows with ``(i + c)`` odd) or ``X_{1-c}[i, k - 1]`` (even);
    ``parity[i] = (i + c) % 2`` as a column."""
    side = jnp.where(parity == 1, jnp.roll(other, -1, axis=1), jnp.roll(other, 1, axis=1))
    return jnp.roll(other, 1, axis=0) + jnp.roll(other, -1, axis=0) + other + side


def _update_colour(x, other, parity, u, beta, J, h, algorithm):
    local = J * _neighbour_sum(other, parity) + h
    if algorithm == "metropolis":
        return jnp.where(u < jnp.exp(-2.0 * beta * x * local), -x, x)
    # heat bath: s = +1 with probability (1 + tanh(beta local)) / 2
    return jnp.where(u < 0.5 * (1.0 + jnp.tanh(beta * local)), 1.0, -1.0).astype(x.dtype)


@partial(jax.jit, static_argnames=("L", "n_sweeps", "n_burn", "algorithm"))
def _lattice_chain(key, T, J, h, L, n_sweeps, n_burn, algorithm):
    """One chain; the lattice is held as its two checkerboard colours (L, L/2) so that a
    half-sweep touches (and draws random numbers for) only the sites it updates."""
    dtype = T.dtype
    beta = 1.0 / T
    rows = np.arange(L)[:, None]
    parity = (jnp.asarray(rows % 2), jnp.asarray((rows + 1) % 2))  # colour 0, colour 1
    k0, key = jax.random.split(key)
    spins = jnp.where(jax.random.bernoulli(k0, 0.5, (2, L, L // 2)), 1.0, -1.0).astype(dtype)

    def sweep(x, k):
        u = jax.random.uniform(k, (2, L, L // 2), dtype)
        a = _update_colour(x[0], x[1], parity[0], u[0], beta, J, h, algorithm)
        b = _update_colour(x[1], a, parity[1], u[1], beta, J, h, algorithm)
        return jnp.stack([a, b])

    kb, km = jax.random.split(key)
    spins, _ = jax.lax.scan(lambda x, k: (sweep(x, k), None), spins, jax.random.split(kb, n_burn))

    def measure(carry, k):
        x, acc = carry
        x = sweep(x, k)
        m = jnp.mean(x)
        bonds = jnp.sum(x[0] * _neighbour_sum(x[1], parity[0]))  # every bond joins the colours once
        e = -(J * bonds + h * jnp.sum(x)) / (L * L)
        m2 = m * m
        return (x, acc + jnp.stack([jnp.abs(m), m2, m2 * m2, e, e * e])), None

    (_, acc), _ = jax.lax.scan(measure, (spins, jnp.zeros(5, dtype)), jax.random.split(km, n_sweeps))
    return acc / n_sweeps


def monte_carlo_lattice(
    L: int,
    T,
    *,
    key,
    n_sweeps: int = 10_000,
    n_burn: int = 2_000,
    n_chains: int = 1,
    J: float = 1.0,
    h: float = 0.0,
    algorithm: str = "metropolis",
    dtype=None,
) -> LatticeSamples:
    """Checkerboard Monte Carlo of the L x L periodic square lattice at temperatures ``T``.

    Args:
        L: linear size (even, so that the checkerboard is consistent with periodicity).
        T: temperatures, 1-d (units of J).  All temperatures and ``n_chains`` independent
            chains per temperature run in one vmapped program (random initial states).
        key: ``jax.random`` key.
        n_sweeps, n_burn: measured and discarded sweeps (one sweep = L^2 update attempts).
        algorithm: ``"metropolis"`` or ``"glauber"`` (heat bath).
        dtype: spin/accumulator dtype (default: JAX's default float; float32 is faster).

    Returns:
        :class:`LatticeSamples`.
    """
    L = as_int("L", L, minimum=2)
    if L % 2:
        raise ValueError(f"L must be an even integer >= 2 (checkerboard updates), got {L!r}")
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    n_sweeps = as_int("n_sweeps", n_sweeps, minimum=1)
    n_chains = as_int("n_chains", n_chains, minimum=1)
    n_burn = as_int("n_burn", n_burn, minimum=0)
    as_checked_array("T", T, positive=True)
    as_checked_array("J", J)
    as_checked_array("h", h)
    dtype = dtype or jnp.result_type(float)
    T = jnp.atleast_1d(jnp.asarray(T, dtype))
    if T.ndim != 1:
        raise ValueError(f"T must be a scalar or 1-d, got shape {T.shape}")
    keys = jax.random.split(key, (T.shape[0], n_chains))
    run = jax.vmap(
        jax.vmap(
            lambda k, t: _lattice_chain(k, t, jnp.asarray(J, dtype), jnp.asarray(h, dtype), L, n_sweeps, n_burn, algorithm),
            in_axes=(0, None),
        ),
        in_axes=(0, 0),
    )
    acc = run(keys, T)  # (n_T, n_chains, 5)
    mean = jnp.mean(acc, axis=1)
    abs_m, m2, m4, e, e2 = (mean[:, i] for i in range(5))
    n_sites = L * L
    return LatticeSamples(
        T=T,
        abs_m=abs_m,
        m2=m2,
        m4=m4,
        energy=e,
        energy2=e2,
        binder=1.0 - m4 / (3.0 * m2 * m2),
        abs_m_chains=acc[:, :, 0],
        susceptibility=n_sites * (m2 - abs_m**2) / T,
        specific_heat=n_sites * (e2 - e * e) / T**2,
    )


def binder_crossing(T, binder_small, binder_large) -> float:
    """Temperature where the Binder cumulants of two lattice sizes cross (linear interpolation
    of their difference between the bracketing grid points); the finite-size estimate of T_c
    (Binder 1981).  Raises if the curves do not cross on the grid."""
    T = np.asarray(T, float)
    d = np.asarray(binder_large, float) - np.asarray(binder_small, float)
    sign_change = np.nonzero(np.sign(d[:-1]) != np.sign(d[1:]))[0]
    if sign_change.size == 0:
        raise ValueError("the Binder cumulants do not cross on this temperature grid")
    i = sign_change[0]
    return float(T[i] - d[i] * (T[i + 1] - T[i]) / (d[i + 1] - d[i]))


class DenseSamples(eqx.Module):
    """Averages of :func:`monte_carlo` (chains pooled): ``m`` (N,), connected ``C`` (N, N),
    and ``m_chains`` (n_chains, N) for error estimates."""

    m: jax.Array
    C: jax.Array
    m_chains: jax.Array


@partial(jax.jit, static_argnames=("n_sweeps", "n_burn"))
def _dense_chain(key, J, h, beta, n_sweeps, n_burn):
    n = h.shape[0]
    k0, key = jax.random.split(key)
    s = jnp.where(jax.random.bernoulli(k0, 0.5, (n,)), 1.0, -1.0).astype(J.dtype)

    def sweep(carry, u):
        s, field = carry  # field = h + J s

        def site(c, i):
            s, field = c
            new = jnp.where(u[i] < 0.5 * (1.0 + jnp.tanh(beta * field[i])), 1.0, -1.0).astype(s.dtype)
            field = field + J[:, i] * (new - s[i])
            return (s.at[i].set(new), field), None

        (s, field), _ = jax.lax.scan(site, (s, field), jnp.arange(n))
        return (s, field), s

    kb, km = jax.random.split(key)
    carry = (s, h + J @ s)
    carry, _ = jax.lax.scan(sweep, carry, jax.random.uniform(kb, (n_burn, n), J.dtype))

    def measure(c, u):
        (s, field), acc = c
        (s, field), _ = sweep((s, field), u)
        m_acc, ss_acc = acc
        return ((s, field), (m_acc + s, ss_acc + jnp.outer(s, s))), None

    init = (carry, (jnp.zeros(n, J.dtype), jnp.zeros((n, n), J.dtype)))
    (_, (m_acc, ss_acc)), _ = jax.lax.scan(measure, init, jax.random.uniform(km, (n_sweeps, n), J.dtype))
    return m_acc / n_sweeps, ss_acc / n_sweeps


def monte_carlo(J, h=0.0, beta=1.0, *, key, n_sweeps: int = 10_000, n_burn: int = 1_000, n_chains: int = 4):
    """Glauber (heat-bath) Monte Carlo of ``H = -1/2 s.J.s - h.s`` with dense couplings:
    sequential sweeps (each spin in turn set to +1 with probability
    ``(1 + tanh(beta (h_i + sum_j J_ij s_j)))/2``), ``n_chains`` independent chains vmapped.

    Returns:
        :class:`DenseSamples` with ``m`` and the connected correlations ``C``.
    """
    J, h, beta = check_model(J, h, beta)
    n_sweeps = as_int("n_sweeps", n_sweeps, minimum=1)
    n_chains = as_int("n_chains", n_chains, minimum=1)
    n_burn = as_int("n_burn", n_burn, minimum=0)
    keys = jax.random.split(key, n_chains)
    m_c, ss_c = jax.vmap(lambda k: _dense_chain(k, J, h, beta, n_sweeps, n_burn))(keys)
    m = jnp.mean(m_c, axis=0)
    C = jnp.mean(ss_c, axis=0) - jnp.outer(m, m)
    return DenseSamples(m=m, C=C, m_chains=m_c)
