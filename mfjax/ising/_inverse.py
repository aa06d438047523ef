"""Inverse Ising problem (pairwise maximum entropy, Boltzmann learning): couplings J and fields
h (at beta = 1, i.e. beta absorbed into J and h) from magnetisations m and connected
correlations C, or from samples.

* ``"nmf"`` naive mean field (Kappen & Rodriguez 1998; Tanaka 1998):
  ``J_ij = -(C^-1)_ij`` (i != j), ``h_i = atanh(m_i) - sum_j J_ij m_j``;
* ``"tap"`` (same references): ``(C^-1)_ij = -J_ij - 2 J_ij^2 m_i m_j``, solved for the root
  continuous with nMF, ``J_ij = -2 (C^-1)_ij / (1 + sqrt(1 - 8 m_i m_j (C^-1)_ij))``;
  ``h_i = atanh(m_i) - sum_j J_ij m_j + m_i sum_j J_ij^2 (1 - m_j^2)``;
* ``"bethe"`` (Ricci-Tersenghi 2012; Nguyen & Berg 2012): on a tree
  ``(C^-1)_ij = -c_ij / ((1-m_i^2)(1-m_j^2) - c_ij^2)`` for each edge, which gives the pair
  correlation c_ij; the coupling and the cavity fields are those of the two-spin marginal
  ``p(s_i, s_j) ~ exp(J_ij s_i s_j + a_ij s_i + a_ji s_j)`` with moments (m_i, m_j, c_ij), and
  ``h_i = atanh(m_i) - sum_j (atanh(m_i) - a_ij)``.  Exact on trees;
* ``"pseudolikelihood"`` (Besag 1975; Aurell & Ekeberg 2012): maximise
  ``sum_samples sum_i log sigma(2 s_i (h_i + sum_j J_ij s_j))`` over symmetric J (L-BFGS);
* ``"exact"`` (Ackley, Hinton & Sejnowski 1985): maximum likelihood with the exact partition
  function by enumeration (N <= 20), the moment-matching gold standard.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._checks import as_checked_array, is_concrete
from ._enumeration import MAX_EXACT_SPINS, _enumerate

__all__ = ["INVERSE_METHODS", "infer"]

INVERSE_METHODS = ("nmf", "tap", "bethe", "pseudolikelihood", "exact")


def _offdiag(a):
    return a * (1.0 - jnp.eye(a.shape[0], dtype=a.dtype))


def _nmf(m, C):
    J = -_offdiag(jnp.linalg.inv(C))
    return J, jnp.arctanh(m) - J @ m


def _tap(m, C):
    x = _offdiag(jnp.linalg.inv(C))
    a = jnp.outer(m, m)
    J = 2.0 * x / (1.0 + jnp.sqrt(jnp.maximum(1.0 - 8.0 * a * x, 0.0)))
    J = -J
    h = jnp.arctanh(m) - J @ m + m * ((J * J) @ (1.0 - m * m))
    return J, h


def _pair_coupling_and_fields(mi, mj, c):
    """Coupling and cavity fields of the two-spin distribution with moments (mi, mj, <sisj>-mimj)."""
    q = c + mi * mj
    p_pp = 0.25 * (1.0 + mi + mj + q)
    p_mm = 0.25 * (1.0 - mi - mj + q)
    p_pm = 0.25 * (1.0 + mi - mj - q)
    p_mp = 0.25 * (1.0 - mi + mj - q)
    J = 0.25 * (jnp.log(p_pp) + jnp.log(p_mm) - jnp.log(p_pm) - jnp.log(p_mp))
    a_i = 0.25 * (jnp.log(p_pp) + jnp.log(p_pm) - jnp.log(p_mp) - jnp.log(p_mm))
    return J, a_i


def _bethe(m, C):
    x = _offdiag(jnp.linalg.inv(C))
    L = 1.0 - m * m
    LL = jnp.outer(L, L)
    # x (LL - c^2) = -c  ->  c = (1 - sqrt(1 + 4 x^2 LL)) / (2x) = -2 x LL / (1 + sqrt(1 + 4 x^2 LL))
    c = -2.0 * x * LL / (1.0 + jnp.sqrt(1.0 + 4.0 * x * x * LL))
    mi, mj = m[:, None], m[None, :]
    J, a = _pair_coupling_and_fields(mi, mj, c)
    J = _offdiag(J)
    h = jnp.arctanh(m) - jnp.sum(_offdiag(jnp.arctanh(mi) - a), axis=1)
    return J, h


def _symmetric(w):
    return _offdiag(0.5 * (w + w.T))


def _lbfgs(loss, x0, max_steps, tol):
    opt = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(loss)

    def step(carry):
        x, state, k, _ = carry
        value, grad = value_and_grad(x, state=state)
        updates, state = opt.update(grad, state, x, value=value, grad=grad, value_fn=loss)
        return optax.apply_updates(x, updates), state, k + 1, optax.tree.norm(grad)

    def cond(carry):
        _, _, k, g = carry
        return (k < max_steps) & (g > tol)

    init = (x0, opt.init(x0), 0, jnp.asarray(jnp.inf, x0.dtype))
    x, _, k, g = jax.lax.while_loop(cond, step, init)
    return x, k, g


@partial(jax.jit, static_argnames=("max_steps",))
def _pseudolikelihood(samples, l2, max_steps, tol):
    n = samples.shape[1]

    def unpack(x):
        return _symmetric(x[: n * n].reshape(n, n)), x[n * n :]

    def loss(x):
        J, h = unpack(x)
        field = samples @ J + h[None, :]  # J symmetric, zero diagonal
        return -jnp.mean(jnp.sum(jax.nn.log_sigmoid(2.0 * samples * field), axis=1)) + l2 * jnp.sum(J * J)

    x, k, g = _lbfgs(loss, jnp.zeros(n * n + n, samples.dtype), max_steps, tol)
    return (*unpack(x), k, g)


@partial(jax.jit, static_argnames=("max_steps",))
def _max_likelihood(m, C, max_steps, tol):
    n = m.shape[0]
    second = C + jnp.outer(m, m)

    def unpack(x):
        return _symmetric(x[: n * n].reshape(n, n)), x[n * n :]

    def loss(x):  # negative log-likelihood per sample: log Z - h.m - 1/2 sum J <ss>
        J, h = unpack(x)
        log_z = _enumerate(J, h, jnp.asarray(1.0, m.dtype), n).log_z
        return log_z - h @ m - 0.5 * jnp.sum(J * second)

    x, k, g = _lbfgs(loss, jnp.zeros(n * n + n, m.dtype), max_steps, tol)
    return (*unpack(x), k, g)


def infer(m=None, C=None, method: str = "tap", samples=None, *, l2: float = 0.0, max_steps: int = 500, tol: float = 1e-9):
    """Infer Ising couplings and fields (beta = 1) from data.

    Args:
        m: magnetisations, shape (N,), each in (-1, 1).
        C: connected correlations <s_i s_j> - m_i m_j, shape (N, N) (positive definite).
        method: ``"nmf"``, ``"tap"``, ``"bethe"``, ``"pseudolikelihood"`` or ``"exact"``
            (see the module docstring for the formulas and sources).
        samples: +-1 samples, shape (S, N); needed for ``"pseudolikelihood"``; for the other
            methods m and C are computed from them when not given.
        l2: L2 penalty on J (pseudo-likelihood only).
        max_steps, tol: L-BFGS limits (pseudo-likelihood and exact maximum likelihood); the
            iterative methods raise ``RuntimeError`` if the gradient norm stays above ``tol``.

    Returns:
        (J, h): symmetric couplings with zero diagonal, shape (N, N), and fields (N,).
    """
    if method not in INVERSE_METHODS:
        raise ValueError(f"method must be one of {INVERSE_METHODS}, got {method!r}")
    if samples is not None:
        s = np.asarray(as_checked_array("samples", samples), float) if is_concrete(samples) else samples
        if s.ndim != 2:
            raise ValueError(f"samples must have shape (S, N), got {s.shape}")
        if is_concrete(samples) and not np.all(np.abs(s) == 1):
            raise ValueError("samples must be +-1 spins")
        s = jnp.asarray(s, jnp.result_type(jnp.asarray(samples).dtype, jnp.float32))
        if m is None:
            m = jnp.mean(s, axis=0)
        if C is None:
            C = s.T @ s / s.shape[0] - jnp.outer(m, m)
    if method == "pseudolikelihood":
        if samples is None:
            raise ValueError("method 'pseudolikelihood' needs samples (shape (S, N))")
        J, h, k, g = _pseudolikelihood(s, jnp.asarray(l2, s.dtype), max_steps, jnp.asarray(tol, s.dtype))
        _check_converged(method, k, g, max_steps, tol)
        return J, h
    if m is None or C is None:
        raise ValueError(f"method {method!r} needs m and C (or samples)")
    as_checked_array("m", m)
    n = np.shape(m)[0] if np.ndim(m) == 1 else None
    if n is None:
        raise ValueError(f"m must be 1-d, got shape {np.shape(m)}")
    as_checked_array("C", C, shape=(n, n))
    if is_concrete(m) and not np.all(np.abs(np.asarray(m)) < 1):
        raise ValueError("m must lie strictly inside (-1, 1)")
    if is_concrete(C):
        c = np.asarray(C, float)
        if not np.allclose(c, c.T, rtol=1e-10, atol=1e-12):
            raise ValueError("C must be symmetric (C_ij = C_ji): a covariance matrix")
        if n and np.linalg.eigvalsh(0.5 * (c + c.T))[0] <= 0:
            raise ValueError("C must be positive definite (a covariance of non-frozen spins)")
    dtype = jnp.result_type(jnp.asarray(m).dtype, jnp.asarray(C).dtype, jnp.float32)  # keeps float32
    m = jnp.asarray(m, dtype)
    C = jnp.asarray(C, dtype)
    if method == "exact":
        if n > MAX_EXACT_SPINS - 4:
            raise ValueError(f"method 'exact' enumerates 2^N states; needs N <= {MAX_EXACT_SPINS - 4}")
        J, h, k, g = _max_likelihood(m, C, max_steps, jnp.asarray(tol, m.dtype))
        _check_converged(method, k, g, max_steps, tol)
        return J, h
    return {"nmf": _nmf, "tap": _tap, "bethe": _bethe}[method](m, C)


def _check_converged(method, k, g, max_steps, tol):
    if is_concrete(g) and not float(g) <= tol:
        raise RuntimeError(
            f"infer(method={method!r}) did not converge in {int(k)} L-BFGS steps "
            f"(gradient norm {float(g):.3g} > tol {tol}); raise max_steps or tol"
        )
