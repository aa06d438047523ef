"""Weber (parabolic-cylinder) integrals of complex order, as the LIF linear response needs them.

The dynamic transfer function of the LIF neuron (Brunel & Hakim 1999; Lindner &
Schimansky-Geier 2001) is a ratio of parabolic cylinder functions ``D_{-s}(x)`` of complex order
``s = lambda tau_m`` at the two real points ``x`` of threshold and reset.  In the integral form
(DLMF 12.5.1, ``U(a, x) = D_{-a-1/2}(x)``)::

    I_sigma(x) = int_0^inf t^{sigma-1} e^{-x t - t^2/2} dt = Gamma(sigma) e^{x^2/4} D_{-sigma}(x),

every Gamma function cancels from the response (see :mod:`._transfer`), which needs only

* ``I1 = I_{s+1}(x)`` and ``I2 = I_{s+2}(x)``, and
* ``E = (J_s(x) - 1)/s`` with ``J_s = s I_s = x I_{s+1} + I_{s+2}`` (integration by parts;
  ``J_0 = 1``), finite and free of cancellation as ``s -> 0``.

Two exact evaluations, chosen per point:

* **Power series** in ``x`` (``-7.5 <= x <= 2``, ``|Im s| <= 8``, ``-0.9 < Re s <= 10``)::

      I_sigma(x) = sum_j (-x)^j / j!  2^{(sigma+j)/2 - 1} Gamma((sigma+j)/2),

  200 terms (the term ratio is ``x^2 (sigma+j)/((j+1)(j+2))``), and
  ``E = (2^{s/2} Gamma(1+s/2) - 1)/s - x sum_j c_j (-x)^j/(j+1)`` with the ``c_j`` of
  ``I_{s+1}``; the first term through the series of ``log Gamma(1+z)`` (zeta values) near 0.
* **Steepest descent** elsewhere: with ``t = e^w`` the integrand is ``e^{psi(w)}``,
  ``psi = (s+1) w - x e^w - e^{2w}/2``, entire in ``w``.  The path through the saddle ``w*``
  (``e^{w*}`` the root of ``y^2 + x y = s + 1`` with positive real part) on which
  ``psi(w) = psi(w*) - tau^2`` is followed by Newton's method node by node, and the integral is
  the trapezoidal rule in ``tau`` (step 0.2 and 61 nodes for ``|s| < 1``, where other saddles
  lie close to the path; 0.3 and 41 up to ``|s| = 8``; 0.5 and 25 beyond), which converges
  geometrically on such a path.  Two Newton steps per node from a second-order predictor; one exponential per node.  For ``Re s < 0`` the integrals are taken at ``s + m``
  (``m = ceil(-Re s) <= 3``; for ``x < -7.5`` only below ``Re s = -0.8``) and brought down by ``I_sigma = (x I_{sigma+1} + I_{sigma+2})/sigma``.
  Orders with ``Im s < 0`` use ``I_{conj sigma} = conj I_sigma``.

Accuracy (float64, against ``mpmath.pcfu`` at 40 digits, ``tests/neurons/test_transfer.py``):
relative error below 1e-12 for ``|x| <= 40``, ``|s| <= 2000``, ``Re s > -3``.  Values carry a
real log-scale ``c`` (value = ``e^c`` times the returned number) so that ``e^{x^2/2}`` growth and
``|Gamma(1 + i Omega)| ~ e^{-pi Omega/2}`` decay never overflow.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp

__all__ = ["weber_integrals", "exprel", "log_gamma", "MAX_SHIFT"]

_LANCZOS = (  # g = 7, n = 9 (Godfrey's coefficients; relative error ~1e-15 for Re z > 0)
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_EULER_GAMMA = 0.5772156649015329


def _zeta_values(kmax: int = 60):
    """zeta(k), k = 2..kmax, by Euler-Maclaurin summation (float64 exact to the last bit)."""
    n = 20
    out = []
    for k in range(2, kmax + 1):
        head = sum(float(j) ** -k for j in range(1, n))
        tail = n ** (1 - k) / (k - 1) + 0.5 * n**-k + k * n ** (-k - 1) / 12.0
        tail -= k * (k + 1) * (k + 2) * n ** (-k - 3) / 720.0
        tail += k * (k + 1) * (k + 2) * (k + 3) * (k + 4) * n ** (-k - 5) / 30240.0
        out.append(head + tail)
    return out


# log Gamma(1+z)/z = -gamma + sum_{k>=2} zeta(k) (-z)^{k-1}/k   (|z| < 1; 60 terms for |z| <= 1/2)
_LGAMMA1P_SERIES = tuple(float((-1) ** k * zk / k) for k, zk in enumerate(_zeta_values(), start=2))

MAX_SHIFT = 3  # orders with Re s > -MAX_SHIFT are reachable
_SERIES_X = (-7.5, 2.0)
_SERIES_IM = 8.0
_SERIES_RE = 10.0
_SERIES_PAIRS = 100
# (step, nodes per side) of the trapezoidal rule on the path: for |s| < 1 other saddles lie close
# to the path (geometric convergence needs the finer step); the coarser steps keep 1e-11 beyond
_PATH_TIERS = ((1.0, 0.2, 30), (8.0, 0.3, 20), (math.inf, 0.5, 12))  # (|s| below, step, nodes)
_COMPACT_MIN = 512  # below this many points every method sees every point
_ROUNDS = 8  # larger batches: each method runs over batches of 1/_ROUNDS of the points it needs
_UNROLL = 5
_NEWTON = 2
_SMALL_S = 0.005  # below this |s| the steepest-descent E uses its own kernel
_EXPREL_TERMS = 10


def _exp_small(z):
    """e^z for the small Newton corrections (|z| < 0.1: degree-9 Taylor, error < 3e-16)."""
    acc = jnp.ones_like(z)
    for n in range(9, 0, -1):
        acc = 1.0 + acc * z / n
    return acc


def log_gamma(z):
    """Principal-value-free log Gamma(z) for complex z with Re z > 0 (Lanczos on z + 1); the
    imaginary part may differ from the principal branch by 2 pi k (only exponentials are used)."""
    a = _LANCZOS[0]
    for k in range(1, 9):
        a = a + _LANCZOS[k] / (z + k)
    t = z + 7.5
    return _LOG_SQRT_2PI + (z + 0.5) * jnp.log(t) - t + jnp.log(a) - jnp.log(z)


def _log_gamma1p_over_z(z):
    """log Gamma(1+z)/z, accurate also as z -> 0 (series for |z| < 1/2, Lanczos beyond)."""
    near = jnp.abs(z) < 0.5
    zs = jnp.where(near, z, 0.0)
    acc = jnp.zeros_like(zs)
    for c in reversed(_LGAMMA1P_SERIES):
        acc = acc * zs + c
    series = -_EULER_GAMMA + zs * acc
    zf = jnp.where(near, 1.0, z)
    far = (log_gamma(zf) + jnp.log(zf)) / zf
    return jnp.where(near, series, far)


def exprel(z):
    """(e^z - 1)/z, 1 at z = 0."""
    tiny = jnp.abs(z) < 1e-6
    zs = jnp.where(tiny, 1.0, z)
    return jnp.where(tiny, 1.0 + z / 2 + z * z / 6, jnp.expm1(zs) / zs)


def _series(s, x):
    """(I_{s+1}, I_{s+2}, E) by the power series (inputs inside the series region).

    The terms follow ``t_{j+2} = t_j x^2 (sigma + j)/((j+1)(j+2))`` from ``t_0 = c_0``,
    ``t_1 = -x c_1``; the loop carries them (no array of terms is formed)."""
    ln2 = math.log(2.0)
    lg_half = log_gamma((s + 1) / 2)  # Gamma((s+1)/2)
    lg_one = log_gamma((s + 2) / 2)  # Gamma((s+2)/2)
    lg_three = lg_half + jnp.log((s + 1) / 2)  # Gamma((s+3)/2)
    x2 = x * x
    s1, s2 = s + 1, s + 2
    # t: the current even and odd terms of I_{s+1} and of I_{s+2}
    t1e = jnp.exp((s1 / 2 - 1) * ln2 + lg_half)
    t1o = -x * jnp.exp((s1 / 2 - 0.5) * ln2 + lg_one)
    t2e = jnp.exp((s2 / 2 - 1) * ln2 + lg_one)
    t2o = -x * jnp.exp((s2 / 2 - 0.5) * ln2 + lg_three)
    zero = jnp.zeros_like(t1e)

    def pair(j, carry):
        t1e, t1o, t2e, t2o, i1, i2, e_sum = carry
        j = 2 * j
        i1 = i1 + t1e + t1o
        i2 = i2 + t2e + t2o
        e_sum = e_sum + t1e / (j + 1) + t1o / (j + 2)
        t1e = t1e * x2 * ((s1 + j) / ((j + 1) * (j + 2)))
        t1o = t1o * x2 * ((s1 + j + 1) / ((j + 2) * (j + 3)))
        t2e = t2e * x2 * ((s2 + j) / ((j + 1) * (j + 2)))
        t2o = t2o * x2 * ((s2 + j + 1) / ((j + 2) * (j + 3)))
        return t1e, t1o, t2e, t2o, i1, i2, e_sum

    carry = (t1e, t1o, t2e, t2o, zero, zero, zero)
    *_, i1, i2, e_sum = jax.lax.fori_loop(0, _SERIES_PAIRS, pair, carry, unroll=_UNROLL)
    # (2^{s/2} Gamma(1 + s/2) - 1)/s = (L/s) exprel(L), L = (s/2) log 2 + log Gamma(1 + s/2)
    l_over_s = 0.5 * (ln2 + _log_gamma1p_over_z(s / 2))
    e = l_over_s * exprel(s * l_over_s) - x * e_sum
    return jnp.zeros_like(x), i1, i2, e


def _path(s, x, step, nodes):
    """(c, I_{s+1}, I_{s+2}, E) by steepest descent; values are e^c times the returned ones."""
    flip = jnp.imag(s) < 0
    s = jnp.where(flip, jnp.conj(s), s)
    # the path needs Re(s + 1) clearly positive; far below zero (saddle far from t = 0) it copes
    # down to Re(s + 1) = 0.2, and the downward recurrence, which loses ~x^2/|s| per step there,
    # is avoided
    m = jnp.clip(jnp.ceil(-jnp.real(s) - jnp.where(x < _SERIES_X[0], 0.8, 0.0)), 0, MAX_SHIFT)
    sp = s + m
    a = sp + 1
    root = jnp.sqrt(x * x + 4 * a)
    y = jnp.where(x > 0, 2 * a / (x + root), (-x + root) / 2)  # no cancellation either side
    w0 = jnp.log(y)

    psi0 = a * w0 - x * y - 0.5 * y * y  # psi at the saddle (e^{w0} = y)
    d2 = -x * y - 2 * y * y
    d3 = -x * y - 4 * y * y
    c1 = jnp.sqrt(-2.0 / d2)  # dw/dtau at the saddle (Re >= 0: the branch heading right)
    c2 = -d3 * c1 * c1 / (6 * d2)
    h = step
    # E directly where |s| is small (Re s >= 0): int e^{psi} (x + t) w exprel(-s w) dw, the
    # exprel by its Taylor polynomial (|s w| <= 0.2 where the weight matters)
    small = (jnp.abs(s) < _SMALL_S) & (m == 0)
    s_small = jnp.where(small, sp, 0.0)

    # the two halves of the path along axis 0: per-point values as rows
    xr, ar, psi0r, s_small_r = (v[None] for v in (x, a, psi0, s_small))

    def psi_rows(w, e):
        """psi, psi', psi'' at w (rows), given e = e^w."""
        xe, e2 = xr * e, e * e
        return ar * w - xe - 0.5 * e2, ar - xe - e2, -xe - 2 * e2

    def kernels(weight, w, e):
        """Contributions of one node to I_{s+1}, I_{s+2} and E (rows)."""
        sw = -s_small_r * w
        rel = jnp.ones_like(sw)
        for n in range(_EXPREL_TERMS, 0, -1):
            rel = 1.0 + rel * sw / (n + 1)
        return weight, weight * e, weight * (xr + e) * w * rel

    # Newton continuation node by node, both halves of the path at once (axis 0: tau > 0 and
    # tau < 0), the quadrature sums carried along.  One exponential per node (the
    # predictor's); Newton's small corrections update e^w by a Taylor polynomial.
    sign = jnp.array([[1.0], [-1.0]], jnp.real(s).dtype)

    def node(carry, k):
        w, slope, curv, sums = carry
        tau = sign * h * k
        step = sign * h
        w = w + slope * step + 0.5 * curv * step * step
        e = jnp.exp(w)
        for _ in range(_NEWTON):
            p0, p1, _p2 = psi_rows(w, e)
            delta = (p0 - psi0r + tau * tau) / p1
            w = w - delta
            e = e * _exp_small(-delta)
        _p0, p1, p2 = psi_rows(w, e)
        slope = -2 * tau / p1
        curv = (-2 - p2 * slope * slope) / p1
        sums = tuple(acc + v for acc, v in zip(sums, kernels(h * jnp.exp(-tau * tau) * slope, w, e)))
        return (w, slope, curv, sums), None

    start = kernels(h * c1[None], w0[None], y[None])
    two = lambda v: jnp.broadcast_to(v, (2,) + jnp.shape(v)[1:])  # noqa: E731
    carry = (two(w0[None]), two(c1[None]), two(2 * c2[None]), tuple(jnp.zeros_like(two(v)) for v in start))
    ks = jnp.arange(1, nodes + 1, dtype=jnp.real(s).dtype)
    (*_, sums), _ = jax.lax.scan(node, carry, ks)
    k1, k2, ke = (v0[0] + acc[0] + acc[1] for v0, acc in zip(start, sums))
    # down to the wanted order: (I_{sigma+1}, I_{sigma+2}) -> (I_sigma, I_{sigma+1})
    for i in range(MAX_SHIFT):
        take = i < m
        sigma = sp - i
        lower = (x * k1 + k2) / jnp.where(take, sigma, 1.0)
        k1, k2 = jnp.where(take, lower, k1), jnp.where(take, k1, k2)
    c = jnp.real(psi0)
    phase = jnp.exp(1j * jnp.imag(psi0))
    k1, k2, ke = k1 * phase, k2 * phase, ke * phase
    j_hat = x * k1 + k2
    s_safe = jnp.where(small | (s == 0), 1.0, s)
    e = jnp.where(small, ke, (j_hat - jnp.exp(-jnp.maximum(c, -50.0))) / s_safe)
    k1, k2, e = (jnp.where(flip, jnp.conj(v), v) for v in (k1, k2, e))
    return c, k1, k2, e


def _fill(out, mask, method, s, x, safe):
    """``out`` with ``method``'s values where ``mask``; ``method`` sees only its own points (the
    others get the finite ``safe`` input).  Large batches gather the masked points into buffers
    of ``1/_ROUNDS`` of the batch and run the method once per buffer that has points, so each
    method costs what its points need (one compiled copy; differentiable: a scan of conds)."""
    n = mask.shape[0]
    safe_s, safe_x = safe
    if n < _COMPACT_MIN:
        res = method(jnp.where(mask, s, safe_s), jnp.where(mask, x, safe_x))
        return tuple(jnp.where(mask, r, o) for r, o in zip(res, out))
    size = -(-n // _ROUNDS)
    rank = jnp.cumsum(mask) - 1  # position of each masked point among the masked ones
    count = jnp.sum(mask)

    def round_(out, r):
        def run(out):
            idx = jnp.nonzero(mask & (rank >= r * size), size=size, fill_value=n)[0]
            valid = idx < n
            take = jnp.where(valid, idx, 0)
            res = method(jnp.where(valid, s[take], safe_s), jnp.where(valid, x[take], safe_x))
            return tuple(o.at[idx].set(v, mode="drop") for v, o in zip(res, out))

        return jax.lax.cond(count > r * size, run, lambda o: o, out), None

    out, _ = jax.lax.scan(round_, out, jnp.arange(_ROUNDS))
    return out


def weber_integrals(s, x):
    """``(c, I1, I2, E)`` with ``I_{s+1}(x) = e^c I1``, ``I_{s+2}(x) = e^c I2``,
    ``(s I_s(x) - 1)/s = e^c E`` (see the module docstring); ``s`` complex (``Re s > -3``),
    ``x`` real, broadcast together.  ``E`` is exact for ``|s| < 1`` (where it is used); for
    larger ``|s|`` it is only required to be finite."""
    s, x = jnp.broadcast_arrays(s, x)
    shape = s.shape
    s, x = s.reshape(-1), x.reshape(-1)
    in_series = (
        (x >= _SERIES_X[0])
        & (x <= _SERIES_X[1])
        & (jnp.abs(jnp.imag(s)) <= _SERIES_IM)
        & (jnp.real(s) <= _SERIES_RE)
        & (jnp.real(s) > -0.9)  # Gamma((s+1)/2) by Lanczos needs Re(s + 1) > 0
    )
    real = jnp.real(s).dtype
    out = (jnp.zeros(s.shape, real),) + 3 * (jnp.zeros(s.shape, s.dtype),)
    out = _fill(out, in_series, _series, s, x, (0.5, 0.0))
    lower = 0.0
    for upper, step, nodes in _PATH_TIERS:
        size = jnp.abs(s)
        tier = ~in_series & (size >= lower) & (size < upper)
        safe = (0.5 * (lower + min(upper, 2 * lower + 1)) * 1j, -10.0)
        out = _fill(out, tier, partial(_path, step=step, nodes=nodes), s, x, safe)
        lower = upper
    return tuple(v.reshape(shape) for v in out)
