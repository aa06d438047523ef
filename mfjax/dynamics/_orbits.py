"""Limit cycles of dx/dt = F(x, params): periodic orbits by shooting, Floquet multipliers and the
phase response curve.

* Integration: classical Runge-Kutta (RK4) with ``steps`` equal steps per period; its error is
  O((T/steps)^4), so a period comes out to ~1e-12 relative with the default 2000 steps for a
  smooth relaxation oscillator.
* Periodic orbit (single shooting; Kuznetsov 2004, sec. 10.3): unknowns ``(x0, T)``,

      phi_T(x0) - x0 = 0,      F(x_ref) . (x0 - x_ref) = 0      (the Poincare section through
                                                                  the guess x_ref),

  solved by Newton's method with the flow's derivatives from forward-mode autodiff through the
  integration; implicit gradients of ``x0`` and ``T`` with respect to ``params``.
  The monodromy matrix ``M = d phi_T/d x0`` gives the Floquet multipliers (one of them 1).
* Phase response curve (infinitesimal PRC; Ermentrout 1996, Neural Comput. 8:979; Brown,
  Moehlis & Holmes 2004, Neural Comput. 16:673): ``Z(t)``, the advance of the asymptotic phase
  (in units of time) per unit kick of x at time t on the cycle.  It solves the adjoint equation
  ``dZ/dt = -J(t)^T Z`` with ``Z . F(x(t)) = 1``; here the exact discrete adjoint of the RK4 steps:
  ``Z_k = Phi_k^T Z_{k+1}`` (``Phi_k`` the derivative of step k), started from the left
  eigenvector of ``M`` for the multiplier 1.
"""

from __future__ import annotations

from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from .._checks import as_checked_array, as_int
from ..solvers import solve_root

__all__ = ["rk4_trajectory", "PeriodicOrbit", "periodic_orbit", "cycle_guess", "phase_response"]


def _rk4_step(F, x, t, dt, params):
    k1 = F(x, t, params)
    k2 = F(x + 0.5 * dt * k1, t + 0.5 * dt, params)
    k3 = F(x + 0.5 * dt * k2, t + 0.5 * dt, params)
    k4 = F(x + dt * k3, t + dt, params)
    return x + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)


def rk4_trajectory(F: Callable, x0, dt, steps: int, params=None, t0=0.0, *, keep: bool = True):
    """Integrate ``dx/dt = F(x, t, params)`` by ``steps`` RK4 steps of ``dt`` from ``(t0, x0)``.

    Returns the states ``(steps + 1, n)`` (``keep=True``) or the final state only.
    Differentiable in ``x0``, ``dt``, ``t0`` and ``params``.
    """

    def step(carry, k):
        x = carry
        x_new = _rk4_step(F, x, t0 + k * dt, dt, params)
        return x_new, (x_new if keep else None)

    x_end, path = jax.lax.scan(step, x0, jnp.arange(steps, dtype=jnp.result_type(dt, float)))
    if not keep:
        return x_end
    return jnp.concatenate([x0[None], path])


def _autonomous(F):
    return lambda x, t, params: F(x, params)


class PeriodicOrbit(eqx.Module):
    """A periodic orbit from :func:`periodic_orbit`.

    Attributes:
        state: the point ``x0`` on the orbit (on the section through the guess), ``(n,)``.
        period: T (time units of F; ms for the models of :mod:`mfjax.dynamics`).
        trajectory: ``(steps + 1, n)``, the orbit at ``t_k = k T/steps`` (last = first).
        multipliers: Floquet multipliers (eigenvalues of the monodromy matrix), complex ``(n,)``,
            sorted by decreasing modulus distance from 1 last (the trivial one, ~1, first).
        stable: every non-trivial multiplier inside the unit circle.
        amplitude: ``max - min`` of each component over the orbit, ``(n,)``.
        converged, residual, num_steps: the Newton status (residual ``max |phi_T(x0) - x0|``).
    """

    state: jax.Array
    period: jax.Array
    trajectory: jax.Array
    multipliers: jax.Array
    stable: jax.Array
    amplitude: jax.Array
    converged: jax.Array
    residual: jax.Array
    num_steps: jax.Array


def periodic_orbit(F: Callable, x0, period, params=None, *, steps: int = 2000, rtol=None, atol=None) -> PeriodicOrbit:
    """The periodic orbit of the autonomous ``dx/dt = F(x, params)`` through the section at the
    guess ``x0`` with period near ``period`` (single shooting; module docstring).

    Args:
        F: pure ``F(x, params) -> (n,)``.
        x0: a point near the orbit, ``(n,)`` (e.g. from :func:`cycle_guess`).
        period: a guess of the period, > 0.
        params: pytree of parameters (gradients of ``state`` and ``period`` flow to them).
        steps: RK4 steps per period.
        rtol, atol: Newton tolerances (:func:`mfjax.solvers.solve_root`).

    Returns:
        :class:`PeriodicOrbit`; never raises inside ``jit``: a failed shooting has
        ``converged=False`` (e.g. no cycle near the guess, or the guess is an equilibrium).
    """
    steps = as_int("steps", steps, minimum=8)
    as_checked_array("period", period, positive=True)
    x0 = jnp.asarray(x0, jnp.result_type(float, x0))
    if x0.ndim != 1 or x0.size < 2:
        raise ValueError(f"x0 must have shape (n,) with n >= 2, got {x0.shape}")
    as_checked_array("x0", x0)
    n = x0.size
    Ft = _autonomous(F)
    x_ref = jax.lax.stop_gradient(x0)
    direction = jax.lax.stop_gradient(F(x_ref, params))

    def flow(x, T, prm):
        return rk4_trajectory(Ft, x, T / steps, steps, prm, keep=False)

    def G(z, prm):
        x, T = z[:n], z[n]
        return jnp.concatenate([flow(x, T, prm) - x, jnp.dot(direction, x - x_ref)[None]])

    z0 = jnp.concatenate([x0, jnp.asarray(period, x0.dtype)[None]])
    sol = solve_root(G, z0, params, rtol=rtol, atol=atol)
    x, T = sol.value[:n], sol.value[n]
    ok = sol.converged & (T > 0)
    path = rk4_trajectory(Ft, x, T / steps, steps, params)
    monodromy = jax.jacfwd(flow, argnums=0)(jax.lax.stop_gradient(x), jax.lax.stop_gradient(T), jax.lax.stop_gradient(params))
    mult = jnp.linalg.eigvals(monodromy)
    mult = mult[jnp.argsort(jnp.abs(mult - 1.0))]
    stable = ok & jnp.all(jnp.abs(mult[1:]) < 1.0)
    amp = jnp.max(path, axis=0) - jnp.min(path, axis=0)
    return PeriodicOrbit(x, T, path, mult, stable, amp, ok, sol.residual, sol.num_steps)


def cycle_guess(F: Callable, x_init, params=None, *, dt: float, transient: int, window: int):
    """A guess ``(x0, period)`` for :func:`periodic_orbit` from a simulation: RK4 from
    ``x_init`` for ``transient`` steps of ``dt``, then the last two upward crossings of the
    first component through its mean over the next ``window`` steps.  ``period`` is NaN when
    fewer than two crossings occur (no oscillation).
    """
    transient = as_int("transient", transient, minimum=0)
    window = as_int("window", window, minimum=4)
    as_checked_array("dt", dt, positive=True)
    x_init = jnp.asarray(x_init, jnp.result_type(float, x_init))
    Ft = _autonomous(F)
    start = rk4_trajectory(Ft, x_init, dt, transient, params, keep=False)
    path = rk4_trajectory(Ft, start, dt, window, params)
    u = path[:, 0]
    level = jnp.mean(u)
    up = (u[:-1] < level) & (u[1:] >= level)
    k = jnp.arange(window)
    last = jnp.max(jnp.where(up, k, -1))
    before = jnp.max(jnp.where(up & (k < last), k, -1))
    frac = lambda i: (level - u[i]) / (u[i + 1] - u[i])  # noqa: E731
    t_last = (last + frac(last)) * dt
    t_before = (before + frac(before)) * dt
    period = jnp.where(before >= 0, t_last - t_before, jnp.nan)
    return path[jnp.maximum(before, 0)], period


def phase_response(F: Callable, orbit: PeriodicOrbit, params=None):
    """The infinitesimal phase response curve ``Z(t_k)`` on the orbit's grid, ``(steps + 1, n)``
    (units: time per unit of x), normalised so that ``Z . F = 1`` (module docstring).

    A kick ``dx`` at time ``t_k`` of the cycle advances the asymptotic phase by ``Z_k . dx``;
    for a weak forcing ``eps p(t)`` along the vector field direction ``b(x)``, the phase obeys
    ``dtheta/dt = 1 + eps (Z(theta) . b(x(theta))) p(t)``.
    """
    Ft = _autonomous(F)
    steps = orbit.trajectory.shape[0] - 1
    dt = orbit.period / steps
    xs = orbit.trajectory[:-1]
    step_jac = jax.vmap(lambda x: jax.jacfwd(lambda y: _rk4_step(Ft, y, 0.0, dt, params))(x))(xs)

    def backward(Z, Phi):
        Z_new = Phi.T @ Z
        return Z_new, Z_new

    def forward_product(M, Phi):
        return Phi @ M, None

    n = xs.shape[-1]
    M, _ = jax.lax.scan(forward_product, jnp.eye(n, dtype=xs.dtype), step_jac)
    lam, vecs = jnp.linalg.eig(M.T)
    z0 = vecs[:, jnp.argmin(jnp.abs(lam - 1.0))].real
    z0 = z0 / jnp.dot(z0, F(xs[0], params))
    _, Zs = jax.lax.scan(backward, z0, step_jac, reverse=True)
    return jnp.concatenate([Zs, z0[None]])
