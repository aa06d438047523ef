"""The exact mean field of QIF networks: Montbrio, Pazo & Roxin (2015), Phys. Rev. X 5:021028.

All-to-all QIF neurons with Lorentzian-distributed excitabilities (centre ``eta_bar``, half
width ``delta``), coupling ``J`` and input ``I``, in the thermodynamic limit, obey exactly (eq. 12,
time in units of the membrane time constant, as in the paper)::

    dr/dt = delta/pi + 2 r v,        dv/dt = v^2 + eta_bar + J r + I - pi^2 r^2.

Fixed points: ``v* = -delta/(2 pi r*)`` and ``r* > 0`` a root of the quartic

    p(r) = -pi^2 r^4 + J r^3 + (eta_bar + I) r^2 + delta^2/(4 pi^2),

which has one or three positive roots (``p(0) > 0``, ``p(inf) < 0``).  The Jacobian
``[[2v, 2r], [J - 2 pi^2 r, 2v]]`` has the eigenvalues ``2v +- sqrt(2 r (J - 2 pi^2 r))``.
Saddle-node folds (``p = p' = 0``), parametrised by the rate ``r`` at the fold::

    J = 2 pi^2 r + delta^2/(2 pi^2 r^3),     eta_bar + I = -pi^2 r^2 - 3 delta^2/(4 pi^2 r^2),

meeting at the cusp (``p'' = 0`` too) ``r^4 = 3 delta^2/(4 pi^4)``: ``eta_bar + I = -sqrt(3)
delta``, ``J = (8 pi^2/3) r``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .._checks import Conditions

__all__ = ["MPRFixedPoints", "mpr_fixed_points", "mpr_fold", "mpr_cusp", "mpr_trajectory"]

_PI2 = math.pi**2


class MPRFixedPoints(NamedTuple):
    """Up to three fixed points, ascending in ``r`` (slots beyond ``count`` are NaN).

    Attributes:
        r: rates (units of 1/tau), shape ``(*batch, 3)``.
        v: mean membrane potentials (dimensionless), ``-delta/(2 pi r)``.
        eigenvalues: ``(*batch, 3, 2)`` complex, of the Jacobian.
        stable: both eigenvalues with negative real part.
        valid: the slot holds a fixed point.
        count: number of fixed points (1 or 3).
        residual: ``max |p(r)|`` relative to the largest term of ``p`` at the root.
    """

    r: jax.Array
    v: jax.Array
    eigenvalues: jax.Array
    stable: jax.Array
    valid: jax.Array
    count: jax.Array
    residual: jax.Array


def _check(delta, values) -> Conditions:
    conds = Conditions()
    conds.require("delta", delta, positive=True)
    for name, x in values.items():
        conds.require(name, x)
    return conds


def _poly(r, eta, J, delta):
    return ((-_PI2 * r + J) * r + eta) * r * r + delta * delta / (4 * _PI2)


def _dpoly(r, eta, J):
    return ((-4 * _PI2 * r + 3 * J) * r + 2 * eta) * r


def _positive_roots(eta, J, delta):
    """The positive real roots of p (ascending, NaN-padded to 3), polished by Newton steps and
    differentiated implicitly (the last step's derivative is ``-dp/dtheta / p'``)."""
    coeffs = jnp.stack([jnp.full_like(eta, -_PI2), J, eta, jnp.zeros_like(eta), delta * delta / (4 * _PI2)])
    z = jnp.roots(jax.lax.stop_gradient(coeffs), strip_zeros=False)
    scale = jnp.maximum(jnp.abs(z), 1e-300)
    real = (jnp.abs(z.imag) <= 1e-7 * scale) & (z.real > 0)
    r = jnp.where(real, z.real, jnp.nan)
    r = jnp.sort(r)[:3]  # NaN sort last; at most three positive roots
    eta_s, J_s, d_s = (jax.lax.stop_gradient(x) for x in (eta, J, delta))
    for _ in range(3):
        r = r - _poly(r, eta_s, J_s, d_s) / _dpoly(r, eta_s, J_s)
    r = jax.lax.stop_gradient(r)
    # one more Newton step with the parameters live: its derivative is the implicit one
    return r - _poly(r, eta, J, delta) / _dpoly(r, eta, J)


def mpr_fixed_points(eta_bar, J, delta, I=0.0) -> MPRFixedPoints:  # noqa: E741
    """Every fixed point of the Montbrio-Pazo-Roxin equations with its eigenvalues and stability.

    Args:
        eta_bar: centre of the Lorentzian excitability distribution.
        J: synaptic coupling.
        delta: half width of the Lorentzian, > 0.
        I: external input (adds to eta_bar).
        All dimensionless (time in units of tau_m); broadcast together.

    Returns:
        :class:`MPRFixedPoints`; jit/vmap/grad (implicit derivatives of ``r`` and ``v``).

    Example:
        >>> fp = mpr_fixed_points(-5.0, 15.0, 1.0)   # bistable: count 3, stable [True, False, True]
    """
    conds = _check(delta, {"eta_bar": eta_bar, "J": J, "I": I})
    eta_bar, J, delta, I = jnp.broadcast_arrays(*(jnp.asarray(x, jnp.result_type(float, x)) for x in (eta_bar, J, delta, I)))  # noqa: E741
    eta = eta_bar + I
    roots = jnp.vectorize(_positive_roots)(eta, J, delta) if eta.ndim else _positive_roots(eta, J, delta)
    valid = jnp.isfinite(roots)
    r = jnp.where(valid, roots, jnp.nan)
    d3, J3, eta3 = delta[..., None], J[..., None], eta[..., None]
    v = -d3 / (2 * math.pi * r)
    disc = (2 * r * (J3 - 2 * _PI2 * r)).astype(jnp.result_type(r, 1j))
    root = jnp.sqrt(disc)
    eig = jnp.stack([2 * v + root, 2 * v - root], axis=-1)
    stable = valid & jnp.all(eig.real < 0, axis=-1)
    terms = jnp.maximum(jnp.maximum(_PI2 * r**4, jnp.abs(J3) * r**3), jnp.maximum(jnp.abs(eta3) * r * r, d3 * d3 / (4 * _PI2)))
    residual = jnp.nanmax(jnp.where(valid, jnp.abs(_poly(r, eta3, J3, d3)) / terms, 0.0), axis=-1)
    out = MPRFixedPoints(r, v, eig, stable, valid, jnp.sum(valid, axis=-1), residual)
    return conds.enforce(out)


def mpr_fold(r, delta):
    """The saddle-node fold through the fold rate ``r`` > 0: ``(eta_bar + I, J)`` (module
    docstring).  Sweeping ``r`` traces both branches of the fold; they meet at :func:`mpr_cusp`."""
    conds = _check(delta, {})
    conds.require("r", r, positive=True)
    r, delta = jnp.broadcast_arrays(jnp.asarray(r, jnp.result_type(float, r)), jnp.asarray(delta, jnp.result_type(float, delta)))
    d2 = delta * delta
    J = 2 * _PI2 * r + d2 / (2 * _PI2 * r**3)
    eta = -_PI2 * r * r - 3 * d2 / (4 * _PI2 * r * r)
    return conds.enforce((eta, J))


def mpr_cusp(delta):
    """The cusp ``(eta_bar + I, J, r)`` where the two folds meet: ``eta = -sqrt(3) delta``,
    ``r = (3 delta^2/(4 pi^4))^{1/4}``, ``J = (8 pi^2/3) r``."""
    conds = _check(delta, {})
    delta = jnp.asarray(delta, jnp.result_type(float, delta))
    r = (3 * delta * delta / (4 * _PI2 * _PI2)) ** 0.25
    return conds.enforce((-math.sqrt(3.0) * delta, 8 * _PI2 / 3 * r, r))


def _vector_field(state, eta, J, delta):
    r, v = state
    return jnp.stack([delta / math.pi + 2 * r * v, v * v + eta + J * r - _PI2 * r * r])


def mpr_trajectory(eta_bar, J, delta, I, dt, r0=0.0, v0=0.0):  # noqa: E741
    """Transient of the MPR equations under a time-dependent input (classical Runge-Kutta, the
    input ``I[k]`` held over step ``k``; time in units of tau_m).

    Args:
        eta_bar, J, delta: scalars (delta > 0).
        I: input per step, shape ``(steps,)`` (a step, a periodic drive, ...).
        dt: time step (units of tau_m), > 0; RK4's error is O(dt^4).
        r0, v0: initial rate (>= 0) and mean potential.

    Returns:
        ``(r, v)``, each of shape ``(steps + 1,)`` starting at ``(r0, v0)``.
    """
    conds = _check(delta, {"eta_bar": eta_bar, "J": J, "I": I, "v0": v0})
    conds.require("dt", dt, positive=True)
    conds.require("r0", r0, nonnegative=True)
    I = jnp.asarray(I, jnp.result_type(float, I))  # noqa: E741
    if I.ndim != 1:
        raise ValueError(f"I must have shape (steps,), got {I.shape}")

    def step(state, i_k):
        eta = eta_bar + i_k
        f = lambda s: _vector_field(s, eta, J, delta)  # noqa: E731
        k1 = f(state)
        k2 = f(state + 0.5 * dt * k1)
        k3 = f(state + 0.5 * dt * k2)
        k4 = f(state + dt * k3)
        new = state + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        return new, new

    start = jnp.stack([jnp.asarray(r0, I.dtype), jnp.asarray(v0, I.dtype)])
    _, path = jax.lax.scan(step, start, I)
    path = jnp.concatenate([start[None], path])
    return conds.enforce((path[:, 0], path[:, 1]))
