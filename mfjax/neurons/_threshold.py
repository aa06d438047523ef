"""Fokker-Planck engine for any integrate-and-fire neuron: threshold integration.

Model (``mfjax.neurons._models``): ``tau_m dV/dt = f(V) + mu + sigma sqrt(tau_m) xi``, spike at
``v_th``, reset to ``v_reset`` after ``tau_ref``.  The density ``P`` and the flux ``J`` obey
(Richardson 2007, Phys. Rev. E 76:021919, eqs. 4-9; Richardson 2008, Biol. Cybern. 99:381)::

    dP/dV = g(V) P - c J + r,      dJ/dV = -a P + (reinjection at v_reset),
    g = 2 (f(V) + mu)/sigma^2,     c = 2 tau_m / sigma^2,

with ``P(v_th) = 0`` and ``J(v_lb) = 0``.  ``a = 2 pi i f`` (1/ms) for a modulation at ``f``
(``a = 0`` is the stationary state), ``r`` the forcing of the modulated input:
``r = 2 P0 / sigma^2`` for the mean, ``r = -P0'/sigma^2`` for the variance ``sigma^2``.

**Threshold integration.**  The equations are integrated once, downwards from ``v_th`` where
the boundary values are known (Richardson 2007 sec. III), for four solutions at the same time,
each a linear function of the unknowns: A (unit flux at threshold), B (unit reinjection at the
reset), M and S (the mean and the variance forcing, zero flux at threshold), beside the
stationary unit-flux solution P0 that forces M and S.  The condition ``J(v_lb) = 0`` then fixes
the rate modulation.  Because ``J(v_lb) = J(v_th) + a int P - reinjection`` holds exactly, the
condition is used in a form without the division by ``a``::

    nu_1 / mu_1 = -nu_0 m_M / (tau_ref phi(a tau_ref) + m_A + e^{-a tau_ref} m_B),
    phi(z) = (1 - e^{-z})/z,  m_X = int P_X dV,

which is regular at ``f = 0`` (where it is ``d nu_0/d mu``, the normalisation condition).  The
rate is ``nu_0 = 1/(tau_ref + m_0)`` and the Laplace transform of the first-passage time
density is ``(1 - a m_B)/(1 + a m_A)``, whose derivatives at ``a = 0`` give the ISI moments.

**Step.**  On each step (from ``V`` down to ``V - h``) the exponent ``Gamma = 2/sigma^2
int (f + mu) dV`` is taken exactly from the model (``drift_integral``) and the drift rate is
frozen at ``g = Gamma/h``.

* The stationary solution alone (rates, densities): the exponential fitting of
  Scharfetter-Gummel / Richardson 2007 (eq. 16) with a first-order correction for the curvature
  ``g'`` of the exponent::

      P(V - h) = e^{-Gamma} P(V) + c J [h E(Gamma) + g' h^3 K(Gamma)/2],
      int_step P = P(V) [h E(Gamma) - g' h^3 K(Gamma)/2] + c J h^2 D(Gamma),
      E = (1 - e^{-x})/x,  D = (1 - E)/x,  K(x) = int_0^1 e^{-x t} t (1 - t) dt,

  which keeps a stiff step (``h g >> 1``, near an EIF/QIF cutoff, ``P -> c J/g``) second order.
* The modulated solutions: ``(P, int P)`` propagated exactly for the frozen rate, with the flux
  ``J = J(V) + a int P`` and the forcing by the frozen stationary profile as sources
  (:mod:`mfjax.neurons._propagator`): an oscillation of the modulated density within a step
  and a stiff step are both exact for frozen coefficients.

The remaining error is a power series in the step (measured: ``h^2`` for the modulated
solutions, ``h^3`` for the stationary one, ``h^4`` for the LIF's linear drift), removed by
Richardson extrapolation over four grids (``steps``, 2, 4 and 8 ``steps`` per segment; the
stationary quantities use the three finer ones and their ``h^3``, ``h^4`` terms).  Measured
accuracy at the default 128 steps: README "Accuracy" and tests/neurons/test_threshold.py.

The grid has ``n`` steps from ``v_th`` to ``v_reset`` and ``n`` from ``v_reset`` to ``v_lb``
(:func:`~mfjax.neurons._models.lower_bound`), so that the reset is a node and the step adapts
to each point of a batch.  The state is divided by ``P0 + u`` at every step (``u``, the scale
of the unit flux, travels with it), so that a deep sub-threshold rate underflows to 0 instead
of overflowing ``e^{U}``.

Units: mV, ms; rates Hz, responses Hz/mV (mean) and Hz/mV^2 (variance), densities 1/mV.
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .._checks import Conditions
from ._lif import LIF, lif_rate
from ._models import check_model, drift, drift_integral, grid_stretch, lower_bound
from ._propagator import _phi, step_weights
from ._transfer import check_complex_frequency, lif_transfer, lif_variance_transfer

__all__ = ["firing_rate", "rate_response", "isi_cv", "stationary_density", "METHODS"]

METHODS = ("auto", "threshold_integration")
_DEFAULT_STEPS = 128
_LEVELS = 4  # Romberg levels: steps, 2, 4 and 8 steps
_ERROR_POWERS = (2, 3, 4)
_STATIONARY_POWERS = (3, 4)


def _expm1_ratio(x):
    """``(e^{-x}, E(x), D(x))`` with ``E(x) = (1 - e^{-x})/x``, ``D(x) = (1 - E(x))/x`` (one
    ``expm1``; series near 0)."""
    small = jnp.abs(x) < 1e-3
    xs = jnp.where(small, 1.0, x)
    em1 = jnp.expm1(-x)
    e = -em1 / xs
    d = (1.0 - e) / xs
    e = jnp.where(small, 1.0 - x / 2.0 + x * x / 6.0 - x**3 / 24.0, e)
    d = jnp.where(small, 0.5 - x / 6.0 + x * x / 24.0 - x**3 / 120.0, d)
    return 1.0 + em1, e, d


class _Grid(NamedTuple):
    """``steps`` nodes from ``top`` down to ``bottom``: uniform in ``V``, or for a model with a
    far cutoff (``grid_stretch`` gives ``(center, width)``) uniform in
    ``xi = asinh((V - center)/width)``, fine near the bulk and geometric towards the cutoff.  A
    smooth map keeps the error a series in the step of ``xi``, which the Romberg combination
    needs."""

    top: jax.Array
    bottom: jax.Array
    steps: int
    stretch: tuple | None

    def _xi(self, v):
        if self.stretch is None:
            return v
        center, width = self.stretch
        return jnp.arcsinh((v - center) / width)

    def node(self, k):
        """The voltage of node ``k`` (0 at ``top``, ``steps`` at ``bottom``)."""
        xi_top, xi_bottom = self._xi(self.top), self._xi(self.bottom)
        xi = xi_top - k * ((xi_top - xi_bottom) / self.steps)
        if self.stretch is None:
            return xi
        center, width = self.stretch
        return center + width * jnp.sinh(xi)

    def locate(self, v):
        """Index (float, clipped to [0, steps - 1]) of the node at or above ``v``."""
        xi_top, xi_bottom = self._xi(self.top), self._xi(self.bottom)
        k = jnp.floor((xi_top - self._xi(v)) / ((xi_top - xi_bottom) / self.steps))
        return jnp.clip(k, 0, self.steps - 1)


def _series_or_closed(x, closed, coefficient, terms: int = 12, small: float = 0.1):
    """``closed(x)`` away from 0, ``sum_n coefficient(n) (-x)^n/n!`` for ``|x| < small``."""
    near = jnp.abs(x) < small
    value = closed(jnp.where(near, 1.0, x))
    series = jnp.zeros_like(x)
    for n in range(terms - 1, -1, -1):
        series = series * (-x) / (n + 1) + coefficient(n)
    return jnp.where(near, series, value)


def _curvature_weight(x):
    """``K(x) = int_0^1 e^{-x t} t (1 - t) dt = (x - 2 + (x + 2) e^{-x})/x^3``."""
    return _series_or_closed(x, lambda y: (y - 2.0 + (y + 2.0) * jnp.exp(-y)) / y**3,
                             lambda n: 1.0 / ((n + 2) * (n + 3)))


class _Stationary(NamedTuple):
    """The stationary unit-flux solution in its running scale: true values are these over ``u``."""

    p0: jax.Array
    j0: jax.Array
    u: jax.Array
    m0: jax.Array


class _Modulated(NamedTuple):
    """The four modulated solutions ``(P, J, int P)`` of A, B, M, S in their own running scale
    (true values are these times ``exp(log_w)``; a modulated density can grow like
    ``e^{sqrt(2 tau_m 2 pi f) L / sigma}`` over the grid, far past the stationary one), and
    ``log_rho``, the logarithm of the factor that takes the stationary scaled values into it."""

    p: jax.Array  # (4, *batch)
    j: jax.Array
    m: jax.Array
    log_w: jax.Array
    log_rho: jax.Array


def _sweep(neuron, mu, sigma, a, steps: int, density: bool = False, modulated: bool = True):
    """Integrate the stationary and the four modulated solutions from ``v_th`` to ``v_lb``.

    All arguments broadcast together (``a`` in 1/ms, real or complex).  Returns
    ``(_Stationary, _Modulated | None)`` at ``v_lb``, and with ``density=True`` also the
    stationary profile on the nodes ``(P0 (scaled), log u)`` of shape ``(2 steps + 1, *batch)``
    with the two :class:`_Grid`.  ``modulated=False`` integrates the stationary solution alone.
    """
    v_lb = lower_bound(neuron, mu, sigma)
    fields = (mu, sigma, a, neuron.tau_m, neuron.v_th, neuron.v_reset, v_lb)
    shape = jnp.broadcast_shapes(*(jnp.shape(x) for x in fields))
    real = jnp.result_type(float, mu, sigma, neuron.tau_m, neuron.v_th, neuron.v_reset, v_lb)
    cplx = jnp.result_type(real, a)
    b = lambda x, t=real: jnp.broadcast_to(jnp.asarray(x, t), shape)
    mu, sigma, tau_m, v_th, v_reset, v_lb = (b(x) for x in (mu, sigma, neuron.tau_m, neuron.v_th, neuron.v_reset, v_lb))
    a = b(a, cplx)
    two_over_var = 2.0 / (sigma * sigma)
    c = tau_m * two_over_var
    zero, one = jnp.zeros(shape, real), jnp.ones(shape, real)

    def step(stat, mod, v_top, v_bottom):
        h = v_top - v_bottom
        gamma = two_over_var * (drift_integral(neuron, v_bottom, v_top) + mu * h)
        decay, e, d = _expm1_ratio(gamma)
        he, hhd = h * e, h * h * d
        h_source = h_mass = he
        if mod is None:
            # first-order correction for the curvature of the exponent (g' != 0): the profile's
            # source term gains + g' h^3 K/2, its mass loses g' h^3 K P(V)/2 (the double
            # integral of the correction to the source vanishes).  It makes a stiff step (h g >>
            # 1, near an EIF/QIF cutoff) right to second order, P -> c J/g(V - h) instead of
            # c J/<g>.  Only for the stationary problem alone: where P0 forces the modulated
            # solutions, the forcing must be the frozen profile that _propagator integrates
            curvature = 0.5 * two_over_var * (drift(neuron, v_top) - drift(neuron, v_bottom)) * h * h * _curvature_weight(gamma)
            h_source, h_mass = he + curvature, he - curvature
        # stationary unit-flux solution (flux constant on the step)
        q0 = c * stat.j0
        dm0 = h_mass * stat.p0 + hhd * q0
        p0_next = decay * stat.p0 + h_source * q0
        scale = p0_next + stat.u
        new_stat = _Stationary(p0_next / scale, stat.j0 / scale, stat.u / scale, (stat.m0 + dm0) / scale)
        if mod is None:
            return new_stat, None, scale
        # the modulated solutions: exact propagation of (P, int P) for the frozen drift rate,
        # with the flux c J and the forcing by the stationary profile P0(x) = e^{-g x} P0(V) +
        # q0 x E(g x) as sources (_propagator)
        rho = jnp.exp(jnp.minimum(mod.log_rho, 700.0))
        w = step_weights(gamma / h, a, c, h)
        mean_rate = rho * two_over_var                                 # M: r = 2 P0/sigma^2
        slope = 0.5 * rho * two_over_var * (gamma / h * stat.p0 - q0)  # S: r = -P0'/sigma^2 = -slope e^{-g x}
        # coefficients of the exponential and the ramp source of the four solutions
        coeff_exp = jnp.stack([zero, zero, -mean_rate * stat.p0, slope])
        coeff_ramp = jnp.stack([zero, zero, -mean_rate * q0, zero])
        ip_c, ip_e, ip_r = (x[None] for x in w.ip)
        im_c, im_e, im_r = (x[None] for x in w.im)
        a4, c4, wp4, wm4 = (x[None] for x in (a, c, w.wp, w.wm))
        m_step = wm4 * mod.p + im_c * c4 * mod.j + im_e * coeff_exp + im_r * coeff_ramp
        j_next = mod.j + a4 * m_step
        p_next = wp4 * mod.p + ip_c * c4 * mod.j + ip_e * coeff_exp + ip_r * coeff_ramp
        m_next = mod.m + m_step
        norm = jnp.sum(jnp.abs(p_next.real) + jnp.abs(p_next.imag) + jnp.abs(j_next.real) + jnp.abs(j_next.imag), axis=0)
        norm = jnp.where(norm > 0, norm, 1.0)
        log_norm = jnp.log(norm)
        new_mod = _Modulated(p_next / norm[None], j_next / norm[None], m_next / norm[None], mod.log_w + log_norm,
                             mod.log_rho + jnp.log(scale) - log_norm)
        return new_stat, new_mod, scale

    def segment(stat, mod, grid, log_u):
        def body(state, k):
            stat, mod, log_u = state
            stat, mod, scale = step(stat, mod, grid.node(k), grid.node(k + 1.0))
            if not density:  # u itself carries the scale; its logarithm is for the profile
                return (stat, mod, log_u), None
            log_u = log_u - jnp.log(scale)
            return (stat, mod, log_u), (stat.p0, log_u)

        (stat, mod, log_u), nodes = jax.lax.scan(body, (stat, mod, log_u), jnp.arange(steps, dtype=real))
        return stat, mod, log_u, nodes

    stretch = grid_stretch(neuron)
    grid_above = _Grid(v_th, v_reset, steps, stretch)
    grid_below = _Grid(v_reset, v_lb, steps, stretch)
    stat = _Stationary(zero, one, one, zero)
    mod = None
    if modulated:
        zc = jnp.zeros((4, *shape), cplx)
        mod = _Modulated(zc, zc.at[0].set(1.0), zc, zero, zero)  # A: unit flux at threshold
    stat, mod, log_u, above = segment(stat, mod, grid_above, zero)
    # reinjection at the reset: the stationary flux drops by the unit flux, B gets its unit
    stat = stat._replace(j0=stat.j0 - stat.u)
    if modulated:
        mod = mod._replace(j=mod.j.at[1].add(-jnp.exp(-mod.log_w)))
    stat, mod, log_u, below = segment(stat, mod, grid_below, log_u)
    if not density:
        return stat, mod
    top = (jnp.zeros((1, *shape), real), jnp.zeros((1, *shape), real))
    nodes = tuple(jnp.concatenate([t, x, y]) for t, x, y in zip(top, above, below))
    return stat, mod, nodes, (grid_above, grid_below)


def _romberg(values, powers=None):
    """Richardson extrapolation of values on grids ``h, h/2, h/4, h/8``, eliminating the
    ``h^2``, ``h^3`` and ``h^4`` terms of the error (measured: the modulated solutions start at
    ``h^2``, the stationary ones at ``h^3``, ``h^4`` for the LIF's linear drift;
    tests/neurons/test_threshold.py)."""
    table = list(values)
    for power in (powers or _ERROR_POWERS)[: len(table) - 1]:
        factor = 2.0**power
        table = [(factor * fine - coarse) / (factor - 1.0) for coarse, fine in zip(table[:-1], table[1:])]
    return table[0]


def _levels(fn, steps):
    return [fn(steps * 2**level) for level in range(_LEVELS)]


def _stationary_romberg(fn, steps):
    """Romberg over the three finer grids: the stationary error has no h^2 term, only h^3, h^4."""
    return _romberg([fn(steps * 2**level) for level in range(1, _LEVELS)], _STATIONARY_POWERS)


def _rate_from(stat: _Stationary, tau_ref):
    """Stationary rate in 1/ms from one sweep: ``u/(u tau_ref + m_0)``."""
    return stat.u / (stat.u * tau_ref + stat.m0)


# ----------------------------------------------------------------------------------------------
# public edge
# ----------------------------------------------------------------------------------------------


def _check(neuron, mu, sigma, method, steps) -> Conditions:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 8:
        raise ValueError(f"steps must be an integer >= 8, got {steps!r}")
    conds = Conditions()
    check_model(neuron, conds)
    conds.require("mu", mu)
    conds.require("sigma", sigma, positive=True)
    return conds


def _closed_form(neuron, method) -> bool:
    return method == "auto" and isinstance(neuron, LIF)


@partial(jax.jit, static_argnames="steps")
def _engine_rate(neuron, mu, sigma, steps):
    def level(n):
        return jnp.log(_rate_from(_sweep(neuron, mu, sigma, 0.0, n, modulated=False)[0], neuron.tau_ref))

    logs = {}
    log_nu = _stationary_romberg(lambda n: logs.setdefault(n, level(n)), steps)
    # a rate that underflows to 0 on any grid is 0 (log -inf makes the table NaN)
    silent = ~jnp.all(jnp.isfinite(jnp.stack(list(logs.values()))), axis=0)
    return jnp.where(silent, 0.0, 1000.0 * jnp.exp(log_nu))


def firing_rate(neuron, mu, sigma, *, method: str = "auto", steps: int = _DEFAULT_STEPS):
    """Stationary firing rate (Hz) of a LIF, EIF or QIF neuron with white-noise input of mean
    ``mu`` and standard deviation ``sigma`` (mV)::

        1/nu = tau_ref + int_{v_lb}^{v_th} P0(V) dV / nu,

    ``P0`` the stationary Fokker-Planck density (Richardson 2007, eq. 12), by threshold
    integration with Romberg extrapolation (module docstring).  For a :class:`mfjax.LIF`,
    ``method="auto"`` uses the closed form :func:`mfjax.lif_rate` (Siegert) and
    ``"threshold_integration"`` the engine (equal to 1e-9).

    Args:
        neuron: :class:`mfjax.LIF` (``tau_s = 0``), :class:`EIF` or :class:`QIF`.
        mu: mean input (mV).  sigma: noise (mV), > 0.  Broadcast with the neuron's fields.
        method: ``"auto"`` or ``"threshold_integration"``.
        steps: grid steps per segment (``v_th``..``v_reset``, ``v_reset``..``v_lb``) of the
            coarsest of the four Romberg grids; raise it for very small ``sigma`` relative to
            the voltage range and for responses above ~100 Hz (QIF) / ~1 kHz (EIF, LIF).

    Returns:
        Rate in Hz, the broadcast shape (0 where the rate underflows, never NaN).

    Example:
        >>> firing_rate(EIF(20.0, 2.0, 30.0, 5.0, 2.0, 15.0), mu=12.0, sigma=4.0)
    """
    conds = _check(neuron, mu, sigma, method, steps)
    if _closed_form(neuron, method):
        return conds.enforce(lif_rate(neuron, mu, sigma))
    return conds.enforce(_engine_rate(neuron, mu, sigma, steps))


MODULATIONS = ("mean", "variance")


@partial(jax.jit, static_argnames="steps")
def _engine_responses(neuron, mu, sigma, frequency, steps):
    """``(d nu/d mu, d nu/d sigma^2)`` (Hz/mV, Hz/mV^2) at ``frequency`` (Hz, real or complex),
    both from the same sweeps (the solutions M and S are integrated together)."""
    real = jnp.result_type(float, mu, sigma, frequency, neuron.tau_m, neuron.v_th)
    a = 2j * math.pi * jnp.asarray(frequency, jnp.result_type(real, jnp.complex64)) / 1000.0

    def level(n):
        stat, mod = _sweep(neuron, mu, sigma, a, n)
        # tau_ref phi + m_A + e^{-a tau_ref} m_B in the modulated scale (true = scaled e^{log_w})
        den = (neuron.tau_ref * _phi(1, -a * neuron.tau_ref) * jnp.exp(-mod.log_w)
               + mod.m[0] + jnp.exp(-a * neuron.tau_ref) * mod.m[1])
        return -_rate_from(stat, neuron.tau_ref)[None] * mod.m[2:] / den[None]

    both = 1000.0 * _romberg(_levels(level, steps))
    return both[0], both[1]


def _engine_response(neuron, mu, sigma, frequency, steps, modulation):
    return _engine_responses(neuron, mu, sigma, frequency, steps)[MODULATIONS.index(modulation)]


def rate_response(neuron, mu, sigma, frequency, *, modulation: str = "mean", method: str = "auto",
                  steps: int = _DEFAULT_STEPS):
    """Linear response of the rate to a modulation ``e^{2 pi i f t}`` of the input: ``d nu/d mu``
    (Hz/mV, ``modulation="mean"``) or ``d nu/d sigma^2`` (Hz/mV^2, ``"variance"``) at frequency
    ``f`` (Hz), for a LIF, EIF or QIF neuron with white noise (Richardson 2007, eqs. 20-26;
    Richardson 2008).  At ``f = 0`` it is the derivative of :func:`firing_rate`.

    The EIF response falls as ``nu_0/(delta_t 2 pi i f tau_m)`` at high frequency, the QIF's as
    ``1/f^2`` (Fourcaud-Trocme et al. 2003), the LIF's as ``1/sqrt(f)``.  The grid must resolve
    the wavelength ``sigma/sqrt(2 tau_m 2 pi f)`` of the modulated density: raise ``steps`` above
    a few kHz.

    For a :class:`mfjax.LIF` with ``method="auto"`` the closed forms :func:`mfjax.lif_transfer`
    (without the synaptic filter) and :func:`mfjax.lif_variance_transfer` are used.

    Args:
        neuron, mu, sigma, method, steps: as :func:`firing_rate`.
        frequency: Hz, real and >= 0, or complex (``f = f_r + i f_i``: the mode
            ``e^{2 pi i f_r t}`` growing at the rate ``-2 pi f_i``; decay rates ``2 pi f_i``
            below ``3/tau_m``, as :func:`mfjax.lif_transfer`; the engine integrates the
            modulated equations with ``a = 2 pi i f`` as they stand, which gives the analytic
            continuation the characteristic equation of a network needs); broadcasts with the
            rest (``frequency[:, None]``).
        modulation: ``"mean"`` or ``"variance"``.

    Returns:
        Complex array of the broadcast shape.
    """
    if modulation not in MODULATIONS:
        raise ValueError(f"modulation must be one of {MODULATIONS}, got {modulation!r}")
    conds = _check(neuron, mu, sigma, method, steps)
    if jnp.iscomplexobj(frequency):
        check_complex_frequency(frequency, neuron.tau_m, conds)
    else:
        conds.require("frequency", frequency, nonnegative=True)
    if _closed_form(neuron, method):
        if modulation == "mean":
            return conds.enforce(lif_transfer(neuron, mu, sigma, frequency, synaptic_filter=False))
        return conds.enforce(lif_variance_transfer(neuron, mu, sigma, frequency))
    return conds.enforce(_engine_response(neuron, mu, sigma, frequency, steps, modulation))


@partial(jax.jit, static_argnames="steps")
def _engine_cv(neuron, mu, sigma, steps):
    def level(n):
        def masses(s):
            mod = _sweep(neuron, mu, sigma, s, n)[1]
            w = jnp.exp(mod.log_w)
            return mod.m[0] * w, mod.m[1] * w

        (a0, b0), (a1, b1) = jax.jvp(masses, (jnp.zeros(()),), (jnp.ones(()),))
        t1 = a0 + b0
        # first-passage Laplace transform (1 - s B(s))/(1 + s A(s)): T2 = 2 (A0^2 + A0 B0 - A1 - B1)
        variance = (a0 - b0) * t1 - 2.0 * (a1 + b1)
        return variance / (neuron.tau_ref + t1) ** 2

    return jnp.sqrt(jnp.maximum(_romberg(_levels(level, steps)), 0.0))


def isi_cv(neuron, mu, sigma, *, steps: int = _DEFAULT_STEPS):
    """Coefficient of variation of the interspike interval of a LIF, EIF or QIF neuron with
    white-noise input (renewal process, ISI = ``tau_ref`` + first-passage time ``T``)::

        CV^2 = Var(T) / (tau_ref + <T>)^2,

    the moments from the derivatives at ``s = 0`` of the first-passage Laplace transform
    ``(1 - s m_B(s))/(1 + s m_A(s))`` of threshold integration (forward-mode differentiation
    in ``s``; module docstring).  ``Var(T) = <T^2> - <T>^2`` loses ``2 log10(1/CV)`` digits
    for regular firing.  For the LIF it equals :func:`mfjax.lif_cv`.
    """
    conds = _check(neuron, mu, sigma, "threshold_integration", steps)
    return conds.enforce(_engine_cv(neuron, mu, sigma, steps))


def _density_level(neuron, mu, sigma, v, n):
    """The stationary density at ``v`` from one grid of ``n`` steps per segment, normalised by
    that grid's own rate (so that the Romberg combination of the grids removes both errors)."""
    stat, _, (p_nodes, log_u), (grid_above, grid_below) = _sweep(neuron, mu, sigma, 0.0, n, density=True,
                                                                   modulated=False)
    log_nu = jnp.log(_rate_from(stat, neuron.tau_ref))
    # batch quantities with leading axes for the extra axes of v (no rank promotion)
    v = jnp.asarray(v, p_nodes.dtype)
    nd = max(v.ndim, p_nodes.ndim - 1)
    lead = lambda x: x if x is None else jnp.reshape(x, (1,) * (nd - jnp.ndim(x)) + jnp.shape(x))  # noqa: E731
    neuron = jax.tree_util.tree_map(lead, neuron)
    mu, sigma, log_nu, v = (lead(jnp.asarray(x, p_nodes.dtype)) for x in (mu, sigma, log_nu, v))
    grid_above, grid_below = (g._replace(top=lead(g.top), bottom=lead(g.bottom)) for g in (grid_above, grid_below))
    shape = jnp.broadcast_shapes(v.shape, p_nodes.shape[1:])
    v, v_reset, v_th, v_lb = (jnp.broadcast_to(x, shape) for x in (v, neuron.v_reset, neuron.v_th, grid_below.bottom))
    above = v >= v_reset
    k = jnp.where(above, grid_above.locate(v), grid_below.locate(v))
    v_node = jnp.where(above, grid_above.node(k), grid_below.node(k))
    index = (k + jnp.where(above, 0, n)).astype(jnp.int32)

    def gather(nodes):  # nodes (2n + 1, *batch) -> the node of each v, shape v.shape
        nodes = nodes.reshape(nodes.shape[:1] + (1,) * (nd + 1 - nodes.ndim) + nodes.shape[1:])
        return jnp.take_along_axis(jnp.broadcast_to(nodes, (2 * n + 1, *shape)), index[None], axis=0)[0]

    p_k, log_u_k = gather(p_nodes), gather(log_u)
    # the exact step profile below the node (module docstring); the unit flux above the reset
    # is u in the scaled state
    x = v_node - v
    gamma = 2.0 / (sigma * sigma) * (drift_integral(neuron, v, v_node) + mu * x)
    decay, e, _ = _expm1_ratio(gamma)
    flux = jnp.where(above, jnp.exp(log_u_k), 0.0)
    p_scaled = decay * p_k + 2.0 * neuron.tau_m / (sigma * sigma) * flux * x * e
    inside = (v < v_th) & (v >= v_lb)
    # true unit-flux density = scaled / u; times nu_0 (1/ms)
    return jnp.where(inside, p_scaled * jnp.exp(jnp.where(inside, log_nu - log_u_k, 0.0)), 0.0)


@partial(jax.jit, static_argnames="steps")
def _engine_density(neuron, mu, sigma, v, steps):
    return _stationary_romberg(lambda n: _density_level(neuron, mu, sigma, v, n), steps)


def stationary_density(neuron, mu, sigma, v, *, steps: int = _DEFAULT_STEPS):
    """Stationary membrane-potential density ``P0(V)`` (1/mV) of a LIF, EIF or QIF neuron with
    white noise (Richardson 2007, eq. 12): on each of the three finer threshold-integration grids the
    exact step profile below the node above ``v``, combined by Romberg extrapolation (the position
    of ``v`` within a step differs between the grids, so the combination is not a clean Romberg
    step: measured 1e-14 at nodes, up to 3e-7 between them, where the grid resolves the boundary
    layer ``sigma^2/(2 |f + mu|)`` at ``v_th``); ``int P0 dV + nu tau_ref = 1``.  0 outside
    ``[v_lb, v_th)``.  ``v`` broadcasts with ``mu`` and ``sigma``.
    """
    conds = _check(neuron, mu, sigma, "threshold_integration", steps)
    conds.require("v", v)
    return conds.enforce(_engine_density(neuron, mu, sigma, v, steps))
