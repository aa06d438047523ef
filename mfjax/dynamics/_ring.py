"""The ring attractor of Ben-Yishai, Bar-Or & Sompolinsky (1995, PNAS 92:3844; Hansel &
Sompolinsky 1998, *Methods in Neuronal Modeling* ch. 13): threshold-linear rate units on a ring
of preferred orientations theta in [-pi/2, pi/2),

    tau dm(theta)/dt = -m + [ I(theta) + int dtheta'/pi  J(theta - theta') m(theta') ]_+ + noise,
    J(theta) = -J0 + J2 cos(2 theta),     I(theta) = I0 + I2 cos(2 (theta - theta0)).

The input field is ``h = h0 + h2 cos 2(theta - psi)`` with ``h0 = I0 - J0 r0`` and
``h2 = I2 + J2 r2``, ``r_k`` the Fourier moments of m.  A bump ``m = h2 [cos 2(theta - psi) -
cos 2 theta_c]_+`` of half-width theta_c has

    r0 = h2 f0(theta_c),  f0 = (sin 2 theta_c - 2 theta_c cos 2 theta_c) / pi,
    r2 = h2 f2(theta_c),  f2 = (theta_c - sin(4 theta_c) / 4) / pi.

Without tuned input (I2 = 0) the bump is *marginal* (any psi: a continuous attractor) and
``J2 f2(theta_c) = 1`` fixes its width (it exists for J2 > 2, where the homogeneous state
``m = I0 / (1 + J0)`` loses stability to the cos 2 theta mode, whose eigenvalue is
``-1 + J2/2``); ``h0 = -h2 cos 2 theta_c`` then gives ``h2 = I0 / (J0 f0 - cos 2 theta_c)``.

Noise (white, ``<xi_i(t) xi_j(t')> = sigma^2 tau delta_ij delta(t - t')`` per unit of the
n-unit discretisation) moves the bump along the attractor: with ``v = dm/dpsi`` the right null
vector of the Jacobian ``A = -I + diag(h_i > 0) W`` at the bump and ``u`` its left null vector,
the position diffuses with

    D_psi = sigma^2 |u|^2 / (2 tau (u . v)^2)          (rad^2 per ms; <(psi(t) - psi(0))^2> = 2 D t),

the projection of the noise on the neutral mode (Burak & Fiete 2012, PNAS 109:17645).
Units: time ms, rates and inputs in the same (arbitrary, e.g. Hz) unit; angles in radians.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from .._checks import Conditions, as_checked_array, as_int, as_key, is_concrete
from ..solvers import solve_fixed_point, solve_root

__all__ = ["RingNetwork", "RingBump", "ring_bump", "ring_weights", "ring_steady_state", "bump_position",
           "bump_diffusion", "simulate_ring"]


#: each parameter's rule, shared by the constructor (concrete values) and ``conditions`` (traced)
_RING_RULES = {"J0": {}, "J2": {"nonnegative": True}, "I0": {"positive": True}, "I2": {"nonnegative": True},
               "theta0": {}, "tau": {"positive": True}}


class RingNetwork(eqx.Module):
    """Parameters of the ring model (module docstring).

    Attributes:
        J0: uniform coupling (inhibition for J0 > 0); J2: tuned coupling (>= 0).
        I0: uniform input (> 0); I2: tuned input (>= 0) centred at ``theta0`` (rad).
        tau: time constant (ms, > 0).
    """

    J0: jax.Array
    J2: jax.Array
    I0: jax.Array
    I2: jax.Array
    theta0: jax.Array
    tau: jax.Array

    def __init__(self, J0, J2, I0, I2=0.0, theta0=0.0, tau=10.0):
        values = dict(J0=J0, J2=J2, I0=I0, I2=I2, theta0=theta0, tau=tau)
        for name, rule in _RING_RULES.items():
            setattr(self, name, jnp.asarray(as_checked_array(name, values[name], shape=(), **rule), float))

    def conditions(self) -> jax.Array:
        """The constructor's rules as a traced bool (for values traced under ``jit``/``vmap``)."""
        conds = Conditions()
        for name, rule in _RING_RULES.items():
            conds.require(name, getattr(self, name), **rule)
        return conds.valid()


class RingBump(eqx.Module):
    """The marginal bump of a ring without tuned input (:func:`ring_bump`).

    Attributes:
        width: half-width theta_c (rad); peak: the peak rate ``h2 (1 - cos 2 theta_c)``.
        h0, h2: the input field's Fourier components; r0, r2: the rate's (mean, cos 2 moment).
        valid: a bump exists (J2 > 2, h2 > 0, I2 == 0, parameters valid); NaN fields otherwise.
    """

    width: jax.Array
    peak: jax.Array
    h0: jax.Array
    h2: jax.Array
    r0: jax.Array
    r2: jax.Array
    valid: jax.Array

    def rates(self, theta, psi=0.0) -> jax.Array:
        """The bump ``h2 [cos 2(theta - psi) - cos 2 theta_c]_+`` at angles ``theta`` (rad)."""
        return self.h2 * jnp.maximum(jnp.cos(2 * (theta - psi)) - jnp.cos(2 * self.width), 0.0)


def _f0(tc):
    return (jnp.sin(2 * tc) - 2 * tc * jnp.cos(2 * tc)) / jnp.pi


def _f2(tc):
    return (tc - jnp.sin(4 * tc) / 4) / jnp.pi


def ring_bump(ring: RingNetwork) -> RingBump:
    """The marginal bump (module docstring): theta_c from ``J2 f2(theta_c) = 1`` (bisection
    start, Newton with implicit gradients in J2), then ``h2 = I0 / (J0 f0 - cos 2 theta_c)``.
    Differentiable in every parameter; ``valid=False`` (NaN fields) where no bump exists
    (J2 <= 2, or J0 too negative for a positive h2) or the ring has tuned input (I2 > 0,
    which pins the bump: use :func:`ring_steady_state`)."""
    if not isinstance(ring, RingNetwork):
        raise TypeError(f"ring must be a RingNetwork, got {type(ring).__name__}")
    return _ring_bump(ring)


@jax.jit
def _ring_bump(ring):
    exists = ring.conditions() & (ring.J2 > 2.0) & (ring.I2 == 0)
    inv = jnp.where(exists, 1.0 / ring.J2, 0.25)

    def bisect(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        below = _f2(mid) < inv
        return jnp.where(below, mid, lo), jnp.where(below, hi, mid)

    lo, hi = jax.lax.fori_loop(0, 60, bisect, (jnp.zeros_like(inv), jnp.full_like(inv, jnp.pi / 2)))
    start = jax.lax.stop_gradient(0.5 * (lo + hi))
    sol = solve_root(lambda t, j: j * _f2(t) - 1.0, start[None], jnp.where(exists, ring.J2, 4.0))
    tc = sol.value[0]
    denom = ring.J0 * _f0(tc) - jnp.cos(2 * tc)
    valid = exists & sol.converged & (denom > 0)
    h2 = ring.I0 / jnp.where(valid, denom, 1.0)
    fields = (tc, h2 * (1 - jnp.cos(2 * tc)), -h2 * jnp.cos(2 * tc), h2, h2 * _f0(tc), h2 * _f2(tc))
    return RingBump(*(jnp.where(valid, x, jnp.nan) for x in fields), valid=valid)


def _angles(n):
    return -jnp.pi / 2 + jnp.pi * (jnp.arange(n) + 0.5) / n


def ring_weights(ring: RingNetwork, n: int) -> jax.Array:
    """``W_ij = (-J0 + J2 cos 2(theta_i - theta_j)) / n`` of the n-unit discretisation (the
    measure dtheta/pi of a ring of length pi is 1/n per unit), shape (n, n)."""
    n = as_int("n", n, minimum=4)
    theta = _angles(n)
    return (-ring.J0 + ring.J2 * jnp.cos(2 * (theta[:, None] - theta[None, :]))) / n


def _drive(ring, n):
    return ring.I0 + ring.I2 * jnp.cos(2 * (_angles(n) - ring.theta0))


def bump_position(m) -> jax.Array:
    """Position psi (rad, in [-pi/2, pi/2)) of the activity ``m`` (..., n) on the ring: the
    population vector ``psi = arg(sum_j m_j e^{2 i theta_j}) / 2``."""
    n = m.shape[-1]
    m = jnp.asarray(m)
    phase = jnp.exp(2j * _angles(n)).reshape((1,) * (m.ndim - 1) + (n,))
    z = jnp.sum(m * phase, axis=-1)
    return 0.5 * jnp.angle(z)


def ring_steady_state(ring: RingNetwork, n: int, *, psi=0.0):
    """A stationary state of the n-unit ring (:func:`mfjax.solvers.solve_fixed_point` on
    ``m = [W m + I]_+``), started from the closed-form bump at ``psi`` where it exists (else
    from the homogeneous state).  Returns the :class:`mfjax.solvers.FixedPointSolution`."""
    n = as_int("n", n, minimum=4)
    as_checked_array("psi", psi)
    return _steady(ring, ring_weights(ring, n), jnp.asarray(psi, float))


def _steady_map(m, params):
    W, drive = params
    return jnp.maximum(W @ m + drive, 0.0)


@jax.jit
def _steady(ring, W, psi):
    n = W.shape[0]
    marginal = eqx.tree_at(lambda r: r.I2, ring, jnp.zeros_like(ring.I2))
    bump = _ring_bump(marginal)
    homogeneous = jnp.full((n,), ring.I0 / (1.0 + ring.J0))
    start = jnp.where(bump.valid, bump.rates(_angles(n), psi), homogeneous)
    start = jnp.where(jnp.isfinite(start), start, 0.0)
    return solve_fixed_point(_steady_map, start, (W, _drive(ring, n)), nonnegative=True, max_steps=500)


def bump_diffusion(ring: RingNetwork, n: int, noise) -> jax.Array:
    """Diffusion coefficient ``D_psi`` (rad^2/ms) of the bump of the n-unit ring under white
    noise of amplitude ``noise`` (module docstring), from the left and right null vectors of
    the Jacobian at :func:`ring_steady_state`.  NaN where there is no marginal bump."""
    as_checked_array("noise", noise, nonnegative=True)
    n = as_int("n", n, minimum=4)
    W = ring_weights(ring, n)
    return _diffusion(ring, W, jnp.asarray(noise, float))


@jax.jit
def _diffusion(ring, W, noise):
    n = W.shape[0]
    sol = _steady(ring, W, jnp.zeros(()))
    m = sol.value
    active = (W @ m + _drive(ring, n)) > 0
    A = -jnp.eye(n) + active[:, None] * W
    # null vectors: the singular vectors of the smallest singular value
    U, s, Vh = jnp.linalg.svd(A)
    v, u = Vh[-1], U[:, -1]
    # scale v to dm/dpsi: the position readout moves by 1 rad along it
    grad_psi = jax.grad(bump_position)(m)
    v = v / jnp.dot(grad_psi, v)
    D = noise**2 * jnp.dot(u, u) / (2 * ring.tau * jnp.dot(u, v) ** 2)
    marginal = _ring_bump(ring).valid & sol.converged
    return jnp.where(marginal, D, jnp.nan)


def simulate_ring(key, ring: RingNetwork, n: int, duration, *, dt=0.1, noise=0.0, trials: int = 1,
                  m0=None, keep: int = 10):
    """Euler-Maruyama simulation of the n-unit ring with white noise (module docstring),
    vmapped over ``trials``.

    Args:
        key: JAX random key; ring: :class:`RingNetwork`; n: units.
        duration: ms; dt: step (ms, well below ``tau``); noise: sigma (rate units).
        m0: initial rates ``(n,)`` (default: :func:`ring_steady_state` at psi = 0).
        keep: record every ``keep``-th step.

    Returns:
        ``(times, rates)``: ``times`` (ms) of shape ``(steps // keep,)`` and ``rates`` of shape
        ``(trials, steps // keep, n)``; :func:`bump_position` gives the bump's path.
    """
    key = as_key("key", key)
    n = as_int("n", n, minimum=4)
    trials = as_int("trials", trials, minimum=1)
    keep = as_int("keep", keep, minimum=1)
    as_checked_array("duration", duration, positive=True)
    as_checked_array("dt", dt, positive=True)
    as_checked_array("noise", noise, nonnegative=True)
    if is_concrete(dt) and is_concrete(ring.tau) and float(dt) > 0.2 * float(ring.tau):
        raise ValueError(f"dt must be well below tau (<= 0.2 tau = {0.2 * float(ring.tau)} ms), got {dt}")
    steps = int(round(float(duration) / float(dt)))
    blocks = steps // keep
    if blocks < 1:
        raise ValueError(f"duration {duration} ms holds fewer than keep={keep} steps of dt={dt} ms")
    W = ring_weights(ring, n)
    start = _steady(ring, W, jnp.zeros(())).value if m0 is None else jnp.asarray(as_checked_array("m0", m0, shape=(n,)), float)
    rates = _simulate(key, W, _drive(ring, n), start, ring.tau, jnp.asarray(dt, float), jnp.asarray(noise, float),
                      trials=trials, blocks=blocks, keep=keep)
    times = dt * keep * (jnp.arange(blocks) + 1)
    return times, rates


@eqx.filter_jit
def _simulate(key, W, drive, start, tau, dt, noise, *, trials, blocks, keep):
    n = start.shape[0]
    gain = dt / tau
    kick = noise * jnp.sqrt(gain)

    def trial(k):
        def block(m, kb):
            def step(m, ks):
                m = m + gain * (-m + jnp.maximum(W @ m + drive, 0.0)) + kick * jax.random.normal(ks, (n,))
                return m, None

            m, _ = jax.lax.scan(step, m, jax.random.split(kb, keep))
            return m, m

        _, path = jax.lax.scan(block, start, jax.random.split(k, blocks))
        return path

    return jax.vmap(trial)(jax.random.split(key, trials))

