"""Hebbian (Hopfield) networks of +-1 units: couplings, retrieval dynamics, overlaps.

Couplings (Hopfield 1982; Amit, Gutfreund & Sompolinsky 1985)::

    J_ij = (1/N) sum_mu xi_i^mu xi_j^mu,  J_ii = 0            (random +-1 patterns)
    J_ij = sum_mu (xi_i^mu - a)(xi_j^mu - a) / (N a (1 - a))  (0/1 patterns of coding level a;
                                                               Tsodyks & Feigel'man 1988)

Dynamics: zero temperature ``s_i <- sign(h_i)``, ``h = J s``, asynchronous (one unit at a time,
random order each sweep) or synchronous (all at once); temperature T: Glauber (heat bath),
``s_i = +1`` with probability ``(1 + tanh(h_i / T)) / 2``.  Overlaps ``m_mu = xi^mu . s / N``.
"""

from __future__ import annotations

from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_checked_array, as_int, as_key, is_concrete

__all__ = ["random_patterns", "hopfield_couplings", "Retrieval", "retrieve", "hopfield_retrieval"]


def random_patterns(key, P: int, N: int, *, coding_level: float | None = None, correlation: float = 0.0):
    """P random patterns of N units.

    ``coding_level=None``: +-1 patterns; with ``correlation = c`` each pattern agrees with a common
    parent pattern with probability (1 + c)/2 (correlated patterns).  ``coding_level=a``: 0/1
    patterns with P(1) = a (sparse patterns).  Shape (P, N), float.
    """
    P = as_int("P", P, minimum=1)
    N = as_int("N", N, minimum=1)
    k1, k2 = jax.random.split(as_key("key", key))
    if coding_level is not None:
        if not 0.0 < coding_level < 1.0:
            raise ValueError(f"coding_level must be in (0, 1), got {coding_level}")
        return jax.random.bernoulli(k1, coding_level, (P, N)).astype(float)
    if not -1.0 < correlation < 1.0:
        raise ValueError(f"correlation must be in (-1, 1), got {correlation}")
    parent = jnp.where(jax.random.bernoulli(k1, 0.5, (N,)), 1.0, -1.0)
    agree = jax.random.bernoulli(k2, 0.5 * (1.0 + correlation), (P, N))
    return jnp.where(agree, parent[None, :], -parent[None, :])


def hopfield_couplings(patterns, *, coding_level: float | None = None):
    """Hebbian couplings of ``patterns`` (shape (P, N)), zero diagonal (module docstring).

    ``coding_level`` (for 0/1 patterns): the covariance rule with that level; default: +-1 rule.
    """
    if is_concrete(patterns):
        x = np.asarray(as_checked_array("patterns", patterns), float)
        if x.ndim != 2:
            raise ValueError(f"patterns must have shape (P, N), got {x.shape}")
    xi = jnp.asarray(patterns, jnp.result_type(float))
    n = xi.shape[1]
    if coding_level is None:
        J = xi.T @ xi / n
    else:
        a = coding_level
        d = xi - a
        J = d.T @ d / (n * a * (1.0 - a))
    return J * (1.0 - jnp.eye(n, dtype=J.dtype))


class Retrieval(eqx.Module):
    """Final state of a retrieval run and its overlaps with the stored patterns.

    Attributes:
        state: final +-1 state (N,); overlaps: (P,) overlaps with ``patterns`` (if given);
        flips_last_sweep: number of units changed in the last sweep (0 at a fixed point).
    """

    state: jax.Array
    overlaps: jax.Array
    flips_last_sweep: jax.Array


def _new_spin(field, u, T):
    if T is None:
        return jnp.where(field >= 0, 1.0, -1.0)
    return jnp.where(u < 0.5 * (1.0 + jnp.tanh(field / T)), 1.0, -1.0)


@partial(jax.jit, static_argnames=("n_sweeps", "mode", "zero_T"))
def _retrieve(J, cue, key, T, n_sweeps, mode, zero_T):
    n = cue.shape[0]
    temp = None if zero_T else T
    s = cue.astype(J.dtype)

    def sweep(carry, k):
        s, h = carry
        k1, k2 = jax.random.split(k)
        u = jax.random.uniform(k2, (n,), J.dtype)
        if mode == "sync":
            new = _new_spin(h, u, temp)
            return (new, J @ new), jnp.sum(new != s)

        def site(c, i):
            s, h, flips = c
            new = _new_spin(h[i], u[i], temp)
            delta = new - s[i]
            return (s.at[i].set(new), h + J[:, i] * delta, flips + (delta != 0)), None

        (s_new, h, flips), _ = jax.lax.scan(site, (s, h, 0), jax.random.permutation(k1, n))
        return (s_new, h), flips

    (s, _), flips = jax.lax.scan(sweep, (s, J @ s), jax.random.split(key, n_sweeps))
    return s, flips[-1]


def retrieve(J, cue, *, key, patterns=None, T: float = 0.0, mode: str = "async", n_sweeps: int = 20) -> Retrieval:
    """Run the retrieval dynamics from ``cue`` (+-1, shape (N,)) with couplings ``J``.

    Args:
        J: couplings (N, N) (any, e.g. Hebbian or learned).
        cue: initial state, +-1.
        key: ``jax.random`` key (update order; Glauber noise).
        patterns: optional (P, N) to report overlaps.
        T: temperature (0: deterministic sign dynamics).
        mode: ``"async"`` (random sequential) or ``"sync"`` (parallel).
        n_sweeps: sweeps (one sweep = N single-unit updates).

    Returns:
        :class:`Retrieval`.  vmap over keys/cues for trials.
    """
    if mode not in ("async", "sync"):
        raise ValueError(f"mode must be 'async' or 'sync', got {mode!r}")
    as_checked_array("T", T, nonnegative=True)
    J = jnp.asarray(J)
    cue = jnp.asarray(cue)
    if J.ndim != 2 or J.shape[0] != J.shape[1] or cue.shape != (J.shape[0],):
        raise ValueError(f"J must be (N, N) and cue (N,), got {J.shape} and {cue.shape}")
    zero_T = is_concrete(T) and float(T) == 0.0
    s, flips = _retrieve(J, cue, key, jnp.asarray(T, J.dtype), n_sweeps, mode, zero_T)
    overlaps = jnp.zeros(0, J.dtype) if patterns is None else jnp.asarray(patterns, J.dtype) @ s / s.shape[0]
    return Retrieval(state=s, overlaps=overlaps, flips_last_sweep=flips)


@partial(jax.jit, static_argnames=("P", "N", "n_sweeps"))
def _hopfield_trial(key, P, N, n_sweeps, flip_fraction):
    kp, kc, kd = jax.random.split(key, 3)
    xi = jnp.where(jax.random.bernoulli(kp, 0.5, (P, N)), 1.0, -1.0).astype(jnp.float32)
    flip = jax.random.bernoulli(kc, flip_fraction, (N,))
    s = jnp.where(flip, -xi[0], xi[0])
    m = xi @ s / N  # overlaps; h_i = sum_mu xi_i^mu m_mu - (P/N) s_i  (zero diagonal)

    def sweep(carry, k):
        s, m = carry

        def site(c, i):
            s, m = c
            h = xi[:, i] @ m - (P / N) * s[i]
            new = jnp.where(h >= 0, 1.0, -1.0).astype(s.dtype)
            m = m + xi[:, i] * ((new - s[i]) / N)
            return (s.at[i].set(new), m), None

        (s, m), _ = jax.lax.scan(site, (s, m), jax.random.permutation(k, N))
        return (s, m), None

    (s, m), _ = jax.lax.scan(sweep, (s, m), jax.random.split(kd, n_sweeps))
    return xi[0] @ s / N


def hopfield_retrieval(N: int, P: int, *, key, n_trials: int = 40, n_sweeps: int = 20, flip_fraction: float = 0.0):
    """Zero-temperature asynchronous retrieval in Hebbian networks with fresh random patterns per
    trial (vmapped over trials), started from pattern 1 with a fraction ``flip_fraction`` of units
    flipped.  Fields are computed from the overlaps (O(P) per update, never the N x N matrix).

    Returns:
        final overlaps with pattern 1, shape (n_trials,).
    """
    N = as_int("N", N, minimum=2)
    P = as_int("P", P, minimum=1)
    n_trials = as_int("n_trials", n_trials, minimum=1)
    n_sweeps = as_int("n_sweeps", n_sweeps, minimum=0)
    as_checked_array("flip_fraction", flip_fraction, nonnegative=True, at_most=1.0)
    key = as_key("key", key)
    keys = jax.random.split(key, n_trials)
    return jax.vmap(lambda k: _hopfield_trial(k, P, N, n_sweeps, flip_fraction))(keys)
