"""Ising models: the input checks shared by ``mfjax.ising`` and generators of standard couplings.

Energy (seed 002, eq. 1):  ``H(s) = -1/2 sum_ij J_ij s_i s_j - sum_i h_i s_i``,  s_i = +-1,
Boltzmann weight ``exp(-beta H)``.  ``J`` is dense, symmetric, with zero diagonal; each pair is
counted once through the factor 1/2.  Energies and temperatures are in units of the coupling.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import Conditions, as_checked_array, as_int, is_concrete

__all__ = [
    "curie_weiss_couplings",
    "sk_couplings",
    "square_lattice_couplings",
    "random_tree_couplings",
]


def check_model(J, h, beta=1.0, *, enforce: bool = True):
    """Validate (J, h, beta) at the Python edge; return them as float arrays (h broadcast to N).

    Errors name the parameter: J must be square, finite, symmetric with zero diagonal; h a
    scalar or shape (N,); beta > 0.  Traced values carry the same conditions as runtime errors
    attached to the returned J (``enforce=True``), or none (``enforce=False``, for solvers
    that fold :func:`model_conditions` into their status instead).
    """
    if is_concrete(J):
        a = np.asarray(as_checked_array("J", J), float)
        if a.ndim != 2 or a.shape[0] != a.shape[1]:
            raise ValueError(f"J must be a square (N, N) matrix, got shape {a.shape}")
        if not np.allclose(a, a.T, rtol=1e-10, atol=1e-12):
            raise ValueError("J must be symmetric (J_ij = J_ji)")
        if np.any(np.diag(a) != 0):
            raise ValueError("J must have a zero diagonal (no self-couplings)")
    J = jnp.asarray(J, dtype=jnp.result_type(float, J))
    n = J.shape[0]
    if is_concrete(h):
        hh = np.asarray(as_checked_array("h", h), float)
        if hh.ndim > 1 or (hh.ndim == 1 and hh.shape[0] != n):
            raise ValueError(f"h must be a scalar or have shape ({n},), got {hh.shape}")
    as_checked_array("beta", beta, positive=True)
    h = jnp.broadcast_to(jnp.asarray(h, J.dtype), (n,))
    if enforce:
        J = model_conditions(J, h, beta).enforce(J)
    return J, h, jnp.asarray(beta, J.dtype)


def model_conditions(J, h, beta) -> Conditions:
    """The conditions of :func:`check_model` for traced values (finite J and h, beta > 0, J
    symmetric with a zero diagonal), for solvers to fold into their status."""
    conds = Conditions().traced_only()  # concrete values: checked by check_model
    conds.require("J", J).require("h", h).require("beta", beta, positive=True)
    if not is_concrete(J):
        conds.where("J must be symmetric with a zero diagonal", (J != J.T) | (jnp.diag(jnp.diag(J)) != 0))
    return conds


def curie_weiss_couplings(n: int, J: float = 1.0):
    """Infinite-range ferromagnet ``J_ij = J / N`` (i != j): mean field is exact as N -> inf,
    ``m = tanh(beta (h + J m))``."""
    return (J / n) * (jnp.ones((n, n)) - jnp.eye(n))


def sk_couplings(key, n: int, J: float = 1.0, J0: float = 0.0):
    """Sherrington-Kirkpatrick couplings ``J_ij ~ N(J0/N, J^2/N)``, symmetric, zero diagonal
    (Sherrington & Kirkpatrick 1975).  Paramagnet unstable below T = J (the spin-glass point);
    the spectrum of J fills [-2J, 2J] (Wigner semicircle)."""
    n = as_int("n", n, minimum=1)
    as_checked_array("J", J)
    as_checked_array("J0", J0)
    g = jax.random.normal(key, (n, n)) * (J / np.sqrt(n))
    upper = jnp.triu(g, 1)
    return upper + upper.T + (J0 / n) * (jnp.ones((n, n)) - jnp.eye(n))


def square_lattice_couplings(L: int, J: float = 1.0, periodic: bool = True):
    """Dense couplings of the L x L nearest-neighbour square lattice (site i = row * L + col);
    coordination z = 4 with periodic boundaries.  For Monte Carlo on large lattices use
    :func:`mfjax.ising.monte_carlo_lattice`, which never builds this matrix."""
    idx = np.arange(L * L).reshape(L, L)
    A = np.zeros((L * L, L * L))
    for shift, axis in ((1, 0), (1, 1)):
        nb = np.roll(idx, -shift, axis=axis)
        src, dst = idx.ravel(), nb.ravel()
        if not periodic:
            keep = (np.arange(L * L) // L < L - 1) if axis == 0 else (np.arange(L * L) % L < L - 1)
            src, dst = src[keep], dst[keep]
        A[src, dst] = 1.0
        A[dst, src] = 1.0
    return jnp.asarray(J * A)


def random_tree_couplings(key, n: int, J: float = 1.0):
    """Couplings on a random tree of n nodes (node k > 0 attached to a uniformly chosen earlier
    node), ``J_ij ~ U(-J, J)`` on the edges.  Belief propagation (Bethe) is exact on trees."""
    k1, k2 = jax.random.split(key)
    parents = np.asarray(jax.random.randint(k1, (n - 1,), 0, np.arange(1, n)))
    weights = np.asarray(jax.random.uniform(k2, (n - 1,), minval=-J, maxval=J))
    A = np.zeros((n, n))
    A[np.arange(1, n), parents] = weights
    return jnp.asarray(A + A.T)
