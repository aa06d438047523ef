"""Eigenmodes of the effective connectivity on the real frequency axis.

* :func:`eigenvalue_trajectories`: the eigenvalues of ``W(f)`` followed across a frequency grid
  (Bos et al. 2016, Fig. 4; NNMT's ``_match_eigenvalues_across_frequencies``).  By the Nyquist
  criterion the working point is unstable when a trajectory encircles 1.
* :class:`SensitivityMeasure`: Bos et al.'s (2016, eq. 7) sensitivity of one mode's eigenvalue
  ``lambda_c`` to each connection, ``T_ab = v_a u_b W_ab`` (``u``, ``v`` its right and left
  eigenvectors, ``v . u = 1``), projected on the direction from ``lambda_c`` to 1 (changes the
  height of the spectral peak) and perpendicular to it (moves the peak in frequency).

These functions take ``W`` itself (shape (F, P, P) or (P, P)); the network-level entry points
are :func:`mfjax.populations.linear_response`, :func:`sensitivity_measure` and
:func:`sensitivity_measure_all_eigenmodes` in :mod:`._response`.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

__all__ = ["eigenvalue_trajectories", "SensitivityMeasure", "mode_sensitivity", "all_mode_sensitivities", "after"]


def after(x, *done):
    """``x``, made to depend on ``done`` (plus zero times an entry of each).

    jaxlib 0.10's batched LAPACK kernels on the CPU (LU, triangular solve, eig) each wait for
    their batch on the intra-op thread pool; two running at once can take every thread of a
    2-core machine and wait forever (observed with gdb: ``LuDecompositionKernel`` and
    ``EigenvalueDecompositionComplexKernel`` both parked in ``ParallelBatchMap``).  XLA's CPU
    pipeline drops ``optimization_barrier``, so the kernels are chained by a data dependency.
    A NaN in ``done`` makes ``x`` NaN: a result that is invalid anyway, flagged by the status."""
    zero = sum(jnp.real(jnp.ravel(d)[0]) for d in done) * 0.0
    return x + zero.astype(x.dtype)


def _match(previous, current):
    """Permutation of ``current`` (P,) that follows ``previous`` (P,): the closest pairs first."""
    p = previous.shape[0]
    dist = jnp.abs(previous[:, None] - current[None, :])

    def pick(_, state):
        perm, free_prev, free_cur = state
        d = jnp.where(free_prev[:, None] & free_cur[None, :], dist, jnp.inf)
        k = jnp.argmin(d)
        i, j = k // p, (k % p).astype(jnp.int32)
        return perm.at[i].set(j), free_prev.at[i].set(False), free_cur.at[j].set(False)

    init = (jnp.zeros((p,), jnp.int32), jnp.ones((p,), bool), jnp.ones((p,), bool))
    return jax.lax.fori_loop(0, p, pick, init)[0]


@jax.jit
def eigenvalue_trajectories(W):
    """Eigenvalues of ``W(f)`` (shape (F, P, P), frequencies in order) followed across
    frequencies: at each frequency the eigenvalues are matched to those of the previous one,
    the closest pairs first (NNMT's ``_match_eigenvalues_across_frequencies`` without its
    margin; the grid must be fine enough that a trajectory moves less than the distance
    between trajectories per step).

    Returns:
        ``(eigenvalues, order)``: the eigenvalues, shape (F, P), column ``i`` one trajectory,
        and ``order`` (F, P), the index into ``jnp.linalg.eigvals(W[k])`` of each column.
    """
    ev = jnp.linalg.eigvals(W)

    def follow(prev, cur):
        perm = _match(prev, cur)
        return cur[perm], (cur[perm], perm)

    first = jnp.arange(ev.shape[1], dtype=jnp.int32)
    _, (rest, perms) = jax.lax.scan(follow, ev[0], ev[1:])
    return jnp.concatenate([ev[:1], rest]), jnp.concatenate([first[None], perms])


class SensitivityMeasure(eqx.Module):
    """Sensitivity of one eigenmode of ``W(f)`` to each connection (Bos et al. 2016, eq. 7).

    Attributes:
        frequency: where it is evaluated (Hz).
        eigenvalue: the mode's eigenvalue ``lambda_c`` of ``W(f)``.
        right, left: its right eigenvector ``u`` and left eigenvector ``v`` (``v W = lambda_c v``),
            normalised so that ``v . u = 1``; shape (P,).
        sensitivity: ``T_ab = v_a u_b W_ab`` (complex, (P, P)): ``d lambda_c = sum T_ab dW_ab/W_ab``.
        k, k_perp: unit vectors (2,) from ``lambda_c`` towards 1 and perpendicular to it.
        amplitude: projection of ``T`` on ``k`` (changes the height of the spectral peak), (P, P).
        frequency_shift: projection on ``k_perp`` (moves the peak in frequency), (P, P).
    """

    frequency: jax.Array
    eigenvalue: jax.Array
    right: jax.Array
    left: jax.Array
    sensitivity: jax.Array
    k: jax.Array
    k_perp: jax.Array
    amplitude: jax.Array
    frequency_shift: jax.Array


def mode_sensitivity(W, index, frequency) -> SensitivityMeasure:
    """Sensitivity measure of mode ``index`` (into ``jnp.linalg.eig(W)``) of ``W`` (P, P) at ``frequency`` (Hz)."""
    ev, right = jnp.linalg.eig(W)
    left = jnp.linalg.inv(right)  # rows: left eigenvectors with left[i] . right[:, i] = 1
    lam_c = ev[index]
    u, v = right[:, index], left[index]
    T = v[:, None] * u[None, :] * W
    k = jnp.stack([1.0 - lam_c.real, -lam_c.imag])
    k = k / jnp.sqrt(jnp.sum(k * k))
    k_perp = jnp.stack([-k[1], k[0]])
    return SensitivityMeasure(
        frequency=frequency,
        eigenvalue=lam_c,
        right=u,
        left=v,
        sensitivity=T,
        k=k,
        k_perp=k_perp,
        amplitude=T.real * k[0] + T.imag * k[1],
        frequency_shift=T.real * k_perp[0] + T.imag * k_perp[1],
    )




def all_mode_sensitivities(W, frequency) -> SensitivityMeasure:
    """Sensitivity measure of every eigenvalue trajectory of ``W`` (F, P, P) on the sorted grid
    ``frequency`` (F,), each at the frequency where it passes closest to 1 (NNMT's
    ``_sensitivity_measure_all_eigenmodes``); fields with a leading axis of length P."""
    ev, order = eigenvalue_trajectories(W)
    W = after(W, ev)  # the eig below after the one above
    at = jnp.argmin(jnp.abs(ev - 1.0), axis=0)  # (P,) frequency index per trajectory
    idx = order[at, jnp.arange(ev.shape[1])]
    return jax.vmap(lambda k, i: mode_sensitivity(W[k], i, frequency[k]))(at, idx)
