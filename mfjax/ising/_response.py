"""Linear response and fluctuations around an Ising mean-field solution.

* susceptibility ``chi_ij = d m_i / d h_j``: naive ``chi = (I - chi0 J)^-1 chi0`` with
  ``chi0 = diag(beta (1 - m^2))`` (seed 002 eq. 7); in general ``chi^-1`` is the Hessian of the
  method's Gibbs free energy (seed 002 sec. 3.2), which gives the TAP counterpart
  ``(chi^-1)_ij = delta_ij [1/(beta(1-m_i^2)) + beta sum_k J_ik^2 (1-m_k^2)] - J_ij
  - 2 beta J_ij^2 m_i m_j`` (Kappen & Rodriguez 1998; Tanaka 1998);
* connected correlations by the fluctuation-dissipation relation ``C = chi / beta`` (the
  Gaussian-fluctuation / random-phase approximation of seed 002 sec. 4 for the naive theory);
* stability: the smallest eigenvalue of that Hessian (negative: the solution is a saddle);
* hypercubic lattice (seed 002 appendix 7.1): ``chi(q) = 1/(chi0^-1 - 2J sum_d cos q_d)``, the
  correlation length ``xi = sqrt(J/(chi0^-1 - 2 J D))`` and the Ginzburg criterion.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_checked_array
from ._mean_field import (
    METHODS,
    gibbs_free_energy,
    lattice_magnetization,
    magnetization,
)
from ._models import check_model

__all__ = [
    "susceptibility",
    "correlations",
    "stability",
    "lattice_susceptibility",
    "correlation_length",
    "ginzburg_criterion",
]


def _solution(J, h, beta, method, m):
    if m is None:
        return magnetization(J, h, beta, method).m
    return jnp.asarray(m, J.dtype)


def susceptibility(J, h=0.0, beta=1.0, method: str = "naive", *, m=None):
    """Susceptibility matrix ``chi_ij = d m_i / d h_j`` of the mean-field solution, shape (N, N).

    ``"naive"`` and ``"tap"``: the inverse Hessian of the Gibbs free energy at ``m`` (closed
    forms in the module docstring); ``"bethe"``: the derivative of the BP magnetisations,
    obtained by implicit differentiation of the message fixed point (susceptibility
    propagation, Mezard & Mora 2009).  ``m`` defaults to :func:`magnetization`'s solution.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    J, h, beta = check_model(J, h, beta)
    m = _solution(J, h, beta, method, m)
    if method == "bethe":
        return jax.jacfwd(lambda hh: magnetization(J, hh, beta, "bethe", init=m).m)(h)
    hess = jax.hessian(gibbs_free_energy)(m, J, h, beta, method)
    return jnp.linalg.inv(hess)


def correlations(J, h=0.0, beta=1.0, method: str = "naive", *, m=None):
    """Connected correlations ``C_ij = <s_i s_j> - m_i m_j`` predicted by linear response,
    ``C = chi / beta`` (fluctuation-dissipation; for ``"naive"`` the random-phase
    approximation of seed 002 sec. 4.1)."""
    J, h, beta = check_model(J, h, beta)
    return susceptibility(J, h, beta, method, m=m) / beta


def stability(J, h=0.0, beta=1.0, method: str = "naive", *, m=None):
    """Smallest eigenvalue of the Hessian of the Gibbs free energy at the solution (units of the
    coupling).  Positive: a local minimum (stable); crossing zero: the solution loses
    stability.  For the SK paramagnet (m = 0, h = 0) naive theory gives ``T - lambda_max(J)``
    (unstable below T = 2J) while TAP gives ``~ T + J^2/T - 2J``, which only touches zero at
    the spin-glass temperature T = J."""
    if method not in ("naive", "tap"):
        raise ValueError("stability is defined for method 'naive' or 'tap'")
    J, h, beta = check_model(J, h, beta)
    m = _solution(J, h, beta, method, m)
    hess = jax.hessian(gibbs_free_energy)(m, J, h, beta, method)
    return jnp.linalg.eigvalsh(hess)[0]


def lattice_susceptibility(q, T, m=0.0, J: float = 1.0):
    """Naive mean-field susceptibility of the hypercubic lattice at wave vector q (seed 002
    eq. after 15, lattice spacing 1): ``chi(q) = 1 / (chi0^-1 - 2 J sum_d cos q_d)``,
    ``chi0 = (1 - m^2)/T``.  ``q`` has shape (..., D)."""
    as_checked_array("T", T, positive=True)
    q = jnp.asarray(q, float)
    chi0_inv = jnp.asarray(T, float) / (1.0 - jnp.asarray(m, float) ** 2)
    return 1.0 / (chi0_inv - 2.0 * J * jnp.sum(jnp.cos(q), axis=-1))


def correlation_length(T, D: int = 2, J: float = 1.0, m=0.0):
    """Mean-field correlation length (lattice spacings) from the small-q expansion of
    ``chi(q)`` (seed 002 appendix): ``xi^2 = J / (chi0^-1 - 2 J D)``; at m = 0,
    ``xi^2 = J / (T - T_c)`` with ``T_c = 2 J D``.  Infinite at and below the pole."""
    as_checked_array("T", T, positive=True)
    gap = jnp.asarray(T, float) / (1.0 - jnp.asarray(m, float) ** 2) - 2.0 * J * D
    return jnp.where(gap > 0, jnp.sqrt(J / jnp.where(gap > 0, gap, 1.0)), jnp.inf)


def _bessel_k(nu: float, x: float) -> float:
    """K_nu(x) = int_0^inf exp(-x cosh t) cosh(nu t) dt (trapezoid rule, exponentially exact)."""
    t = np.linspace(0.0, 30.0, 60001)
    f = np.exp(-x * np.cosh(t)) * np.cosh(nu * t)
    return float(np.trapezoid(f, t))


def _ornstein_zernike_ball(D: int) -> float:
    """A_D = int_{|x|<1} (2 pi)^{-D/2} |x|^{1-D/2} K_{D/2-1}(|x|) d^D x (unit correlation length):
    with d/dx[x^nu K_nu] = -x^nu K_{nu-1}:  S_D (2 pi)^{-D/2} [Gamma(D/2) 2^{D/2-1} - K_{D/2}(1)]."""
    nu = 0.5 * D
    surface = 2.0 * math.pi**nu / math.gamma(nu)
    return surface / (2.0 * math.pi) ** nu * (math.gamma(nu) * 2.0 ** (nu - 1.0) - _bessel_k(nu, 1.0))


def ginzburg_criterion(T, D: int = 2, J: float = 1.0):
    """Ginzburg ratio ``E_G = |int_V G(r) d^D r| / int_V m^2 d^D r`` over a correlation volume
    ``V = {|r| < xi}`` in the ordered phase of naive mean-field theory (seed 002 sec. 6), with
    ``G = T chi(r)`` and the Ornstein-Zernike ``chi(r)`` of the appendix:
    ``E_G = T xi^2 A_D / (J V_D xi^D m^2)``.  Mean-field theory is self-consistent where
    ``E_G << 1``; as ``T -> T_c = 2DJ`` it diverges like ``(T_c - T)^{(D-4)/2}`` for D < 4.
    ``T`` must lie below T_c (m > 0).
    """
    if D < 1:
        raise ValueError(f"D must be >= 1, got {D}")
    T = jnp.asarray(T, float)
    m, _ = lattice_magnetization(T, "naive", z=2 * D, J=J)
    xi = correlation_length(T, D, J, m)
    ball = math.pi ** (0.5 * D) / math.gamma(0.5 * D + 1.0)
    ratio = T * xi**2 * _ornstein_zernike_ball(D) / (J * ball * xi**D * m**2)
    return jnp.where(m > 0, ratio, jnp.inf)
