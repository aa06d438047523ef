"""Delay distributions: characteristic functions against scipy quadrature of their densities.

D(f) = E[exp(-2 pi i f d)] (Bos et al. 2016 eq. 9) is compared with the integral of the density
times e^{-lambda d} by scipy.integrate.quad, for real frequencies from 0.01 Hz to 10 kHz and for
complex ones with growth and decay rates inside the region where the integral converges (beyond
it D is the analytic continuation, checked through the moments and the f -> 0 limit).  The
Faddeeva function is compared with scipy.special.wofz.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from scipy.integrate import quad
from scipy.special import wofz

from mfjax.populations import DELAY_DISTRIBUTIONS, delay_characteristic, faddeeva


def test_faddeeva_against_scipy_in_both_half_planes():
    rng = np.random.default_rng(0)
    x = rng.uniform(-60, 60, 4000)
    y = rng.standard_normal(4000) * rng.choice([1e-3, 0.3, 3.0, 40.0], 4000)
    z = x + 1j * y
    ref = wofz(z)
    ok = np.isfinite(ref) & (np.abs(ref) < 1e300)
    got = np.asarray(faddeeva(jnp.asarray(z)))
    assert np.max(np.abs(got[ok] / ref[ok] - 1)) < 1e-12


def _density(dist, mean, sd):
    if dist == "truncated_gaussian":
        return (lambda x: stats.norm.pdf(x, mean, sd) / stats.norm.sf(0, mean, sd)), 0.0, mean + 40 * sd
    if dist == "gaussian":
        return (lambda x: stats.norm.pdf(x, mean, sd)), mean - 40 * sd, mean + 40 * sd
    if dist == "exponential":
        return (lambda x: stats.expon.pdf(x, mean - sd, sd)), mean - sd, mean - sd + 80 * sd
    if dist == "lognormal":
        spread = math.sqrt(math.log1p((sd / mean) ** 2))
        scale = mean * math.exp(-0.5 * spread**2)
        return (lambda x: stats.lognorm.pdf(x, spread, scale=scale)), 0.0, scale * math.exp(14 * spread)
    k = mean**2 / sd**2
    return (lambda x: stats.gamma.pdf(x, k, scale=sd**2 / mean)), 0.0, mean + 80 * sd


def _quad_characteristic(dist, mean, sd, f):
    lam = 2j * math.pi * 1e-3 * f
    pdf, lo, hi = _density(dist, mean, sd)
    parts = [quad(lambda x, part=part: pdf(x) * part(np.exp(-lam * x)), lo, hi, limit=4000, epsabs=1e-14,
                  epsrel=1e-12)[0] for part in (np.real, np.imag)]
    return parts[0] + 1j * parts[1]


CASES = [(1.5, 0.75), (0.75, 0.375), (1.0, 0.1), (2.0, 1.9)]  # PD14 E and I delays, narrow, wide


@pytest.mark.parametrize("dist", [d for d in DELAY_DISTRIBUTIONS if d != "none"])
@pytest.mark.parametrize("mean, sd", CASES)
def test_characteristic_function_against_quadrature(dist, mean, sd):
    if dist == "lognormal":
        pytest.skip("scipy's quad misses the wide lognormal's mass near 0: mpmath in log space below")
    freqs = [0.01, 1.0, 10.0, 100.0, 1000.0, 10000.0, 80 + 20j, 80 - 20j, 300 + 60j, 300 - 60j]
    for f in freqs:
        growth = abs((2j * math.pi * 1e-3 * f).real)
        if dist in ("exponential", "gamma") and growth > 0.4 / sd:
            continue  # the integral diverges or converges too slowly for quad: analytic continuation
        if dist == "lognormal" and (2j * math.pi * f).real < 0:
            continue  # decaying modes: the heavy tail makes D diverge (refused, tested below)
        if abs(f) > 2000 and dist in ("exponential", "gamma", "lognormal"):
            continue  # oscillatory tails beyond quad's reach; checked by the closed forms' decay below
        ref = _quad_characteristic(dist, mean, sd, f)
        got = complex(delay_characteristic(f, mean, sd, dist))
        assert abs(got - ref) <= 1e-9 * abs(ref) + 1e-12, (dist, mean, sd, f, got, ref)


@pytest.mark.parametrize("dist", DELAY_DISTRIBUTIONS)
def test_moments_from_derivatives_at_zero(dist):
    # D(lambda) = 1 - lambda E[d] + lambda^2 E[d^2]/2 - ...: the mean and variance of each law
    mean, sd = 1.5, 0.6
    d = lambda lam: delay_characteristic(lam / (2j * math.pi * 1e-3), mean, sd, dist)  # noqa: E731
    d1 = jax.jacfwd(lambda x: d(x + 0j).real)(0.0)
    d2 = jax.jacfwd(jax.jacfwd(lambda x: d(x + 0j).real))(0.0)
    pdf, lo, hi = _density(dist, mean, sd) if dist != "none" else (None, 0, 0)
    if dist == "none":
        m1, m2 = mean, mean**2
    else:
        m1 = quad(lambda x: x * pdf(x), lo, hi, epsrel=1e-13, limit=400)[0]
        m2 = quad(lambda x: x * x * pdf(x), lo, hi, epsrel=1e-13, limit=400)[0]
    assert abs(float(d(0.0 + 0j).real) - 1.0) < 1e-14
    assert abs(-float(d1) - m1) < 1e-10 * m1 and abs(float(d2) - m2) < 1e-9 * m2


def test_zero_width_is_the_fixed_delay_and_the_high_frequency_decay():
    f = np.array([1.0, 250.0, 3000.0])
    fixed = np.asarray(delay_characteristic(f, 1.5, 0.0, "none"))
    for dist in DELAY_DISTRIBUTIONS:
        np.testing.assert_allclose(np.asarray(delay_characteristic(f, 1.5, 0.0, dist)), fixed, rtol=1e-14)
    # |D| falls like a Gaussian, like 1/(omega sd) (exponential) and like (omega theta)^-k (gamma)
    w = 2 * math.pi * 1e-3 * 1e4
    assert abs(complex(delay_characteristic(1e4, 1.5, 0.5, "exponential"))) == pytest.approx(1 / abs(1 + 1j * w * 0.5))
    k, th = 1.5**2 / 0.5**2, 0.5**2 / 1.5
    assert abs(complex(delay_characteristic(1e4, 1.5, 0.5, "gamma"))) == pytest.approx(abs(1 + 1j * w * th) ** -k)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="distribution"):
        delay_characteristic(10.0, 1.5, 0.5, "lognormal_typo")
    for kwargs, name in ((dict(mean=-1.0), "mean"), (dict(sd=-0.1), "sd"), (dict(mean=math.nan), "mean"),
                         (dict(frequency=math.inf), "frequency"), (dict(frequency=complex(1, math.nan)), "frequency")):
        args = dict(frequency=10.0, mean=1.5, sd=0.5, distribution="gaussian")
        args.update(kwargs)
        with pytest.raises(ValueError, match=name):
            delay_characteristic(**args)
    with pytest.raises(ValueError, match="sd must be <= mean"):
        delay_characteristic(10.0, 1.0, 2.0, "exponential")
    with pytest.raises(ValueError, match="decaying"):
        delay_characteristic(10.0 + 1j, 1.5, 0.5, "lognormal")


def test_truncation_at_the_simulation_time_step():
    # simulate() redraws delays below dt: Normal(1.5, 0.75) truncated at 0.1 ms (PD14 with dt = 0.1)
    mean, sd, lower = 1.5, 0.75, 0.1
    pdf = lambda x: stats.norm.pdf(x, mean, sd) / stats.norm.sf(lower, mean, sd)  # noqa: E731
    for f in (1.0, 100.0, 1000.0, 120 - 40j, 120 + 40j):
        lam = 2j * math.pi * 1e-3 * f
        ref = sum(s * quad(lambda x, p=p: pdf(x) * p(np.exp(-lam * x)), lower, mean + 40 * sd, limit=2000,
                           epsabs=1e-14, epsrel=1e-12)[0] for s, p in ((1, np.real), (1j, np.imag)))
        got = complex(delay_characteristic(f, mean, sd, "truncated_gaussian", lower=lower))
        assert abs(got - ref) <= 1e-9 * abs(ref) + 1e-12


def test_network_carries_its_delay_distribution():
    import mfjax

    mc = mfjax.microcircuit("bos2016")
    assert mc.delay_distribution == "truncated_gaussian"
    f = jnp.array([10.0, 200.0 + 30j])
    D = np.asarray(mc.delay_characteristic(f))
    assert D.shape == (2, 8, 8)
    for a, b in ((0, 0), (0, 1), (5, 6)):
        one = complex(delay_characteristic(f[1], float(mc.delay[a, b]), float(mc.delay_sd[a, b]), "truncated_gaussian"))
        assert abs(D[1, a, b] - one) < 1e-15
    net = mfjax.brunel_a()  # one fixed delay of 1.5 ms
    np.testing.assert_allclose(np.asarray(net.delay_characteristic(100.0)), np.exp(-2j * np.pi * 0.1 * 1.5), rtol=1e-14)
    with pytest.raises(ValueError, match="delay_distribution"):
        mfjax.Network(net.neuron, net.K, net.J, K_ext=net.K_ext, J_ext=net.J_ext, nu_ext=net.nu_ext,
                      delay_distribution="lognormal_typo")
    gamma = mfjax.Network(net.neuron, net.K, net.J, K_ext=net.K_ext, J_ext=net.J_ext, nu_ext=net.nu_ext,
                          N=np.array([400.0, 100.0]), delay_sd=0.5, delay_distribution="gamma")
    with pytest.raises(ValueError, match="delay_distribution"):
        mfjax.spiking.simulate(gamma, 5.0, key=jax.random.key(0))


def test_float32_accuracy():
    # float32 keeps complex64 and loses about the phase 2 pi f d in float32 (1e-5 at 10 kHz)
    f = np.concatenate([np.geomspace(0.01, 1e4, 60), np.geomspace(1, 1000, 20) * (1 + 0.3j)])
    for dist in DELAY_DISTRIBUTIONS:
        fd = np.conj(f) if dist == "lognormal" else f  # growing modes only (decaying diverge)
        r = np.asarray(delay_characteristic(fd, 1.5, 0.75, dist))
        g = np.asarray(delay_characteristic(jnp.asarray(fd, jnp.complex64), jnp.float32(1.5), jnp.float32(0.75), dist))
        ok = np.abs(r) > 1e-6
        assert g.dtype == np.complex64 and np.all(np.isfinite(g))
        # measured <= 1.2e-5 for the closed forms, 5.5e-5 for the lognormal's 201-term sum (README)
        assert np.max(np.abs(g[ok] - r[ok]) / np.abs(r[ok])) < (1e-4 if dist == "lognormal" else 5e-5)


def _lognormal_against_mpmath(laws, dps, pieces):
    """No closed form (NNMT issue #44): mpmath quadrature of the same integral in log-delay
    space, split into pieces (z, k/den) for k in range(lo, hi + 1); absolute error <= 2e-12."""
    import mpmath as mp

    mp.mp.dps = dps
    lo, hi, den = pieces
    for mean, sd in laws:
        spread = mp.sqrt(mp.log(1 + (mp.mpf(sd) / mean) ** 2))
        centre = mp.log(mean) - spread**2 / 2
        for f in [1.0, 50.0, 300.0, 1000.0, 100 - 30j]:
            lam = 2j * mp.pi * mp.mpc(f) * mp.mpf("1e-3")
            g = lambda z: mp.exp(-z * z / 2 - lam * mp.exp(centre + spread * z)) / mp.sqrt(2 * mp.pi)  # noqa: E731
            ref = complex(mp.quad(g, [mp.mpf(k) / den for k in range(lo, hi + 1)]))
            got = complex(delay_characteristic(f, mean, sd, "lognormal"))
            assert abs(got - ref) < 2e-12, (mean, sd, f, got, ref)


def test_lognormal_against_mpmath():
    # 1/8-wide pieces on |z| <= 12 at 20 digits agree with the slow test's reference to 1e-17 here
    _lognormal_against_mpmath([(1.5, 0.75), (1.5, 0.15)], 20, (-96, 96, 8))


@pytest.mark.slow
def test_lognormal_against_mpmath_wide_law():
    # sd/mean = 2: delays up to e^12 times the mean at z = 9 oscillate fast, 1/20-wide pieces at 30 digits
    _lognormal_against_mpmath([(1.5, 0.75), (1.5, 0.15), (0.8, 1.6)], 30, (-240, 240, 20))
