"""Couplings learned for pattern storage with a stability margin, and the capacity bounds.

Stability of unit i in pattern mu (Gardner 1988, J. Phys. A 21:257)::

    Delta_i^mu = xi_i^mu sum_{j != i} J_ij xi_j^mu / (|J_i| / sqrt(N)),

P patterns are fixed points of the sign dynamics with margin kappa when all Delta >= kappa.
Gardner's capacity for independent rows: alpha_c(kappa) = [int_{-kappa}^inf Dt (t + kappa)^2]^-1
= 1 / ((1 + kappa^2) Phi(kappa) + kappa phi(kappa)), 2 at kappa = 0.  Cover (1965): P points in
general position in d dimensions are separable by a hyperplane through the origin with
probability 2^{1-P} sum_{k<d} binom(P-1, k); each row of J has d = N - 1 inputs.
"""

from __future__ import annotations

import math
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.scipy.special import erf

from .._checks import as_checked_array, as_int

__all__ = ["gardner_capacity", "cover_probability", "stabilities", "LearnedCouplings", "learn_couplings"]


def gardner_capacity(kappa):
    """Gardner's bound alpha_c(kappa) = 1 / ((1 + kappa^2) Phi(kappa) + kappa phi(kappa))."""
    as_checked_array("kappa", kappa)
    k = jnp.asarray(kappa, float)
    Phi = 0.5 * (1.0 + erf(k / math.sqrt(2.0)))
    phi = jnp.exp(-0.5 * k * k) / math.sqrt(2.0 * math.pi)
    return 1.0 / ((1.0 + k * k) * Phi + k * phi)


def cover_probability(P: int, d: int) -> float:
    """Probability that P random points in general position in d dimensions, with random labels,
    are linearly separable through the origin: 2^{1-P} sum_{k=0}^{d-1} binom(P-1, k) (Cover 1965)."""
    P = as_int("P", P, minimum=1)
    d = as_int("d", d, minimum=1)
    log_terms = [math.lgamma(P) - math.lgamma(k + 1) - math.lgamma(P - k) for k in range(min(d, P))]
    top = max(log_terms)
    return float(min(1.0, math.exp(top + math.log(sum(math.exp(t - top) for t in log_terms)) + (1 - P) * math.log(2))))


def stabilities(J, patterns):
    """Delta_i^mu for all units and patterns, shape (P, N) (module docstring)."""
    xi = jnp.asarray(patterns, jnp.result_type(float))
    J = jnp.asarray(J, xi.dtype)
    n = xi.shape[1]
    J = J * (1.0 - jnp.eye(n, dtype=J.dtype))
    norms = jnp.sqrt(jnp.sum(J * J, axis=1)) / jnp.sqrt(n)
    return xi * (xi @ J.T) / norms[None, :]


class LearnedCouplings(eqx.Module):
    """Result of :func:`learn_couplings`: couplings J (zero diagonal), the smallest stability
    (min Delta), ``success`` (min Delta >= kappa), ``row_success`` (per unit: all its
    stabilities >= kappa; the rows are independent perceptrons when J is asymmetric) and the
    number of optimiser steps."""

    J: jax.Array
    min_stability: jax.Array
    success: jax.Array
    row_success: jax.Array
    num_steps: jax.Array


@partial(jax.jit, static_argnames=("symmetric", "max_steps", "optimizer"))
def _learn(xi, kappa, symmetric, max_steps, optimizer):
    n = xi.shape[1]
    off = 1.0 - jnp.eye(n, dtype=xi.dtype)

    def couplings(w):
        w = 0.5 * (w + w.T) if symmetric else w
        return w * off

    def loss(w):
        # squared hinge on the normalised stabilities, aimed a little above kappa
        delta = stabilities(couplings(w), xi)
        return jnp.mean(jax.nn.relu(kappa + 0.05 - delta) ** 2)

    w0 = xi.T @ xi / n  # Hebbian start
    state = optimizer.init(w0)

    def cond(c):
        w, _, k, ok = c
        return (k < max_steps) & ~ok

    def step(c):
        w, s, k, _ = c
        grads = jax.grad(loss)(w)
        updates, s = optimizer.update(grads, s, w)
        w = optax.apply_updates(w, updates)
        ok = jnp.min(stabilities(couplings(w), xi)) >= kappa
        return w, s, k + 1, ok

    ok0 = jnp.min(stabilities(couplings(w0), xi)) >= kappa
    w, _, k, ok = jax.lax.while_loop(cond, step, (w0, state, 0, ok0))
    J = couplings(w)
    delta = stabilities(J, xi)
    return LearnedCouplings(J=J, min_stability=jnp.min(delta), success=ok,
                            row_success=jnp.min(delta, axis=0) >= kappa, num_steps=k)


def learn_couplings(patterns, kappa: float = 0.0, *, symmetric: bool = False, optimizer=None,
                    max_steps: int = 2000) -> LearnedCouplings:
    """Fit couplings so that every pattern is a fixed point with stability margin ``kappa``.

    Minimises the mean squared hinge ``relu(kappa + 0.05 - Delta)^2`` of the normalised
    stabilities (scale-invariant, so J = 0 is no solution) with an optax optimiser, starting
    from the Hebbian couplings, until all ``Delta >= kappa`` or ``max_steps``.

    Args:
        patterns: +-1 patterns, shape (P, N).
        kappa: margin (>= 0).
        symmetric: constrain J = J^T (the rows are then coupled).
        optimizer: optax optimiser (default ``optax.adam(0.01)``).

    Returns:
        :class:`LearnedCouplings` (J, min_stability, success, num_steps).
    """
    x = np.asarray(as_checked_array("patterns", patterns), float)
    if x.ndim != 2 or not np.all(np.abs(x) == 1):
        raise ValueError("patterns must be +-1 with shape (P, N)")
    as_checked_array("kappa", kappa, nonnegative=True)
    opt = optimizer or optax.adam(0.01)
    return _learn(jnp.asarray(x), jnp.asarray(kappa, float), symmetric, max_steps, opt)
