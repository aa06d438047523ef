"""Exact Ising averages by enumeration of all 2^N states (N <= 24), in blocks under ``lax.scan``.

``Z = sum_s exp(-beta H(s))``, ``m_i = <s_i>``, ``C_ij = <s_i s_j> - m_i m_j`` (connected),
accumulated with a running maximum of the log-weights so that nothing overflows.
"""

from __future__ import annotations

from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp

from ._models import check_model

__all__ = ["ExactAverages", "exact", "MAX_EXACT_SPINS"]

MAX_EXACT_SPINS = 24
_BLOCK_BITS = 12


class ExactAverages(eqx.Module):
    """Exact equilibrium averages.

    Attributes:
        m: magnetisations <s_i>, shape (N,).
        C: connected correlations <s_i s_j> - m_i m_j, shape (N, N).
        log_z: log of the partition function.
        energy: <H>.
    """

    m: jax.Array
    C: jax.Array
    log_z: jax.Array
    energy: jax.Array

    def __iter__(self):  # (m, C) = exact(...) unpacking
        return iter((self.m, self.C))


def _spins(index, n):
    """+-1 spin configurations of the integers ``index`` (bit i -> spin i), shape (B, n)."""
    bits = (index[:, None] >> jnp.arange(n)[None, :]) & 1
    return 2.0 * bits - 1.0


@partial(jax.jit, static_argnames="n")
def _enumerate(J, h, beta, n):
    block_bits = min(_BLOCK_BITS, n)
    n_blocks = 2 ** (n - block_bits)
    base = jnp.arange(2**block_bits)

    def body(carry, b):
        top, s0, s1, s2, e1 = carry
        s = _spins(base + b * (2**block_bits), n).astype(J.dtype)
        energy = -0.5 * jnp.einsum("bi,ij,bj->b", s, J, s) - s @ h
        logw = -beta * energy
        new_top = jnp.maximum(top, jnp.max(logw))
        scale = jnp.exp(top - new_top)
        w = jnp.exp(logw - new_top)
        return (
            new_top,
            s0 * scale + jnp.sum(w),
            s1 * scale + w @ s,
            s2 * scale + (s * w[:, None]).T @ s,
            e1 * scale + w @ energy,
        ), None

    z = jnp.zeros((), J.dtype)
    init = (jnp.asarray(-jnp.inf, J.dtype), z, jnp.zeros(n, J.dtype), jnp.zeros((n, n), J.dtype), z)
    (top, s0, s1, s2, e1), _ = jax.lax.scan(body, init, jnp.arange(n_blocks))
    m = s1 / s0
    C = s2 / s0 - jnp.outer(m, m)
    return ExactAverages(m=m, C=C, log_z=top + jnp.log(s0), energy=e1 / s0)


def exact(J, h=0.0, beta=1.0) -> ExactAverages:
    """Exact m and connected C of the Ising model ``H = -1/2 s.J.s - h.s`` by enumerating all
    2^N states (N <= 24).  Unpacks as ``m, C = exact(J, h, beta)``; also carries ``log_z`` and
    the mean ``energy``.  Differentiable in J, h and beta.

    Example:
        >>> m, C = exact(curie_weiss_couplings(10), 0.1, 0.5)
    """
    J, h, beta = check_model(J, h, beta)
    n = J.shape[0]
    if n > MAX_EXACT_SPINS:
        raise ValueError(f"exact enumeration needs N <= {MAX_EXACT_SPINS}, got N = {n}")
    return _enumerate(J, h, beta, n)
