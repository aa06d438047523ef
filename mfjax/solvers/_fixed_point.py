"""Fixed points x = f(x, params) with a status record and implicit-function-theorem gradients.

Iteration: pseudo-transient continuation (Kelley & Keyes 1998, SIAM J. Numer. Anal. 35:508),
i.e. implicit Euler steps of the relaxation dynamics dx/ds = f(x) - x,

    (I/h - (J_f - I)) dx = f(x) - x,        J_f = d f / d x,

with the pseudo time step h grown by "switched evolution relaxation" (h <- h |F_old|/|F_new|).
Small h follows the relaxation dynamics (so it finds the fixed point that the rate dynamics
relaxes to, as NNMT's ODE integration does); large h is Newton's method (quadratic convergence).
A step is rejected and h cut fourfold when it points against the flow (F . dx <= 0: h exceeded
1/lambda of an unstable mode, which implicit Euler would reverse), makes the residual grow
tenfold, or is non-finite.

Gradients: the solution is ``x* = x*(params)`` with ``x* = f(x*, params)``; its tangent is

    dx* = (I - J_f)^{-1} (d f / d params) dparams          (implicit function theorem),

a linear solve supplied by a custom JVP, so forward mode, reverse mode (JAX transposes the
linear solve), ``vmap`` and ``jit`` all work and the iterations are never differentiated.
"""

from __future__ import annotations

from functools import partial
from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

__all__ = ["FixedPointSolution", "solve_fixed_point", "default_tolerances"]


class FixedPointSolution(eqx.Module):
    """Result of :func:`solve_fixed_point`.

    Attributes:
        value: the fixed point x* (same shape as the initial guess).
        converged: bool, every component met ``|f(x) - x| <= atol + rtol |x|``.
        residual: max_i |f(x)_i - x_i| at the returned point (units of x).
        num_steps: number of iterations taken.
    """

    value: jax.Array
    converged: jax.Array
    residual: jax.Array
    num_steps: jax.Array


def default_tolerances(dtype) -> tuple[float, float]:
    """(rtol, atol) suited to ``dtype``: 1e-12 for float64, 1e-5 / 1e-6 for float32."""
    if jnp.finfo(dtype).bits >= 64:
        return 1e-12, 1e-12
    return 1e-5, 1e-6


def start_and_tolerances(name, x0, rtol, atol):
    """A solver's 1-d starting array and its tolerances (``None``: :func:`default_tolerances`)."""
    x0 = jnp.asarray(x0)
    if x0.ndim != 1:
        raise ValueError(f"{name} must be 1-d, got shape {x0.shape}")
    d_rtol, d_atol = default_tolerances(x0.dtype)
    return x0, d_rtol if rtol is None else rtol, d_atol if atol is None else atol


@partial(jax.custom_jvp, nondiff_argnums=(0, 1))
def _implicit(f, matrix_free, x_star, params):
    return x_star


@_implicit.defjvp
def _implicit_jvp(f, matrix_free, primals, tangents):
    x_star, params = primals
    _, d_params = tangents
    _, f_dot = jax.jvp(lambda p: f(x_star, p), (params,), (d_params,))
    if matrix_free:
        # (I - J_f) x_dot = f_dot by GMRES with Jacobian-vector products (no n x n matrix)
        def op(v):
            return v - jax.jvp(lambda z: f(z, params), (x_star,), (v,))[1]

        def gmres(matvec, b):
            return jax.scipy.sparse.linalg.gmres(matvec, b, tol=1e-13, atol=0.0, restart=40, maxiter=20)[0]

        # custom_linear_solve hands the transposed operator to the second solve (reverse mode)
        x_dot = jax.lax.custom_linear_solve(op, f_dot, gmres, gmres)
        return x_star, x_dot
    jac = jax.jacfwd(f)(x_star, params)
    eye = jnp.eye(x_star.size, dtype=x_star.dtype)
    x_dot = jnp.linalg.solve(eye - jac.reshape(x_star.size, x_star.size), f_dot.reshape(-1))
    return x_star, x_dot.reshape(x_star.shape)


def solve_fixed_point(
    f: Callable,
    x0,
    params,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    max_steps: int = 300,
    nonnegative: bool = False,
    method: str = "newton",
    damping: float = 0.5,
) -> FixedPointSolution:
    """Solve ``x = f(x, params)`` for a 1-d array ``x``; differentiable w.r.t. ``params``.

    Args:
        f: pure function ``f(x, params) -> x`` (same shape as x).
        x0: initial guess, shape (n,).
        params: pytree of arrays that ``f`` depends on (gradients flow to all of them).
        rtol, atol: convergence test ``|f(x) - x| <= atol + rtol |x|`` per component
            (defaults from :func:`default_tolerances`).
        max_steps: iteration cap; the result then carries ``converged=False``.
        nonnegative: keep iterates >= 0 (``f`` must map into x >= 0); a component that Newton
            would make negative takes the plain iteration step ``f(x)`` instead.
        method: ``"newton"`` (pseudo-transient continuation with the dense Jacobian; for n up
            to a few hundred) or ``"damped"`` (``x <- (1 - damping) x + damping f(x)``, no
            Jacobian; for large n such as belief-propagation messages).  With ``"damped"`` the
            implicit tangent is solved matrix-free by GMRES.
        damping: step fraction of the ``"damped"`` iteration, in (0, 1].

    Returns:
        :class:`FixedPointSolution`; never raises inside ``jit``.
    """
    if method not in ("newton", "damped"):
        raise ValueError(f"method must be 'newton' or 'damped', got {method!r}")
    if not 0.0 < damping <= 1.0:
        raise ValueError(f"damping must be in (0, 1], got {damping}")
    x0, rtol, atol = start_and_tolerances("x0", x0, rtol, atol)
    fixed = jax.lax.stop_gradient(params)
    eye = jnp.eye(x0.size, dtype=x0.dtype)

    def residual(x):
        return f(x, fixed) - x

    def is_done(x, r):
        return jnp.all(jnp.abs(r) <= atol + rtol * jnp.abs(x))

    def norm(r):
        return jnp.max(jnp.abs(r))

    def newton_step(state):
        x, r, h, k, _ = state
        jac = jax.jacfwd(lambda z: f(z, fixed))(x)
        dx = jnp.linalg.solve((1.0 / h + 1.0) * eye - jac, r)
        x_new = x + dx
        if nonnegative:
            # where Newton would leave the domain take the plain iteration x <- f(x) >= 0 for
            # that component (exact where f is flat, e.g. quiescent populations)
            x_new = jnp.where(x_new > 0, x_new, jnp.maximum(x + r, 0.0))
        r_new = residual(x_new)
        n_old, n_new = norm(r), norm(r_new)
        # follow the relaxation flow: an implicit-Euler step with h larger than 1/lambda of an
        # unstable mode reverses that mode (and would converge to an unstable fixed point)
        # (normalised first: for rates ~1e-274 the plain dot product underflows to 0)
        along_flow = jnp.vdot(r / jnp.maximum(norm(r), 1e-300), dx / jnp.maximum(norm(dx), 1e-300)) > 0
        ok = (
            along_flow
            & jnp.isfinite(n_new)
            & (n_new <= 10.0 * n_old)
            & jnp.all(jnp.isfinite(x_new))
        )
        # a step that overshoots the root along its own direction without halving the residual
        # is Newton bouncing across a steep, curved f (the 2-cycles of strongly inhibitory
        # networks): reject it, so h shrinks until the step stays on the near side
        unit_dx = dx / jnp.maximum(norm(dx), 1e-300)
        overshoot = jnp.vdot(r_new / jnp.maximum(n_new, 1e-300), unit_dx) < 0
        ok = ok & ~(overshoot & (n_new > 0.5 * n_old))
        growth = jnp.maximum(n_old / jnp.maximum(n_new, 1e-300), 2.0)
        h_new = jnp.where(ok, jnp.clip(h * growth, 1e-6, 1e15), h / 4.0)
        x_out = jnp.where(ok, x_new, x)
        r_out = jnp.where(ok, r_new, r)
        return x_out, r_out, h_new, k + 1, is_done(x_out, r_out)

    def damped_step(state):
        x, r, h, k, _ = state
        x_new = x + damping * r
        r_new = residual(x_new)
        return x_new, r_new, h, k + 1, is_done(x_new, r_new)

    step = newton_step if method == "newton" else damped_step

    def cond(state):
        *_, k, done = state
        return (~done) & (k < max_steps)

    r0 = residual(x0)
    init = (x0, r0, jnp.asarray(1.0, x0.dtype), jnp.asarray(0), is_done(x0, r0))
    x, r, _, k, done = jax.lax.while_loop(cond, step, init)
    x = jax.lax.stop_gradient(x)
    return FixedPointSolution(
        value=_implicit(f, method == "damped", x, params),
        converged=done & jnp.all(jnp.isfinite(x)),
        residual=norm(r),
        num_steps=k,
    )
