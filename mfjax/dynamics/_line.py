"""The line attractor of a rank-one rate network and the diffusion of the remembered value.

Network (Mastrogiuseppe & Ostojic 2018, Neuron 99:609, without the random part)::

    tau dx_i/dt = -x_i + m_i kappa_phi(x) + sigma sqrt(tau) xi_i(t),   kappa_phi = n . phi(x) / N,

with white noise ``<xi_i(t) xi_j(t')> = delta_ij delta(t - t')``.  Its memory variable is the
projection on the left eigenvector of the rank-one matrix ``P = m n^T / N``,
``kappa = n . x / (n . m)``, which obeys exactly

    tau dkappa/dt = -kappa + n . phi(x) / N + sigma sqrt(tau) n . xi / (n . m),

so the remembered value diffuses with ``D = sigma^2 |n|^2 / (2 tau (n . m)^2)`` (per ms).

* Linear units with overlap ``n . m / N = 1``: ``n . phi(x)/N = kappa`` and the drift vanishes:
  a perfect line attractor, on which kappa performs a free random walk,
  ``<(kappa(t) - kappa(0))^2> = 2 D t`` (exact).
* Saturating units: with x = kappa m + eta, eta the fast transverse fluctuations (stationary
  variance ``sigma^2 / 2`` per unit, independent of kappa to leading order), the reduction to
  the amplitude equation

      tau dkappa/dt = -kappa + F(kappa),   F(kappa) = (1/N) sum_i n_i E[phi(kappa m_i + sigma z / sqrt 2)],

  (z standard normal) with the same D has the stationary density
  ``p(kappa) ~ exp(-U(kappa) / D)``, ``U' = (kappa - F(kappa)) / tau``: a slow drift along an
  approximate line attractor towards the memory states (the zeros of the drift; for Gaussian
  loadings and sigma = 0 those of :func:`mfjax.memory.rank_one_state` with g = 0).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from .._checks import as_checked_array, as_int, as_key
from ..dmft._nonlinearity import gaussian_nodes, resolve_phi

__all__ = ["RankOneLine", "rank_one_line", "amplitude_drift", "amplitude_density", "simulate_rank_one"]


class RankOneLine(eqx.Module):
    """A rank-one network with noise (module docstring).

    Attributes:
        m, n: loadings, shape (N,); tau: time constant (ms); noise: sigma.
        diffusion: D of the memory variable kappa (1/ms).
        overlap: ``n . m / N``.
        phi: the unit nonlinearity's name (``"linear"``, ``"tanh"``, ``"erf"``, ``"relu"``).
    """

    m: jax.Array
    n: jax.Array
    tau: jax.Array
    noise: jax.Array
    diffusion: jax.Array
    overlap: jax.Array
    phi: str = eqx.field(static=True)


def rank_one_line(m, n, *, tau=10.0, noise=0.0, phi: str = "linear") -> RankOneLine:
    """The rank-one network with loadings ``m``, ``n`` (shape (N,)), time constant ``tau`` (ms),
    noise ``sigma`` and nonlinearity ``phi``; ``diffusion`` is D of the module docstring."""
    m = jnp.asarray(as_checked_array("m", m), float)
    n = jnp.asarray(as_checked_array("n", n, shape=m.shape), float)
    if m.ndim != 1:
        raise ValueError(f"m must be 1-d (one loading per unit), got shape {m.shape}")
    tau = jnp.asarray(as_checked_array("tau", tau, positive=True, shape=()), float)
    noise = jnp.asarray(as_checked_array("noise", noise, nonnegative=True, shape=()), float)
    if phi != "linear":
        resolve_phi(phi)  # a clear error for an unknown name
    dot = jnp.dot(n, m)
    if float(jnp.abs(dot)) == 0.0:
        raise ValueError("n . m must not be 0 (no memory direction)")
    diffusion = noise**2 * jnp.dot(n, n) / (2 * tau * dot**2)
    return RankOneLine(m, n, tau, noise, diffusion, dot / m.size, phi)


def _phi(name):
    return (lambda x: x) if name == "linear" else resolve_phi(name)[0]


def amplitude_drift(line: RankOneLine, kappa) -> jax.Array:
    """``(-kappa + F(kappa)) / tau`` (1/ms) of the amplitude equation at ``kappa`` (any shape)."""
    kappa = jnp.asarray(kappa, float)
    z, w = gaussian_nodes(kappa.dtype)
    phi = _phi(line.phi)
    spread = line.noise / jnp.sqrt(2.0)
    # F(kappa) = mean_i n_i E_z[phi(kappa m_i + spread z)]
    lead = (1,) * kappa.ndim
    arg = kappa[..., None, None] * line.m.reshape(lead + (-1, 1)) + spread * z.reshape(lead + (1, -1))
    smoothed = jnp.sum(w.reshape(lead + (1, -1)) * phi(arg), axis=-1)
    F = jnp.mean(line.n.reshape(lead + (-1,)) * smoothed, axis=-1)
    return (-kappa + F) / line.tau


def amplitude_density(line: RankOneLine, kappa) -> jax.Array:
    """Stationary density of kappa from the amplitude equation, ``exp(int drift / D)``
    normalised on the grid ``kappa`` (1-d, increasing; trapezoid rule).  Needs noise > 0."""
    kappa = jnp.asarray(as_checked_array("kappa", kappa), float)
    if kappa.ndim != 1 or kappa.size < 3:
        raise ValueError(f"kappa must be a 1-d grid of >= 3 points, got shape {kappa.shape}")
    if float(line.noise) <= 0:
        raise ValueError("the stationary density needs noise > 0")
    a = amplitude_drift(line, kappa) / line.diffusion
    log_p = jnp.concatenate([jnp.zeros(1), jnp.cumsum(0.5 * (a[1:] + a[:-1]) * jnp.diff(kappa))])
    p = jnp.exp(log_p - jnp.max(log_p))
    return p / jnp.trapezoid(p, kappa)


def simulate_rank_one(key, line: RankOneLine, duration, *, dt=0.1, trials: int = 1, kappa0=0.0, keep: int = 10):
    """Euler-Maruyama simulation of the full network from ``x = kappa0 m``, vmapped over trials.

    Returns ``(times, kappa)``: times (ms), shape ``(steps // keep,)``, and the memory variable
    ``n . x / (n . m)``, shape ``(trials, steps // keep)``.
    """
    key = as_key("key", key)
    trials = as_int("trials", trials, minimum=1)
    keep = as_int("keep", keep, minimum=1)
    as_checked_array("duration", duration, positive=True)
    as_checked_array("dt", dt, positive=True)
    as_checked_array("kappa0", kappa0)
    if float(dt) > 0.2 * float(line.tau):
        raise ValueError(f"dt must be well below tau (<= 0.2 tau = {0.2 * float(line.tau)} ms), got {dt}")
    blocks = int(round(float(duration) / float(dt))) // keep
    if blocks < 1:
        raise ValueError(f"duration {duration} ms holds fewer than keep={keep} steps of dt={dt} ms")
    kappa = _simulate(key, line, jnp.asarray(dt, float), jnp.asarray(kappa0, float), trials=trials, blocks=blocks, keep=keep)
    return dt * keep * (jnp.arange(blocks) + 1), kappa


@eqx.filter_jit
def _simulate(key, line, dt, kappa0, *, trials, blocks, keep):
    m, n = line.m, line.n
    size = m.size
    phi = _phi(line.phi)
    gain = dt / line.tau
    kick = line.noise * jnp.sqrt(gain)
    readout = n / jnp.dot(n, m)

    def trial(k):
        def block(x, kb):
            def step(x, ks):
                x = x + gain * (-x + m * (jnp.dot(n, phi(x)) / size)) + kick * jax.random.normal(ks, (size,))
                return x, None

            x, _ = jax.lax.scan(step, x, jax.random.split(kb, keep))
            return x, jnp.dot(readout, x)

        _, path = jax.lax.scan(block, kappa0 * m, jax.random.split(k, blocks))
        return path

    return jax.vmap(trial)(jax.random.split(key, trials))
