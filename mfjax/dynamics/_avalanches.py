"""Neural avalanches: the branching process, its closed forms, and a probabilistic network.

* **Mean field: the Galton-Watson branching process** (Harris 1963; Zapperi, Lauritsen & Stanley
  1995).  One active unit starts an avalanche; each active unit of generation t activates a
  Poisson number of units, mean ``m`` (the branching ratio), in generation t + 1.  The size
  ``S`` (total activations) has the **Borel distribution** (Borel 1942; the hitting-time theorem)

      P(S = n) = e^{-m n} (m n)^{n-1} / n!,           n = 1, 2, ...,

  and the duration ``D`` (generations with activity, ``D >= 1``) has
  ``P(D <= t) = f^{(t)}(0)``, the t-fold iterate of the offspring generating function
  ``f(s) = exp(m (s - 1))``.  At criticality (m = 1) ``P(S = n) ~ n^{-3/2}/sqrt(2 pi)`` and
  ``P(D = t) ~ 2 t^{-2}``: the exponents 3/2 and 2 of Beggs & Plenz (2003).
* **Network**: N units with fixed in-degree K (presynaptic indices ``pre``, transmission
  probabilities ``prob``, shape (N, K)); each unit active at step t activates each of its
  targets independently with that probability at t + 1 (Kinouchi & Copelli 2006; Larremore,
  Shew & Restrepo 2011).  The branching ratio of small avalanches is the largest eigenvalue of
  the transmission matrix ``A_ij`` (Perron-Frobenius; Larremore et al. 2011, PRL 106:058101).

Simulation: every avalanche is advanced in jit-compiled chunks of generations, vmapped over the
avalanches still alive; between chunks the finished ones are dropped (host-side compaction), so
the cost is proportional to the total activity and not to the longest avalanche.  An avalanche
still alive after ``max_generations`` is returned with ``censored = True`` (its size and
duration are lower bounds), never silently truncated.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_checked_array, as_int, as_key

__all__ = [
    "Avalanches",
    "branching_avalanches",
    "network_avalanches",
    "borel_pmf",
    "branching_duration_cdf",
    "branching_ratio",
]

_CHUNK = 32  # generations per compiled chunk


class Avalanches(NamedTuple):
    """Avalanche sizes and durations (numpy arrays, one entry per avalanche).

    Attributes:
        size: total number of activations (the seed included), int64.
        duration: number of generations (time steps) with activity, int64 (>= 1).
        censored: still active after ``max_generations`` (size and duration are lower bounds).
    """

    size: np.ndarray
    duration: np.ndarray
    censored: np.ndarray


def _bucket(n: int) -> int:
    """The padded batch size for ``n`` live avalanches (powers of 4: few recompilations)."""
    size = 64
    while size < n:
        size *= 4
    return size


def _run_compacted(advance, state, key, max_generations):
    """Advance ``state`` (a dict of arrays with leading avalanche axis, ``alive`` among them)
    chunk by chunk, dropping finished avalanches between chunks.  Returns the final state in
    the original order."""
    n = state["alive"].shape[0]
    order = np.arange(n)
    final = {k: np.array(v) for k, v in state.items()}
    live = np.asarray(state["alive"])
    idx = order[live]
    generation = 0
    while idx.size and generation < max_generations:
        pad = _bucket(idx.size)
        batch = {k: np.zeros((pad,) + v.shape[1:], v.dtype) for k, v in final.items()}
        for k in final:
            batch[k][: idx.size] = final[k][idx]
        key, sub = jax.random.split(key)
        out = advance({k: jnp.asarray(v) for k, v in batch.items()}, sub)
        for k in final:
            final[k][idx] = np.asarray(out[k])[: idx.size]
        generation += _CHUNK
        idx = idx[np.asarray(out["alive"])[: idx.size]]
    return final


def _check_ratio(m):
    as_checked_array("m", m, nonnegative=True)
    if not float(m) <= 50.0:
        raise ValueError(f"m (the branching ratio) must be <= 50 for a simulation, got {m}")


def branching_avalanches(key, m, n: int, *, max_generations: int = 10_000) -> Avalanches:
    """``n`` avalanches of the Poisson Galton-Watson process with branching ratio ``m``.

    Args:
        key: JAX random key.
        m: mean offspring per active unit (>= 0; 1 is critical).
        n: number of avalanches.
        max_generations: generations simulated (rounded up to a multiple of 32); avalanches
            still active then are ``censored``.

    Returns:
        :class:`Avalanches`; compare with :func:`borel_pmf` and :func:`branching_duration_cdf`.
    """
    key = as_key("key", key)
    _check_ratio(m)
    n = as_int("n", n, minimum=1)
    max_generations = as_int("max_generations", max_generations, minimum=1)
    m = float(m)

    @jax.jit
    def advance(state, key):  # one chunk of _CHUNK generations

        def gen(carry, k):
            z, size, dur = carry
            z_new = jax.random.poisson(k, m * z.astype(jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)).astype(z.dtype)
            return (z_new, size + z_new, dur + (z_new > 0)), None

        (z, size, dur), _ = jax.lax.scan(gen, (state["z"], state["size"], state["duration"]), jax.random.split(key, _CHUNK))
        return {"z": z, "size": size, "duration": dur, "alive": z > 0}

    dtype = np.int64 if jax.config.jax_enable_x64 else np.int32
    state = {"z": np.ones(n, dtype), "size": np.ones(n, dtype), "duration": np.ones(n, dtype), "alive": np.ones(n, bool)}
    final = _run_compacted(advance, state, key, max_generations)
    return Avalanches(final["size"].astype(np.int64), final["duration"].astype(np.int64), final["z"] > 0)


def network_avalanches(key, pre, prob, n: int, *, max_generations: int = 10_000) -> Avalanches:
    """``n`` avalanches on a network, each seeded by one uniformly chosen unit (module docstring).

    Args:
        key: JAX random key.
        pre: presynaptic indices, int array (N, K): unit i listens to ``pre[i]``.
        prob: transmission probabilities in [0, 1], (N, K).
        n: number of avalanches.
        max_generations: steps simulated (rounded up to a multiple of 32); avalanches still
            active then are ``censored``.

    Returns:
        :class:`Avalanches` (sizes count activations: a unit active at two steps counts twice).
    """
    key = as_key("key", key)
    n = as_int("n", n, minimum=1)
    max_generations = as_int("max_generations", max_generations, minimum=1)
    pre = np.asarray(pre)
    prob_np = np.asarray(as_checked_array("prob", prob, nonnegative=True, at_most=1.0), float)
    if pre.ndim != 2 or prob_np.shape != pre.shape:
        raise ValueError(f"pre and prob must have the same shape (N, K), got {pre.shape} and {prob_np.shape}")
    if not np.issubdtype(pre.dtype, np.integer) or pre.min() < 0 or pre.max() >= pre.shape[0]:
        raise ValueError(f"pre must hold integer unit indices in [0, {pre.shape[0]})")
    N = pre.shape[0]
    pre_j, prob_j = jnp.asarray(pre), jnp.asarray(prob_np)
    log_keep = jnp.log1p(-prob_j)  # -inf where prob = 1: then exp(...) = 0 and the unit fires

    @jax.jit
    def advance(state, key):  # one chunk of _CHUNK steps

        def gen(carry, k):
            s, size, dur = carry
            # unit i stays silent with probability prod_k (1 - prob[i, k])^{s[pre[i, k]]}: one
            # uniform per unit (the targets' events are independent given the active set)
            log_silent = jnp.sum(jnp.where(s[:, pre_j], log_keep[None], 0.0), axis=-1)
            u = jax.random.uniform(k, s.shape, prob_j.dtype)
            s_new = u >= jnp.exp(log_silent)
            count = jnp.sum(s_new, axis=-1)
            return (s_new, size + count, dur + (count > 0)), None

        (s, size, dur), _ = jax.lax.scan(gen, (state["s"], state["size"], state["duration"]), jax.random.split(key, _CHUNK))
        return {"s": s, "size": size, "duration": dur, "alive": jnp.any(s, axis=-1)}

    key, sub = jax.random.split(key)
    seeds = np.asarray(jax.random.randint(sub, (n,), 0, N))
    s0 = np.zeros((n, N), bool)
    s0[np.arange(n), seeds] = True
    dtype = np.int64 if jax.config.jax_enable_x64 else np.int32
    state = {"s": s0, "size": np.ones(n, dtype), "duration": np.ones(n, dtype), "alive": np.ones(n, bool)}
    final = _run_compacted(advance, state, key, max_generations)
    return Avalanches(final["size"].astype(np.int64), final["duration"].astype(np.int64), np.any(final["s"], axis=-1))


def branching_ratio(pre, prob, *, num_iter: int = 2000):
    """The largest eigenvalue of the transmission matrix ``A[i, pre[i, k]] += prob[i, k]``
    (Perron-Frobenius root, by power iteration on the sparse form; ``A >= 0``), the branching
    ratio of the network of :func:`network_avalanches` (Larremore et al. 2011)."""
    pre_j, prob_j = jnp.asarray(pre), jnp.asarray(prob, jnp.result_type(float, prob))
    N = pre_j.shape[0]

    def apply(v):  # (A v)_i = sum_k prob[i, k] v[pre[i, k]]
        return jnp.sum(prob_j * v[pre_j], axis=-1)

    def body(_, v):
        w = apply(v) + v  # A + I: same Perron vector, no periodicity trap
        return w / jnp.linalg.norm(w)

    v = jax.lax.fori_loop(0, num_iter, body, jnp.ones(N, prob_j.dtype) / math.sqrt(N))
    return jnp.dot(v, apply(v)) / jnp.dot(v, v)


def borel_pmf(n, m):
    """``P(S = n) = e^{-m n} (m n)^{n-1}/n!`` (the Borel distribution; module docstring), in
    log space (``gammaln``) so that it stays finite for n up to 10^12; ``m`` in (0, 1]."""
    n = jnp.asarray(n, jnp.result_type(float, n))
    m = jnp.asarray(m, n.dtype)
    log_p = -m * n + (n - 1) * (jnp.log(m) + jnp.log(n)) - jax.scipy.special.gammaln(n + 1)
    return jnp.where(n >= 1, jnp.exp(log_p), 0.0)


def branching_duration_cdf(t_max: int, m):
    """``P(D <= t)`` for ``t = 1 .. t_max`` (the iterates of ``f(s) = exp(m (s - 1))`` from
    ``s = 0``; module docstring), shape ``(t_max,)``."""
    t_max = as_int("t_max", t_max, minimum=1)
    m = jnp.asarray(m, jnp.result_type(float, m))

    def step(s, _):
        s_new = jnp.exp(m * (s - 1.0))
        return s_new, s_new

    # D <= t  <=>  generation t (counting the seed as generation 1) is empty: f^{(t)}(0)
    _, cdf = jax.lax.scan(step, jnp.zeros((), m.dtype), None, length=t_max)
    return cdf
