"""Limits of the LIF theory that used to return silently wrong numbers (issue 17).

* ``lif_cv`` for weak noise: above threshold CV -> 0 like sigma (deterministic firing), below
  threshold CV -> 1 (Poisson escape), at threshold the slow logarithmic limit; checked against
  50-digit mpmath quadrature of Brunel (2000) eq. A.8 (after exchanging the order of integration:
  one integral of closed forms), in float64 and float32.
* The gradient of the Taylor-corrected rate at the exact tie y_th = -9 of the erfcx branches.
"""

import math

import jax
import jax.numpy as jnp
import mpmath as mp
import numpy as np
import pytest

from mfjax import LIF, lif_cv, lif_rate

NEURON = LIF(20.0, 2.0, 20.0, 10.0)


def cv_mpmath(mu, sigma, tau_m=20.0, tau_ref=2.0, v_th=20.0, v_r=10.0):
    """CV^2 = 2 pi (nu tau_m)^2 int_{-inf}^{y_th} e^{y^2} erfc(-y)^2 [F(y_th) - F(max(y, y_r))] dy,
    F(x) = int_0^x e^{t^2} dt = sqrt(pi)/2 erfi(x) (Brunel 2000 eq. A.8), 50 digits."""
    with mp.workdps(50):
        yt, yr = mp.mpf(v_th - mu) / sigma, mp.mpf(v_r - mu) / sigma
        F = lambda x: mp.sqrt(mp.pi) / 2 * mp.erfi(x)  # noqa: E731
        inner = lambda y: mp.exp(y * y) * mp.erfc(-y) ** 2 * (F(yt) - F(max(y, yr)))  # noqa: E731
        pts = sorted({yr, yt} | ({mp.mpf(0)} if yr < 0 < yt else set()))
        W = mp.quad(inner, [-mp.inf, yr - 10] + pts)
        T = tau_m * mp.sqrt(mp.pi) * mp.quad(lambda u: mp.exp(u * u) * mp.erfc(-u), pts)
        return float(mp.sqrt(2 * mp.pi * W) * tau_m / (T + tau_ref))


CASES = [
    (25.0, 1.0), (25.0, 0.3), (25.0, 0.2), (25.0, 0.1), (25.0, 0.01), (25.0, 1e-8),  # above
    (21.0, 0.04), (21.0, 0.01), (20.5, 0.005), (20.2, 0.013), (20.01, 1e-4), (30.0, 0.6),
    (20.0, 1e-8), (20.0, 1e-3), (20.0, 0.05),  # at threshold: slow (logarithmic) limit
    (19.9, 0.01), (19.0, 0.2), (19.0, 0.5), (15.0, 3.0), (14.0, 0.5),  # below: Poisson limit
]


@pytest.mark.parametrize("mu, sigma", CASES)
def test_cv_against_mpmath_down_to_vanishing_noise(mu, sigma):
    got = float(lif_cv(NEURON, mu, sigma))
    ref = cv_mpmath(mu, sigma)
    assert abs(got / ref - 1) < 1e-12, (got, ref)


def test_cv_limits_of_issue_17():
    # issue 17: 56698.6 at sigma = 1e-8 above threshold, inf at sigma = 1e-9 below
    assert abs(float(lif_cv(NEURON, 25.0, 1e-8)) - 1.1123975166439557e-09) < 1e-20
    assert float(lif_cv(NEURON, 15.0, 1e-9)) == 1.0
    assert float(lif_cv(NEURON, 25.0, 0.0)) == 0.0


def test_cv_float32_over_a_wide_grid():
    mus = np.linspace(10.0, 40.0, 61)
    sig = np.geomspace(1e-8, 30.0, 60)
    M, S = np.meshgrid(mus, sig)
    ref = np.asarray(lif_cv(NEURON, M, S))
    got = np.asarray(lif_cv(LIF(20.0, 2.0, 20.0, 10.0), jnp.asarray(M, jnp.float32), jnp.asarray(S, jnp.float32)))
    assert got.dtype == np.float32 and np.all(np.isfinite(got))
    assert np.max(np.abs(got / ref - 1)) < 5e-5  # measured 1.5e-5 (README)


def test_cv_gradient_in_the_weak_noise_branch_matches_finite_differences():
    for mu, sigma in ((25.0, 0.3), (25.0, 0.1), (20.5, 0.02)):
        g = float(jax.grad(lambda s: lif_cv(NEURON, mu, s))(sigma))
        h = 1e-6 * sigma
        fd = (float(lif_cv(NEURON, mu, sigma + h)) - float(lif_cv(NEURON, mu, sigma - h))) / (2 * h)
        assert abs(g / fd - 1) < 1e-6


def test_taylor_gradient_at_the_erfcx_tie():
    # issue 17: maximum(x, 9) split the derivative at the tie y_th = -9 (x = 9 in erfcx)
    n = LIF(10.0, 2.0, 15.0, 0.0, tau_s=0.5)
    sigma = 2.0
    mu = 15.0 + 9.0 * sigma  # y_th = -9 exactly (before the shift of "taylor", which has none)
    f = lambda m: lif_rate(n, m, sigma, correction="taylor")  # noqa: E731
    g = float(jax.grad(f)(mu))
    h = 1e-5
    fd = (float(f(mu + h)) - float(f(mu - h))) / (2 * h)
    assert abs(g / fd - 1) < 1e-7, (g, fd)


def test_docstring_example_value():
    # lif_rate's docstring example (it used to state 6.2 Hz); Siegert by scipy quadrature
    from scipy.integrate import quad
    from scipy.special import erfcx

    integral = quad(lambda u: erfcx(-u), (10.0 - 15.0) / 5.0, (20.0 - 15.0) / 5.0, epsabs=0, epsrel=1e-13)[0]
    ref = 1e3 / (2.0 + 20.0 * math.sqrt(math.pi) * integral)
    assert abs(float(lif_rate(NEURON, 15.0, 5.0)) - ref) < 1e-10 and abs(ref - 9.4608) < 1e-4


def test_cv_at_threshold_with_vanishing_noise_is_finite():
    # found by hypothesis: mu = v_th, sigma = 8e-209 overflowed (1/y_r^2 underflows, y_r^2 overflows)
    n = LIF(5.0, 0.0, 5.0, 4.0)
    for sigma in (8.343282241614636e-209, 1e-300, 1e-30):
        cv = float(lif_cv(n, 5.0, sigma))
        assert math.isfinite(cv) and 0.0 < cv < 0.1
