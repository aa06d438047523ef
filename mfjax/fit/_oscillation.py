"""Gradient fitting of a network's dominant oscillation: move a characteristic root.

Loss: ``((f(params) - f*) / f*)^2`` for a target oscillation frequency ``f*`` (Hz), plus
``((r(params) - r*) / s)^2`` for an optional target growth rate ``r*`` (1/s; negative: a damped
mode, i.e. the oscillation suppressed), ``s = 2 pi f*``.  ``f`` and ``r`` are ``Im lambda / 2 pi``
and ``Re lambda`` of the root ``lambda`` of ``det(I - W(lambda)) = 0``
(:func:`mfjax.populations.characteristic_roots`) followed from step to step (each step starts
the secant method at the previous root), differentiated by the implicit function theorem
through the root and the working point.
"""

from __future__ import annotations

import math
from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._checks import as_checked_array, as_int
from ..neurons import LowPassFit
from ..populations import Network, characteristic_roots

__all__ = ["OscillationFit", "fit_oscillation"]


class OscillationFit(eqx.Module):
    """Outcome of :func:`fit_oscillation`.

    Attributes:
        params: fitted parameters (same pytree as the initial ones); network: built from them.
        root: the followed characteristic root (1/s); frequency (Hz), growth_rate (1/s) of it.
        loss_history: loss per accepted step; num_steps: optimiser steps taken.
        success: the frequency is within ``tol`` (relative) of the target (and the growth rate
            within ``tol * 2 pi f*`` of its target, if one was given).
    """

    params: object
    network: Network
    root: complex
    frequency: float
    growth_rate: float
    loss_history: np.ndarray
    num_steps: int
    success: bool


def fit_oscillation(
    make_network: Callable[[object], Network],
    params,
    target_frequency: float,
    guess,
    *,
    target_growth: float | None = None,
    transfer: LowPassFit | None = None,
    optimizer: optax.GradientTransformation | None = None,
    max_steps: int = 300,
    tol: float = 1e-3,
) -> OscillationFit:
    """Fit ``params`` so that the root of ``make_network(params)`` followed from ``guess``
    (1/s, e.g. ``stability(net).dominant``) oscillates at ``target_frequency`` (Hz) and, if
    given, grows at ``target_growth`` (1/s; < 0 suppresses the oscillation).

    A step whose root does not converge is rejected and the step size halved.  ``transfer``:
    as :func:`mfjax.populations.effective_connectivity` (a low-pass rate model).

    Example:
        >>> net = brunel_a(6.0, 4.0)
        >>> fit = fit_oscillation(lambda d: brunel_a(6.0, 4.0, delay=d), 1.5, 150.0, stability(net).dominant)
    """
    as_checked_array("target_frequency", target_frequency, positive=True)
    if target_growth is not None:
        as_checked_array("target_growth", target_growth)
    max_steps = as_int("max_steps", max_steps, minimum=1)
    as_checked_array("tol", tol, positive=True)
    scale = 2 * math.pi * float(target_frequency)
    optimizer = optax.adam(0.01) if optimizer is None else optimizer
    state = optimizer.init(params)

    def loss(q, start):
        roots = characteristic_roots(make_network(q), start[None], transfer=transfer)
        lam = roots.lam[0]
        value = ((jnp.abs(lam.imag) / (2 * math.pi) - target_frequency) / target_frequency) ** 2
        if target_growth is not None:
            value = value + ((lam.real - target_growth) / scale) ** 2
        return value, (lam, roots.converged[0])

    value_and_grad = jax.jit(jax.value_and_grad(loss, has_aux=True))

    @jax.jit
    def apply(p, s, grads, step_scale):
        updates, s = optimizer.update(grads, s, p)
        updates = jax.tree_util.tree_map(lambda u: step_scale * u, updates)
        return optax.apply_updates(p, updates), s

    def done(lam):
        ok = abs(abs(lam.imag) / (2 * math.pi) / target_frequency - 1) <= tol
        if target_growth is not None:
            ok = ok and abs(lam.real - target_growth) <= tol * scale
        return ok

    root = jnp.asarray(complex(guess))
    history, step_scale, steps = [], 1.0, 0
    for steps in range(1, max_steps + 1):
        (val, (lam, ok)), grads = value_and_grad(params, root)
        if not bool(ok):
            step_scale *= 0.5
            continue
        root = lam
        history.append(float(val))
        if done(complex(lam)):
            break
        params, state = apply(params, state, grads, step_scale)
    network = make_network(params)
    final = characteristic_roots(network, root[None], transfer=transfer)
    lam = complex(final.lam[0]) if bool(final.converged[0]) else complex(root)
    return OscillationFit(
        params=params, network=network, root=lam, frequency=abs(lam.imag) / (2 * math.pi), growth_rate=lam.real,
        loss_history=np.array(history), num_steps=steps, success=bool(final.converged[0]) and done(lam),
    )
