"""Stationary theory of the leaky integrate-and-fire (LIF) neuron driven by Gaussian noise.

Model (Brunel 2000, J. Comput. Neurosci. 8:183, eq. 1-3 with the diffusion approximation)::

    tau_m dV/dt = -V + mu + sigma sqrt(tau_m) xi(t),     V >= v_th -> spike, V <- v_reset,

held at ``v_reset`` for ``tau_ref`` after each spike.  ``mu`` and ``sigma`` are the mean and the
standard deviation of the input in mV (the NNMT convention), ``xi`` is unit white noise.

Units: time ms, voltage mV, rates Hz, current pA, capacitance pF.

Numerical scheme (quantities in log space or scaled by ``e^{-b^2}``, so that deep sub-threshold
rates underflow to an exact 0 instead of producing inf/NaN):

* mean first-passage time ``T = tau_m R`` with ``R = sqrt(pi) int_{y_r}^{y_th} erfcx(-u) du``,
  ``y = (v - mu) / sigma`` (Siegert 1951; Amit & Brunel 1997 eq. 21; Brunel 2000 eq. 21);
* ``R = sqrt(pi) e^{b^2} S`` with ``b = max(y_th, 0)`` and ``S = Phi(y_th) - e^{a^2 - b^2}
  Phi(y_r)`` (``a = max(y_r, 0)``), where ``Phi(y) = e^{-max(y,0)^2} int_0^y erfcx(-u) du`` is
  bounded (``-G0(-y)`` below 0, ``2 D(y) - e^{-y^2} G0(y)`` above, ``G0`` the primitive of erfcx,
  ``D`` Dawson's function);
* ``Phi`` is one polynomial of degree 19 per point whose coefficients are gathered from a table
  of 18 pieces: unit intervals on [-8, 8] (Chebyshev interpolants of 30-digit mpmath values) and
  two asymptotic tails in ``64/y^2`` (``_tables.py``, ``data/siegert_pieces.json``); the
  logarithm of the ``y < -8`` tail is taken once per point as a ``log1p`` of the endpoints' ratio;
* derivatives of ``log R`` are exact (``d R / d y_th = sqrt(pi) erfcx(-y_th)``), supplied by a
  custom JVP, so gradients never differentiate the quadrature;
* the rate itself needs no logarithm: ``nu tau_m = q / (q tau_ref/tau_m + 1)`` with
  ``q = 1/R = e^{-b^2} / (sqrt(pi) S)`` (see :func:`_mfpt_parts`; computed times ``e^64`` so
  that rates down to the smallest normal float survive), which underflows to 0 deep below
  threshold; the ``sigma = 0`` branch is only evaluated when some point has ``sigma = 0``
  (``lax.cond``).  A point costs two gathered polynomials of degree 19, three exponentials, a
  ``log1p`` and two divisions.
"""

from __future__ import annotations

import json
import math
from functools import partial
from importlib import resources

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import dawsn, erfc, erfcx

from .._checks import Conditions
from ._tables import DEGREE, TAIL

__all__ = ["LIF", "lif_rate", "lif_cv", "membrane_density", "CORRECTIONS"]

#: |zeta(1/2)|: Fourcaud & Brunel (2002) threshold shift sigma * |zeta(1/2)|/sqrt(2) * sqrt(tau_s/tau_m).
ZETA_HALF_ABS = 1.4603545088095868
_SHIFT_FACTOR = ZETA_HALF_ABS / math.sqrt(2.0)
_LOG_SQRT_PI = 0.5 * math.log(math.pi)

CORRECTIONS = ("shift", "taylor", "none")

_TAIL = float(TAIL)  # |y| beyond which the asymptotic pieces of the table take over
_NUM_PIECES = 2 * TAIL + 2


def _load_siegert_pieces():
    """Power coefficients of the pieces of Phi (see ``_tables.py``), shape (DEGREE + 1, pieces):
    row j holds the coefficient of s^j for every piece."""
    text = resources.files("mfjax").joinpath("data/siegert_pieces.json").read_text()
    table = json.loads(text)
    coeffs = np.asarray(table["power_coefficients"], float)
    if table["tail"] != TAIL or coeffs.shape != (_NUM_PIECES, DEGREE + 1):
        raise RuntimeError("siegert_pieces.json does not match this version of mfjax")
    return coeffs.T.copy()


_PIECES = _load_siegert_pieces()


class LIF(eqx.Module):
    """Leaky integrate-and-fire neuron parameters (immutable pytree).

    Fields may be scalars or arrays (one value per population); they broadcast with the inputs.

    Attributes:
        tau_m: membrane time constant (ms), > 0.
        tau_ref: absolute refractory period (ms), >= 0.
        v_th: threshold (mV, relative to rest).
        v_reset: reset potential (mV, relative to rest), < v_th.
        tau_s: synaptic time constant (ms), >= 0; 0 means delta synapses (white noise).
        c_m: membrane capacitance (pF), > 0; only used to convert DC currents (pA) to mV.

    Example:
        >>> LIF(tau_m=20.0, tau_ref=2.0, v_th=20.0, v_reset=10.0)
    """

    tau_m: jax.Array | float
    tau_ref: jax.Array | float
    v_th: jax.Array | float
    v_reset: jax.Array | float
    tau_s: jax.Array | float = 0.0
    c_m: jax.Array | float = 250.0

    def __check_init__(self):
        # concrete fields are checked here; conditions on traced fields are enforced where the
        # neuron is used (see :meth:`conditions`)
        self.conditions(Conditions())

    def conditions(self, conds: Conditions, prefix: str = "LIF") -> Conditions:
        """Add the validity conditions of these parameters to ``conds`` (concrete fields are
        checked at once, traced ones recorded): tau_m > 0, tau_ref >= 0, tau_s >= 0, c_m > 0,
        v_th and v_reset finite, v_reset < v_th."""
        conds.require(f"{prefix}.tau_m", self.tau_m, positive=True)
        conds.require(f"{prefix}.tau_ref", self.tau_ref, nonnegative=True)
        conds.require(f"{prefix}.v_th", self.v_th)
        conds.require(f"{prefix}.v_reset", self.v_reset)
        conds.require(f"{prefix}.tau_s", self.tau_s, nonnegative=True)
        conds.require(f"{prefix}.c_m", self.c_m, positive=True)
        conds.less(f"{prefix}.v_reset", self.v_reset, f"{prefix}.v_th", self.v_th)
        return conds


# ----------------------------------------------------------------------------------------------
# special-function building blocks
# ----------------------------------------------------------------------------------------------


_ERFCX_SERIES_START = 9.0
# erfcx(x) ~ 1/(sqrt(pi) x) sum_n (-1)^n (2n-1)!! / (2 x^2)^n (Abramowitz & Stegun 7.1.23); 15
# terms leave a relative error below 5e-18 for x >= 9
_ERFCX_SERIES = [(-1) ** n * float(np.prod(np.arange(1, 2 * n, 2))) / 2.0**n for n in range(15)]


def _erfcx_nonnegative(x):
    """erfcx(x) = e^{x^2} erfc(x) for x >= 0.

    ``jax.scipy.special.erfcx`` (jax 0.10) returns 0 for x in [26.54, 26.64] in float64 and is
    wrong on [9.19, 9.42] in float32 (where e^{x^2} leaves the float range), so from x = 9 on the
    asymptotic series is used instead (upstream: jax-ml/jax issue 38607, still open).
    """
    large = x >= _ERFCX_SERIES_START
    # jnp.where, not maximum/minimum: at the tie x = 9 a maximum would split the derivative
    xs = jnp.where(large, x, _ERFCX_SERIES_START)
    inv2 = 1.0 / (xs * xs)
    series = jnp.zeros_like(xs)
    for c in _ERFCX_SERIES[::-1]:
        series = series * inv2 + c
    return jnp.where(large, series / (math.sqrt(math.pi) * xs), erfcx(jnp.where(large, _ERFCX_SERIES_START, x)))


def _log_erfcx_neg(y):
    """log(erfcx(-y)) = log(e^{y^2} (1 + erf y)), stable for all real y."""
    pos = y > 0
    yp = jnp.where(pos, y, 0.0)
    yn = jnp.where(pos, 0.0, y)
    return jnp.where(pos, yp * yp + jnp.log(erfc(-yp)), jnp.log(_erfcx_nonnegative(-yn)))


def _rule(nodes, weights, ref):
    """Quadrature nodes and weights as arrays of rank ``ref.ndim + 1`` (no rank promotion)."""
    shape = (1,) * ref.ndim + (-1,)
    return jnp.asarray(nodes, ref.dtype).reshape(shape), jnp.asarray(weights, ref.dtype).reshape(shape)


def _siegert_primitive(y):
    """Scaled primitive of the Siegert integrand, ``Phi(y) = e^{-max(y,0)^2} int_0^y erfcx(-u) du``,
    returned as ``(base, rest)`` with ``Phi = base + rest - log(max(-y, 8)/8) / sqrt(pi)``.

    ``Phi = -G0(-y)`` for ``y <= 0`` and ``2 D(y) - e^{-y^2} G0(y)`` for ``y > 0`` (``G0(x) =
    int_0^x erfcx``, ``D`` Dawson's function).  One polynomial of degree 19 per point, its
    coefficients gathered from the piece that holds ``y`` (``_tables.py``): unit intervals on
    [-8, 8] (Chebyshev interpolants from 30-digit mpmath), ``s = 64/y^2`` beyond (asymptotic
    series of erfcx and of D; the ``y > 8`` piece times ``8/y``, the two pieces next to 0 times
    ``y``, so that ``Phi`` keeps its relative accuracy as ``y -> 0``).  ``base`` is the piece's constant
    term, so that two points in one piece cancel it exactly; the logarithm is left to the caller,
    who combines the two endpoints' logarithms into one ``log1p``.
    """
    yc = jnp.clip(y, -_TAIL, _TAIL)
    lo = jnp.minimum(jnp.floor(yc), _TAIL - 1.0)
    above, below = y >= _TAIL, y < -_TAIL
    tail = above | below
    piece = jnp.where(below, 0, jnp.where(above, _NUM_PIECES - 1, (lo + _TAIL + 1.0).astype(jnp.int32)))
    inv = _TAIL / jnp.maximum(jnp.abs(y), _TAIL)
    s = jnp.where(tail, inv * inv, 2.0 * (yc - lo) - 1.0)
    rows = jnp.asarray(_PIECES, y.dtype)
    rest = jnp.zeros_like(y)
    for j in range(rows.shape[0] - 1, 0, -1):
        rest = (rest + rows[j][piece]) * s
    next_to_zero = (lo == -1.0) | (lo == 0.0)  # pieces [-1, 0) and [0, 1) hold Phi(y)/y
    scale = jnp.where(above, inv, jnp.where(next_to_zero, y, 1.0))
    return scale * rows[0][piece], scale * rest


def _mfpt_parts(y_th, y_r):
    """``(b, S)`` with ``R = sqrt(pi) e^{b^2} S``, R = sqrt(pi) int_{y_r}^{y_th} erfcx(-u) du
    (mean first-passage time / tau_m; requires y_r < y_th).

    With ``b = max(y_th, 0)``, ``a = max(y_r, 0)`` and ``Phi`` from :func:`_siegert_primitive`::

        S = Phi(y_th) - e^{a^2 - b^2} Phi(y_r)

    where the logarithmic parts of both endpoints (``y < -8``) combine to
    ``e^{-b^2} log(max(-y_r, 8) / max(-y_th, 8)) / sqrt(pi)`` (one ``log1p``, no cancellation).
    """
    b = jnp.maximum(y_th, 0.0)
    a = jnp.maximum(y_r, 0.0)
    decay = jnp.exp(-b * b)
    ratio = jnp.exp((a - b) * (a + b))
    base_th, rest_th = _siegert_primitive(y_th)
    base_r, rest_r = _siegert_primitive(y_r)
    m_th = jnp.maximum(-y_th, _TAIL)
    m_r = jnp.maximum(-y_r, _TAIL)
    logs = decay * jnp.log1p((m_r - m_th) / m_th) / math.sqrt(math.pi)
    scaled = (base_th - ratio * base_r) + (rest_th - ratio * rest_r) + logs
    return b, scaled


@jax.custom_jvp
def _log_mfpt(y_th, y_r):
    """log R (see :func:`_mfpt_parts`); R can exceed the float range (deep sub-threshold), log R
    cannot."""
    b, scaled = _mfpt_parts(y_th, y_r)
    return _LOG_SQRT_PI + b * b + jnp.log(scaled)


@_log_mfpt.defjvp
def _log_mfpt_jvp(primals, tangents):
    y_th, y_r = primals
    dy_th, dy_r = tangents
    log_r = _log_mfpt(y_th, y_r)
    d_th = jnp.exp(_LOG_SQRT_PI + _log_erfcx_neg(y_th) - log_r)
    d_r = jnp.exp(_LOG_SQRT_PI + _log_erfcx_neg(y_r) - log_r)
    return log_r, d_th * dy_th - d_r * dy_r


def _scale_log(dtype) -> float:
    """log of the factor e^c by which :func:`_scaled_inverse_mfpt` is scaled: rates down to the
    smallest normal number survive although e^{-b^2} alone would flush to 0 earlier (XLA:CPU
    flushes subnormals), and e^c / S cannot overflow."""
    return 64.0 if jnp.dtype(dtype) == jnp.float64 else 16.0


@jax.custom_jvp
def _scaled_inverse_mfpt(y_th, y_r):
    """e^c / R = e^{c - b^2} / (sqrt(pi) S) (see :func:`_mfpt_parts`; ``c`` from :func:`_scale_log`):
    the rate times tau_m without refractoriness, scaled by e^c, with no logarithm; it
    underflows to 0 deep below threshold."""
    b, scaled = _mfpt_parts(y_th, y_r)
    return jnp.exp(_scale_log(scaled.dtype) - b * b) / (math.sqrt(math.pi) * scaled)


@_scaled_inverse_mfpt.defjvp
def _scaled_inverse_mfpt_jvp(primals, tangents):
    # d(1/R) = -(1/R)^2 dR, dR = sqrt(pi) [erfcx(-y_th) dy_th - erfcx(-y_r) dy_r].  With
    # w = e^{-b^2} / (sqrt(pi) S^2) = sqrt(pi) (1/R)^2 e^{b^2}, and erfcx(-y) = e^{y^2} erfc(-y):
    #   sqrt(pi) (1/R)^2 erfcx(-y_th) = w erfc(-y_th)              (y_th > 0; else w erfcx(-y_th))
    #   sqrt(pi) (1/R)^2 erfcx(-y_r)  = w e^{a^2-b^2} erfc(-y_r)   (y_r > 0; else w e^{-b^2} erfcx(-y_r))
    # all times e^c.  w is taken from q alone, w = sqrt(pi) exp(2 log q + b^2 - c) (no overflow;
    # 0 where q underflows), so that S has a single consumer and XLA keeps the coefficient gathers
    # of :func:`_siegert_primitive` in one fused loop.  The arguments of the unused branches are
    # clamped, so no inf reaches reverse mode either.
    y_th, y_r = primals
    dy_th, dy_r = tangents
    q = _scaled_inverse_mfpt(y_th, y_r)
    b = jnp.maximum(y_th, 0.0)
    a = jnp.maximum(y_r, 0.0)
    positive = q > 0
    log_w = 2.0 * jnp.log(jnp.where(positive, q, 1.0)) + b * b - _scale_log(q.dtype)
    w = jnp.where(positive, math.sqrt(math.pi) * jnp.exp(jnp.where(positive, log_w, 0.0)), 0.0)

    def factor(y, above):
        return jnp.where(y > 0, above * erfc(-jnp.maximum(y, 0.0)), _erfcx_nonnegative(-jnp.minimum(y, 0.0)))

    d_th = w * factor(y_th, 1.0)
    d_r = w * jnp.where(y_r > 0, 1.0, jnp.exp(-b * b)) * factor(y_r, jnp.exp((a - b) * (a + b)))
    return q, d_r * dy_r - d_th * dy_th


def _log_rate_times_tau(log_r, ref_ratio):
    """log(nu tau_m) = -log(tau_ref/tau_m + R) = -log R - log1p(tau_ref/(tau_m R)), stable for R
    from e^-80 to beyond the float range (R = +inf gives -inf, i.e. nu = 0)."""
    return -log_r - jnp.log1p(ref_ratio * jnp.exp(-jnp.maximum(log_r, -80.0)))


def _safe_sqrt_ratio(tau_s, tau_m):
    """sqrt(tau_s/tau_m) with a zero (not NaN) derivative at tau_s = 0 (no correction there)."""
    pos = tau_s > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, tau_s, 1.0) / tau_m), 0.0)


class _Reduced(eqx.Module):
    """Dimensionless Siegert variables for one call (internal)."""

    y_th: jax.Array
    y_r: jax.Array
    noisy: jax.Array
    log_r: jax.Array  # log of T/tau_m (mean first-passage time over tau_m); +inf when silent
    inv_r: jax.Array  # e^c tau_m/T (no logarithm: the rate's fast path; c from _scale_log); 0 when silent
    log_nu_tau: jax.Array  # log(nu * tau_m)
    shift: jax.Array  # Fourcaud-Brunel shift in units of sigma
    tau_m: jax.Array  # membrane time constant (ms), broadcast
    tau_ref: jax.Array  # refractory period (ms), broadcast


def _broadcast_inputs(neuron: LIF, mu, sigma):
    fields = [neuron.tau_m, neuron.tau_ref, neuron.v_th, neuron.v_reset, neuron.tau_s]
    dtype = jnp.result_type(float, mu, sigma, *fields)
    arrs = jnp.broadcast_arrays(*(jnp.asarray(v, dtype) for v in [mu, sigma, *fields]))
    return arrs


def _reduce(neuron: LIF, mu, sigma, shifted: bool) -> _Reduced:
    mu, sigma, tau_m, tau_ref, v_th, v_reset, tau_s = _broadcast_inputs(neuron, mu, sigma)
    shift = _SHIFT_FACTOR * _safe_sqrt_ratio(tau_s, tau_m)
    if shifted:
        v_th = v_th + sigma * shift
        v_reset = v_reset + sigma * shift
    noisy = sigma > 0
    s = jnp.where(noisy, sigma, 1.0)
    y_th = (v_th - mu) / s
    y_r = (v_reset - mu) / s
    # sigma so small that (v - mu)/sigma overflows (sigma ~ 1e-308): the sigma -> 0 limit
    overflow = noisy & ~(jnp.isfinite(y_th) & jnp.isfinite(y_r))
    noisy = noisy & ~overflow
    y_th, y_r = jnp.where(overflow, 0.0, y_th), jnp.where(overflow, 0.0, y_r)
    # sigma = 0: deterministic passage time tau_m log((mu - v_r)/(mu - v_th)) above threshold
    # (computed only when some point needs it: a sweep without sigma = 0 skips it)
    supra = mu > v_th

    def deterministic():
        r = jnp.log1p((v_th - v_reset) / jnp.where(supra, mu - v_th, 1.0))
        return jnp.where(supra, jnp.log(r), jnp.inf), jnp.where(supra, math.exp(_scale_log(mu.dtype)) / r, 0.0)

    def silent():
        return jnp.full_like(mu, jnp.inf), jnp.zeros_like(mu)

    log_r_det, inv_r_det = jax.lax.cond(jnp.any(supra & ~noisy), deterministic, silent)
    log_r = jnp.where(noisy, _log_mfpt(y_th, y_r), log_r_det)
    inv_r = jnp.where(noisy, _scaled_inverse_mfpt(y_th, y_r), inv_r_det)
    log_nu_tau = _log_rate_times_tau(log_r, tau_ref / tau_m)
    return _Reduced(y_th, y_r, noisy, log_r, inv_r, log_nu_tau, shift, tau_m, tau_ref)


def _check_call(neuron, mu, sigma, correction, sigma_positive: bool = False) -> Conditions:
    """Validate a call; concrete violations raise here, traced ones are returned for
    :meth:`Conditions.enforce`.  ``sigma_positive``: refuse sigma = 0 too (the closed forms of
    the dynamic response need noise)."""
    if not isinstance(neuron, LIF):
        raise TypeError(f"neuron must be an mfjax.LIF, got {type(neuron).__name__}")
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {CORRECTIONS}, got {correction!r}")
    # concrete fields were checked when the neuron was built; LIF.conditions, not neuron.conditions:
    # equinox wraps bound methods of a Module in a new Module on every access (slow at the edge)
    conds = Conditions()
    LIF.conditions(neuron, conds.traced_only(), prefix="neuron")
    conds.require("mu", mu)
    conds.require("sigma", sigma, positive=sigma_positive, nonnegative=True)
    return conds


def lif_rate(neuron: LIF, mu, sigma, correction: str = "shift"):
    """Stationary firing rate (Hz) of a LIF neuron with Gaussian input of mean mu and std sigma (mV).

    White noise (``tau_s == 0``), the Siegert formula (Amit & Brunel 1997 eq. 21; Brunel 2000
    eq. 21)::

        1/nu = tau_ref + tau_m sqrt(pi) int_{(v_reset-mu)/sigma}^{(v_th-mu)/sigma} e^{u^2}(1+erf u) du.

    Colored noise (``tau_s > 0``, exponential synapses):

    * ``"shift"`` (Fourcaud & Brunel 2002, Neural Comput. 14:2057, eq. 4.33): both ``v_th`` and
      ``v_reset`` are shifted by ``sigma |zeta(1/2)|/sqrt(2) sqrt(tau_s/tau_m)``.
    * ``"taylor"`` (Schuecker, Diesmann & Helias 2015, Phys. Rev. E 92:052119, eq. 31 / NNMT):
      the first-order expansion ``nu = nu0 - nu0^2 tau_m sqrt(pi) alpha/2 sqrt(tau_s/tau_m)
      [erfcx(-y_th) - erfcx(-y_r)]`` of the shifted formula.  Where the first-order term exceeds
      ``nu0`` (deep sub-threshold, where the expansion is invalid) the result is clipped at 0 Hz
      instead of going negative.
    * ``"none"``: ignore ``tau_s`` (white-noise formula).

    ``sigma == 0`` gives the deterministic limit ``1/(tau_ref + tau_m log((mu-v_r)/(mu-v_th)))``
    above threshold and 0 below.  Deep sub-threshold rates underflow to exactly 0 (never NaN).

    Args:
        neuron: :class:`LIF` parameters (fields broadcast with ``mu`` and ``sigma``).
        mu: mean input (mV), any shape.
        sigma: input standard deviation (mV), >= 0.
        correction: ``"shift"`` (default), ``"taylor"`` or ``"none"``; irrelevant if tau_s = 0.

    Returns:
        Rate in Hz, broadcast shape of the inputs.

    Example:
        >>> lif_rate(LIF(20.0, 2.0, 20.0, 10.0), mu=15.0, sigma=5.0)  # 9.4607 Hz
    """
    conds = _check_call(neuron, mu, sigma, correction)
    return conds.enforce(_lif_rate(neuron, mu, sigma, correction))


@partial(jax.jit, static_argnames="correction")
def _lif_rate(neuron, mu, sigma, correction):
    red = _reduce(neuron, mu, sigma, shifted=(correction == "shift"))
    # nu = 1 / (tau_ref + tau_m R) = q / (tau_ref q + tau_m), q = 1/R = e^{-c} inv_r: no
    # logarithm, 0 when silent
    unscale = math.exp(-_scale_log(red.inv_r.dtype))
    nu = 1000.0 * red.inv_r / (red.tau_ref * unscale * red.inv_r + red.tau_m) * unscale
    if correction != "taylor":
        return nu
    # first-order term relative to nu0: nu0 tau_m sqrt(pi) shift [erfcx(-y_th) - erfcx(-y_r)]
    le_th = _log_erfcx_neg(red.y_th)
    le_r = _log_erfcx_neg(red.y_r)
    log_diff = le_th + jnp.log(-jnp.expm1(le_r - le_th))
    rel = red.shift * jnp.exp(red.log_nu_tau + _LOG_SQRT_PI + log_diff)
    rel = jnp.where(red.noisy, rel, 0.0)
    return jnp.maximum(nu * (1.0 - rel), 0.0)


# ----------------------------------------------------------------------------------------------
# ISI variability and membrane-potential density
# ----------------------------------------------------------------------------------------------


def _log_dawson_primitive(x):
    """log F(|x|) with F(x) = int_0^x e^{t^2} dt = e^{x^2} D(x)  (-inf at x = 0)."""
    ax = jnp.abs(x)
    nz = ax > 0
    safe = jnp.where(nz, ax, 1.0)
    return jnp.where(nz, safe * safe + jnp.log(dawsn(safe)), -jnp.inf)


def _log_primitive_difference(x1, x2):
    """log(F(x2) - F(x1)) for x1 <= x2, F(x) = int_0^x e^{t^2} dt (odd, increasing)."""
    l1, l2 = _log_dawson_primitive(x1), _log_dawson_primitive(x2)
    same_sign = (x1 >= 0) | (x2 <= 0)
    # same sign: |F(x2) - F(x1)| = F_big - F_small ; opposite signs: F(x2) + F(|x1|)
    big = jnp.maximum(l1, l2)
    d = jnp.where(big > -jnp.inf, jnp.minimum(l1, l2) - big, -jnp.inf)
    difference = big + jnp.log(-jnp.expm1(jnp.minimum(d, -1e-300)))
    return jnp.where(same_sign, difference, jnp.logaddexp(l1, l2))


def membrane_density(neuron: LIF, mu, sigma, v, correction: str = "shift"):
    """Stationary membrane-potential density P(V) in 1/mV (Brunel 2000, eq. 20)::

        P(V) = 2 nu tau_m / sigma  e^{-y^2} int_{max(y, y_r)}^{y_th} e^{u^2} du,   y = (V - mu)/sigma,

    for V < v_th (0 above).  With ``nu`` the stationary rate, ``int P dV + nu tau_ref = 1``.
    ``v`` broadcasts against ``mu`` and ``sigma``; requires sigma > 0.
    """
    conds = _check_call(neuron, mu, sigma, correction)
    conds.require("v", v)
    return conds.enforce(_membrane_density(neuron, mu, sigma, v, correction))


@partial(jax.jit, static_argnames="correction")
def _membrane_density(neuron, mu, sigma, v, correction):
    mu, sigma, v = jnp.broadcast_arrays(*(jnp.asarray(t, float) for t in (mu, sigma, v)))
    red = _reduce(neuron, mu, sigma, shifted=(correction == "shift"))
    mu, sigma, v = jnp.broadcast_arrays(mu, sigma, v, red.y_th)[:3]
    sigma = jnp.where(sigma > 0, sigma, 1.0)
    y = (v - mu) / sigma
    lower = jnp.maximum(y, red.y_r)
    below = y < red.y_th
    upper = red.y_th
    lower = jnp.where(below, lower, upper - 1.0)
    log_p = jnp.log(2.0 / sigma) + red.log_nu_tau - y * y + _log_primitive_difference(lower, upper)
    return jnp.where(below & red.noisy, jnp.exp(log_p), 0.0)


_CV_X, _CV_W = np.polynomial.legendre.leggauss(96)
_CV_WINDOW = 60.0  # e-folds of the integrand kept on each side


def _log_cv_integrand(y, y_th, y_r):
    """log of q(y) [F(y_th) - F(max(y, y_r))], q(y) = e^{y^2}(1+erf y)^2."""
    log_q = 2.0 * _log_erfcx_neg(y) - y * y
    m = jnp.minimum(jnp.maximum(y, y_r), y_th)
    return log_q + _log_primitive_difference(m, jnp.broadcast_to(y_th, m.shape))


def _log_gl(log_f, s0, s1):
    """log int_{sinh s0}^{sinh s1} exp(log_f(y)) dy in s = asinh(y): 96-point Gauss-Legendre in s
    with max-subtraction (the Jacobian cosh s tames power-law tails and long ranges)."""
    x, w = _rule(_CV_X, _CV_W, s0)
    half = 0.5 * (s1 - s0)
    s = (0.5 * (s1 + s0))[..., None] + half[..., None] * x
    vals = log_f(jnp.sinh(s)) + jnp.log(jnp.cosh(s))
    top = jnp.max(jnp.where(jnp.isfinite(vals), vals, -jnp.inf), axis=-1, keepdims=True)
    top = jnp.where(jnp.isfinite(top), top, 0.0)
    total = jnp.sum(w * jnp.exp(vals - top), axis=-1)
    return jnp.log(jnp.maximum(half * total, 1e-300)) + top[..., 0]


def lif_cv(neuron: LIF, mu, sigma, correction: str = "shift"):
    """Coefficient of variation of the inter-spike interval (Brunel 2000, eq. A.8 / 22)::

        CV^2 = 2 pi (nu tau_m)^2 int_{y_r}^{y_th} e^{x^2} dx int_{-inf}^{x} e^{y^2}(1+erf y)^2 dy,

    evaluated after exchanging the order of integration, so the inner integral is the closed
    form ``F(y_th) - F(max(y, y_r))`` with ``F(x) = e^{x^2} D(x)`` (Dawson's function):
    ``CV^2 = 2 pi (nu tau_m)^2 int_{-inf}^{y_th} e^{y^2}(1+erf y)^2 [F(y_th) - F(max(y,y_r))] dy``.
    The outer integral is a Gauss-Legendre rule in log space on ``sinh``-stretched coordinates.
    Limits: 1 deep below threshold (Poisson), 0 for sigma -> 0 above threshold.  With colored
    noise the same threshold shift as :func:`lif_rate` is applied (``"shift"``), an approximation.
    Dimensionless, broadcast shape of the inputs.
    """
    conds = _check_call(neuron, mu, sigma, correction)
    return conds.enforce(_lif_cv(neuron, mu, sigma, correction))


@partial(jax.jit, static_argnames="correction")
def _lif_cv(neuron, mu, sigma, correction):
    red = _reduce(neuron, mu, sigma, shifted=(correction == "shift"))
    y_th, y_r = red.y_th, red.y_r
    # The passage y_r -> y_th is the sum of the independent passages y_r -> y_m -> y_th (paths
    # are continuous, the process Markov), so means and variances add.  Below y_m = -12 the
    # weak-noise expansion is exact to 1e-14 (_weak_noise_moments); the quadrature covers
    # [max(y_r, y_m), y_th], where it is exact, whatever the range of the input.
    edge = -_CV_WEAK_NOISE
    all_weak = y_th < edge
    split = (y_r < edge) & ~all_weak
    q_th = jnp.where(all_weak, 0.0, y_th)
    q_r = jnp.where(all_weak, -1.0, jnp.where(split, edge, y_r))
    log_var_q = math.log(2.0 * math.pi) + _log_isi_variance_integral(q_th, q_r)
    log_mean_q = _log_mfpt(q_th, q_r)
    use_weak = all_weak | split
    var_w, mean_w = _weak_noise_moments(jnp.where(all_weak, y_th, edge), jnp.where(use_weak, y_r, 2.0 * edge))
    log_var_w = jnp.log(jnp.where(use_weak, var_w, 1.0))
    log_mean_w = jnp.log(jnp.where(use_weak, mean_w, 1.0))
    log_var = jnp.where(all_weak, log_var_w, jnp.where(split, jnp.logaddexp(log_var_q, log_var_w), log_var_q))
    log_mean = jnp.where(all_weak, log_mean_w, jnp.where(split, jnp.logaddexp(log_mean_q, log_mean_w), log_mean_q))
    # ISI = tau_m (E[T]/tau_m + tau_ref/tau_m)
    log_isi = log_mean + jnp.log1p(red.tau_ref / red.tau_m * jnp.exp(-log_mean))
    cv = jnp.exp(0.5 * log_var - log_isi)
    # far below threshold the ISI is a rare escape (Poisson; relative corrections ~ e^{-y_th^2})
    cv = jnp.where(y_th > _CV_POISSON, 1.0, cv)
    det = jnp.where(red.log_r < jnp.inf, 0.0, 1.0)  # sigma = 0: regular firing or silent
    return jnp.where(red.noisy, cv, det)


def _log_isi_variance_integral(y_th, y_r):
    """log W with Var(T) = 2 pi tau_m^2 W (Brunel 2000 eq. A.8 after exchanging the order of
    integration): W = int_{-inf}^{y_th} e^{y^2}(1+erf y)^2 [F(y_th) - F(max(y, y_r))] dy."""
    # lower end of the outer integral: where q(y) has fallen by e^{-window} below its value at
    # min(y_r, 0) (q ~ e^{-y^2}/y^2 for y < 0, ~4 e^{y^2} for y > 0)
    ref = jnp.minimum(y_r, 0.0)
    y_lo = ref - _CV_WINDOW / (2.0 * jnp.abs(ref) + 2.0) - 2.0
    # lower end of the relevant part above 0: where e^{y^2} fell by e^{-window} below e^{y_th^2}
    b2 = y_th * y_th
    far = b2 > _CV_WINDOW
    y_cut = jnp.where(far & (y_th > 0), jnp.sqrt(jnp.where(far, b2 - _CV_WINDOW, 1.0)), -jnp.inf)

    # the inner factor has a kink at y = y_r: integrate [y_lo, y_r] and [y_r, y_th] separately
    def log_f(y):
        return _log_cv_integrand(y, y_th[..., None], y_r[..., None])

    mid = jnp.maximum(y_r, y_cut)
    log_below = _log_gl(log_f, jnp.arcsinh(jnp.minimum(y_lo, y_r)), jnp.arcsinh(y_r))
    log_above = _log_gl(log_f, jnp.arcsinh(mid), jnp.arcsinh(y_th))
    return jnp.logaddexp(log_below, log_above)


#: above threshold by more than this many sigma (y_th < -12) the weak-noise expansion is used
#: (nine orders: relative error < 1e-14 there; the quadrature loses digits from about
#: y_th = -14 on when y_r is far below); deep below (y_th > 12) the CV is 1 to machine precision
_CV_WEAK_NOISE = 12.0
_CV_POISSON = 12.0
#: weak-noise coefficients, Var(T)/tau_m^2 = sum_k VAR_k A_k and E[T]/tau_m = log(y_r/y_th) +
#: sum_k MEAN_k A_k with A_k = y_th^{-2k} - y_r^{-2k} (k = 1..9; derivation in _weak_noise_moments)
_WEAK_VAR = (1 / 2, -5 / 8, 4 / 3, -65 / 16, 2589 / 160, -10223 / 128, 422232 / 896, -829170 / 256,
             13021465 / 512)
_WEAK_MEAN = (-1 / 4, 3 / 16, -5 / 16, 105 / 128, -189 / 64, 3465 / 256, -19305 / 256, 2027025 / 4096,
              -3828825 / 1024)


def _weak_noise_moments(y_th, y_r):
    """(Var(T)/tau_m^2, E[T]/tau_m) of the first passage y_r -> y_th for weak noise above
    threshold (y_r <= y_th << 0), to relative order y_th^{-18}.

    The first two moments of the first-passage time solve ``D T_1'' + f T_1' = -1`` and
    ``D T_2'' + f T_2' = -2 T_1`` with ``f = (mu - V)/tau_m``, ``D = sigma^2 / (2 tau_m)``,
    ``T_k(v_th) = 0`` (Gardiner, Handbook of Stochastic Methods, sec. 5.2.7).  Expanded in
    powers of ``D`` (each order a primitive of the previous one's second derivative) they are
    sums of ``A_k = y_th^{-2k} - y_r^{-2k}`` (``y = (v - mu)/sigma``; coefficients to k = 9
    computed symbolically, exact rationals in ``_WEAK_VAR``, ``_WEAK_MEAN``)::

        Var(T)/tau_m^2 = A_1/2 - 5 A_2/8 + 4 A_3/3 - 65 A_4/16 + 2589 A_5/160 - ...
        E[T]/tau_m = log(y_r/y_th) - A_1/4 + 3 A_2/16 - 5 A_3/16 + 105 A_4/128 - ...

    so that ``CV = sqrt(Var T) / (E[T] + tau_ref)``.  The leading term is the deterministic
    period ``tau_m log((mu - v_r)/(mu - v_th))``; ``CV -> 0`` as ``sigma -> 0``.
    """
    t = 1.0 / (y_th * y_th)
    r = 1.0 / (y_r * y_r)
    q = y_th / y_r  # in (0, 1]: t - r = t (1 - q)(1 + q), no cancellation, no overflow
    t_minus_r = t * (1.0 - q) * (1.0 + q)
    var = jnp.zeros_like(t)
    mean = jnp.log1p((y_th - y_r) / -y_th)
    s, r_pow = jnp.ones_like(t), jnp.ones_like(t)  # A_k = (t - r) s_k, s_k = t s_{k-1} + r^{k-1}
    for k, (c_var, c_mean) in enumerate(zip(_WEAK_VAR, _WEAK_MEAN)):
        if k:
            r_pow = r_pow * r
            s = t * s + r_pow
        a_k = t_minus_r * s
        var = var + c_var * a_k
        mean = mean + c_mean * a_k
    return var, mean
