"""Gradient fitting of network parameters to target stationary rates (optax + implicit gradients).

Loss: mean over populations of ``(log nu_a(params) - log nu_a^target)^2`` (relative error),
with ``nu(params)`` the self-consistent rates of :func:`mfjax.solve_rates`, differentiated by the
implicit function theorem.  Each step warm-starts the solver from the previous rates.
"""

from __future__ import annotations

from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._checks import as_checked_array
from ..populations import Network, solve_rates

__all__ = ["FitResult", "fit_rates", "scale_pathways", "rate_loss"]


def scale_pathways(network: Network, log_scale) -> Network:
    """``network`` with every PSP amplitude multiplied by ``exp(log_scale)`` (P, P), sign kept."""
    return network.replace(J=network.J * jnp.exp(log_scale))


def rate_loss(rates, target):
    """Mean squared log-ratio of rates to target rates (both Hz, shape (P,))."""
    return jnp.mean((jnp.log(jnp.maximum(rates, 1e-12)) - jnp.log(target)) ** 2)


class FitResult(eqx.Module):
    """Outcome of :func:`fit_rates`.

    Attributes:
        params: fitted parameters (same pytree as the initial ones).
        network: the network built from them.
        rates: its stationary rates (Hz).
        max_rel_error: max_a |rates_a / target_a - 1|.
        loss_history: loss per accepted step (numpy array).
        num_steps: optimiser steps taken; success: max_rel_error <= tol.
    """

    params: object
    network: Network
    rates: jax.Array
    max_rel_error: float
    loss_history: np.ndarray
    num_steps: int
    success: bool


def fit_rates(
    make_network: Callable[[object], Network],
    params,
    target,
    *,
    optimizer: optax.GradientTransformation | None = None,
    max_steps: int = 1000,
    tol: float = 0.005,
    callback: Callable | None = None,
) -> FitResult:
    """Fit ``params`` so that the rates of ``make_network(params)`` hit ``target`` (Hz).

    Args:
        make_network: pure function params -> :class:`Network` (e.g. via :func:`scale_pathways`).
        params: initial parameter pytree.
        target: target rates (Hz), shape (P,), > 0.
        optimizer: optax transformation (default ``optax.adam(0.02)``).
        max_steps: iteration cap.
        tol: stop when every population is within ``tol`` relative error.
        callback: called as ``callback(step, max_steps, loss, max_rel_error)`` after every
            accepted step (progress bars, logs).

    A step whose self-consistent rates did not converge is rejected and the step size halved.

    Example:
        >>> base = microcircuit()
        >>> fit = fit_rates(lambda s: scale_pathways(base, s), jnp.zeros((8, 8)), target)
    """
    as_checked_array("target", target, positive=True)
    target = jnp.asarray(target, float)
    p = make_network(params).num_populations
    if target.shape != (p,):
        raise ValueError(f"target must have shape ({p},) (one rate per population), got {target.shape}")
    optimizer = optax.adam(0.02) if optimizer is None else optimizer
    state = optimizer.init(params)

    @jax.jit
    def value_and_grad(p, init):
        def loss(q):
            sol = solve_rates(make_network(q), init, on_failure="return")
            return rate_loss(sol.rates, target), sol

        (val, sol), grads = jax.value_and_grad(loss, has_aux=True)(p)
        return val, sol.rates, sol.converged, grads

    @jax.jit
    def apply(p, s, grads, scale):
        updates, s = optimizer.update(grads, s, p)
        updates = jax.tree_util.tree_map(lambda u: scale * u, updates)
        return optax.apply_updates(p, updates), s

    rates = solve_rates(make_network(params)).rates
    history, scale, steps = [], 1.0, 0
    for steps in range(1, max_steps + 1):
        val, new_rates, ok, grads = value_and_grad(params, rates)
        if not bool(ok):
            scale *= 0.5
            continue
        rates = new_rates
        history.append(float(val))
        worst = float(jnp.max(jnp.abs(rates / target - 1)))
        if callback is not None:
            callback(steps, max_steps, float(val), worst)
        if worst <= tol:
            break
        params, state = apply(params, state, grads, scale)
    network = make_network(params)
    rates = solve_rates(network, rates).rates
    err = float(jnp.max(jnp.abs(rates / target - 1)))
    return FitResult(params, network, rates, err, np.array(history), steps, err <= tol)
