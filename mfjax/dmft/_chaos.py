"""Transition to chaos and local stability of the random rate network (DMFT).

* ``chaos_onset(sigma)``: the coupling g_c where the DMFT's largest Lyapunov exponent crosses 0
  (g_c = 1 without noise for phi'(0) = 1; noise moves it to larger g: Schuecker, Goedeke &
  Helias 2018, PRX 8:041029, who give an exact condition).  With noise: for tau > 0 the
  velocity ``u = dDelta/dtau`` solves the Schroedinger equation of the Lyapunov exponent at
  the energy -1 that means lambda = 0, since differentiating ``d2Delta/dtau2 = Delta -
  g^2 C_phi(Delta)`` gives ``d2u/dtau2 = (1 - g^2 C_phi'(Delta)) u``.  Its even continuation
  ``|u(|tau|)|`` has no node (a ground state) and is smooth at tau = 0 exactly when the
  acceleration ``d2Delta/dtau2`` vanishes at 0+, i.e. when

      Delta0 = g^2 <phi(m + sqrt(Delta0) z)^2>;

  otherwise its kink acts as a delta potential that moves the ground-state energy above or
  below -1.  So g_c(sigma) is the root in g of ``g^2 <phi^2> - Delta0`` on the DMFT solution
  (order parameters to 1e-12; no time grid, unlike ``stationary(...).lyapunov``, whose finite
  differences leave ~1e-4 in g).  Without noise the transition is where the static solution
  loses stability, ``g^2 <phi'(x)^2> = 1``.  Roots by bracketing and regula falsi (Illinois).
* ``local_stability(g, ...)``: the radius ``g sqrt(<phi'(x)^2>)`` of the bulk of the
  instantaneous Jacobian's spectrum (Rajan & Abbott 2006 for heterogeneous gains) over the
  stationary distribution of x; above 1 the dynamics is locally expansive.  Between the line
  where it reaches 1 and g_c the noisy network is locally expansive but not chaotic.
"""

from __future__ import annotations

import jax.numpy as jnp

from .._checks import as_checked_array
from ._nonlinearity import gaussian_nodes, resolve_phi
from ._stationary import _prepare, _solve_order, _sqrt, order_parameters

__all__ = ["chaos_onset", "local_stability"]


def local_stability(g, sigma=0.0, J0=0.0, I=0.0, phi="tanh"):
    """Spectral radius ``g sqrt(<phi'(x)^2>)`` of the random part of the instantaneous Jacobian,
    x ~ N(m, Delta0) of the stationary DMFT state; > 1 means locally expansive."""
    op = order_parameters(g, sigma, J0, I, phi)
    _, _, dphi, _ = resolve_phi(phi)
    z, w = gaussian_nodes(op.delta0.dtype)
    return jnp.asarray(g, op.delta0.dtype) * jnp.sqrt(jnp.sum(w * dphi(op.mean + _sqrt(op.delta0) * z) ** 2))


def _onset_condition(g, sigma, J0, I, phi) -> float:
    """The function whose root in g is the transition to chaos (module docstring); < 0 below.
    Without noise it is evaluated on the static branch (stable or not)."""
    (g_, s_, j_, i_), x0, symmetric, key = _prepare(g, sigma, J0, I, phi, None)
    if sigma == 0:  # the static branch that continues the quiescent state (Delta = 0 at J0 = I = 0)
        x0 = x0.at[0].set(0.0)
    op = _solve_order(g_, s_, j_, i_, x0, key, symmetric, 200, "static" if sigma == 0 else "auto")
    if not bool(op.converged):
        raise RuntimeError(f"the DMFT self-consistency did not converge at g = {g} (sigma = {sigma})")
    f, _, dphi, _ = resolve_phi(phi)
    z, w = gaussian_nodes(op.delta0.dtype)
    x = op.mean + _sqrt(op.delta0) * z
    if sigma == 0:
        return float(g**2 * jnp.sum(w * dphi(x) ** 2) - 1.0)
    return float(g**2 * jnp.sum(w * f(x) ** 2) - op.delta0)


def chaos_onset(sigma=0.0, J0=0.0, I=0.0, phi="tanh", *, g_max: float = 10.0, tol: float = 1e-13,
                max_iter: int = 100) -> float:
    """Critical coupling g_c(sigma) where the largest Lyapunov exponent of the DMFT crosses 0.

    Exact characterisation (module docstring): the root of ``g^2 <phi(x)^2> - Delta0`` with
    noise, of ``g^2 <phi'(x)^2> - 1`` without; g_c(0.5) = 1.4755680 for tanh.  ``tol`` is the
    width of the final bracket in g.

    Raises ``ValueError`` for invalid arguments and ``RuntimeError`` if no sign change is found
    on [0.1, g_max] or the iteration does not reach ``tol``.
    """
    as_checked_array("sigma", sigma, nonnegative=True)
    for name, value in (("J0", J0), ("I", I)):
        as_checked_array(name, value)
    for name, value in (("g_max", g_max), ("tol", tol)):
        as_checked_array(name, value, positive=True)
    resolve_phi(phi)
    sigma = float(sigma)
    return bracketed_root(lambda g: _onset_condition(g, sigma, J0, I, phi), 0.1, g_max, tol, max_iter,
                          f"sigma={sigma}")


def bracketed_root(cond, lower: float, upper: float, tol: float, max_iter: int, what: str) -> float:
    """The root in (lower, upper] of an increasing-through-zero ``cond`` (< 0 at ``lower``):
    the bracket is grown from [lower, min(1, upper)] by factors 1.5, then shrunk by regula
    falsi with the Illinois modification to width ``tol``.  ``RuntimeError`` (naming ``what``)
    if no sign change is found or ``tol`` is not reached in ``max_iter`` steps."""
    a, fa = lower, cond(lower)
    b = min(1.0, upper)
    fb = cond(b)
    while fb < 0 and b < upper:
        a, fa = b, fb
        b = min(1.5 * b, upper)
        fb = cond(b)
    if fa >= 0 or fb < 0:
        raise RuntimeError(f"no transition to chaos found in [{lower}, {upper}] ({what})")
    side = 0
    for _ in range(max_iter):
        c = (a * fb - b * fa) / (fb - fa)
        fc = cond(c)
        if fc == 0:
            return c
        if fc < 0:
            a, fa = c, fc
            if side == -1:
                fb *= 0.5
            side = -1
        else:
            b, fb = c, fc
            if side == 1:
                fa *= 0.5
            side = 1
        if b - a < tol:
            return 0.5 * (a + b)
    raise RuntimeError(f"the transition to chaos did not converge to {tol} in {max_iter} steps "
                       f"(bracket [{a}, {b}], {what})")
