"""Simulation of the all-to-all QIF network of Montbrio, Pazo & Roxin (2015, Phys. Rev. X
5:021028, eqs. 1-3, section IV), the finite-size check of their exact mean field
(:func:`mfjax.mpr_fixed_points`, :func:`mfjax.populations.mpr_trajectory`).

Model, time in units of the membrane time constant (as in the paper)::

    dV_j/dt = V_j^2 + eta_j + J s(t) + I(t),     s(t) = (1/N) sum_k delta(t - t_k),

``eta_j = eta_bar + delta tan(pi/2 (2j - N - 1)/(N + 1))`` (j = 1..N: the Lorentzian's quantiles,
the paper's deterministic choice), a spike when ``V_j`` reaches ``v_peak``: the neuron is held
for ``2/v_peak`` (the time ``V`` takes to go from ``v_peak`` to infinity and back from
-infinity to ``-v_peak``), emits its spike halfway, at ``1/v_peak``, and restarts at
``-v_peak``: the paper's conventions, which make the finite peak a small correction.

Between steps the input ``c_j = eta_j + J s + I`` is held and ``V`` is advanced exactly:
``V(dt) = (V + c g)/(1 - V g)`` with ``g = tan(sqrt(c) dt)/sqrt(c)`` (``tanh`` of
``sqrt(-c) dt`` for ``c < 0``); a denominator <= 0 means ``V`` passed through infinity within
the step, i.e. reached the peak.  ``s`` is the spike count of the previous step divided by
``N dt``.  The population rate ``r`` is the spike count of a step over ``N dt``.  The mean-field
``v`` is the centre of the Lorentzian that the potentials follow (the mean of a Lorentzian does
not exist): it is measured as the median of all potentials, a held neuron counting as +infinity
before its spike and -infinity after it.  The whole run is one ``lax.scan`` (jit; vmap over
parameters with ``jax.vmap``).
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .._checks import Conditions, as_checked_array, as_int

__all__ = ["QIFNetworkResult", "simulate_qif_network", "lorentzian_quantiles"]


class QIFNetworkResult(NamedTuple):
    """Recorded population activity (time in units of tau_m).

    Attributes:
        r: population rate per step (1/tau), shape ``(steps,)``.
        v: the potentials' median (the Lorentzian's centre) every ``v_every`` steps, shape
            ``(steps // v_every,)``, at the ends of steps ``v_every, 2 v_every, ...``.
        final_v: membrane potentials at the end, shape ``(N,)``.
    """

    r: jax.Array
    v: jax.Array
    final_v: jax.Array


def lorentzian_quantiles(centre, half_width, n: int):
    """``centre + half_width tan(pi/2 (2j - n - 1)/(n + 1))``, j = 1..n (MPR 2015, section IV)."""
    j = jnp.arange(1, n + 1, dtype=jnp.result_type(float, centre))
    return centre + half_width * jnp.tan(0.5 * math.pi * (2 * j - n - 1) / (n + 1))


def _tan_ratio(y):
    """``tan(sqrt(y))/sqrt(y)`` for y > 0, ``tanh(sqrt(-y))/sqrt(-y)`` for y < 0, analytic at 0."""
    small = jnp.abs(y) < 1e-6
    safe = jnp.where(small, 1.0, y)
    root = jnp.sqrt(jnp.abs(safe))
    closed = jnp.where(safe > 0, jnp.tan(root), jnp.tanh(root)) / root
    return jnp.where(small, 1.0 + y / 3.0 + 2.0 * y * y / 15.0, closed)


@partial(jax.jit, static_argnames=("n", "hold", "v_every"))
def _run(eta_bar, J, delta, I, dt, v_peak, r0, v0, key, n, hold, v_every):  # noqa: E741
    dtype = I.dtype
    eta = lorentzian_quantiles(eta_bar, delta, n).astype(dtype)
    # initial potentials: the Lorentzian of centre v0 and half width pi r0 (the conformal state
    # of the mean field), in an order independent of the excitabilities
    u = (jnp.arange(n, dtype=dtype) + 0.5) / n
    start = v0 + math.pi * r0 * jnp.tan(math.pi * (u - 0.5))
    start = jnp.clip(jax.random.permutation(key, start), -v_peak, v_peak)
    emit_at = hold // 2

    def step(carry, i_k):
        v, held, drive = carry
        c = eta + J * drive + i_k
        g = dt * _tan_ratio(c * dt * dt)
        den = 1.0 - v * g
        moved = (v + c * g) / jnp.where(den > 0, den, 1.0)
        free = held == 0
        peak = free & ((den <= 0) | (moved >= v_peak))
        v_new = jnp.where(free, jnp.where(peak, v_peak, moved), v)
        held_new = jnp.where(peak, hold, jnp.maximum(held - 1, 0))
        spikes = jnp.sum(held_new == emit_at, dtype=dtype)
        restart = (held > 0) & (held_new == 0)
        v_new = jnp.where(restart, -v_peak, v_new)
        rate = spikes / (n * dt)
        return (v_new, held_new, rate), rate

    def block(carry, inputs):
        carry, rates = jax.lax.scan(step, carry, inputs)
        v, held, _ = carry
        at_infinity = jnp.where(held > emit_at, jnp.inf, -jnp.inf)
        return carry, (rates, jnp.median(jnp.where(held > 0, at_infinity, v)))

    steps = I.shape[0]
    blocks = steps // v_every
    init = (start, jnp.zeros(n, jnp.int32), jnp.asarray(r0, dtype))
    carry, (r, centre) = jax.lax.scan(block, init, I[: blocks * v_every].reshape((blocks, v_every)))
    carry, r_tail = jax.lax.scan(step, carry, I[blocks * v_every :])
    return QIFNetworkResult(jnp.concatenate([r.reshape(-1), r_tail]), centre, carry[0])


def simulate_qif_network(eta_bar, J, delta, I, dt, *, N=10000, v_peak=100.0, r0=0.0, v0=0.0, key=None,  # noqa: E741
                         v_every=10):
    """Simulate ``N`` all-to-all QIF neurons of the Montbrio-Pazo-Roxin network (module docstring).

    Args:
        eta_bar: centre of the Lorentzian excitabilities; delta: its half width, > 0.
        J: coupling (each spike adds ``J/N`` to every potential).
        I: input per step, shape ``(steps,)`` (as :func:`mfjax.populations.mpr_trajectory`).
        dt: step (units of tau_m), > 0; ``2/(v_peak dt)`` must be an even whole number.
        N: number of neurons; v_peak: peak and (negated) reset potential, > 0.
        r0, v0: the initial state (the Lorentzian of centre ``v0`` and half width ``pi r0``);
            in the bistable region they select the branch.
        key: ``jax.random.key`` for the order of the initial potentials (default key 0).
        v_every: steps between measurements of ``v`` (a median over the N neurons).

    Returns:
        :class:`QIFNetworkResult`.  Traced ``eta_bar``, ``J``, ``delta``, ``I``, ``r0``, ``v0``
        work under ``jax.vmap``/``jit`` (an invalid traced ``delta`` or ``dt`` is a runtime error).

    Example:
        >>> res = simulate_qif_network(-5.0, 15.0, 1.0, jnp.zeros(40000), 1e-3, r0=1.0, v0=-0.15)
        >>> float(res.r[-20000:].mean())   # the upper stable fixed point: 1.02 (mean field 1.031)
    """
    n = as_int("N", N, minimum=2)
    v_every = as_int("v_every", v_every, minimum=1)
    for name, value in (("dt", dt), ("v_peak", v_peak)):
        as_checked_array(name, value, positive=True)
    ratio = 2.0 / (float(v_peak) * float(dt))
    hold = int(round(ratio))
    if abs(ratio - hold) > 1e-6 * ratio or hold % 2 or hold < 2:
        raise ValueError(f"2/(v_peak dt) must be an even whole number >= 2 (the refractory steps), got {ratio!r}")
    conds = Conditions()
    conds.require("delta", delta, positive=True)
    for name, value in (("eta_bar", eta_bar), ("J", J), ("I", I), ("v0", v0)):
        conds.require(name, value)
    conds.require("r0", r0, nonnegative=True)
    I = jnp.asarray(I, jnp.result_type(float, I))  # noqa: E741
    if I.ndim != 1:
        raise ValueError(f"I must have shape (steps,), got {I.shape}")
    if key is None:
        key = jax.random.key(0)
    out = _run(eta_bar, J, delta, I, jnp.asarray(dt, I.dtype), jnp.asarray(v_peak, I.dtype), r0, v0, key, n, hold, v_every)
    return conds.enforce(out)
