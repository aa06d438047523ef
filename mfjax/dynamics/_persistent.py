"""Branches of self-consistent rates of LIF networks and the onset of persistent activity.

The stationary rates of a :class:`mfjax.populations.Network` solve ``nu = phi(nu; p)`` with
``phi`` the population transfer (:func:`mfjax.populations.transfer`).  They are followed in a
scalar parameter ``p`` that scales one array field of the network (``J``, ``nu_ext``, ...;
optionally only the entries of a mask) by pseudo-arclength continuation
(:func:`mfjax.solvers.continuation`) of

    F(y, p) = log phi(e^y; p) - y,        y = log(nu / Hz),

whose zeros are the self-consistent rates (in log form, so that branches spanning quiescent
states of 1e-20 Hz and saturated ones of 1/tau_ref take steps of comparable length).  At a zero
``F_y = D^{-1} (dphi/dnu) D - I`` with ``D = diag(nu)``, similar to the Jacobian ``dphi/dnu - I``
of the rate dynamics ``tau d nu/dt = phi(nu) - nu``: stability and bifurcations are those of the
rate dynamics.

Persistent activity (Amit & Brunel 1997, Cereb. Cortex 7:237; Brunel 2000 Fig. 2 for the
E-I case): as the recurrent excitation grows, a high-rate state appears in a fold (saddle-node)
beside the spontaneous low-rate one; between that fold and the one where the low state
disappears the network is bistable (a memory).  :func:`persistent_activity` returns both folds,
located to machine precision, with implicit gradients in every network parameter.
"""

from __future__ import annotations

from functools import lru_cache, partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..populations import Network, solve_rates
from ..populations._rates import _transfer_params
from .._checks import is_concrete
from ..solvers import Bifurcation, Branch, branch_bifurcations, continuation

__all__ = ["RateBranch", "rate_branch", "PersistentActivity", "persistent_activity"]

_SCALABLE = ("K", "J", "J_sd", "K_ext", "J_ext", "nu_ext", "I_ext")


class RateBranch(eqx.Module):
    """A branch of self-consistent rates (:func:`rate_branch`).

    Attributes:
        branch: the :class:`mfjax.solvers.Branch` in ``(y = log nu, p)``.
        rates: ``exp(branch.x)`` (Hz), ``(steps + 1, P)``; NaN where ``branch.valid`` is False.
        scale: the parameter ``p`` of each point (``branch.p``).
        stable: the rate dynamics is stable at the point.
    """

    branch: Branch
    rates: jax.Array
    scale: jax.Array
    stable: jax.Array


def _check_field(network, field, mask):
    if not isinstance(network, Network):
        raise TypeError(f"network must be an mfjax Network, got {type(network).__name__}")
    if field not in _SCALABLE:
        raise ValueError(f"field must be one of {_SCALABLE}, got {field!r}")
    base = getattr(network, field)
    if mask is None:
        return jnp.ones(jnp.shape(base), bool)
    mask = np.asarray(mask)
    if mask.shape != jnp.shape(base) or mask.dtype != bool:
        raise ValueError(f"mask must be a boolean array of the shape of network.{field} {jnp.shape(base)}, got "
                         f"{mask.dtype} {mask.shape}")
    return jnp.asarray(mask)


def _scaled(network, field, mask, p):
    """``network`` with ``network.<field>`` multiplied by ``p`` where ``mask`` is set."""
    base = getattr(network, field)
    return eqx.tree_at(lambda n: getattr(n, field), network, jnp.where(mask, p * base, base))


@lru_cache(maxsize=None)
def _log_transfer(field):
    """``F(y, p, (network, mask))`` of the module docstring for the scaled ``field``."""

    def F(y, p, params):
        network, mask = params
        return jnp.log(_transfer_params(jnp.exp(y), _scaled(network, field, mask, p))) - y

    return F


def rate_branch(network: Network, field: str, p_bounds, *, mask=None, p0=None, init=None,
                steps: int = 400, ds: float = 0.02, ds_max: float = 0.1, direction: float = 1.0,
                **kwargs) -> RateBranch:
    """Follow the self-consistent rates of ``network`` with ``network.<field>`` (the entries in
    ``mask``) multiplied by ``p`` over ``p_bounds``.

    Starts from :func:`mfjax.populations.solve_rates` at ``p0`` (default ``p_bounds[0]``;
    ``init`` its starting rates) and continues in the direction ``direction``; ``kwargs`` go to
    :func:`mfjax.solvers.continuation` (``steps``, ``ds``, ``ds_max`` are in units of
    ``log nu`` and ``p``).  The starting state must have every rate > 0 (quiescent rates of
    1e-300 Hz are fine; exactly 0 is not: give the population some drive).
    """
    mask = _check_field(network, field, mask)
    p_lo, p_hi = (float(b) for b in p_bounds)
    p0 = p_lo if p0 is None else float(p0)
    start_net = _scaled(network, field, mask, p0)
    # the branch itself carries no gradients (its located points do: persistent_activity)
    start = solve_rates(jax.lax.stop_gradient(start_net), init)
    if is_concrete(start.rates) and not np.all(np.asarray(start.rates) > 0):
        raise ValueError(f"the starting rates {np.asarray(start.rates)} Hz must all be > 0 for a branch in log rates")
    options = dict(p_bounds=(p_lo, p_hi), steps=steps, ds=ds, ds_max=ds_max, direction=direction, **kwargs)
    br = _branch(field, tuple(sorted(options.items())), jnp.log(start.rates), jnp.asarray(p0),
                 *jax.lax.stop_gradient((network, mask)))
    rates = jnp.where(br.valid[:, None], jnp.exp(br.x), jnp.nan)
    return RateBranch(br, rates, br.p, br.stable & br.valid)


@partial(jax.jit, static_argnums=(0, 1))
def _branch(field, options, y0, p0, network, mask):
    return continuation(_log_transfer(field), y0, p0, (network, mask), **dict(options))


class PersistentActivity(eqx.Module):
    """Folds of a rate branch (:func:`persistent_activity`), ``max_bifurcations`` slots ordered by
    ``p``; invalid (undetected or unlocated) slots are NaN with ``valid=False``.

    Attributes:
        scale: the parameter ``p`` at each fold.
        rates: the rates at the fold (Hz), ``(slots, P)``.
        folds: the :class:`mfjax.solvers.Bifurcation` record (in ``y = log nu``).
        branch: the :class:`RateBranch` the folds were detected on.
        bistable: the scale interval ``(onset, offset)`` between the first two folds, where a
            high-rate state coexists with the low one (NaN if fewer than two folds).
    """

    scale: jax.Array
    rates: jax.Array
    folds: Bifurcation
    branch: RateBranch
    bistable: jax.Array


def persistent_activity(network: Network, field: str = "J", p_bounds=(0.0, 2.0), *, mask=None,
                        **kwargs) -> PersistentActivity:
    """The folds of the rate branch of ``network`` as ``network.<field>`` is scaled by ``p``:
    the onset of persistent activity (the fold where the high-rate state appears) and the
    fold where the low state disappears.

    The branch (:func:`rate_branch`, started at the low end of ``p_bounds``) is scanned for sign
    changes of the tangent's p-component and each fold is refined by Newton on the augmented
    system (:func:`mfjax.solvers.locate_fold`); ``scale`` is differentiable in every array of
    ``network`` (implicit function theorem), e.g. ``jax.grad`` of the onset with respect to
    ``nu_ext``.

    Example:
        >>> pa = persistent_activity(net, "J", (0.5, 3.0))
        >>> onset, offset = pa.bistable       # J scale range of bistability
    """
    rb = rate_branch(network, field, p_bounds, mask=mask, **kwargs)
    return _folds(field, rb, network, _check_field(network, field, mask))


@partial(jax.jit, static_argnums=0)
def _folds(field, rb, network, mask):
    folds, _ = branch_bifurcations(_log_transfer(field), rb.branch, (network, mask))
    order = jnp.argsort(jnp.where(folds.valid, folds.p, jnp.inf))
    folds = jax.tree_util.tree_map(lambda a: a[order], folds)
    two = jnp.sum(folds.valid) >= 2
    bistable = jnp.where(two, jnp.stack([folds.p[0], folds.p[1]]), jnp.nan)
    return PersistentActivity(folds.p, jnp.exp(folds.x), folds, rb, bistable)

