"""Integrate-and-fire neuron models beyond the LIF: parameters and their drift.

Every model is ``tau_m dV/dt = f(V) + mu + sigma sqrt(tau_m) xi(t)`` with a spike when V reaches
``v_th`` (the cutoff), then ``V <- v_reset`` held for ``tau_ref`` (the conventions of
:class:`mfjax.LIF`; voltages in mV relative to rest, times in ms).  A model is its drift ``f``:

* LIF: ``f(V) = -V``;
* EIF (Fourcaud-Trocme, Hansel, van Vreeswijk & Brunel 2003, J. Neurosci. 23:11628, eq. 2):
  ``f(V) = -V + delta_t exp((V - v_t)/delta_t)``, ``v_t`` the soft threshold, ``delta_t`` the
  spike slope factor;
* QIF (normal form of a saddle-node on an invariant circle, with the slope -1 of the LIF at rest;
  Latham, Richmond, Nelson & Nirenberg 2000, J. Neurophysiol. 83:808, eq. 2):
  ``f(V) = V (V - v_t)/v_t``, rest at 0 and the unstable fixed point at ``v_t > 0``.

The Fokker-Planck engine (:mod:`mfjax.neurons._threshold`) needs two things of a model, its drift
and the exact integral of the drift over an interval (``drift_integral``, written without
cancellation, so that a step's exponent ``2/sigma^2 int (f + mu) dV`` keeps its digits when the
potential itself is large), plus ``v_lb``: a reflecting lower bound in mV, or ``None`` for the
natural boundary at -infinity (the engine then stops where the density is below ``e^-64`` of its
peak, ``min(v_reset, mu) - 8 sigma``).  :func:`drift` and :func:`drift_integral` dispatch on the
model; the LIF's are here too, so that :class:`mfjax.LIF` stays a plain parameter record.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from .._checks import Conditions
from ._lif import LIF

__all__ = ["EIF", "QIF", "drift", "drift_integral", "grid_stretch", "lower_bound", "check_model"]


def _common_conditions(neuron, conds: Conditions, prefix: str) -> Conditions:
    conds.require(f"{prefix}.tau_m", neuron.tau_m, positive=True)
    conds.require(f"{prefix}.tau_ref", neuron.tau_ref, nonnegative=True)
    conds.require(f"{prefix}.v_th", neuron.v_th)
    conds.require(f"{prefix}.v_reset", neuron.v_reset)
    conds.require(f"{prefix}.c_m", neuron.c_m, positive=True)
    conds.less(f"{prefix}.v_reset", neuron.v_reset, f"{prefix}.v_th", neuron.v_th)
    if neuron.v_lb is not None:
        conds.require(f"{prefix}.v_lb", neuron.v_lb)
        conds.less(f"{prefix}.v_lb", neuron.v_lb, f"{prefix}.v_reset", neuron.v_reset)
    return conds


class _Validated(eqx.Module):
    """A model whose concrete fields are checked when it is built (its ``conditions``); the
    conditions on traced fields are enforced where it is used."""

    def __check_init__(self):
        self.conditions(Conditions())


class EIF(_Validated):
    """Exponential integrate-and-fire neuron (immutable pytree; fields scalars or arrays).

    ``tau_m dV/dt = -V + delta_t exp((V - v_t)/delta_t) + mu + noise`` (Fourcaud-Trocme et al.
    2003, eq. 2), spike at the cutoff ``v_th``, reset to ``v_reset`` for ``tau_ref``.

    Attributes:
        tau_m: membrane time constant (ms), > 0.
        tau_ref: refractory period (ms), >= 0.
        v_th: spike cutoff (mV, relative to rest); the response at high frequency approaches its
            1/f law for ``v_th - v_t`` several ``delta_t``.
        v_reset: reset (mV), < v_th.
        delta_t: spike slope factor (mV), > 0.
        v_t: soft threshold (mV), finite.
        v_lb: reflecting lower bound (mV), < v_reset; ``None``: natural boundary at -infinity.
        c_m: membrane capacitance (pF), > 0; only used to convert a network's DC current (pA)
            to mV, as for :class:`mfjax.LIF`.

    Example:
        >>> EIF(tau_m=20.0, tau_ref=2.0, v_th=30.0, v_reset=5.0, delta_t=2.0, v_t=15.0)
    """

    tau_m: jax.Array | float
    tau_ref: jax.Array | float
    v_th: jax.Array | float
    v_reset: jax.Array | float
    delta_t: jax.Array | float
    v_t: jax.Array | float
    v_lb: jax.Array | float | None = None
    c_m: jax.Array | float = 250.0

    def conditions(self, conds: Conditions, prefix: str = "EIF") -> Conditions:
        """tau_m > 0, tau_ref >= 0, delta_t > 0, c_m > 0, v_th, v_reset, v_t finite,
        v_reset < v_th, v_lb < v_reset (concrete fields checked at once, traced ones recorded)."""
        _common_conditions(self, conds, prefix)
        conds.require(f"{prefix}.delta_t", self.delta_t, positive=True)
        conds.require(f"{prefix}.v_t", self.v_t)
        return conds


class QIF(_Validated):
    """Quadratic integrate-and-fire neuron (immutable pytree; fields scalars or arrays).

    ``tau_m dV/dt = V (V - v_t)/v_t + mu + noise`` (Latham et al. 2000, eq. 2: rest 0, unstable
    point ``v_t``, slope -1 at rest as the LIF), spike at the peak ``v_th``, reset to
    ``v_reset``.  The canonical theta-neuron / MPR limit is ``v_th -> inf``, ``v_reset -> -inf``.

    Attributes:
        tau_m: membrane time constant (ms), > 0.
        tau_ref: refractory period (ms), >= 0.
        v_th: spike peak (mV), > v_reset.
        v_reset: reset (mV).
        v_t: unstable fixed point at zero input (mV), > 0.
        v_lb: reflecting lower bound (mV), < v_reset; ``None``: natural boundary.
        c_m: membrane capacitance (pF), > 0 (DC currents of a network, as for the LIF).

    Example:
        >>> QIF(tau_m=20.0, tau_ref=0.0, v_th=100.0, v_reset=-20.0, v_t=10.0)
    """

    tau_m: jax.Array | float
    tau_ref: jax.Array | float
    v_th: jax.Array | float
    v_reset: jax.Array | float
    v_t: jax.Array | float
    v_lb: jax.Array | float | None = None
    c_m: jax.Array | float = 250.0

    def conditions(self, conds: Conditions, prefix: str = "QIF") -> Conditions:
        """tau_m > 0, tau_ref >= 0, v_t > 0, c_m > 0, v_reset < v_th (the peak), v_lb < v_reset."""
        _common_conditions(self, conds, prefix)
        conds.require(f"{prefix}.v_t", self.v_t, positive=True)
        return conds


MODELS = (LIF, EIF, QIF)


def check_model(neuron, conds: Conditions, name: str = "neuron") -> Conditions:
    """Record the traced conditions of ``neuron`` (concrete fields were checked when it was
    built); a ``TypeError`` for anything but a LIF, EIF or QIF."""
    if not isinstance(neuron, MODELS):
        raise TypeError(f"{name} must be an mfjax LIF, EIF or QIF, got {type(neuron).__name__}")
    type(neuron).conditions(neuron, conds.traced_only(), prefix=name)
    if isinstance(neuron, LIF):
        # the engine models white noise; the colored-noise corrections live in lif_rate/lif_transfer
        conds.require(f"{name}.tau_s", neuron.tau_s, at_most=0.0)
    return conds


def drift(neuron, v):
    """The drift ``f(V)`` (mV) of ``tau_m dV/dt = f(V) + mu``."""
    if isinstance(neuron, EIF):
        return -v + neuron.delta_t * jnp.exp((v - neuron.v_t) / neuron.delta_t)
    if isinstance(neuron, QIF):
        return v * (v - neuron.v_t) / neuron.v_t
    return -v


def drift_integral(neuron, v_lo, v_hi):
    """``int_{v_lo}^{v_hi} f(V) dV`` (mV^2), exact and without cancellation between the ends:
    with ``m`` the midpoint and ``h = v_hi - v_lo``,

    * LIF: ``-h m``;
    * EIF: ``-h m + 2 delta_t^2 e^{(m - v_t)/delta_t} sinh(h / (2 delta_t))``;
    * QIF: ``h [(v_lo^2 + v_lo v_hi + v_hi^2)/(3 v_t) - m]``.
    """
    h = v_hi - v_lo
    m = 0.5 * (v_lo + v_hi)
    if isinstance(neuron, EIF):
        d = neuron.delta_t
        return -h * m + 2.0 * d * d * jnp.exp((m - neuron.v_t) / d) * jnp.sinh(0.5 * h / d)
    if isinstance(neuron, QIF):
        return h * ((v_lo * v_lo + v_lo * v_hi + v_hi * v_hi) / (3.0 * neuron.v_t) - m)
    return -h * m


def grid_stretch(neuron):
    """``(center, width)`` of the engine's ``asinh`` grid for a model whose drift grows without
    bound towards a far cutoff (the QIF: density ~ 1/V^2 there, centred between its fixed points
    ``0`` and ``v_t``), ``None`` for a uniform grid (LIF, EIF: the EIF's exponential needs steps
    below ``delta_t`` all the way to the cutoff)."""
    if isinstance(neuron, QIF):
        # width 2 v_t: measured best of 0.5, 1, 2, 4 v_t (Romberg error 5e-9 at 256 steps)
        return 0.5 * neuron.v_t, 2.0 * neuron.v_t
    return None


def lower_bound(neuron, mu, sigma):
    """Where the engine's grid ends (mV): ``v_lb`` if the model has one, else
    ``min(v_reset, mu) - 8 sigma`` (the Gaussian tail there is ``e^-64`` of the bulk)."""
    v_lb = getattr(neuron, "v_lb", None)
    if v_lb is not None:
        return jnp.asarray(v_lb)
    return jnp.minimum(neuron.v_reset, mu) - 8.0 * sigma
