"""Transition to chaos and local stability of the random rate network (DMFT).

* ``chaos_onset(sigma)``: the coupling g_c where the DMFT's largest Lyapunov exponent crosses 0
  (g_c = 1 without noise for phi'(0) = 1; noise moves it to larger g: Schuecker, Goedeke &
  Helias 2018).  Found by bracketing and regula falsi (Illinois) on ``stationary(...).lyapunov``.
* ``local_stability(g, ...)``: the radius ``g sqrt(<phi'(x)^2>)`` of the bulk of the
  instantaneous Jacobian's spectrum (Rajan & Abbott 2006 for heterogeneous gains) over the
  stationary distribution of x; above 1 the dynamics is locally expansive.  Between the line
  where it reaches 1 and g_c the noisy network is locally expansive but not chaotic.
"""

from __future__ import annotations

import jax.numpy as jnp

from ._nonlinearity import gaussian_nodes, resolve_phi
from ._stationary import _sqrt, order_parameters, stationary

__all__ = ["chaos_onset", "local_stability"]


def local_stability(g, sigma=0.0, J0=0.0, I=0.0, phi="tanh"):
    """Spectral radius ``g sqrt(<phi'(x)^2>)`` of the random part of the instantaneous Jacobian,
    x ~ N(m, Delta0) of the stationary DMFT state; > 1 means locally expansive."""
    op = order_parameters(g, sigma, J0, I, phi)
    _, _, dphi, _ = resolve_phi(phi)
    z, w = gaussian_nodes(op.delta0.dtype)
    return jnp.asarray(g, op.delta0.dtype) * jnp.sqrt(jnp.sum(w * dphi(op.mean + _sqrt(op.delta0) * z) ** 2))


def chaos_onset(sigma=0.0, J0=0.0, I=0.0, phi="tanh", *, g_max: float = 10.0, tol: float = 1e-8,
                max_iter: int = 60) -> float:
    """Critical coupling g_c(sigma) where the largest Lyapunov exponent of the DMFT crosses 0.

    Raises ``RuntimeError`` if no sign change is found on [0.5, g_max] or the iteration does not
    reach ``|g - g_prev| < tol``.
    """
    def lam(g):
        return float(stationary(g, sigma, J0, I, phi).lyapunov)

    a, fa = 0.5, lam(0.5)
    b = 1.0
    fb = lam(b)
    while fb < 0 and b < g_max:
        a, fa = b, fb
        b = min(2.0 * b, g_max)
        fb = lam(b)
    if fa >= 0 or fb < 0:
        raise RuntimeError(f"no transition to chaos found for g in [0.5, {g_max}] (sigma={sigma})")
    side = 0
    for _ in range(max_iter):
        c = (a * fb - b * fa) / (fb - fa)
        fc = lam(c)
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
    raise RuntimeError(f"chaos_onset did not converge to {tol} in {max_iter} steps (bracket [{a}, {b}])")


