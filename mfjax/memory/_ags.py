"""Replica-symmetric mean-field theory of the Hopfield network (Amit, Gutfreund & Sompolinsky
1985, PRL 55:1530; 1987, Ann. Phys. 173:30).

Finite temperature T = 1/beta, load alpha = P/N, retrieval of one condensed pattern::

    m = int Dz tanh(beta (m + sqrt(alpha r) z)),   q = int Dz tanh^2(beta (m + sqrt(alpha r) z)),
    r = q / (1 - beta (1 - q))^2.

T = 0 (beta (1 - q) -> C finite): with y = m / sqrt(2 alpha r) the equations reduce to

    erf(y) = y (sqrt(2 alpha) + (2/sqrt(pi)) e^{-y^2}),   m = erf(y),

which has a retrieval solution for alpha below alpha_c = max_y alpha(y),
alpha(y) = [erf(y) - (2/sqrt(pi)) y e^{-y^2}]^2 / (2 y^2)  (alpha_c = 0.1379056, m_c = 0.9674171).
Spin-glass line (q > 0 appears, m = 0): T_g = 1 + sqrt(alpha).
"""

from __future__ import annotations

import math
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.special import erf

from .._checks import Conditions, as_checked_array
from ..dmft._nonlinearity import gaussian_nodes
from ..solvers import solve_fixed_point

__all__ = ["AGSSolution", "ags_capacity", "ags_overlap", "spin_glass_temperature", "retrieval_temperature"]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _alpha_of_y(y):
    """Load at which y solves the T = 0 equation: [erf(y) - (2/sqrt pi) y e^{-y^2}]^2 / (2 y^2)."""
    return (erf(y) - _TWO_OVER_SQRT_PI * y * jnp.exp(-y * y)) ** 2 / (2.0 * y * y)


def ags_capacity(T: float = 0.0):
    """Storage capacity of the Hopfield network: (alpha_c, m_c).

    T = 0: the maximum of alpha(y) (module docstring), found by Newton on alpha'(y) = 0 with
    autodiff derivatives (alpha_c = 0.1379056, m_c = 0.9674171).  T > 0: the largest alpha with
    a retrieval solution at that T (bisection on :func:`ags_overlap`).
    """
    as_checked_array("T", T, nonnegative=True)
    if T == 0.0:
        da = jax.grad(_alpha_of_y)
        d2a = jax.grad(da)
        y = jnp.asarray(1.5)
        for _ in range(50):
            step = da(y) / d2a(y)
            y = y - step
            if abs(float(step)) < 1e-15:
                break
        return float(_alpha_of_y(y)), float(erf(y))
    lo, hi = 0.0, 0.14
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if float(ags_overlap(mid, T).m) > 1e-3:
            lo = mid
        else:
            hi = mid
    return lo, float(ags_overlap(lo, T).m)


class AGSSolution(eqx.Module):
    """Retrieval state of the AGS equations: overlap m, Edwards-Anderson q, r, and status."""

    m: jax.Array
    q: jax.Array
    r: jax.Array
    converged: jax.Array


def _zero_t_map(y, alpha):
    return erf(y) / (jnp.sqrt(2.0 * alpha) + _TWO_OVER_SQRT_PI * jnp.exp(-y * y))


def _finite_t_map(x, p):
    alpha, beta = p
    m, q = x[0], jnp.clip(x[1], 0.0, 1.0 - 1e-15)
    r = q / (1.0 - beta * (1.0 - q)) ** 2
    z, w = gaussian_nodes(x.dtype)
    t = jnp.tanh(beta * (m + jnp.sqrt(alpha * r) * z))
    return jnp.stack([jnp.sum(w * t), jnp.sum(w * t * t)])


@partial(jax.jit, static_argnames="zero_T")
def _overlap(alpha, T, zero_T):
    if zero_T:
        sol = solve_fixed_point(lambda y, a: _zero_t_map(y, a), jnp.full(1, 5.0, alpha.dtype), alpha)
        y = sol.value[0]
        m = erf(y)
        ok = sol.converged & (y > 1e-3)
        c = _TWO_OVER_SQRT_PI * jnp.exp(-y * y) / jnp.sqrt(2.0 * alpha)  # C/(1-C)
        r = (1.0 + c) ** 2
        return AGSSolution(m=jnp.where(ok, m, 0.0), q=jnp.ones_like(m), r=r, converged=sol.converged)
    beta = 1.0 / T
    sol = solve_fixed_point(_finite_t_map, jnp.stack([jnp.ones_like(alpha), 1.0 - 1e-6 + 0.0 * alpha]), (alpha, beta))
    m, q = sol.value[0], sol.value[1]
    r = q / (1.0 - beta * (1.0 - q)) ** 2
    return AGSSolution(m=m, q=q, r=r, converged=sol.converged)


def ags_overlap(alpha, T: float = 0.0) -> AGSSolution:
    """Retrieval overlap m(alpha, T) of the AGS equations (module docstring), started from the
    retrieval branch (m ~ 1); m = 0 where no retrieval state exists (alpha > alpha_c(T)).
    Differentiable in alpha (implicit function theorem)."""
    conds = Conditions().require("alpha", alpha, positive=True)  # traced alpha: folded into converged
    as_checked_array("T", T, nonnegative=True)
    alpha = jnp.asarray(alpha, jnp.result_type(jnp.asarray(alpha).dtype, jnp.float32))
    sol = _overlap(alpha, jnp.asarray(T, alpha.dtype), float(T) == 0.0)
    return eqx.tree_at(lambda s: s.converged, sol, sol.converged & conds.valid())


def spin_glass_temperature(alpha):
    """Paramagnet -> spin-glass line T_g = 1 + sqrt(alpha) (AGS 1987)."""
    return 1.0 + jnp.sqrt(jnp.asarray(alpha, float))


def retrieval_temperature(alpha: float) -> float:
    """T_M(alpha): the highest temperature with a retrieval solution (bisection on T)."""
    lo, hi = 0.0, 1.0
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        if float(ags_overlap(alpha, max(mid, 1e-6)).m) > 1e-3:
            lo = mid
        else:
            hi = mid
    return lo
