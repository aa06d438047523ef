"""Independent scipy references for the Fokker-Planck problem of integrate-and-fire neurons
(LIF, EIF, QIF with white noise): the stationary rate and the rate response to a modulated
mean input, by shooting the equations down from threshold with ``solve_ivp`` (DOP853, rtol
1e-12).  Shared by tests/neurons/test_threshold.py and the network linear-response tests."""

import numpy as np
from scipy.integrate import solve_ivp

from mfjax import EIF, QIF


def _primitive(neuron, v):
    """F(V) = int f dV in closed form (numpy)."""
    if isinstance(neuron, EIF):
        d = float(neuron.delta_t)
        return -v * v / 2 + d * d * np.exp((v - float(neuron.v_t)) / d)
    if isinstance(neuron, QIF):
        return v**3 / (3 * float(neuron.v_t)) - v * v / 2
    return -v * v / 2


def _drift(neuron, v):
    if isinstance(neuron, EIF):
        d = float(neuron.delta_t)
        return -v + d * np.exp((v - float(neuron.v_t)) / d)
    if isinstance(neuron, QIF):
        return v * (v - float(neuron.v_t)) / float(neuron.v_t)
    return -v


def _v_lb(neuron, mu, sigma):
    return float(neuron.v_lb) if getattr(neuron, "v_lb", None) is not None else min(float(neuron.v_reset), mu) - 8 * sigma


def _shoot(neuron, mu, sigma, f):
    """Shoot the Fokker-Planck problem down from v_th with solve_ivp (DOP853, rtol 1e-12): the
    stationary unit-flux density and its mass, and for f > 0 the solutions A (unit flux at
    threshold), B (unit reinjection at the reset), M (mean forcing 2 P0/sigma^2); returns
    ``(m0, J_A, J_B, J_M)`` at v_lb."""
    vth, vr, tm = (float(x) for x in (neuron.v_th, neuron.v_reset, neuron.tau_m))
    vlb = _v_lb(neuron, mu, sigma)
    a = 2j * np.pi * f / 1000.0
    c = 2 * tm / sigma**2

    def rhs(x, y, j0):
        v = vth - x
        g = 2 * (_drift(neuron, v) + mu) / sigma**2
        p0, m0, pa, ja, pb, jb, pm, jm = y[:8] + 1j * y[8:]
        d = np.array([
            -(g * p0 - c * j0), p0,
            -(g * pa - c * ja), a * pa,
            -(g * pb - c * jb), a * pb,
            -(g * pm - c * jm + 2 * p0.real / sigma**2), a * pm,
        ])
        return np.concatenate([d.real, d.imag])

    y0 = np.zeros(16)
    y0[3] = 1.0  # J_A(v_th) = 1
    opts = dict(method="DOP853", rtol=1e-12, atol=1e-14)
    y1 = solve_ivp(rhs, (0.0, vth - vr), y0, args=(1.0,), **opts).y[:, -1].copy()
    y1[5] -= 1.0  # B: unit reinjection at the reset
    y = solve_ivp(rhs, (vth - vr, vth - vlb), y1, args=(0.0,), **opts).y[:, -1]
    y = y[:8] + 1j * y[8:]
    return y[1].real, y[3], y[5], y[7]


def scipy_rate(neuron, mu, sigma):
    """Stationary rate (Hz): 1/(tau_ref + mass of the unit-flux density), shot by solve_ivp."""
    return 1000.0 / (float(neuron.tau_ref) + _shoot(neuron, mu, sigma, 0.0)[0])


def scipy_response(neuron, mu, sigma, f):
    """d nu/d mu (Hz/mV) at f > 0 (Hz) with J(v_lb) = 0 imposed directly on the shot solutions:
    nu_1 (J_A + e^{-2 pi i f tau_ref} J_B) + mu_1 nu_0 J_M = 0."""
    m0, j_a, j_b, j_m = _shoot(neuron, mu, sigma, f)
    tr = float(neuron.tau_ref)
    nu0 = 1.0 / (tr + m0)
    return 1000.0 * (-nu0 * j_m / (j_a + np.exp(-2j * np.pi * f / 1000.0 * tr) * j_b))
