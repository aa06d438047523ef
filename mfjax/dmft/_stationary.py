"""Stationary dynamic mean-field theory (DMFT) of random rate networks.

Network (Sompolinsky, Crisanti & Sommers 1988; noise: Schuecker, Goedeke & Helias 2018, PRX 8:
041029; Helias & Dahmen 2020, Lecture Notes in Physics 970, ch. 10)::

    dx_i = (-x_i + sum_j J_ij phi(x_j) + I) dt + dxi_i,   J_ij ~ N(J0/N, g^2/N),
    <xi_i(t) xi_j(s)> = sigma^2 delta_ij delta(t - s).

Time in units of the unit time constant.  For N -> inf each x_i is a Gaussian process with mean
``m = J0 <phi> + I`` and autocorrelation ``Delta(tau)`` of x - m obeying the equation of motion
of a classical particle::

    d^2 Delta / d tau^2 = -dV/dDelta,   V(Delta) = -Delta^2/2 + g^2 Phi2(Delta),
    Phi2(Delta) = int Dz [int Dx Phi(m + sqrt(Delta0 - Delta) x + sqrt(Delta) z)]^2,  Phi' = phi,

started at Delta0 with velocity -sigma^2/2 (the noise kink) and coming to rest at Delta_inf, the
maximum of V (``Delta_inf = g^2 C_phi(Delta_inf)``).  Energy conservation closes the system::

    Delta0^2 - Delta_inf^2 = 2 g^2 [Phi2(Delta0) - Phi2(Delta_inf)] + sigma^4 / 4.

The largest Lyapunov exponent is ``lambda = -1 + sqrt(-eps0)`` with ``eps0`` the ground-state
energy of ``H = -d^2/dtau^2 - g^2 C_phi'(tau)``, ``C_phi'(tau) = <phi'(x(t)) phi'(x(t+tau))>``
(linearising two replicas of the DMFT: the separation grows as exp(2 lambda t); Sompolinsky et
al. 1988 eq. 11-13).  Static solutions (fixed points, the ordered phase J0 > 1) are the case
Delta0 = Delta_inf.
"""

from __future__ import annotations

from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import Conditions, as_checked_array, as_int, is_concrete
from ..solvers import solve_fixed_point
from ._nonlinearity import gaussian_nodes, phi_key, resolve_phi

__all__ = ["OrderParameters", "Stationary", "order_parameters", "stationary", "lyapunov_from_potential"]

_EPS = {8: 1e-20, 4: 1e-10}  # regularises sqrt at 0 (by itemsize); exact limits follow (see _sqrt)
_N_R = 500  # nodes of the trajectory parameter r (s = r^2, Delta - Delta_inf ~ e^{-s})
_S_MAX = 40.0
_U_TAIL = {8: 1e-3, 4: 3e-2}  # below this fraction of Delta0 - Delta_inf (by itemsize): exponential tail


def _sqrt(x):
    """sqrt(max(x, 0) + eps) (eps 1e-20 in float64): finite derivative at 0; int Dx f(mu + a x)
    keeps the correct derivative in a^2 there because sum_k w_k z_k f'(mu) vanishes by symmetry."""
    return jnp.sqrt(jnp.maximum(x, 0.0) + _EPS[jnp.dtype(x.dtype).itemsize])


def _lift(v, ndim):
    """Quadrature nodes/weights as shape (1,) * ndim + (n,) (explicit rank, no promotion)."""
    return v.reshape((1,) * ndim + (-1,))


def _mean(f, mu, a, z, w):
    """int Dx f(mu + a x) for arrays mu, a of equal shape."""
    return jnp.sum(_lift(w, mu.ndim) * f(mu[..., None] + a[..., None] * _lift(z, mu.ndim)), axis=-1)


def _pair(f, delta, delta0, m, z, w):
    """int Dz [int Dx f(m + sqrt(Delta0 - Delta) x + sqrt(Delta) z)]^2 for an array of Delta:
    <f(x(t)) f(x(t + tau))> for jointly Gaussian x with variance Delta0, covariance Delta."""
    a = _sqrt(delta0 - delta)
    mu = m + _sqrt(delta)[..., None] * _lift(z, delta.ndim)
    inner = _mean(f, mu, jnp.broadcast_to(a[..., None], mu.shape), z, w)
    return jnp.sum(_lift(w, delta.ndim) * inner**2, axis=-1)


class OrderParameters(eqx.Module):
    """Solution of the DMFT self-consistency (see :func:`order_parameters`)."""

    delta0: jax.Array
    delta_inf: jax.Array
    mean: jax.Array
    converged: jax.Array
    residual: jax.Array
    num_steps: jax.Array


def _order_map(x, p, phi, prim, symmetric):
    g, sigma, J0, I = p
    z, w = gaussian_nodes(x.dtype)
    one = jnp.ones((), x.dtype)
    if symmetric:
        d0, dinf, m = jnp.maximum(x[0], 0.0), 0.0 * one, 0.0 * one
    else:
        d0, dinf, m = jnp.maximum(x[0], 0.0), jnp.clip(x[1], 0.0, jnp.maximum(x[0], 0.0)), x[2]
    values = prim(m + _sqrt(d0) * z)
    phi2_0 = jnp.sum(w * values**2)
    # Delta_inf = 0 (symmetric case): the pair integral factorises into a 1-d one
    phi2_inf = jnp.sum(w * values) ** 2 if symmetric else _pair(prim, dinf, d0, m, z, w)
    d0_new = dinf + (2.0 * g**2 * (phi2_0 - phi2_inf) + sigma**4 / 4.0) / (d0 + dinf + jnp.finfo(x.dtype).tiny)
    if symmetric:
        return jnp.stack([d0_new])
    dinf_new = g**2 * _pair(phi, dinf, d0, m, z, w)
    m_new = J0 * jnp.sum(w * phi(m + _sqrt(d0) * z)) + I
    return jnp.stack([d0_new, dinf_new, m_new])


def _static_map(x, p, phi, symmetric):
    """Fixed points (Delta0 = Delta_inf): Delta = g^2 <phi(m + sqrt(Delta) z)^2>, m = J0 <phi> + I."""
    g, sigma, J0, I = p
    z, w = gaussian_nodes(x.dtype)
    d = jnp.maximum(x[0], 0.0)
    m = jnp.zeros((), x.dtype) if symmetric else x[1]
    vals = phi(m + _sqrt(d) * z)
    d_new = g**2 * jnp.sum(w * vals**2)
    if symmetric:
        return jnp.stack([d_new])
    return jnp.stack([d_new, J0 * jnp.sum(w * vals) + I])


@partial(jax.jit, static_argnames=("phi_key", "symmetric", "max_steps", "branch"))
def _solve_order(g, sigma, J0, I, x0, phi_key, symmetric, max_steps, branch="auto"):
    """Both the dynamic (Delta0 > Delta_inf) and the static solution; without noise the static
    one is the stationary state iff it is stable (g^2 <phi'^2> < 1), else the dynamic one.

    ``converged`` also requires the picked solution to be a genuine one: a dynamic solution
    whose Delta_inf had to be clipped into [0, Delta0] (no bounded stationary state, e.g. relu
    with g^2 > 2) or that degenerates to Delta0 = Delta_inf without being a stable static
    solution is reported as not converged.  ``branch="static"`` returns the static solution
    whether or not it is stable (for the stability boundary)."""
    phi, prim, dphi, _ = resolve_phi(phi_key)
    f64 = x0.dtype == jnp.float64
    tol = {"rtol": 1e-12 if f64 else 1e-6, "atol": 1e-14 if f64 else 1e-7, "max_steps": max_steps}
    p = (g, sigma, J0, I)
    dyn = solve_fixed_point(lambda x, q: _order_map(x, q, phi, prim, symmetric), x0, p, **tol)
    x_static0 = x0[:1] if symmetric else jnp.stack([x0[0], x0[2]])
    sta = solve_fixed_point(lambda x, q: _static_map(x, q, phi, symmetric), x_static0, p, **tol)
    zero = jnp.zeros((), x0.dtype)
    z, w = gaussian_nodes(x0.dtype)
    d_s = jnp.maximum(sta.value[0], 0.0)
    m_s = zero if symmetric else sta.value[1]
    stable = g**2 * jnp.sum(w * dphi(m_s + _sqrt(d_s) * z) ** 2) < 1.0
    sta_ok = sta.converged & (sta.value[0] >= -tol["atol"])
    use_static = ((sigma == 0) & stable & sta_ok) | (branch == "static")
    d0 = jnp.maximum(dyn.value[0], 0.0)
    dinf, m = (zero, zero) if symmetric else (jnp.clip(dyn.value[1], 0.0, d0), dyn.value[2])
    # a genuine dynamic solution needs no clipping, and if it degenerates to a static one
    # (Delta0 = Delta_inf) that static state must solve the static equations and be stable
    slack = 1e-9 * (1.0 + d0)
    unclipped = dyn.value[0] >= -slack
    if not symmetric:
        unclipped = unclipped & (dyn.value[1] >= -slack) & (dyn.value[1] <= d0 + slack)
    degenerate = d0 - dinf <= slack
    vals = phi(m + _sqrt(d0) * z)
    static_residual = jnp.abs(g**2 * jnp.sum(w * vals**2) - d0) + jnp.abs(J0 * jnp.sum(w * vals) + I - m)
    dyn_stable = g**2 * jnp.sum(w * dphi(m + _sqrt(d0) * z) ** 2) <= 1.0
    dyn_ok = dyn.converged & unclipped & (~degenerate | ((static_residual <= 1e3 * slack) & dyn_stable))
    pick = partial(jnp.where, use_static)
    return OrderParameters(
        delta0=pick(d_s, d0), delta_inf=pick(d_s, dinf), mean=pick(m_s, m),
        converged=pick(sta_ok, dyn_ok), residual=pick(sta.residual, dyn.residual),
        num_steps=pick(sta.num_steps, dyn.num_steps),
    )


def _prepare(g, sigma, J0, I, phi, init):
    for name, v in (("g", g), ("sigma", sigma)):
        as_checked_array(name, v, nonnegative=True)
    as_checked_array("J0", J0)
    as_checked_array("I", I)
    if init is not None:
        as_checked_array("init", init)
    _, _, _, odd = resolve_phi(phi)
    # odd phi without mean coupling or input: m = 0 and Delta_inf = 0 by symmetry (1-d problem)
    symmetric = bool(odd and is_concrete((J0, I)) and np.all(np.asarray(J0) == 0) and np.all(np.asarray(I) == 0))
    dtype = jnp.result_type(jnp.asarray(g).dtype, jnp.asarray(sigma).dtype, jnp.float32)
    if init is None:
        d0 = 1.0 + 0.5 * jnp.asarray(sigma, dtype) ** 2 + jnp.asarray(g, dtype) ** 2
        x0 = jnp.stack([d0]) if symmetric else jnp.stack([d0, 0.0 * d0, jnp.asarray(I, dtype) + 0.1 + 0.0 * d0])
    else:
        x0 = jnp.asarray(init, dtype)
        if x0.shape not in ((1,), (3,)) or (x0.shape == (1,) and not symmetric):
            raise ValueError("init must be (Delta0, Delta_inf, mean), or (Delta0,) for odd phi with J0 = I = 0")
        x0 = x0[:1] if symmetric else x0
    cast = [jnp.asarray(v, dtype) for v in (g, sigma, J0, I)]
    return cast, x0, symmetric, phi_key(phi)


def _traced_validity(g, sigma, J0, I):
    """The conditions of :func:`_prepare` for traced arguments, as a bool for the status."""
    conds = Conditions().traced_only()  # concrete values: checked by _prepare
    conds.require("g", g, nonnegative=True).require("sigma", sigma, nonnegative=True)
    conds.require("J0", J0).require("I", I)
    return conds.valid()


def order_parameters(g, sigma=0.0, J0=0.0, I=0.0, phi="tanh", *, init=None, max_steps: int = 200):
    """Delta0, Delta_inf and the mean of the stationary DMFT (module docstring), fast and
    vmappable: only the scalar self-consistency is solved (no Delta(tau), no Lyapunov exponent).

    Args:
        g: coupling gain (std of J_ij times sqrt N), >= 0.
        sigma: noise amplitude (>= 0); J0: mean coupling (times N); I: constant input.
        phi: ``"tanh"`` (default), ``"erf"`` (erf(sqrt(pi) x / 2)), ``"relu"`` or a pair
            ``(phi, Phi)`` with ``Phi' = phi``.
        init: starting point (Delta0, Delta_inf, m) (only Delta0 is used, and (Delta0,) is
            accepted, for odd phi with J0 = I = 0, where m = Delta_inf = 0 by symmetry).

    Returns:
        :class:`OrderParameters` (``delta0``, ``delta_inf``, ``mean``, ``converged``, ...);
        differentiable w.r.t. g, sigma, J0, I by the implicit function theorem.
    """
    max_steps = as_int("max_steps", max_steps, minimum=1)
    valid = _traced_validity(g, sigma, J0, I)
    (g, sigma, J0, I), x0, symmetric, key = _prepare(g, sigma, J0, I, phi, init)
    op = _solve_order(g, sigma, J0, I, x0, key, symmetric, max_steps)
    return eqx.tree_at(lambda o: o.converged, op, op.converged & valid)


class Stationary(eqx.Module):
    """Stationary DMFT state (see :func:`stationary`).

    Attributes:
        delta0, delta_inf, mean: order parameters; tau: uniform lag grid; delta: Delta(tau) on it.
        tau_c: correlation time int_0^inf (Delta - Delta_inf) / (Delta0 - Delta_inf) dtau
            (0 for static solutions).
        lyapunov: largest Lyapunov exponent (units of 1/time constant).
        static: True for a fixed-point solution (Delta0 = Delta_inf).
        converged, residual, num_steps: solver status.
    """

    delta0: jax.Array
    delta_inf: jax.Array
    mean: jax.Array
    tau: jax.Array
    delta: jax.Array
    tau_c: jax.Array
    lyapunov: jax.Array
    static: jax.Array
    converged: jax.Array
    residual: jax.Array
    num_steps: jax.Array


@jax.custom_jvp
def _ground_energy(diag, off):
    """Lowest eigenvalue of the symmetric tridiagonal matrix (diag, off)."""
    return jax.scipy.linalg.eigh_tridiagonal(diag, off, eigvals_only=True, select="i", select_range=(0, 0))[0]


@_ground_energy.defjvp
def _ground_energy_jvp(primals, tangents):
    diag, off = primals
    d_diag, _ = tangents  # only the potential (diagonal) depends on parameters
    e0 = _ground_energy(diag, off)
    # ground state by inverse iteration (Hellmann-Feynman: d e0 = psi^T dH psi)
    shift = e0 - 1e-8 * (1.0 + jnp.abs(e0))
    v = jnp.ones_like(diag)
    lower = jnp.concatenate([jnp.zeros(1, diag.dtype), off])
    upper = jnp.concatenate([off, jnp.zeros(1, diag.dtype)])
    for _ in range(3):
        v = jax.lax.linalg.tridiagonal_solve(lower, diag - shift, upper, v[:, None])[:, 0]
        v = v / jnp.linalg.norm(v)
    return e0, jnp.sum(v * v * d_diag)


def lyapunov_from_potential(c_dphi, dtau, g):
    """Largest Lyapunov exponent ``-1 + sqrt(-eps0)`` from ``C_phi'(tau)`` on the grid
    ``tau = 0, dtau, 2 dtau, ...`` (mirrored to negative lags); ``eps0`` is the lowest eigenvalue
    of ``-d^2/dtau^2 - g^2 C_phi'(|tau|)`` with finite differences and Neumann ends (so a flat
    tail gives the continuum edge exactly)."""
    w = -(g**2) * jnp.concatenate([c_dphi[:0:-1], c_dphi])
    n = w.shape[0]
    k = 1.0 / dtau**2
    diag = w + 2.0 * k * jnp.ones(n, w.dtype)
    diag = diag.at[0].add(-k).at[-1].add(-k)
    off = -k * jnp.ones(n - 1, w.dtype)
    e0 = _ground_energy(diag, off)
    return -1.0 + jnp.sqrt(jnp.maximum(-e0, 0.0))


@partial(jax.jit, static_argnames=("phi_key", "symmetric", "max_steps", "n_tau"))
def _stationary(g, sigma, J0, I, x0, phi_key, symmetric, max_steps, tau_max, n_tau):
    phi, prim, dphi, _ = resolve_phi(phi_key)
    op = _solve_order(g, sigma, J0, I, x0, phi_key, symmetric, max_steps)
    d0, dinf, m = op.delta0, op.delta_inf, op.mean
    z, w = gaussian_nodes(d0.dtype)
    span = d0 - dinf
    static = span <= 1e-9 * (1.0 + d0)
    span_safe = jnp.where(static, 1.0, span)
    # trajectory parameter: Delta = Delta_inf + span e^{-s}, s = r^2, midpoints of a uniform r grid
    r_nodes = jnp.linspace(0.0, np.sqrt(_S_MAX), _N_R + 1, dtype=d0.dtype)
    h = r_nodes[1] - r_nodes[0]
    r = 0.5 * (r_nodes[1:] + r_nodes[:-1])
    u = jnp.exp(-r * r)
    delta_mid = dinf + span_safe * u
    v_inf = -0.5 * dinf**2 + g**2 * _pair(prim, dinf, d0, m, z, w)
    energy = v_inf - (-0.5 * delta_mid**2 + g**2 * _pair(prim, delta_mid, d0, m, z, w))
    kappa = jnp.sqrt(jnp.maximum(1.0 - g**2 * _pair(dphi, dinf, d0, m, z, w), 1e-12))
    direct = 2.0 * r * span_safe * u / jnp.sqrt(jnp.maximum(2.0 * energy, jnp.finfo(d0.dtype).tiny))
    dtau_dr = jnp.where(u > _U_TAIL[jnp.dtype(d0.dtype).itemsize], direct, 2.0 * r / kappa)
    tau_nodes = jnp.concatenate([jnp.zeros(1, d0.dtype), jnp.cumsum(dtau_dr * h)])
    delta_nodes = dinf + span_safe * jnp.exp(-r_nodes * r_nodes)
    tau_c = jnp.where(static, 0.0, jnp.sum(u * dtau_dr * h))
    tau = jnp.linspace(0.0, tau_max, n_tau, dtype=d0.dtype)
    # interpolate s = r^2 (smooth in tau, ~ tau * kappa in the tail), then Delta in closed form
    s_tau = jnp.interp(tau, tau_nodes, r_nodes * r_nodes, right=jnp.inf)
    delta = jnp.where(static, d0, dinf + span_safe * jnp.exp(-s_tau))
    # Lyapunov exponent from C_phi'(tau), through C_phi'(Delta) on the trajectory nodes
    c_nodes = _pair(dphi, delta_nodes, d0, m, z, w)
    c_static = jnp.sum(w * dphi(m + _sqrt(d0) * z) ** 2)
    c_tau = jnp.where(static, c_static, jnp.interp(tau, tau_nodes, c_nodes))
    lam = lyapunov_from_potential(c_tau, tau[1] - tau[0], g)
    return Stationary(
        delta0=d0, delta_inf=dinf, mean=m, tau=tau, delta=delta, tau_c=tau_c, lyapunov=lam,
        static=static, converged=op.converged, residual=op.residual, num_steps=op.num_steps,
    )


def stationary(g, sigma=0.0, J0=0.0, I=0.0, phi="tanh", *, tau_max: float = 30.0, n_tau: int = 601,
               init=None, max_steps: int = 200) -> Stationary:
    """Stationary DMFT of the random rate network (module docstring): order parameters,
    Delta(tau) on ``tau = linspace(0, tau_max, n_tau)``, correlation time, largest Lyapunov
    exponent.  Works under jit/vmap/grad (implicit differentiation of the self-consistency;
    the Lyapunov exponent by Hellmann-Feynman).

    Accuracy: order parameters to the solver tolerance (1e-12) with quadrature error < 1e-12
    for tanh/erf; Delta(tau) and tau_c to ~1e-5 (midpoint rule on 500 trajectory nodes);
    lambda to ~1e-3 (finite differences with dtau = tau_max / (n_tau - 1)).

    Example:
        >>> s = stationary(2.0)            # chaotic, no noise
        >>> s.delta0, s.lyapunov, s.tau_c
    """
    n_tau = as_int("n_tau", n_tau, minimum=3)
    as_checked_array("tau_max", tau_max, positive=True)
    max_steps = as_int("max_steps", max_steps, minimum=1)
    valid = _traced_validity(g, sigma, J0, I)
    (g, sigma, J0, I), x0, symmetric, key = _prepare(g, sigma, J0, I, phi, init)
    st = _stationary(g, sigma, J0, I, x0, key, symmetric, max_steps, jnp.asarray(tau_max, x0.dtype), n_tau)
    return eqx.tree_at(lambda o: o.converged, st, st.converged & valid)
