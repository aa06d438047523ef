"""Transmission-delay distributions and their characteristic functions.

The linear response of a network with delays ``d`` drawn from a distribution ``p(d)`` carries,
per pathway, the characteristic function (Bos et al. 2016, PLoS Comput. Biol. 12:e1005132,
eq. 9; NNMT's ``delay_dist_matrix``)::

    D(lambda) = E[exp(-lambda d)] = int p(d) e^{-lambda d} dd,     lambda = 2 pi i f,

for a frequency ``f`` in Hz (real, or complex for growing and decaying modes: ``lambda`` then has
a real part).  Delays in ms, so ``lambda`` is taken in 1/ms.  Closed forms:

* ``"none"``: one fixed delay ``mean``: ``e^{-lambda mean}``;
* ``"gaussian"``: Normal(mean, sd) on the whole line: ``e^{-lambda mean + lambda^2 sd^2 / 2}``;
* ``"truncated_gaussian"``: Normal(mean, sd) conditioned on d > ``lower`` (0 by default: Bos et
  al. 2016; PD14 redraws below the time step; ``mean`` and ``sd`` are those of the underlying
  normal)::

      D = e^{-lambda mean + lambda^2 sd^2 / 2} Phi((mean - lower - lambda sd^2)/sd) / Phi((mean - lower)/sd),

  ``Phi`` the standard normal distribution function continued to complex arguments, evaluated
  through the Faddeeva function (:func:`faddeeva`) so that no exponential overflows;
* ``"exponential"``: ``mean - sd`` plus an exponential of mean ``sd`` (``sd <= mean``):
  ``e^{-lambda (mean - sd)} / (1 + lambda sd)``;
* ``"gamma"``: Gamma of shape ``k = mean^2/sd^2`` and scale ``sd^2/mean``: ``(1 + lambda
  sd^2/mean)^{-k}`` (principal branch);
* ``"lognormal"``: ``d = e^{M + S z}``, ``z`` standard normal, ``S^2 = log(1 + sd^2/mean^2)``,
  ``M = log(mean) - S^2/2``; no closed form (NNMT issue #44), so the integral
  ``int phi(z) exp(-lambda e^{M + S z}) dz`` is taken by the trapezoidal rule (step 0.1,
  ``|Re z| <= 10``) on the line ``Im z = -beta``, ``S beta = arg(lambda)`` (capped at
  ``beta <= 4``, and scaled down where the phase across the bulk is below a radian), where the
  oscillating tail becomes a decaying one.  Absolute error below 1e-12
  against mpmath quadrature (``tests/populations/test_delays.py``; relative error grows where
  ``|D|`` itself is tiny, e.g. ``|D| ~ e^{-40}`` for narrow laws at kHz).  The law's
  heavy tail makes ``D`` diverge for decaying modes (``Re lambda < 0``): refused.

Units: time ms, frequency Hz.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erfc

from .._checks import Conditions

__all__ = ["DELAY_DISTRIBUTIONS", "delay_characteristic", "faddeeva"]

DELAY_DISTRIBUTIONS = ("none", "gaussian", "truncated_gaussian", "exponential", "gamma", "lognormal")


def _weideman_coefficients(n: int):
    """Coefficients of Weideman's rational series for the Faddeeva function (SIAM J. Numer.
    Anal. 31:1497, 1994, eq. 38 and his MATLAB listing): ``n`` terms, scale ``L``."""
    m = 2 * n
    k = np.arange(-m + 1, m)
    scale = math.sqrt(n / math.sqrt(2.0))
    t = scale * np.tan(k * np.pi / (2 * m))
    f = np.concatenate([[0.0], np.exp(-t * t) * (scale * scale + t * t)])
    a = np.real(np.fft.fft(np.fft.fftshift(f))) / (2 * m)
    return np.flipud(a[1 : n + 1]).copy(), scale


_W_COEFFS, _W_SCALE = _weideman_coefficients(40)  # relative error < 3e-14 in the upper half-plane
_W_COEFFS = tuple(float(c) for c in _W_COEFFS)  # Python floats: weak types keep complex64 inputs complex64


def _faddeeva_upper(z):
    """w(z) for Im z >= 0 (Weideman's 40-term series)."""
    denom = _W_SCALE - 1j * z
    zeta = (_W_SCALE + 1j * z) / denom
    p = jnp.zeros_like(zeta)
    for c in _W_COEFFS:
        p = p * zeta + c
    return 2.0 * p / denom**2 + (1.0 / math.sqrt(math.pi)) / denom


def faddeeva(z):
    """Faddeeva function ``w(z) = e^{-z^2} erfc(-i z)`` for complex ``z`` (any shape).

    Upper half-plane: Weideman's rational series (relative error < 3e-14 against
    ``scipy.special.wofz``); lower half-plane by the reflection ``w(z) = 2 e^{-z^2} - w(-z)``.
    """
    z = jnp.asarray(z, jnp.result_type(complex, z))
    upper = z.imag >= 0
    zu = jnp.where(upper, z, -z)
    wu = _faddeeva_upper(zu)
    return jnp.where(upper, wu, 2.0 * jnp.exp(-(z * z)) - wu)


def _truncated_gaussian(lam, mean, sd, lower):
    # Phi(x) = erfc(-x/sqrt 2)/2 with u = -(mean - lower - lam sd^2)/(sqrt(2) sd); the Gaussian
    # factor and e^{-u^2} combine to e^{-lam lower - (mean - lower)^2/(2 sd^2)}, so w(.) carries
    # all the growth and nothing overflows
    sd_safe = jnp.where(sd > 0, sd, 1.0)
    gap = mean - lower
    u = (lam * sd_safe**2 - gap) / (math.sqrt(2.0) * sd_safe)
    gauss = jnp.exp(-lam * mean + 0.5 * (lam * sd_safe) ** 2)
    tail = jnp.exp(-lam * lower - 0.5 * (gap / sd_safe) ** 2)
    w_pos = faddeeva(jnp.where(u.real >= 0, 1j * u, 0.0))  # erfc(u) = e^{-u^2} w(iu), Re u >= 0
    w_neg = faddeeva(jnp.where(u.real < 0, -1j * u, 0.0))  # erfc(u) = 2 - e^{-u^2} w(-iu)
    numerator = jnp.where(u.real >= 0, 0.5 * tail * w_pos, gauss - 0.5 * tail * w_neg)
    return numerator / (0.5 * erfc(-gap / (math.sqrt(2.0) * sd_safe)))


_LOGNORMAL_NODES = 201  # z in [-10, 10], step 0.1
_LOGNORMAL_SHIFT_CAP = 4.0


def _lognormal(lam, mean, sd):
    m = jnp.where(mean > 0, mean, 1.0)
    spread = jnp.sqrt(jnp.log1p((sd / m) ** 2))  # S
    centre = jnp.log(m) - 0.5 * spread**2  # M
    s_safe = jnp.where(spread > 0, spread, 1.0)
    beta = jnp.clip(jnp.angle(lam) / s_safe, -_LOGNORMAL_SHIFT_CAP, _LOGNORMAL_SHIFT_CAP)
    # only as far as the phase across the bulk (|lambda| e^{M + 3S} S radians) calls for: the
    # shifted line multiplies the terms by up to e^{beta^2/2}, which costs digits in float32
    beta = beta * jnp.minimum(1.0, jnp.abs(lam) * jnp.exp(centre + 3 * spread) * spread)
    # the line's position does not change the integral: no derivative through it (and none of
    # arg(lambda) at lambda = 0)
    beta = jax.lax.stop_gradient(jnp.where(spread > 0, beta, 0.0))
    x = jnp.linspace(-10.0, 10.0, _LOGNORMAL_NODES, dtype=mean.dtype).reshape((1,) * beta.ndim + (-1,))
    z = x - 1j * beta[..., None]
    h = 20.0 / (_LOGNORMAL_NODES - 1)
    log_terms = -0.5 * z * z - lam[..., None] * jnp.exp(centre[..., None] + spread[..., None] * z)
    return h / math.sqrt(2.0 * math.pi) * jnp.sum(jnp.exp(log_terms), -1)


def delay_characteristic(frequency, mean, sd=0.0, distribution: str = "none", *, lower=0.0):
    """Characteristic function ``D(f) = E[exp(-2 pi i f d)]`` of a delay distribution (module
    docstring); ``frequency`` in Hz (real or complex), ``mean`` and ``sd`` in ms.

    ``lower`` (ms, ``"truncated_gaussian"`` only): the truncation point, 0 as in Bos et al. 2016;
    :func:`mfjax.spiking.simulate` redraws delays below one time step, so ``lower=dt`` describes
    its draws exactly.  Broadcasts over its arguments; complex result.  ``sd = 0`` gives the
    fixed delay for every distribution.  Works under jit, vmap and grad (gradients with respect to mean and sd).

    Example:
        >>> delay_characteristic(100.0, 1.5, 0.75, "truncated_gaussian")  # Bos et al. 2016
    """
    if distribution not in DELAY_DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {DELAY_DISTRIBUTIONS}, got {distribution!r}")
    conds = Conditions()
    conds.require("mean", mean, nonnegative=True).require("sd", sd, nonnegative=True)
    conds.require("lower", lower, nonnegative=True)
    f = jnp.asarray(frequency)
    if jnp.iscomplexobj(f):
        conds.require("frequency.real", f.real).require("frequency.imag", f.imag)
    else:
        conds.require("frequency", f)
    delay_conditions(conds, mean, sd, distribution, f)
    return conds.enforce(characteristic(f, mean, sd, distribution, lower))


def delay_conditions(conds: Conditions, mean, sd, distribution: str, frequency) -> Conditions:
    """The conditions of a law beyond ``mean, sd >= 0`` (added to ``conds``): ``sd <= mean``
    for the shifted exponential, ``mean > 0`` for gamma and lognormal, and no decaying modes
    (``Im f > 0``) for the lognormal."""
    if distribution == "exponential":
        conds.where("sd must be <= mean for the shifted exponential", jnp.asarray(sd) > jnp.asarray(mean))
    if distribution in ("gamma", "lognormal"):
        conds.where(f"mean must be > 0 for the {distribution} distribution", ~(jnp.asarray(mean) > 0))
    if distribution == "lognormal":
        conds.where(
            "frequency: the lognormal characteristic function diverges for decaying modes (Im f > 0)",
            jnp.imag(frequency) > 0,
        )
    return conds


def characteristic(frequency, mean, sd, distribution: str, lower=0.0):
    """:func:`delay_characteristic` without the checks (for callers that validated, or that
    fold the conditions into a status)."""
    f = jnp.asarray(frequency)
    dtype = jnp.result_type(complex, f, mean, sd)
    lam = 2j * math.pi * 1e-3 * jnp.asarray(f, dtype)  # 1/ms
    mean = jnp.asarray(mean, jnp.real(jnp.zeros((), dtype)).dtype)
    sd = jnp.asarray(sd, mean.dtype)
    lam, mean, sd = jnp.broadcast_arrays(lam, mean, sd)
    fixed = jnp.exp(-lam * mean)
    if distribution == "none":
        out = fixed
    elif distribution == "gaussian":
        out = jnp.exp(-lam * mean + 0.5 * (lam * sd) ** 2)
    elif distribution == "truncated_gaussian":
        lower = jnp.asarray(lower, mean.dtype)
        out = jnp.where(sd > 0, _truncated_gaussian(lam, mean, sd, lower), fixed)
    elif distribution == "exponential":
        out = jnp.exp(-lam * (mean - sd)) / (1.0 + lam * sd)
    elif distribution == "lognormal":
        out = jnp.where(sd > 0, _lognormal(lam, mean, sd), fixed)
    else:  # gamma
        m = jnp.where(mean > 0, mean, 1.0)
        shape = (m / jnp.where(sd > 0, sd, 1.0)) ** 2
        out = jnp.where(sd > 0, jnp.exp(-shape * jnp.log1p(lam * sd * sd / m)), fixed)
    return out
