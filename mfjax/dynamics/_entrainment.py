"""Entrainment of a limit cycle by a periodic input: Arnold tongues exact, from the phase
reduction, and from brute-force simulation.

The oscillator ``dx/dt = F(x, u, params)`` receives the input ``u(t) = A sin(2 pi f t)``
(``f`` in Hz, ``t`` in ms: ``2 pi f t / 1000``), ``u = 0`` being the unforced system with a
stable cycle of period ``T0`` (ms) and frequency ``f0 = 1000/T0`` Hz.

* **Phase reduction** (Kuramoto 1984; Ermentrout & Terman 2010, ch. 8): to first order in A the
  phase obeys ``dtheta/dt = 1 + A z(theta) sin(Omega t)`` with the input PRC
  ``z = Z . dF/du`` (dimensionless per unit of u; ``Z`` from
  :func:`mfjax.dynamics.phase_response`).  Averaging over a forcing period, the phase
  difference ``psi`` obeys Adler's equation ``dpsi/dt = (omega0 - Omega) + omega0 A H(psi)`` with
  ``H(psi) = Re(i c_1 e^{i psi})``, ``c_1 = (1/T0) int z(t) e^{-2 pi i t/T0} dt`` (only the first
  harmonic of z survives against a sinusoid).  So the 1:1 tongue is

      |f - f0| <= f0 A |c_1|,

  and the stable locked phase is ``psi* = -arg c_1``.
* **Exact 1:1 tongue edges**: a 1:1 locked state is a fixed point of the stroboscopic map
  ``P_f(x)`` (the flow over one forcing period ``1000/f`` ms); the tongue's edges at a given A
  are its folds in f (saddle-node of the locked and the unlocked orbit), continued from ``f0``
  and located by :func:`mfjax.solvers.continuation` / :func:`mfjax.solvers.locate_fold`.
* **Rotation numbers** on a (frequency, amplitude) grid, vmapped: cycles of the oscillator per
  forcing period (upward crossings of ``x[0]`` through ``level``), and whether the stroboscopic
  samples have settled (1:1 locking when the rotation number is 1).
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from .._checks import Conditions, as_int
from ..solvers import continuation, equilibrium, locate_fold
from ._orbits import PeriodicOrbit, phase_response, rk4_trajectory

__all__ = ["input_prc", "adler_tongue", "AdlerTongue", "tongue_edges", "TongueEdges", "rotation_numbers", "locking_ratios"]


def _forced(F, amplitude, frequency):
    omega = 2 * math.pi * frequency / 1000.0  # radians per ms
    return lambda x, t, params: F(x, amplitude * jnp.sin(omega * t), params)


def input_prc(F: Callable, orbit: PeriodicOrbit, params=None):
    """The input phase response ``z(t_k) = Z(t_k) . dF/du`` on the orbit grid, ``(steps + 1,)``:
    the phase advance (ms) per unit of a brief input pulse of unit area (u ms), i.e. the
    ``dtheta/dt = 1 + A z(theta) sin(Omega t)`` of the module docstring."""
    Z = phase_response(lambda x, prm: F(x, 0.0, prm), orbit, params)
    dF_du = jax.vmap(lambda x: jax.jacfwd(lambda u: F(x, u, params))(jnp.zeros((), x.dtype)))(orbit.trajectory)
    return jnp.sum(Z * dF_du, axis=-1)


class AdlerTongue(NamedTuple):
    """The first-order 1:1 Arnold tongue ``|f - f0| <= f0 A |c_1|``.

    Attributes:
        f0: the cycle's frequency (Hz).
        slope: ``f0 |c_1|`` (Hz per unit amplitude): the half width of the tongue per unit A.
        locked_phase: ``psi* = -arg c_1`` (radians), the oscillator's phase lead at lock.
        c1: the first Fourier coefficient of the input PRC (complex).
    """

    f0: jax.Array
    slope: jax.Array
    locked_phase: jax.Array
    c1: jax.Array


def adler_tongue(F: Callable, orbit: PeriodicOrbit, params=None) -> AdlerTongue:
    """The phase-reduction (Adler) 1:1 tongue of ``dx/dt = F(x, u, params)`` forced by
    ``u = A sin(2 pi f t)`` (module docstring)."""
    z = input_prc(F, orbit, params)[:-1]
    N = z.shape[0]
    c1 = jnp.sum(z * jnp.exp(-2j * math.pi * jnp.arange(N) / N)) / N
    f0 = 1000.0 / orbit.period
    return AdlerTongue(f0, f0 * jnp.abs(c1), -jnp.angle(c1), c1)


class TongueEdges(NamedTuple):
    """The exact 1:1 tongue edges at one amplitude (folds of the locked orbit in f).

    Attributes:
        low, high: the edge frequencies (Hz); NaN where not located.
        state_low, state_high: the stroboscopic point (x at t = 0) of the locked orbit at the
            edges.
        converged: both folds located (Newton on the fold system converged).
        residual: the larger fold-system residual.
    """

    low: jax.Array
    high: jax.Array
    state_low: jax.Array
    state_high: jax.Array
    converged: jax.Array
    residual: jax.Array


def tongue_edges(
    F: Callable,
    orbit: PeriodicOrbit,
    amplitude,
    params=None,
    *,
    steps_per_period: int = 400,
    continuation_steps: int = 80,
    ds: float = 0.002,
) -> TongueEdges:
    """The exact 1:1 Arnold-tongue edges at ``amplitude`` (module docstring).

    Continues the locked orbit's stroboscopic fixed point in ``f/f0`` from ``f0`` (started at
    the phase-reduction lock) in both directions and locates the folds; differentiable in
    ``amplitude`` and ``params`` (implicit, through the fold system).

    Args:
        F: ``F(x, u, params)``, the input ``u`` scalar.
        orbit: the unforced stable cycle (:func:`mfjax.dynamics.periodic_orbit` of
            ``F(x, 0, params)``).
        amplitude: A (units of u), > 0; small enough that the tongue is 1:1 (a few % of f0 in
            width).
        steps_per_period: RK4 steps per forcing period.
        continuation_steps, ds: the continuation in ``f/f0`` on each side.
    """
    steps_per_period = as_int("steps_per_period", steps_per_period, minimum=16)
    conds = Conditions()
    conds.require("amplitude", amplitude, positive=True)
    f0 = 1000.0 / jax.lax.stop_gradient(orbit.period)
    adler = adler_tongue(F, jax.lax.stop_gradient(orbit), params)
    N = orbit.trajectory.shape[0] - 1
    theta = jnp.mod(adler.locked_phase / (2 * math.pi), 1.0)
    x_lock = orbit.trajectory[jnp.round(theta * N).astype(int) % N]

    def strobe(x, ratio, prm):
        A, p = prm
        f = ratio * f0
        period = 1000.0 / f
        return rk4_trajectory(_forced(F, A, f), x, period / steps_per_period, steps_per_period, p, keep=False) - x

    prm = (amplitude, params)
    start = equilibrium(strobe, jax.lax.stop_gradient(x_lock), jnp.asarray(1.0, x_lock.dtype), jax.lax.stop_gradient(prm))

    def edge(direction):
        br = continuation(strobe, start.value, 1.0, jax.lax.stop_gradient(prm), steps=continuation_steps, ds=ds,
                          ds_max=10 * ds, direction=direction, max_bifurcations=1, p_bounds=(0.5, 2.0))
        i = jnp.maximum(br.fold_index[0], 0)
        fold = locate_fold(strobe, br.x[i], br.p[i], prm)
        ok = fold.converged & (br.fold_index[0] >= 0) & start.converged
        return jnp.where(ok, fold.p * f0, jnp.nan), jnp.where(ok, fold.x, jnp.nan), ok, fold.residual

    lo, x_lo, ok_lo, r_lo = edge(-1.0)
    hi, x_hi, ok_hi, r_hi = edge(1.0)
    return conds.enforce(TongueEdges(lo, hi, x_lo, x_hi, ok_lo & ok_hi, jnp.maximum(r_lo, r_hi)))


def _check_grid(x0, frequency, amplitude, periods, transient_periods, steps_per_period):
    periods = as_int("periods", periods, minimum=2)
    transient_periods = as_int("transient_periods", transient_periods, minimum=0)
    steps_per_period = as_int("steps_per_period", steps_per_period, minimum=4)
    conds = Conditions()
    conds.require("frequency", frequency, positive=True)
    conds.require("amplitude", amplitude, nonnegative=True)
    x0 = jnp.asarray(x0, jnp.result_type(float, x0))
    frequency, amplitude = jnp.broadcast_arrays(jnp.asarray(frequency, x0.dtype), jnp.asarray(amplitude, x0.dtype))
    return x0, frequency, amplitude, periods, transient_periods, steps_per_period, conds


def _stroboscope(F, x0, f, A, params, level, periods, transient_periods, steps_per_period):
    """Upward crossings of ``level`` by ``x[0]`` over ``periods`` forcing periods (after
    ``transient_periods``), and the stroboscopic samples at the end of each period."""
    Fa = _forced(F, A, f)
    dt = 1000.0 / f / steps_per_period
    x = rk4_trajectory(Fa, x0, dt, transient_periods * steps_per_period, params, keep=False)
    t_start = transient_periods * steps_per_period * dt

    def period(carry, j):
        x, count = carry
        path = rk4_trajectory(Fa, x, dt, steps_per_period, params, t0=t_start + j * steps_per_period * dt)
        u = path[:, 0]
        up = jnp.sum((u[:-1] < level) & (u[1:] >= level))
        return (path[-1], count + up), path[-1]

    (_, count), samples = jax.lax.scan(period, (x, jnp.asarray(0)), jnp.arange(periods))
    return count, samples


def rotation_numbers(
    F: Callable,
    x0,
    frequency,
    amplitude,
    params=None,
    *,
    level,
    periods: int = 100,
    transient_periods: int = 100,
    steps_per_period: int = 64,
    tol: float = 1e-6,
):
    """Rotation numbers of the forced oscillator on a grid, by simulation (vmapped).

    Args:
        F: ``F(x, u, params)``.
        x0: the initial state (a point on the unforced cycle), ``(n,)``.
        frequency: forcing frequencies (Hz), any shape; ``amplitude`` broadcasts against it.
        level: crossing level of ``x[0]`` (e.g. the unstable fixed point inside the cycle).
        periods: forcing periods counted after ``transient_periods`` discarded ones.
        steps_per_period: RK4 steps per forcing period.
        tol: the stroboscopic samples of the last half of the window must stay within ``tol``
            (max norm) of the last one to count as locked (a p:1 state).

    Returns:
        ``(rotation, locked)``: oscillator cycles per forcing period over the window, and
        whether the stroboscopic map has settled (then the rotation number is an integer p of a
        p:1 lock; 1:1 where it is 1).  :func:`locking_ratios` finds p:q locks.
    """
    x0, frequency, amplitude, periods, transient, steps, conds = _check_grid(
        x0, frequency, amplitude, periods, transient_periods, steps_per_period)

    def one(f, A):
        count, samples = _stroboscope(F, x0, f, A, params, level, periods, transient, steps)
        tail = samples[periods // 2:]
        settled = jnp.max(jnp.abs(tail - samples[-1][None])) <= tol
        return count / periods, settled

    flat = jax.vmap(one)(frequency.ravel(), amplitude.ravel())
    rotation, locked = (a.reshape(frequency.shape) for a in flat)
    return conds.enforce((rotation, locked))


def locking_ratios(
    F: Callable,
    x0,
    frequency,
    amplitude,
    params=None,
    *,
    level,
    max_period: int = 4,
    periods: int = 120,
    transient_periods: int = 100,
    steps_per_period: int = 64,
    tol: float = 1e-6,
):
    """The p:q mode locking of the forced oscillator on a grid (p oscillator cycles per q forcing
    periods), by simulation (vmapped): the Arnold tongues of every ratio with q <= max_period.

    A point is p:q locked when the stroboscopic map (the state once per forcing period) is
    periodic with period q: over the last half of the window every sample returns within
    ``tol`` (max norm) after q periods, for the smallest such q; p is then the number of upward
    crossings of ``level`` per q periods (``round(q rotation)``).  Arguments as
    :func:`rotation_numbers`; ``periods`` should be a multiple of every q considered.

    Returns:
        ``(p, q)`` integer arrays of the grid's shape; ``q = 0`` (and p = 0) where no lock with
        ``q <= max_period`` is found (quasi-periodic or chaotic, or not yet settled).
    """
    max_period = as_int("max_period", max_period, minimum=1)
    x0, frequency, amplitude, periods, transient, steps, conds = _check_grid(
        x0, frequency, amplitude, periods, transient_periods, steps_per_period)
    if max_period > periods // 4:
        raise ValueError(f"max_period must be <= periods // 4 ({periods // 4}), got {max_period}")

    def one(f, A):
        count, samples = _stroboscope(F, x0, f, A, params, level, periods, transient, steps)
        tail = samples[periods // 2:]
        returns = jnp.stack([jnp.max(jnp.abs(tail[q:] - tail[:-q])) <= tol for q in range(1, max_period + 1)])
        q = jnp.where(jnp.any(returns), jnp.argmax(returns) + 1, 0)
        p = jnp.round(q * count / periods).astype(int)
        return p, q

    flat = jax.vmap(one)(frequency.ravel(), amplitude.ravel())
    p, q = (a.reshape(frequency.shape) for a in flat)
    return conds.enforce((p, q))
