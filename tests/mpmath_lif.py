"""mpmath references for the LIF neuron shared by the test modules (nothing from mfjax).

* ``psi``: ``e^{x^2/4} D_order(x) = e^{x^2/4} U(-order - 1/2, x)`` (DLMF 12.1), ``mpmath.pcfu``;
* ``siegert``: the Siegert rate (1/ms for times in ms) by ``mpmath.quad``;
* ``responses``: the rate and its linear responses to the mean and the variance of the input in
  the closed form of Brunel & Hakim (1999) / Lindner & Schimansky-Geier (2001), ``e^{lambda t}``
  convention, with the reset's phase ``e^{-s tau_ref/tau_m}``.
"""

import mpmath as mp


def psi(order, x):
    return mp.exp(x * x / 4) * mp.pcfu(-order - mp.mpf(1) / 2, x)


def siegert(tm, tr, vth, vr, mu, sg):
    integrand = lambda u: mp.exp(u * u) * mp.erfc(-u)  # noqa: E731
    return 1 / (tr + tm * mp.sqrt(mp.pi) * mp.quad(integrand, [(vr - mu) / sg, (vth - mu) / sg]))


def responses(tm, tr, vth, vr, mu, sg, f):
    """``(nu, h, h_var)``: Hz, Hz/mV, Hz/mV^2 at the frequency ``f`` (Hz, complex allowed); times ms."""
    tm, tr, vth, vr, mu, sg = map(mp.mpf, (tm, tr, vth, vr, mu, sg))
    s = 2j * mp.pi * mp.mpc(f) * tm / 1000
    nu = 1000 * siegert(tm, tr, vth, vr, mu, sg)
    xt, xr = mp.sqrt(2) * (mu - vth) / sg, mp.sqrt(2) * (mu - vr) / sg
    den = psi(-s, xt) - mp.exp(-s * tr / tm) * psi(-s, xr)
    h = nu * mp.sqrt(2) / sg * s / (1 + s) * (psi(-1 - s, xt) - psi(-1 - s, xr)) / den
    h_var = nu / sg**2 * s * (s + 1) / (2 + s) * (psi(-2 - s, xt) - psi(-2 - s, xr)) / den
    return nu, h, h_var
