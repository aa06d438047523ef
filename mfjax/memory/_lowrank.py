"""Low-rank plus random connectivity: outlier eigenvalues, bulk radii, rank-one mean field.

* J = g X / sqrt(N) + sum_k m_k n_k^T / N with X_ij ~ N(0, 1): the bulk of the spectrum fills the
  disk of radius g (Girko's circular law); each eigenvalue lambda of the k x k overlap matrix
  M_kl = n_k . m_l / N with |lambda| > g appears as an outlier at lambda (Tao 2013; Rajan & Abbott
  2006 for the structured case); those inside the bulk are swallowed.
* E-I (column-structured) random matrices with variance sigma_a^2 / N for columns of population a
  (fraction f_a): bulk radius sqrt(sum_a f_a sigma_a^2) (Rajan & Abbott 2006).
* Rank-one network x' = -x + J phi(x), J = g X/sqrt N + m n^T / N, with n = sigma_mn m + noise
  (Mastrogiuseppe & Ostojic 2018): stationary states with kappa = n . phi(x) / N satisfy
  kappa = sigma_mn kappa <phi'(x)>, Delta0 = kappa^2 sigma_m^2 + g^2 <phi(x)^2>,
  x ~ N(0, Delta0).  A memory state (kappa != 0) exists for sigma_mn <phi'> = 1, i.e. above the
  critical overlap sigma_mn = 1 / <phi'>; the trivial state relaxes along m at rate
  delta = 1 - sigma_mn (critical slowing down tau_c = tau / delta as sigma_mn -> 1).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_checked_array
from ..dmft._nonlinearity import gaussian_nodes, resolve_phi

__all__ = ["lowrank_outliers", "ei_bulk_radius", "spectral_radius", "RankOneState", "rank_one_state"]


def lowrank_outliers(m, n, g: float = 0.0):
    """Predicted outlier eigenvalues of g X / sqrt(N) + sum_k m_k n_k^T / N.

    Args:
        m, n: structure vectors, shape (N, K) (or (N,) for rank one).
        g: bulk radius (random part's gain).

    Returns:
        (eigenvalues of the overlap matrix n^T m / N (complex, shape (K,)), mask of those
        outside the bulk |lambda| > g).
    """
    m = jnp.asarray(m, float)
    n = jnp.asarray(n, float)
    if m.ndim == 1:
        m, n = m[:, None], n[:, None]
    if m.shape != n.shape or m.ndim != 2:
        raise ValueError(f"m and n must both have shape (N, K), got {m.shape} and {n.shape}")
    as_checked_array("g", g, nonnegative=True)
    lam = jnp.linalg.eigvals(n.T @ m / m.shape[0])
    return lam, jnp.abs(lam) > g


def ei_bulk_radius(fractions, sigmas):
    """Bulk radius sqrt(sum_a f_a sigma_a^2) of a random matrix whose columns of population a
    (fraction f_a) have entry variance sigma_a^2 / N (Rajan & Abbott 2006)."""
    f = jnp.asarray(fractions, float)
    s = jnp.asarray(sigmas, float)
    return jnp.sqrt(jnp.sum(f * s * s))


def spectral_radius(J):
    """max |eigenvalue| of J: the branching ratio of the linearised dynamics."""
    return jnp.max(jnp.abs(jnp.linalg.eigvals(jnp.asarray(J, float))))


class RankOneState(eqx.Module):
    """Stationary state of the rank-one network: kappa (>= 0 branch), Delta0, and the relaxation
    rate delta = 1 - sigma_mn <phi'> of the mode along m (critical slowing down tau_c = 1/delta)."""

    kappa: jax.Array
    delta0: jax.Array
    relaxation_rate: jax.Array


def rank_one_state(sigma_mn, g: float = 0.0, sigma_m: float = 1.0, phi: str = "tanh", *, n_bisect: int = 80):
    """Mastrogiuseppe & Ostojic (2018) stationary state of the rank-one network (module
    docstring); ``kappa = 0`` when no memory state exists.  phi must be odd with phi'(0) = 1."""
    f, _, dphi, odd = resolve_phi(phi)
    if not odd:
        raise ValueError("rank_one_state needs an odd phi ('tanh' or 'erf')")
    z, w = gaussian_nodes(jnp.result_type(float))

    def mean_dphi(d):
        return jnp.sum(w * dphi(jnp.sqrt(d) * z))

    def phi2(d):
        return jnp.sum(w * f(jnp.sqrt(d) * z) ** 2)

    # trivial-branch Delta0 (kappa = 0): Delta0 = g^2 <phi^2(sqrt(Delta0) z)> (fixed point from 4)
    d_triv = 4.0
    for _ in range(400):
        d_triv = float(g**2 * phi2(d_triv))
    sigma_mn = float(sigma_mn)
    if sigma_mn * float(mean_dphi(d_triv)) <= 1.0:
        return RankOneState(kappa=jnp.asarray(0.0), delta0=jnp.asarray(d_triv),
                            relaxation_rate=jnp.asarray(1.0 - sigma_mn * float(mean_dphi(d_triv))))
    # memory state: <phi'(sqrt(Delta0) z)> = 1 / sigma_mn (decreasing in Delta0), bisection
    lo, hi = d_triv, 1.0
    while float(mean_dphi(hi)) > 1.0 / sigma_mn:
        hi *= 2.0
    for _ in range(n_bisect):
        mid = 0.5 * (lo + hi)
        if float(mean_dphi(mid)) > 1.0 / sigma_mn:
            lo = mid
        else:
            hi = mid
    d0 = 0.5 * (lo + hi)
    kappa2 = (d0 - g**2 * float(phi2(d0))) / sigma_m**2
    return RankOneState(kappa=jnp.asarray(np.sqrt(max(kappa2, 0.0))), delta0=jnp.asarray(d0),
                        relaxation_rate=jnp.asarray(0.0))
