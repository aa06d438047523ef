"""Time-discretised DMFT: the Gaussian-process self-consistency iterated on a time grid with
sampled paths (Eissfeller & Opper 1992, PRL 68:2094; Helias & Dahmen 2020 ch. 10).

Each unit obeys ``dx = (-x + eta(t) + J0 <phi(x(t))> + I(t)) dt + sigma dW`` where ``eta`` is a
Gaussian process with covariance ``g^2 C_phi(t, s)``, ``C_phi(t, s) = <phi(x(t)) phi(x(s))>``.
Iteration: draw ``n_paths`` paths of eta (Cholesky of the current ``g^2 C_phi``) and of the
noise, integrate x exactly for input linear between grid points (second order in dt), re-estimate
``C_phi`` and ``<phi>`` from the paths, mix with ``damping``.  Handles transients and
time-dependent input; its late-time ``C_x(t, t + tau)`` reproduces the stationary Delta(tau).
Statistical error ~ 1/sqrt(n_paths).
"""

from __future__ import annotations

from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp

from .._checks import as_checked_array
from ._nonlinearity import phi_key, resolve_phi

__all__ = ["TimeDMFT", "time_discretised"]


class TimeDMFT(eqx.Module):
    """Result of :func:`time_discretised`.

    Attributes:
        t: time grid (K,); mean: m(t) = <x(t)>; C_x: connected covariance of x, (K, K);
        C_phi: <phi(x(t)) phi(x(s))>, (K, K); change: relative Frobenius change of C_phi in the
        last iteration (sampling-noise level when converged).
    """

    t: jax.Array
    mean: jax.Array
    C_x: jax.Array
    C_phi: jax.Array
    change: jax.Array


@partial(jax.jit, static_argnames=("n_steps", "n_paths", "n_iter", "phi_key"))
def _iterate(key, g, sigma, J0, I_t, dt, x0_mean, x0_var, damping, n_steps, n_paths, n_iter, phi_key):
    phi, _, _, _ = resolve_phi(phi_key)
    dtype = g.dtype
    decay = jnp.exp(-dt)
    noise_sd = sigma * jnp.sqrt(0.5 * (1.0 - jnp.exp(-2.0 * dt)))
    k = n_steps + 1

    # exact integration of dx = (-x + u(t)) dt for u linear between grid points (2nd order)
    w_next = (dt - 1.0 + decay) / dt
    w_prev = (1.0 - decay) - w_next

    def sample(key, c_phi, mean_phi):
        k_eta, k_x0, k_noise = jax.random.split(key, 3)
        cov = g**2 * c_phi + 1e-10 * jnp.eye(k, dtype=dtype)
        chol = jnp.linalg.cholesky(cov)
        eta = jax.random.normal(k_eta, (n_paths, k), dtype) @ chol.T
        drive = (eta + (J0 * mean_phi + I_t)[None, :]).T  # (K, n_paths)
        x0 = x0_mean + jnp.sqrt(x0_var) * jax.random.normal(k_x0, (n_paths,), dtype)
        noise = noise_sd * jax.random.normal(k_noise, (n_steps, n_paths), dtype)

        def step(x, inp):
            d0, d1, n = inp
            x = decay * x + w_prev * d0 + w_next * d1 + n
            return x, x

        _, xs = jax.lax.scan(step, x0, (drive[:-1], drive[1:], noise))
        return jnp.concatenate([x0[None, :], xs], axis=0)  # (K, n_paths)

    def body(carry, key):
        c_phi, mean_phi, _ = carry
        x = sample(key, c_phi, mean_phi)
        f = phi(x)
        c_new = f @ f.T / n_paths
        change = jnp.linalg.norm(c_new - c_phi) / jnp.linalg.norm(c_new)
        c_phi = (1.0 - damping) * c_phi + damping * c_new
        mean_phi = (1.0 - damping) * mean_phi + damping * jnp.mean(f, axis=1)
        return (c_phi, mean_phi, change), None

    init_c = 0.5 * jnp.eye(k, dtype=dtype)
    init = (init_c, jnp.zeros(k, dtype), jnp.asarray(jnp.inf, dtype))
    keys = jax.random.split(key, n_iter + 1)
    (c_phi, mean_phi, change), _ = jax.lax.scan(body, init, keys[:-1])
    x = sample(keys[-1], c_phi, mean_phi)
    mean = jnp.mean(x, axis=1)
    xc = x - mean[:, None]
    f = phi(x)
    return mean, xc @ xc.T / n_paths, f @ f.T / n_paths, change


def time_discretised(g, T: float, *, key, dt: float = 0.1, sigma=0.0, J0=0.0, I=0.0, phi="tanh",
                     x0_mean=0.0, x0_var=1.0, n_paths: int = 4000, n_iter: int = 60,
                     damping: float = 0.3) -> TimeDMFT:
    """Iterate the DMFT self-consistency on the grid ``t = 0, dt, ..., T`` (module docstring).

    Args:
        g, sigma, J0: as :func:`mfjax.dmft.stationary`.
        T, dt: horizon and step (time constants).
        I: constant input or an array on the grid (length ``round(T/dt) + 1``): time-dependent drive.
        x0_mean, x0_var: Gaussian initial condition of x.
        n_paths, n_iter, damping: paths per iteration, iterations, mixing of C_phi.

    Returns:
        :class:`TimeDMFT` with m(t), C_x(t, s), C_phi(t, s).
    """
    for name, v in (("T", T), ("dt", dt)):
        as_checked_array(name, v, positive=True)
    for name, v in (("g", g), ("sigma", sigma), ("x0_var", x0_var)):
        as_checked_array(name, v, nonnegative=True)
    if not 0.0 < damping <= 1.0:
        raise ValueError(f"damping must be in (0, 1], got {damping}")
    n_steps = int(round(T / dt))
    if n_steps < 1:
        raise ValueError(f"T must be at least dt (got T={T}, dt={dt})")
    key_phi = phi_key(phi)
    dtype = jnp.result_type(jnp.asarray(g).dtype, jnp.float32)
    as_checked_array("I", I)
    I_t = jnp.asarray(I, dtype)
    if I_t.ndim == 0:
        I_t = jnp.broadcast_to(I_t, (n_steps + 1,))
    if I_t.shape != (n_steps + 1,):
        raise ValueError(f"I must be a scalar or have shape ({n_steps + 1},), got {I_t.shape}")
    cast = [jnp.asarray(v, dtype) for v in (g, sigma, J0)]
    mean, c_x, c_phi, change = _iterate(
        key, *cast, I_t, jnp.asarray(dt, dtype), jnp.asarray(x0_mean, dtype), jnp.asarray(x0_var, dtype),
        jnp.asarray(damping, dtype), n_steps, n_paths, n_iter, key_phi,
    )
    t = jnp.arange(n_steps + 1, dtype=dtype) * dt
    return TimeDMFT(t=t, mean=mean, C_x=c_x, C_phi=c_phi, change=change)
