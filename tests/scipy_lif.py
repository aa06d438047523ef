"""scipy references for the LIF neuron shared by the test modules (nothing from mfjax)."""

import math

from scipy.integrate import quad
from scipy.special import erfcx


def siegert(tau_m, tau_ref, v_th, v_r, mu, sigma, epsrel=1e-13):
    """Siegert rate (Hz, times in ms) by scipy quadrature of e^{u^2} erfc(-u) = erfcx(-u)
    (Brunel 2000 eq. 21); sigma = 0 gives the deterministic rate."""
    if sigma == 0:
        return 0.0 if mu <= v_th else 1e3 / (tau_ref + tau_m * math.log((mu - v_r) / (mu - v_th)))
    lo, hi = (v_r - mu) / sigma, (v_th - mu) / sigma
    integral = quad(lambda u: erfcx(-u), lo, hi, limit=200, epsabs=0, epsrel=epsrel)[0]
    return 1e3 / (tau_ref + tau_m * math.sqrt(math.pi) * integral)
