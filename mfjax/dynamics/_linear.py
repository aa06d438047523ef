"""Linear(ised) rate networks near an instability: critical slowing down and Fisher information.

The network ``tau dx/dt = -x + W x + h s + xi(t)`` with white noise
``<xi(t) xi(t')^T> = tau^2 D delta(t - t')`` (so that ``D`` has the units of x^2 per unit time,
times tau) is an Ornstein-Uhlenbeck process ``dx = A x dt + dB`` with ``A = (W - I)/tau`` and
noise covariance ``Q = D`` per unit time:

* stationary covariance ``Sigma``: the Lyapunov equation ``A Sigma + Sigma A^T + Q = 0``
  (Gardiner, *Stochastic Methods*, sec. 4.5.6), solved here as the linear system
  ``(I (x) A + A (x) I) vec(Sigma) = -vec(Q)``;
* autocovariance ``C(t) = e^{A t} Sigma`` (t >= 0), so the integrated autocorrelation time of
  the projection ``u . x`` is ``tau_c = -u^T A^{-1} Sigma u / (u^T Sigma u)``.  For a normal W
  and u its leading eigenvector this is ``tau/delta`` with ``delta = 1 - lambda_max(W)``: the
  critical slowing down as ``delta -> 0`` (Scheffer et al. 2009; for the branching-ratio
  analogue see :mod:`mfjax.dynamics._avalanches`);
* linear Fisher information about s of a snapshot ``x`` observed with private readout noise of
  variance ``sigma_r^2`` per unit: ``I_F = mu'^T (Sigma + sigma_r^2 I)^{-1} mu'`` with
  ``mu' = (I - W)^{-1} h`` (e.g. Seung & Sompolinsky 1993; Kanitscheider, Coen-Cagli & Pouget
  2015).  For a normal W and ``Q = q I`` it is ``sum_k 2 (h . u_k)^2/((1 - lambda_k) q tau)``
  over the eigenmodes: the slow mode integrates the stimulus over ``tau_c = tau/delta`` while
  its noise variance grows only as ``1/delta``, so I_F grows as ``1/delta`` near the instability
  (temporal integration; Toyoizumi & Abbott 2011, Phys. Rev. E 84:051908; Ganguli, Huh &
  Sompolinsky 2008, PNAS 105:18970 for the memory version).  Readout noise caps it.

The simulator integrates the same equation exactly over each step (the OU transition:
``x <- e^{A dt} x + b + noise`` with the noise covariance ``Sigma - e^{A dt} Sigma e^{A^T dt}``),
so no time-step error enters a comparison.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from .._checks import Conditions, as_checked_array, as_int, as_key

__all__ = [
    "lyapunov_covariance",
    "autocorrelation_time",
    "LinearNetwork",
    "linear_network",
    "linear_fisher_information",
    "simulate_linear_network",
    "fisher_information_estimate",
]


def lyapunov_covariance(A, Q):
    """``Sigma`` with ``A Sigma + Sigma A^T + Q = 0`` (A stable), by the Kronecker linear system
    (dense; for n up to ~60).  Differentiable."""
    n = A.shape[-1]
    eye = jnp.eye(n, dtype=A.dtype)
    K = jnp.kron(eye, A) + jnp.kron(A, eye)
    sigma = jnp.linalg.solve(K, -Q.reshape(-1)).reshape(n, n)
    return 0.5 * (sigma + sigma.T)


class LinearNetwork(NamedTuple):
    """``dx = A x dt + b s dt + dB``, ``<dB dB^T> = Q dt`` (module docstring), from
    :func:`linear_network`; units of the rate model (time as ``tau``)."""

    A: jax.Array
    Q: jax.Array
    b: jax.Array
    tau: jax.Array


def linear_network(W, tau, D, h=None) -> LinearNetwork:
    """The OU form of ``tau dx/dt = -x + W x + h s + xi`` (module docstring).

    Args:
        W: (n, n) couplings; the network must be stable (every eigenvalue of W with real part
            below 1): checked, a clear error (concrete) or NaN-poisoned result (traced).
        tau: time constant (ms), > 0.
        D: noise intensity: a scalar (``D I``), a vector (diagonal) or an (n, n) matrix.
        h: stimulus direction, (n,) (default: zeros).
    """
    W = jnp.asarray(as_checked_array("W", W), jnp.result_type(float, W))
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be a square (n, n) matrix, got shape {W.shape}")
    n = W.shape[0]
    conds = Conditions()
    conds.require("tau", tau, positive=True)
    D = jnp.asarray(as_checked_array("D", D, nonnegative=jnp.ndim(D) < 2), W.dtype)
    if D.ndim == 0:
        Q = D * jnp.eye(n, dtype=W.dtype)
    elif D.shape == (n,):
        Q = jnp.diag(D)
    elif D.shape == (n, n):
        Q = 0.5 * (D + D.T)
    else:
        raise ValueError(f"D must be a scalar, shape ({n},) or ({n}, {n}), got {D.shape}")
    h = jnp.zeros(n, W.dtype) if h is None else jnp.asarray(as_checked_array("h", h), W.dtype)
    if h.shape != (n,):
        raise ValueError(f"h must have shape ({n},), got {h.shape}")
    lam = jnp.max(jnp.linalg.eigvals(W).real)
    conds.where("W must be stable: every eigenvalue of W needs a real part < 1", ~(lam < 1))
    tau = jnp.asarray(tau, W.dtype)
    A = (W - jnp.eye(n, dtype=W.dtype)) / tau
    return conds.enforce(LinearNetwork(A, Q, h / tau, tau))


def autocorrelation_time(net: LinearNetwork, u):
    """The integrated autocorrelation time ``int_0^inf C_u(t)/C_u(0) dt`` of ``u . x`` (ms):
    ``-u^T A^{-1} Sigma u / (u^T Sigma u)`` (module docstring)."""
    u = jnp.asarray(u, net.A.dtype)
    sigma = lyapunov_covariance(net.A, net.Q)
    return -(u @ jnp.linalg.solve(net.A, sigma @ u)) / (u @ sigma @ u)


def linear_fisher_information(net: LinearNetwork, readout_noise=0.0):
    """``I_F = mu'^T (Sigma + sigma_r^2 I)^{-1} mu'`` about s of one snapshot, with
    ``mu' = -A^{-1} b`` the stationary response per unit s (module docstring)."""
    as_checked_array("readout_noise", readout_noise, nonnegative=True)
    n = net.A.shape[0]
    sigma = lyapunov_covariance(net.A, net.Q) + readout_noise**2 * jnp.eye(n, dtype=net.A.dtype)
    dmu = -jnp.linalg.solve(net.A, net.b)
    return dmu @ jnp.linalg.solve(sigma, dmu)


def _psd_sqrt(S):
    """A square root ``L L^T = S`` of a symmetric positive semi-definite matrix (eigh; exact
    zeros stay zero where Cholesky would fail)."""
    w, V = jnp.linalg.eigh(0.5 * (S + S.T))
    return V * jnp.sqrt(jnp.maximum(w, 0.0))[None, :]


def simulate_linear_network(key, net: LinearNetwork, s, dt, steps: int, trials: int = 1, *, x0=None,
                            readout_noise=0.0, keep: int = 1):
    """Exact OU simulation of the network at stimulus ``s`` (module docstring).

    Args:
        key: JAX random key.
        net: :class:`LinearNetwork`.
        s: the stimulus (scalar).
        dt: step (ms), > 0 (any size: the transition is exact).
        steps: number of steps; ``keep`` every ``keep``-th state is returned.
        trials: independent trials (vmapped).
        x0: initial state ``(n,)``; default: a draw from the stationary law at ``s``.
        readout_noise: std of private noise added to each returned state (readout, not
            dynamics).

    Returns:
        ``(trials, steps // keep, n)`` states.
    """
    key = as_key("key", key)
    steps = as_int("steps", steps, minimum=1)
    trials = as_int("trials", trials, minimum=1)
    keep = as_int("keep", keep, minimum=1)
    as_checked_array("dt", dt, positive=True)
    as_checked_array("s", s)
    as_checked_array("readout_noise", readout_noise, nonnegative=True)
    n = net.A.shape[0]
    sigma = lyapunov_covariance(net.A, net.Q)
    step_map = jax.scipy.linalg.expm(net.A * dt)
    mean = -jnp.linalg.solve(net.A, net.b * s)
    step_cov = sigma - step_map @ sigma @ step_map.T
    chol_step = _psd_sqrt(step_cov)
    chol_stat = _psd_sqrt(sigma)

    def trial(k):
        k0, k1, k2 = jax.random.split(k, 3)
        start = mean + chol_stat @ jax.random.normal(k0, (n,), sigma.dtype) if x0 is None else jnp.asarray(x0, sigma.dtype)

        def block(x, kb):
            def one(x, ks):
                x = mean + step_map @ (x - mean) + chol_step @ jax.random.normal(ks, (n,), sigma.dtype)
                return x, None

            x, _ = jax.lax.scan(one, x, jax.random.split(kb, keep))
            return x, x

        _, xs = jax.lax.scan(block, start, jax.random.split(k1, steps // keep))
        return xs + readout_noise * jax.random.normal(k2, xs.shape, sigma.dtype)

    return jax.vmap(trial)(jax.random.split(key, trials))


def fisher_information_estimate(x_a, x_b, ds):
    """Bias-corrected linear Fisher information from responses to ``s`` and ``s + ds``
    (Kanitscheider, Coen-Cagli, Kohn & Pouget 2015, PLoS Comput. Biol. 11:e1004218):
    ``x_a, x_b`` of shape (trials, n), independent samples, T trials per stimulus, S the pooled
    covariance::

        I = dmu^T S^{-1} dmu / ds^2 (2T - n - 3)/(2T - 2) - 2n/(T ds^2).
    """
    x_a, x_b = jnp.asarray(x_a), jnp.asarray(x_b)
    T, n = x_a.shape
    dmu = jnp.mean(x_b, 0) - jnp.mean(x_a, 0)
    S = 0.5 * (jnp.cov(x_a, rowvar=False) + jnp.cov(x_b, rowvar=False))
    raw = dmu @ jnp.linalg.solve(S, dmu) / ds**2
    return raw * (2 * T - n - 3) / (2 * T - 2) - 2 * n / (T * ds**2)
