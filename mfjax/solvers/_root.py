"""Roots G(z, params) = 0 by Newton's method, with a status record and implicit gradients.

Newton's method with a backtracking line search on |G|^2 (halving the step up to 30 times),
for small dense systems (the augmented systems of fold and Hopf points, periodic orbits by
shooting).  Unlike :func:`mfjax.solvers.solve_fixed_point` it does not follow a relaxation
flow: augmented systems are indefinite and have no flow to follow.

Gradients (implicit function theorem): ``G(z*(params), params) = 0`` gives

    dz* = -G_z^{-1} (dG/dparams) dparams,

the tangent rule :func:`mfjax.solvers._fixed_point._implicit` supplies for ``z = z - G(z)``.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from ._fixed_point import FixedPointSolution, _implicit, start_and_tolerances

__all__ = ["solve_root"]


def solve_root(G: Callable, z0, params, *, rtol=None, atol=None, max_steps: int = 50) -> FixedPointSolution:
    """Solve ``G(z, params) = 0`` for a 1-d ``z``; differentiable w.r.t. ``params``.

    Args:
        G: pure function ``G(z, params) -> array`` of the shape of ``z``.
        z0: initial guess, shape (n,).
        params: pytree of arrays ``G`` depends on (gradients flow to all of them).
        rtol, atol: convergence ``|G_i| <= atol + rtol |z_i|`` after a Newton step that moved
            ``z`` by less than ``atol + rtol |z|`` in each component (so a root is also
            located to that accuracy, not just a small residual); defaults from
            :func:`default_tolerances`.
        max_steps: Newton step cap; the result then has ``converged=False``.

    Returns:
        :class:`FixedPointSolution` (``value`` the root, ``residual`` max |G|); never raises
        inside ``jit``.
    """
    z0, rtol, atol = start_and_tolerances("z0", z0, rtol, atol)
    fixed = jax.lax.stop_gradient(params)

    def g(z):
        return G(z, fixed)

    def merit(r):
        return jnp.sum(jnp.where(jnp.isfinite(r), r * r, jnp.inf))

    def step(state):
        z, r, k, _ = state
        dz = -jnp.linalg.solve(jax.jacfwd(g)(z), r)
        dz = jnp.where(jnp.isfinite(dz), dz, 0.0)

        def shorten(s):
            lam, _, _ = s
            lam = lam / 2
            return lam, z + lam * dz, g(z + lam * dz)

        def worse(s):
            lam, _, r_new = s
            return (merit(r_new) > (1 - 1e-4 * lam) * merit(r)) & (lam > 2.0**-30)

        lam, z_new, r_new = jax.lax.while_loop(worse, shorten, (jnp.asarray(1.0, z.dtype), z + dz, g(z + dz)))
        moved = jnp.all(jnp.abs(lam * dz) <= atol + rtol * jnp.abs(z_new))
        done = moved & jnp.all(jnp.abs(r_new) <= atol + rtol * jnp.abs(z_new))
        return z_new, r_new, k + 1, done

    def cond(state):
        _, _, k, done = state
        return (~done) & (k < max_steps)

    z, r, k, done = jax.lax.while_loop(cond, step, (z0, g(z0), jnp.asarray(0), jnp.asarray(False)))
    z = jax.lax.stop_gradient(z)
    ok = done & jnp.all(jnp.isfinite(z)) & jnp.all(jnp.isfinite(r))
    return FixedPointSolution(
        value=_implicit(lambda y, p: y - G(y, p), False, z, params),
        converged=ok,
        residual=jnp.max(jnp.abs(r)),
        num_steps=k,
    )
