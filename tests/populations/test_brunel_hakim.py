"""The critical line of Brunel & Hakim (1999) against an independent mpmath solution.

Brunel & Hakim (1999, Neural Comput. 11:1621) study one population of C = 1000 inhibitory LIF
neurons (J = 0.1 mV, delay 2 ms, tau_m 20 ms, tau_ref 2 ms, theta 20, V_r 10 mV; the network
of Brian2's ``Brunel_Hakim_1999`` example) driven by white noise of mean ``mu_ext`` and std
``sigma_ext``.  Above a critical inhibition, or below a critical external noise, the stationary
state loses stability to a fast global oscillation: on the critical line
``1 = tau C [-J h(f) + J^2 h_var(f)] e^{-2 pi i f delta}`` for a real ``f``, where ``h`` and
``h_var`` are the rate responses to the mean and the variance of the input (their eq. 3.14-3.20,
with the variance channel, as here).

Reference: that equation solved with ``mpmath.findroot`` for ``(sigma_ext, f)`` with the
working point from ``mpmath.quad`` of the Siegert formula and the responses from
``mpmath.pcfu`` (Lindner & Schimansky-Geier 2001 closed form), nothing from mfjax.  mfjax:
the sigma_ext where the growth rate of the dominant characteristic root
(:func:`mfjax.populations.characteristic_roots`) crosses zero, by the secant method.
"""

import math

import jax.numpy as jnp
import mpmath as mp
import pytest

import mfjax
from mfjax import populations as pop
from mpmath_lif import responses, siegert

C, J, DELAY = 1000.0, 0.1, 2.0
NEURON = mfjax.LIF(20.0, 2.0, 20.0, 10.0)


def network(sigma_ext, mu_ext):
    """White external noise as the diffusion limit of Poisson drive: tau K J nu = mu_ext,
    tau K J^2 nu = sigma_ext^2 (tau = 20 ms)."""
    j_ext = sigma_ext**2 / mu_ext
    return pop.Network(NEURON, K=[[C]], J=[[-J]], K_ext=1000.0, J_ext=j_ext, nu_ext=mu_ext**2 / (0.02 * sigma_ext**2) / 1000.0,
                       N=[5000.0], delay=DELAY, delay_distribution="none")


def mfjax_critical_noise(mu_ext, lo, hi):
    def growth(sigma_ext, f):
        root = pop.characteristic_roots(network(sigma_ext, mu_ext), jnp.array([2j * math.pi * f]))
        assert bool(root.converged[0])
        return float(jnp.real(root.lam[0])), float(jnp.imag(root.lam[0])) / (2 * math.pi)

    (a, ga), (b, gb) = (lo, growth(lo, 170.0)), (hi, growth(hi, 170.0))
    assert ga[0] > 0 > gb[0]  # the noise stabilises the oscillation
    for _ in range(40):
        a, ga, b = b, gb, b - gb[0] * (b - a) / (gb[0] - ga[0])
        gb = growth(b, gb[1])
        if abs(gb[0]) < 1e-8:
            return b, gb[1]
    raise AssertionError("secant did not converge")


def mpmath_critical_noise(mu_ext, guess):
    tau = mp.mpf(20) / 1000  # s

    def coupling(sigma_ext, f):
        def point(n):  # mu and sigma of the input at the rate n (Hz)
            return mu_ext - tau * C * J * n, mp.sqrt(sigma_ext**2 + tau * C * J * J * n)

        nu = mp.findroot(lambda n: n - 1000 * siegert(20, 2, 20, 10, *point(n)), 5)
        _, h, h_var = responses(20, 2, 20, 10, *point(nu), f)
        return tau * C * (-J * h + J * J * h_var) * mp.exp(-2j * mp.pi * f * DELAY / 1000)

    def equations(sigma_ext, f):
        z = coupling(sigma_ext, f) - 1
        return [mp.re(z), mp.im(z)]

    return tuple(float(v) for v in mp.findroot(equations, tuple(mp.mpf(g) for g in guess)))


@pytest.mark.parametrize("mu_ext, lo, hi", [pytest.param(25.0, 1.5, 4.0, marks=pytest.mark.slow), (30.0, 3.0, 6.0)])
def test_critical_external_noise_matches_the_closed_form(mu_ext, lo, hi):
    mp.mp.dps = 20
    sigma_c, f_c = mfjax_critical_noise(mu_ext, lo, hi)
    # an independent solution, started 3% away
    ref_sigma, ref_f = mpmath_critical_noise(mu_ext, (1.03 * sigma_c, 0.97 * f_c))
    assert abs(sigma_c / ref_sigma - 1) < 1e-9 and abs(f_c / ref_f - 1) < 1e-9
    # the fast oscillation of the paper: 1/(4 delta)-1/(2 delta) for short delays (170-180 Hz here)
    assert 125.0 < f_c < 250.0
    # and the stationary state is stable above the line, oscillatory below (within 1% of the line
    # the root is so close to the axis that the default Nyquist grid reports "undetermined")
    assert bool(pop.stability(network(1.05 * sigma_c, mu_ext)).stable)
    assert int(pop.stability(network(0.95 * sigma_c, mu_ext)).kind) == 2
