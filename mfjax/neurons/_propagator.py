"""Exact propagation of a modulated Fokker-Planck solution across one threshold-integration step.

On a step of length ``h`` below a node (``x`` = distance below it) the modulated density ``p``
and its mass ``m = int_0^x p`` obey, with the drift rate frozen at ``gamma = Gamma/h`` and the
flux eliminated through ``J = J_top + a m`` (exact: ``dJ/dV = -a P``)::

    d/dx (p, m) = N (p, m) + (b(x), 0),    N = [[-gamma, a c], [1, 0]],    b = c J_top - r(x),

``r`` the forcing.  The solution is ``e^{N h}(p_top, 0) + int_0^h e^{N (h - x)} (b(x), 0) dx``,
written with Putzer's form ``e^{N y} = e^{l2 y} I + (e^{l1 y} - e^{l2 y})/delta (N - l2 I)``,
``l1,2 = (-gamma +- delta)/2``, ``delta^2 = gamma^2 + 4 a c``, so that each entry is a scalar
integral of ``e^{l (h - x)} s(x)`` in closed form (phi-functions of exponential integrators,
Hochbruck & Ostermann 2010, Acta Numer. 19:209) for the three source shapes the engine needs:
``1`` (the flux), ``e^{-gamma x}`` and ``x E(gamma x) = (1 - e^{-gamma x})/gamma`` (the
stationary profile that forces the mean and variance responses).  Where ``|delta h| < 1/2``
the divided difference by ``delta`` would cancel; there every factor is smooth and a 6-point
Gauss-Legendre rule on the propagator written as an entire function of ``delta^2``
(``cosh`` and ``sinh(z)/z`` series) is exact to rounding.

So an oscillation of the modulated density inside a step (``|delta| h`` up to several radians,
high frequencies where the drift is slow) and a stiff step (``gamma h >> 1``) are both
integrated exactly for frozen coefficients; what is left is the variation of ``gamma`` across
the step, a smooth power series in ``h`` that the Romberg combination of the engine removes.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

# 6 nodes: for |delta h| < 1/2 the rule's error (|lambda h|^12/12!) is below 1e-12
_GL = [(float(x), float(w)) for x, w in zip(*np.polynomial.legendre.leggauss(6))]  # weak Python floats
_SMALL = 0.5  # |delta h| below which the Gauss-Legendre form is used
_TERMS = 14  # 0.5^14/14! < 1e-15


def _phi(k: int, z):
    """phi_k(z) = sum_n z^n/(n + k)! (phi_1 = (e^z - 1)/z), complex; series for |z| < 1/2,
    the recurrence phi_{k+1} = (phi_k - 1/k!)/z from e^z beyond."""
    near = jnp.abs(z) < _SMALL
    zs = jnp.where(near, 1.0, z)
    value = jnp.exp(zs)
    for j in range(k):
        value = (value - 1.0 / math.factorial(j)) / zs
    series = jnp.zeros_like(z)
    for n in range(_TERMS - 1, -1, -1):
        series = series * z + 1.0 / math.factorial(n + k)
    return jnp.where(near, series, value)


class StepWeights(NamedTuple):
    """``p(h) = wp p_top + sum_s (source coefficient) ip[s]``, ``m(h) = wm p_top + sum_s
    (coefficient) im[s]``, ``s`` in (constant, exponential, ramp)."""

    wp: object
    wm: object
    ip: tuple
    im: tuple


def _closed_form(gamma, delta2, h):
    """|delta h| >= 1/2: Putzer's form with closed-form scalar integrals."""
    delta = jnp.sqrt(delta2)
    l1, l2 = 0.5 * (-gamma + delta), 0.5 * (-gamma - delta)
    gh = gamma * h
    small_g = jnp.abs(gh) < 1e-5
    g_safe = jnp.where(small_g, 1.0, gamma)

    def transforms(lam):
        lh = lam * h
        const = h * _phi(1, lh)
        expo = h * jnp.exp(lh) * _phi(1, -(lam + gamma) * h)
        ramp = jnp.where(small_g, h * h * (_phi(2, lh) - gh * _phi(3, lh)), (const - expo) / g_safe)
        return jnp.exp(lh), (const, expo, ramp)

    e1, t1 = transforms(l1)
    e2, t2 = transforms(l2)
    d_h = (e1 - e2) / delta
    ip, im = [], []
    for a1, a2 in zip(t1, t2):
        s_delta = (a1 - a2) / delta
        ip.append(a2 + l1 * s_delta)
        im.append(s_delta)
    return StepWeights(e2 + l1 * d_h, d_h, tuple(ip), tuple(im))


def _entire(gamma, delta2, y):
    """``(Wp, Wm)(y)``, the first column of ``e^{N y}``, as entire functions of ``delta^2``."""
    w = 0.25 * delta2 * y * y
    ch = jnp.zeros_like(w)
    sh = jnp.zeros_like(w)
    for n in range(6, -1, -1):  # w <= 1/16: the next term is below 1e-18
        ch = ch * w + 1.0 / math.factorial(2 * n)
        sh = sh * w + 1.0 / math.factorial(2 * n + 1)
    sh = sh * y
    damp = jnp.exp(-0.5 * gamma * y)
    return damp * (ch - 0.5 * gamma * sh), damp * sh


def _quadrature(gamma, delta2, h):
    """|delta h| < 1/2: every factor smooth; 6-point Gauss-Legendre in y = h - x."""
    wp, wm = _entire(gamma, delta2, h)
    ip = [0.0, 0.0, 0.0]
    im = [0.0, 0.0, 0.0]
    for node, weight in _GL:
        y = 0.5 * h * (node + 1.0)
        x = h - y
        gx = gamma * x
        small = jnp.abs(gx) < 1e-3
        gs = jnp.where(small, 1.0, gx)
        ramp = x * jnp.where(small, 1.0 - gx / 2.0 + gx * gx / 6.0 - gx**3 / 24.0, -jnp.expm1(-gs) / gs)
        sources = (1.0, jnp.exp(-gx), ramp)
        vp, vm = _entire(gamma, delta2, y)
        for i, s in enumerate(sources):
            ip[i] = ip[i] + 0.5 * h * weight * vp * s
            im[i] = im[i] + 0.5 * h * weight * vm * s
    return StepWeights(wp, wm, tuple(ip), tuple(im))


def step_weights(gamma, a, c, h) -> StepWeights:
    """The propagation weights of one step for drift rate ``gamma`` (1/mV), ``a`` (1/ms, real or
    complex), ``c = 2 tau_m/sigma^2`` (ms/mV^2), length ``h`` (mV); all broadcast."""
    delta2 = gamma * gamma + 4.0 * a * c
    big = jnp.abs(delta2) * h * h >= _SMALL * _SMALL
    closed = _closed_form(gamma, jnp.where(big, delta2, 1.0 / (h * h)), h)
    quad = _quadrature(jnp.where(big, 0.0, gamma), jnp.where(big, 0.0, delta2), h)
    pick = lambda u, v: jnp.where(big, u, v)  # noqa: E731
    return StepWeights(pick(closed.wp, quad.wp), pick(closed.wm, quad.wm),
                       tuple(map(pick, closed.ip, quad.ip)), tuple(map(pick, closed.im, quad.im)))
