"""Direct simulation of the random rate network (the DMFT's ground truth).

``dx_i = (-x_i + sum_j J_ij phi(x_j) + I) dt + sigma dW_i``, ``J_ij ~ N(J0/N, g^2/N)``, Heun
(stochastic trapezoid) steps, which are of strong order 1 for additive noise.  Statistics
kept online: the mean m, the population-averaged autocorrelation
``Delta(tau) = <x_i(t) x_i(t+tau)> - m^2`` on lags up to ``tau_max`` (ring buffer of recorded
states), and the largest Lyapunov exponent by Benettin's method (a tangent vector integrated
with the same scheme, renormalised every step, log growth accumulated).
"""

from __future__ import annotations

from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import Conditions, as_checked_array, as_int, as_key, is_concrete
from ._blocks import BlockNetwork
from ._nonlinearity import phi_key, resolve_phi

__all__ = ["NetworkStatistics", "simulate", "simulate_blocks"]


class NetworkStatistics(eqx.Module):
    """Time-averaged statistics of one simulated network.

    Attributes:
        tau: lags (units of the time constant); delta: population-averaged autocorrelation.
        delta0: Delta(0); mean: population and time average of x.
        lyapunov: largest Lyapunov exponent (Benettin).
    """

    tau: jax.Array
    delta: jax.Array
    delta0: jax.Array
    mean: jax.Array
    lyapunov: jax.Array


@partial(jax.jit, static_argnames=("sizes", "n_steps", "n_burn", "record_every", "n_lags", "phi_keys"))
def _run(key, g, sigma, J0, I, sizes, n_steps, n_burn, dt, record_every, n_lags, phi_keys):
    """Block network with populations of ``sizes`` (contiguous units); g, J0 (P, P), sigma, I
    (P,).  Returns Delta (n_lags, P), the mean (P,) and the Lyapunov exponent."""
    dtype = g.dtype
    N = sum(sizes)
    pop = np.repeat(np.arange(len(sizes)), sizes)
    onehot = jnp.asarray(np.eye(len(sizes))[pop], dtype)  # (N, P)
    counts = jnp.asarray(sizes, dtype)
    funcs = [resolve_phi(k) for k in phi_keys]
    kJ, kx, kv, kn = jax.random.split(key, 4)
    J = g[pop][:, pop] * jax.random.normal(kJ, (N, N), dtype) / np.sqrt(N) + J0[pop][:, pop] / N
    inp, noise_scale = I[pop], sigma[pop] * jnp.sqrt(dt)
    x = jax.random.normal(kx, (N,), dtype)
    v = jax.random.normal(kv, (N,), dtype)
    v = v / jnp.linalg.norm(v)

    def per_unit(which, x):
        if len(funcs) == 1:
            return funcs[0][which](x)
        return jnp.sum(jnp.stack([f[which](x) for f in funcs], axis=1) * onehot, axis=1)

    def drift(x):
        return -x + J @ per_unit(0, x) + inp

    def tangent(x, v):
        return -v + J @ (per_unit(2, x) * v)

    def step(x, v, k):
        xi = noise_scale * jax.random.normal(k, (N,), dtype)
        f0 = drift(x)
        x_pred = x + dt * f0 + xi
        x_new = x + 0.5 * dt * (f0 + drift(x_pred)) + xi
        t0 = tangent(x, v)
        v_pred = v + dt * t0
        v_new = v + 0.5 * dt * (t0 + tangent(x_pred, v_pred))
        norm = jnp.linalg.norm(v_new)
        return x_new, v_new / norm, jnp.log(norm)

    def burn(carry, k):
        x, v = carry
        x, v, _ = step(x, v, k)
        return (x, v), None

    (x, v), _ = jax.lax.scan(burn, (x, v), jax.random.split(kn, n_burn + 1)[1:])
    ring = jnp.tile(x, (n_lags, 1))

    def block(carry, keys):
        x, v, ring, acc_corr, acc_mean, acc_log, count = carry

        def inner(c, k):
            x, v, s = c
            x, v, lg = step(x, v, k)
            return (x, v, s + lg), None

        (x, v, s), _ = jax.lax.scan(inner, (x, v, jnp.zeros((), dtype)), keys)
        ring = jnp.concatenate([x[None, :], ring[:-1]], axis=0)  # ring[l] = x(t - l * record_dt)
        valid = (jnp.arange(n_lags) <= count).astype(dtype)
        acc_corr = acc_corr + valid[:, None] * ((ring * x[None, :]) @ onehot) / counts[None, :]
        return (x, v, ring, acc_corr, acc_mean + (x @ onehot) / counts, acc_log + s, count + 1), None

    n_blocks = n_steps // record_every
    keys = jax.random.split(jax.random.fold_in(kn, 1), (n_blocks, record_every))
    P = len(sizes)
    init = (x, v, ring, jnp.zeros((n_lags, P), dtype), jnp.zeros(P, dtype), jnp.zeros((), dtype), 0)
    (x, v, ring, acc_corr, acc_mean, acc_log, count), _ = jax.lax.scan(block, init, keys)
    pairs = (n_blocks - jnp.arange(n_lags))[:, None]
    mean = acc_mean / n_blocks
    delta = acc_corr / pairs - mean[None, :] ** 2
    return delta, mean, acc_log / (n_blocks * record_every * dt)


def _time_grid(dt, record_dt, tau_max, duration, burn_in):
    """(record_every, n_lags, n_steps, n_burn) of a simulation, validated."""
    for name, v in (("duration", duration), ("dt", dt), ("record_dt", record_dt), ("tau_max", tau_max)):
        as_checked_array(name, v, positive=True)
    as_checked_array("burn_in", burn_in, nonnegative=True)
    every = int(round(record_dt / dt))
    if every < 1 or abs(every * dt - record_dt) > 1e-9 * record_dt:
        raise ValueError(f"record_dt ({record_dt}) must be a multiple of dt ({dt})")
    n_lags = int(round(tau_max / record_dt)) + 1
    n_steps = int(round(duration / dt))
    if n_steps < every * n_lags:
        raise ValueError(f"duration must exceed tau_max (got duration {duration}, tau_max {tau_max})")
    return every, n_lags, n_steps, int(round(burn_in / dt))


def _heun_condition(conds, dt, gain, mean):
    """Heun's method is stable for the eigenvalues -1 +- g of the linearised dynamics only while
    dt (1 + g) stays inside its stability interval (-2, 0); keep a margin of two."""
    return conds.where(f"dt = {dt} is too large for a stable Heun step: need dt (1 + g + |J0|) <= 1",
                       jnp.asarray(dt) * (1.0 + gain + mean) > 1.0)


def simulate(g, N: int, duration: float, *, key, sigma=0.0, J0=0.0, I=0.0, phi="tanh", dt: float = 0.05,
             burn_in: float = 50.0, tau_max: float = 20.0, record_dt: float = 0.1) -> NetworkStatistics:
    """Simulate the random rate network (module docstring) and measure its statistics.

    Args:
        g, sigma, J0, I: as :func:`mfjax.dmft.stationary` (scalars; vmap this function over
            keys or parameters: the network is redrawn from ``key``).
        N: number of units; duration: measured time (units of the time constant).
        key: ``jax.random`` key (couplings, initial state, noise).
        dt: Heun step; burn_in: discarded time; tau_max, record_dt: lag range and spacing of the
            autocorrelation (record_dt must be a multiple of dt).

    Returns:
        :class:`NetworkStatistics` (``tau``, ``delta``, ``delta0``, ``mean``, ``lyapunov``).
    """
    N = as_int("N", N, minimum=2)
    key = as_key("key", key)
    every, n_lags, n_steps, n_burn = _time_grid(dt, record_dt, tau_max, duration, burn_in)
    conds = Conditions()
    for name, v in (("g", g), ("sigma", sigma)):
        conds.require(name, v, nonnegative=True)
    for name, v in (("J0", J0), ("I", I)):
        conds.require(name, v)
    _heun_condition(conds, dt, jnp.asarray(g), jnp.abs(jnp.asarray(J0)))
    phi = phi_key(phi)
    dtype = jnp.result_type(jnp.asarray(g).dtype, jnp.float32)
    cast = [jnp.asarray(v, dtype).reshape(shape) for v, shape in ((g, (1, 1)), (sigma, (1,)), (J0, (1, 1)), (I, (1,)))]
    delta, mean, lam = _run(key, *cast, (N,), n_steps, n_burn, jnp.asarray(dt, dtype), every, n_lags, (phi,))
    delta, mean = delta[:, 0], mean[0]
    tau = jnp.arange(n_lags, dtype=dtype) * record_dt
    return conds.enforce(NetworkStatistics(tau=tau, delta=delta, delta0=delta[0], mean=mean, lyapunov=lam))


def simulate_blocks(net, N: int, duration: float, *, key, dt: float = 0.05, burn_in: float = 50.0,
                    tau_max: float = 20.0, record_dt: float = 0.1) -> NetworkStatistics:
    """Simulate the block-structured random rate network of :func:`mfjax.dmft.block_network`
    (module docstring of :mod:`mfjax.dmft._blocks`): population a has ``round(alpha_a N)``
    units (the last one takes the remainder), couplings ``J_ij ~ N(J0_ab/N, g_ab^2/N)``.

    Returns :class:`NetworkStatistics` with ``delta`` (P, n_lags), ``delta0`` and ``mean`` (P,)
    per population and the network's largest Lyapunov exponent.  Other arguments as
    :func:`simulate`.
    """
    if not isinstance(net, BlockNetwork):
        raise ValueError(f"net must be a BlockNetwork (see mfjax.dmft.block_network), got {type(net).__name__}")
    if not is_concrete(net.alpha):
        raise ValueError("the population fractions alpha must be concrete (they fix the population sizes)")
    N = as_int("N", N, minimum=2)
    key = as_key("key", key)
    every, n_lags, n_steps, n_burn = _time_grid(dt, record_dt, tau_max, duration, burn_in)
    alpha = np.asarray(net.alpha, float)
    sizes = [int(round(a * N)) for a in alpha[:-1]]
    sizes.append(N - sum(sizes))
    if min(sizes) < 1:
        raise ValueError(f"N = {N} leaves a population empty (sizes {sizes}); raise N")
    conds = Conditions()
    conds.where("the block network's parameters are invalid (see block_network)", ~net.valid)
    _heun_condition(conds, dt, jnp.max(net.g), jnp.max(jnp.sum(jnp.abs(net.mean_matrix), axis=1)))
    dtype = net.g.dtype
    delta, mean, lam = _run(key, net.g, net.sigma, net.J0, net.I, tuple(sizes), n_steps, n_burn,
                            jnp.asarray(dt, dtype), every, n_lags, net.phi)
    tau = jnp.arange(n_lags, dtype=dtype) * record_dt
    return conds.enforce(NetworkStatistics(tau=tau, delta=delta.T, delta0=delta[0], mean=mean, lyapunov=lam))
