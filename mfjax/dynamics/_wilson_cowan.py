"""The Wilson-Cowan excitatory-inhibitory rate model: vector field, every fixed point, the fold
and Hopf curves in closed form.

Wilson & Cowan (1972), Biophys. J. 12:1, eq. 13 without the refractory factor (the form of
Borisyuk & Kirillov 1992, Biol. Cybern. 66:319, and Ermentrout & Terman 2010, *Mathematical
Foundations of Neuroscience*, sec. 11.3)::

    tau_e dE/dt = -E + S_e(w_ee E - w_ei I + P_e),
    tau_i dI/dt = -I + S_i(w_ie E - w_ii I + P_i),      S_k(u) = 1/(1 + exp(-a_k (u - theta_k))),

with E, I the active fractions (dimensionless, in (0, 1)), P_e, P_i the external inputs and
time in ms.  Because ``S_k' = a_k S_k (1 - S_k)``, the Jacobian at a fixed point depends only on
the fixed point itself (``s_e = a_e E (1 - E)``, ``s_i = a_i I (1 - I)``)::

    J = [[(w_ee s_e - 1)/tau_e,  -w_ei s_e/tau_e],
         [ w_ie s_i/tau_i,      -(1 + w_ii s_i)/tau_i]],

and any (E, I) in (0, 1)^2 is the fixed point of exactly one input pair,
``P_e = S_e^{-1}(E) - w_ee E + w_ei I``, ``P_i = S_i^{-1}(I) - w_ie E + w_ii I``.  So the
bifurcation curves in the (P_e, P_i) plane have a closed form parametrised by E
(Borisyuk & Kirillov 1992): ``tr J = 0`` (Hopf, where ``det J > 0``) and ``det J = 0`` (fold)
are each linear in ``s_i`` given ``s_e``, and ``I (1 - I) = s_i/a_i`` has the two roots
``I = (1 -+ sqrt(1 - 4 s_i/a_i))/2``.
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp

from .._checks import Conditions
from ..solvers import solve_root

__all__ = [
    "WilsonCowan",
    "wilson_cowan_field",
    "wilson_cowan_jacobian",
    "WilsonCowanFixedPoints",
    "wilson_cowan_fixed_points",
    "wilson_cowan_curves",
    "BifurcationCurves",
]


class WilsonCowan(eqx.Module):
    """Parameters of the Wilson-Cowan E-I model (immutable pytree; fields scalars or arrays).

    Attributes:
        tau_e, tau_i: time constants (ms), > 0.
        w_ee, w_ei, w_ie, w_ii: coupling strengths (>= 0; the signs are in the equations).
        a_e, a_i: gains of the sigmoids (1 / input unit), > 0.
        theta_e, theta_i: their thresholds (input units), finite.

    The defaults are the oscillating set of Borisyuk & Kirillov (1992) and Ermentrout & Terman
    (2010, fig. 11.12) with both time constants 10 ms: a Hopf bifurcation near P_e = 1.25 for
    P_i = 0 and a limit cycle of about 11 Hz beyond it.

    Example:
        >>> model = WilsonCowan()
        >>> wilson_cowan_fixed_points(model, 1.0, 0.0).count
    """

    tau_e: jax.Array | float = 10.0
    tau_i: jax.Array | float = 10.0
    w_ee: jax.Array | float = 16.0
    w_ei: jax.Array | float = 12.0
    w_ie: jax.Array | float = 15.0
    w_ii: jax.Array | float = 3.0
    a_e: jax.Array | float = 1.3
    theta_e: jax.Array | float = 4.0
    a_i: jax.Array | float = 2.0
    theta_i: jax.Array | float = 3.7

    def conditions(self, conds: Conditions, prefix: str = "WilsonCowan") -> Conditions:
        """tau_e, tau_i, a_e, a_i > 0; w_ee, w_ei, w_ie, w_ii >= 0 (w_ei, w_ie > 0 for the
        closed forms); thresholds finite."""
        for name in ("tau_e", "tau_i", "a_e", "a_i", "w_ei", "w_ie"):
            conds.require(f"{prefix}.{name}", getattr(self, name), positive=True)
        for name in ("w_ee", "w_ii"):
            conds.require(f"{prefix}.{name}", getattr(self, name), nonnegative=True)
        for name in ("theta_e", "theta_i"):
            conds.require(f"{prefix}.{name}", getattr(self, name))
        return conds

    def __check_init__(self):
        self.conditions(Conditions())


def _sigmoid(u, a, theta):
    return jax.nn.sigmoid(a * (u - theta))


def _logit(y, a, theta):
    return theta + (jnp.log(y) - jnp.log1p(-y)) / a


def _conds(model: WilsonCowan, **inputs) -> Conditions:
    conds = Conditions()
    model.conditions(conds.traced_only())  # its concrete fields were checked when it was built
    for name, value in inputs.items():
        conds.require(name, value)
    return conds


def wilson_cowan_field(model: WilsonCowan, state, P_e, P_i):
    """The vector field ``(dE/dt, dI/dt)`` (1/ms) at ``state = (E, I)``, shape ``(..., 2)``;
    ``P_e``, ``P_i`` broadcast against ``state[..., 0]`` (module docstring)."""
    E, I = state[..., 0], state[..., 1]  # noqa: E741
    m = model
    dE = (-E + _sigmoid(m.w_ee * E - m.w_ei * I + P_e, m.a_e, m.theta_e)) / m.tau_e
    dI = (-I + _sigmoid(m.w_ie * E - m.w_ii * I + P_i, m.a_i, m.theta_i)) / m.tau_i
    return jnp.stack([dE, dI], axis=-1)


def wilson_cowan_jacobian(model: WilsonCowan, state):
    """The Jacobian (1/ms) at a fixed point ``state = (E, I)`` from the closed form of the
    module docstring (valid at fixed points only), shape ``(..., 2, 2)``."""
    m = model
    E, I = state[..., 0], state[..., 1]  # noqa: E741
    s_e, s_i = m.a_e * E * (1 - E), m.a_i * I * (1 - I)
    row_e = jnp.stack([(m.w_ee * s_e - 1) / m.tau_e, -m.w_ei * s_e / m.tau_e], axis=-1)
    row_i = jnp.stack([m.w_ie * s_i / m.tau_i, -(1 + m.w_ii * s_i) / m.tau_i], axis=-1)
    return jnp.stack([row_e, row_i], axis=-2)


class WilsonCowanFixedPoints(NamedTuple):
    """Up to five fixed points, ascending in E (slots beyond ``count`` are NaN).

    Attributes:
        state: ``(..., 5, 2)`` the fixed points (E, I).
        eigenvalues: ``(..., 5, 2)`` complex, of the Jacobian (1/ms).
        stable: both eigenvalues with negative real part.
        kind: 0 stable node/focus, 1 saddle, 2 unstable node/focus (-1 empty slot).
        valid: the slot holds a fixed point (Newton converged).
        count: number of fixed points.
        residual: max |F| (1/ms) over the valid slots.
    """

    state: jax.Array
    eigenvalues: jax.Array
    stable: jax.Array
    kind: jax.Array
    valid: jax.Array
    count: jax.Array
    residual: jax.Array


_SLOTS = 5


def _nullcline_i(m, E, P_i):
    """I on the I-nullcline at E: the unique root of ``I = S_i(w_ie E - w_ii I + P_i)`` (the
    right side falls with I as w_ii >= 0), by bisection in ``logit(I)`` over [-60, 60]."""
    def excess(y):
        I = jax.nn.sigmoid(y)  # noqa: E741
        return _sigmoid(m.w_ie * E - m.w_ii * I + P_i, m.a_i, m.theta_i) - I

    def bisect(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        up = excess(mid) > 0
        return jnp.where(up, mid, lo), jnp.where(up, hi, mid)

    lo = jnp.full_like(E, -60.0)
    lo, hi = jax.lax.fori_loop(0, 64, bisect, (lo, lo + 120.0))
    return jax.nn.sigmoid(0.5 * (lo + hi))


def _reduced(m, E, P_e, P_i):
    """h(E) = S_e(w_ee E - w_ei I(E) + P_e) - E on the I-nullcline: positive as E -> 0, negative
    as E -> 1; its roots are the fixed points."""
    I = _nullcline_i(m, E, P_i)  # noqa: E741
    return _sigmoid(m.w_ee * E - m.w_ei * I + P_e, m.a_e, m.theta_e) - E


def _fixed_points_one(m, P_e, P_i, grid):
    # bracket the roots of g(E) on a grid dense near E = 0 and 1 (logit-spaced), bisect them
    g = _reduced(m, grid, P_e, P_i)
    change = jnp.sign(g[:-1]) != jnp.sign(g[1:])
    idx = jnp.nonzero(change, size=_SLOTS, fill_value=0)[0]
    found = jnp.arange(_SLOTS) < jnp.sum(change)
    lo, hi = grid[idx], grid[idx + 1]
    g_lo = g[idx]

    def bisect(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        same = jnp.sign(_reduced(m, mid, P_e, P_i)) == jnp.sign(g_lo)
        return jnp.where(same, mid, lo), jnp.where(same, hi, mid)

    lo, hi = jax.lax.fori_loop(0, 60, bisect, (lo, hi))
    E0 = 0.5 * (lo + hi)
    I0 = _nullcline_i(m, E0, P_i)

    def polish(E, I, found_k):  # noqa: E741
        F = lambda z, args: wilson_cowan_field(args[0], z, args[1], args[2])  # noqa: E731
        sol = solve_root(F, jnp.stack([E, I]), (m, P_e, P_i))
        return sol.value, sol.converged & found_k, sol.residual

    states, ok, res = jax.vmap(polish)(E0, I0, found)
    return states, ok, jnp.max(jnp.where(ok, res, 0.0))


def wilson_cowan_fixed_points(model: WilsonCowan, P_e, P_i, *, grid_points: int = 2048) -> WilsonCowanFixedPoints:
    """Every fixed point of the Wilson-Cowan model at the inputs ``(P_e, P_i)``.

    The fixed points are the roots of the one-dimensional ``h(E)`` (the I-nullcline, unique
    for each E, substituted into the E-equation), bracketed on a ``grid_points`` grid in E (spaced evenly in
    ``log(E/(1-E))`` over [-30, 30]), bisected and polished by Newton on the full system, with
    implicit gradients in the model's parameters and the inputs.  Roots closer together than
    the grid spacing (within ~1e-4 of a fold) can be missed: near a fold count the fixed points
    from a continuation instead.

    Args:
        model: :class:`WilsonCowan`.
        P_e, P_i: external inputs (scalars or arrays, broadcast together).

    Returns:
        :class:`WilsonCowanFixedPoints`; jit/vmap/grad.
    """
    conds = _conds(model, P_e=P_e, P_i=P_i)
    dtype = jnp.result_type(float, P_e, P_i)
    P_e, P_i = jnp.broadcast_arrays(jnp.asarray(P_e, dtype), jnp.asarray(P_i, dtype))
    grid = jax.nn.sigmoid(jnp.linspace(-30.0, 30.0, grid_points, dtype=dtype))
    one = lambda pe, pi: _fixed_points_one(model, pe, pi, grid)  # noqa: E731
    for _ in range(P_e.ndim):
        one = jax.vmap(one)
    states, valid, residual = one(P_e, P_i)
    states = jnp.where(valid[..., None], states, jnp.nan)
    eig = jnp.linalg.eigvals(wilson_cowan_jacobian(model, jnp.where(valid[..., None], states, 0.5)))
    eig = jnp.where(valid[..., None], eig, jnp.nan)
    n_unstable = jnp.sum(eig.real > 0, axis=-1)
    kind = jnp.where(valid, jnp.where(n_unstable == 0, 0, jnp.where(n_unstable == 1, 1, 2)), -1)
    out = WilsonCowanFixedPoints(states, eig, valid & (n_unstable == 0), kind, valid, jnp.sum(valid, axis=-1), residual)
    return conds.enforce(out)


class BifurcationCurves(NamedTuple):
    """Closed-form fold or Hopf curves of :func:`wilson_cowan_curves`, sampled at ``E``, each
    with its two branches (the two roots for I) on the last axis.

    Attributes:
        E, I: the fixed point on the curve, ``(..., 2)``.
        P_e, P_i: the inputs at which it is a fold / Hopf point.
        omega: Hopf frequency sqrt(det J) (radians/ms; 0 on the fold curve).
        valid: the curve exists at this E (a root I in (0, 1); for Hopf ``det J > 0``).
    """

    E: jax.Array
    I: jax.Array  # noqa: E741
    P_e: jax.Array
    P_i: jax.Array
    omega: jax.Array
    valid: jax.Array


def wilson_cowan_curves(model: WilsonCowan, E, kind: str = "hopf") -> BifurcationCurves:
    """The Hopf (``tr J = 0``, ``det J > 0``) or fold (``det J = 0``) curve in the (P_e, P_i)
    plane, parametrised by the excitatory fixed point ``E`` in (0, 1) (module docstring;
    Borisyuk & Kirillov 1992).

    With ``s_e = a_e E (1 - E)`` and ``x = w_ee s_e - 1``:
    Hopf ``s_i = (x tau_i/tau_e - 1)/w_ii``; fold ``s_i = x/(w_ei w_ie s_e - w_ii x)``;
    then ``I = (1 -+ sqrt(1 - 4 s_i/a_i))/2`` and the inputs from the fixed-point equations.
    Invalid samples are NaN.
    """
    if kind not in ("hopf", "fold"):
        raise ValueError(f"kind must be 'hopf' or 'fold', got {kind!r}")
    m = model
    conds = _conds(model, E=E)
    E = jnp.asarray(E, jnp.result_type(float, E))
    conds.where("E must be in (0, 1)", ~((E > 0) & (E < 1)))
    s_e = m.a_e * E * (1 - E)
    x = m.w_ee * s_e - 1
    if kind == "hopf":
        s_i = (x * m.tau_i / m.tau_e - 1) / m.w_ii
    else:
        s_i = x / (m.w_ei * m.w_ie * s_e - m.w_ii * x)
    disc = 1 - 4 * s_i / m.a_i
    ok = (s_i > 0) & (disc >= 0)
    root = jnp.sqrt(jnp.where(ok, disc, 0.0))
    I = jnp.stack([(1 - root) / 2, (1 + root) / 2], axis=-1)  # noqa: E741
    E2 = jnp.broadcast_to(E[..., None], I.shape)
    ok = ok[..., None] & (I > 0) & (I < 1)
    I_safe = jnp.where(ok, I, 0.5)
    P_e = _logit(E2, m.a_e, m.theta_e) - m.w_ee * E2 + m.w_ei * I_safe
    P_i = _logit(I_safe, m.a_i, m.theta_i) - m.w_ie * E2 + m.w_ii * I_safe
    det = jnp.linalg.det(wilson_cowan_jacobian(m, jnp.stack([E2, I_safe], axis=-1)))
    if kind == "hopf":
        ok = ok & (det > 0)
        omega = jnp.sqrt(jnp.where(ok, det, 0.0))
    else:
        omega = jnp.zeros_like(det)
    nan = lambda a: jnp.where(ok, a, jnp.nan)  # noqa: E731
    out = BifurcationCurves(nan(E2), nan(I_safe), nan(P_e), nan(P_i), nan(omega), ok)
    return conds.enforce(out)
