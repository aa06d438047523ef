"""LIF transfer function, CV and P(V) against independent mpmath/scipy quadrature."""

import math

import jax
import jax.numpy as jnp
import mpmath as mp
import numpy as np
import pytest
from scipy.integrate import quad

from mfjax import LIF, lif_cv, lif_rate, membrane_density

BRUNEL = LIF(tau_m=20.0, tau_ref=2.0, v_th=20.0, v_reset=10.0)
COLORED = LIF(tau_m=10.0, tau_ref=2.0, v_th=15.0, v_reset=0.0, tau_s=0.5)
ZETA_HALF = abs(float(mp.zeta(0.5)))

# grid of the issue: mu in [-100, 100] mV, sigma in [0.01, 100] mV, with mu at the midpoint of
# reset and threshold (15), at reset (10) and at threshold (20)
MUS = np.array([-100.0, -40.0, -5.0, 0.0, 10.0, 12.5, 15.0, 18.0, 19.99, 20.0, 20.01, 22.0, 30.0, 60.0, 100.0])
SIGMAS = np.array([0.01, 0.1, 0.5, 1.0, 3.0, 10.0, 30.0, 100.0])


def siegert_mpmath(mu, sigma, tau_m, tau_ref, v_th, v_reset, dps=30):
    """1/(tau_ref + tau_m sqrt(pi) int e^{u^2}(1+erf u) du) in Hz, by mpmath quadrature."""
    with mp.workdps(dps):
        y_th = (mp.mpf(v_th) - mu) / sigma
        y_r = (mp.mpf(v_reset) - mu) / sigma
        pts = [y_r] + ([mp.mpf(0)] if y_r < 0 < y_th else []) + [y_th]
        integral = mp.quad(lambda u: mp.exp(u * u) * mp.erfc(-u), pts)
        return 1000 / (tau_ref + tau_m * mp.sqrt(mp.pi) * integral)


@pytest.fixture(scope="module")
def grid_reference():
    M, S = np.meshgrid(MUS, SIGMAS)
    ref = np.array([[siegert_mpmath(m, s, 20.0, 2.0, 20.0, 10.0) for m in MUS] for s in SIGMAS])
    return M, S, ref


def test_siegert_matches_mpmath_on_grid(grid_reference):
    M, S, ref = grid_reference
    ours = np.asarray(lif_rate(BRUNEL, jnp.asarray(M), jnp.asarray(S)))
    assert np.all(np.isfinite(ours))
    representable = np.array([[float(r) > 1e-300 for r in row] for row in ref])
    ref_f = np.array([[float(r) for r in row] for row in ref])
    rel = np.abs(ours[representable] / ref_f[representable] - 1.0)
    assert rel.max() <= 1e-12, rel.max()
    # beyond the float range the rate is an exact zero, never NaN/inf
    assert np.all(ours[~representable] <= 1e-300)


def test_siegert_matches_mpmath_across_the_pieces_of_its_primitive():
    # the integrand's primitive is tabulated in unit pieces on [-8, 8] with asymptotic tails
    # (mfjax/neurons/_tables.py): put y_th and y_r on, just beside and between the piece
    # boundaries, in both tails, and close to each other
    k = np.arange(-10.0, 11.0)
    y_th = np.concatenate([k, k + 1e-9, k - 1e-9, k + 0.5, [30.0, -30.0, 0.25, 1e-7]])
    gaps = np.concatenate([np.full(3 * k.size, 0.7), np.full(k.size, 2.5), [0.1, 0.2, 0.5, 2e-7]])
    sigma = 10.0 / gaps  # v_th - v_reset = 10 mV
    mu = 20.0 - y_th * sigma
    ours = np.asarray(lif_rate(BRUNEL, jnp.asarray(mu), jnp.asarray(sigma)))
    ref = np.array([float(siegert_mpmath(m, s, 20.0, 2.0, 20.0, 10.0)) for m, s in zip(mu, sigma)])
    keep = ref > 1e-300
    assert np.all(ours[~keep] <= 1e-300)
    np.testing.assert_allclose(ours[keep], ref[keep], rtol=1e-12, atol=0)


def test_second_derivative_in_mu_is_finite_and_matches_finite_differences():
    # d^2 nu / d mu^2 through the custom JVP, including deep sub-threshold points (rate = 0)
    points = [(15.0, 5.0), (25.0, 1.0), (19.0, 0.1), (-20.0, 1.0), (-100.0, 0.5)]
    for mu, sigma in points:
        first = jax.grad(lambda m: lif_rate(BRUNEL, m, sigma))
        second = float(jax.grad(first)(mu))
        h = 1e-4
        fd = (float(first(mu + h)) - float(first(mu - h))) / (2 * h)
        assert np.isfinite(second)
        assert abs(second - fd) <= 1e-6 * max(abs(fd), 1e-30), (mu, sigma, second, fd)
        # independent: 40-digit second central difference of the mpmath Siegert
        with mp.workdps(40):
            hm = mp.mpf("1e-7")
            f = lambda m: siegert_mpmath(mu + m, sigma, 20.0, 2.0, 20.0, 10.0, dps=40)  # noqa: E731
            ref = float((f(hm) - 2 * f(0) + f(-hm)) / hm**2)
        assert abs(second - ref) <= 1e-8 * max(abs(ref), 1e-300), (mu, sigma, second, ref)


def test_erfcx_matches_scipy_where_jax_erfcx_fails():
    # jax.scipy.special.erfcx (jax 0.10) gives 0 on [26.54, 26.64] (float64) and wrong values on
    # [9.19, 9.42] (float32); mfjax's derivatives use its own erfcx for x >= 0
    from scipy.special import erfcx as erfcx_scipy

    from mfjax.neurons._lif import _erfcx_nonnegative

    x = np.concatenate([np.linspace(0.0, 40.0, 4001), np.linspace(26.5, 26.7, 2001), [1e3, 1e8]])
    ours = np.asarray(_erfcx_nonnegative(jnp.asarray(x)))
    np.testing.assert_allclose(ours, erfcx_scipy(x), rtol=1e-14, atol=0)
    x32 = np.linspace(9.0, 9.6, 601).astype(np.float32)
    ours32 = np.asarray(_erfcx_nonnegative(jnp.asarray(x32)))
    np.testing.assert_allclose(ours32, erfcx_scipy(x32.astype(float)), rtol=2e-6, atol=0)


def test_siegert_deep_subthreshold_is_zero_not_nan():
    r = lif_rate(BRUNEL, jnp.array([-1e4, -100.0, -100.0]), jnp.array([0.01, 0.01, 1e-8]))
    assert np.all(np.asarray(r) == 0.0)


def test_deterministic_limit_closed_form():
    mu = jnp.array([15.0, 20.0, 25.0, 40.0])
    ours = np.asarray(lif_rate(BRUNEL, mu, 0.0))
    expected = [0.0, 0.0] + [1000.0 / (2.0 + 20.0 * math.log((m - 10.0) / (m - 20.0))) for m in (25.0, 40.0)]
    np.testing.assert_allclose(ours, expected, rtol=1e-14, atol=0)
    # sigma -> 0+ approaches the sigma = 0 value
    tiny = np.asarray(lif_rate(BRUNEL, mu[2:], 1e-6))
    np.testing.assert_allclose(tiny, expected[2:], rtol=1e-9)


def test_colored_noise_shift_is_shifted_siegert():
    # Fourcaud & Brunel 2002: thresholds shifted by sigma |zeta(1/2)|/sqrt(2) sqrt(tau_s/tau_m)
    for mu, sigma in [(10.0, 4.0), (14.0, 2.0), (20.0, 5.0)]:
        shift = sigma * ZETA_HALF / math.sqrt(2) * math.sqrt(0.5 / 10.0)
        ref = siegert_mpmath(mu, sigma, 10.0, 2.0, 15.0 + shift, shift)
        assert abs(float(lif_rate(COLORED, mu, sigma)) / float(ref) - 1) < 1e-12


def test_colored_noise_taylor_is_first_order_expansion():
    # Schuecker et al. 2015: nu0 + d nu/d(shift) * shift, the derivative of the mpmath Siegert
    # by a 30-digit central difference (step 1e-10, error ~1e-20)
    # (53.2, 2): y_r = -26.6, where jax.scipy.special.erfcx(26.6) returns 0 (jax 0.10)
    for mu, sigma in [(10.0, 4.0), (14.0, 2.0), (20.0, 5.0), (53.2, 2.0)]:
        d = sigma * ZETA_HALF / math.sqrt(2) * math.sqrt(0.5 / 10.0)
        f = lambda s: siegert_mpmath(mu, sigma, 10.0, 2.0, 15 + mp.mpf(s), mp.mpf(s))  # noqa: E731
        with mp.workdps(30):
            h = mp.mpf("1e-10")
            ref = f(0) + (f(h) - f(-h)) / (2 * h) * d
        ours = float(lif_rate(COLORED, mu, sigma, correction="taylor"))
        assert abs(ours / float(ref) - 1) < 1e-11


def test_taylor_never_negative():
    r = np.asarray(lif_rate(COLORED, jnp.linspace(-30.0, 5.0, 50), 2.0, correction="taylor"))
    assert np.all(r >= 0) and np.all(np.isfinite(r))


def test_broadcasting_over_neuron_fields():
    neuron = LIF(tau_m=jnp.array([10.0, 20.0]), tau_ref=2.0, v_th=20.0, v_reset=10.0)
    r = lif_rate(neuron, jnp.array([[15.0], [18.0]]), 3.0)
    assert r.shape == (2, 2)
    assert float(r[0, 1]) == pytest.approx(float(siegert_mpmath(15.0, 3.0, 20.0, 2.0, 20.0, 10.0)), rel=1e-12)


FIELDS = ("tau_m", "tau_ref", "v_th", "v_reset", "tau_s")


def _rate_of(params, mu, sigma):
    return lif_rate(LIF(**params), mu, sigma)


def test_gradients_finite_on_whole_grid():
    M, S = np.meshgrid(MUS, SIGMAS)
    params = dict(tau_m=10.0, tau_ref=2.0, v_th=15.0, v_reset=0.0, tau_s=0.5)
    grad = jax.vmap(jax.grad(_rate_of, argnums=(0, 1, 2)), in_axes=(None, 0, 0))
    g_params, g_mu, g_sigma = grad(params, jnp.asarray(M.ravel()), jnp.asarray(S.ravel()))
    for name in FIELDS:
        assert np.all(np.isfinite(np.asarray(g_params[name]))), name
    assert np.all(np.isfinite(np.asarray(g_mu))) and np.all(np.isfinite(np.asarray(g_sigma)))


@pytest.mark.parametrize("mu,sigma", [(5.0, 3.0), (12.0, 1.0), (15.0, 10.0), (25.0, 0.5), (-20.0, 30.0), (40.0, 100.0)])
def test_gradients_match_finite_differences(mu, sigma):
    params = dict(tau_m=10.0, tau_ref=2.0, v_th=15.0, v_reset=0.0, tau_s=0.5)
    g_params, g_mu, g_sigma = jax.grad(_rate_of, argnums=(0, 1, 2))(params, mu, sigma)

    def fd(fun, x):
        h = 1e-5 * max(1.0, abs(x))
        return (fun(x + h) - fun(x - h)) / (2 * h)

    rate = lambda **kw: float(_rate_of({**params, **kw.get("p", {})}, kw.get("mu", mu), kw.get("sigma", sigma)))  # noqa: E731
    scale = max(abs(rate()), 1e-12)
    checks = [(g_mu, fd(lambda x: rate(mu=x), mu)), (g_sigma, fd(lambda x: rate(sigma=x), sigma))]
    checks += [(g_params[k], fd(lambda x, k=k: rate(p={k: x}), params[k])) for k in FIELDS]
    for g, ref in checks:
        assert abs(float(g) - ref) <= 1e-6 * scale * 10 + 1e-7 * abs(ref), (float(g), ref)


def test_derivative_wrt_mu_matches_mpmath():
    # independent: mpmath numerical derivative of the mpmath Siegert; the last two put y_r and
    # y_th at -26.58 and -26.6, where jax.scipy.special.erfcx(-y) returns 0 (jax 0.10)
    for mu, sigma in [(12.0, 2.0), (19.0, 0.5), (30.0, 5.0), (376.13, 13.774), (46.6, 1.0)]:
        with mp.workdps(30):
            h = mp.mpf("1e-10")
            f = lambda m: siegert_mpmath(mu + m, sigma, 20.0, 2.0, 20.0, 10.0)  # noqa: E731
            ref = (f(h) - f(-h)) / (2 * h)
        ours = float(jax.grad(lif_rate, argnums=1)(BRUNEL, mu, sigma))
        assert abs(ours / float(ref) - 1) < 1e-10


def test_tiny_rates_down_to_the_smallest_normal_float_and_their_gradients_match_mpmath():
    # deep below threshold the rate is e^{-y_th^2}-small; every rate that float64 can hold as a
    # normal number is resolved (relative 1e-12; mu = -20, sigma = 1.5 gives 1.1e-306 Hz), and
    # so are its derivatives (mpmath numerical derivatives of the mpmath Siegert)
    for mu, sigma in [(-15.0, 1.5), (-19.0, 1.5), (-20.0, 1.5), (-5.0, 3.0)]:
        ref = float(siegert_mpmath(mu, sigma, 20.0, 2.0, 20.0, 10.0, dps=40))
        assert 1e-307 < ref < 1e-20
        assert float(lif_rate(BRUNEL, mu, sigma)) == pytest.approx(ref, rel=1e-12)
        with mp.workdps(40):
            h = mp.mpf("1e-12")
            d_mu = (siegert_mpmath(mu + h, sigma, 20.0, 2.0, 20.0, 10.0, dps=40)
                    - siegert_mpmath(mu - h, sigma, 20.0, 2.0, 20.0, 10.0, dps=40)) / (2 * h)
            d_sigma = (siegert_mpmath(mu, sigma + h, 20.0, 2.0, 20.0, 10.0, dps=40)
                       - siegert_mpmath(mu, sigma - h, 20.0, 2.0, 20.0, 10.0, dps=40)) / (2 * h)
        g_mu, g_sigma = jax.grad(lif_rate, argnums=(1, 2))(BRUNEL, mu, sigma)
        assert float(g_mu) == pytest.approx(float(d_mu), rel=1e-10)
        assert float(g_sigma) == pytest.approx(float(d_sigma), rel=1e-10)


def cv_scipy(mu, sigma):
    """Brunel (2000) eq. A.8 by nested scipy quadrature (scipy's erfcx/erfc, not JAX's)."""
    from scipy.special import erfc, erfcx

    y_th, y_r = (20.0 - mu) / sigma, (10.0 - mu) / sigma
    q = lambda y: erfcx(-y) * erfc(-y)  # noqa: E731  e^{y^2}(1+erf y)^2
    inner = lambda x: quad(q, -np.inf, x, epsabs=0, epsrel=1e-13, limit=200)[0]  # noqa: E731
    w = quad(lambda x: np.exp(x * x) * inner(x), y_r, y_th, epsabs=0, epsrel=1e-13, limit=200)[0]
    r = math.sqrt(math.pi) * quad(lambda u: erfcx(-u), y_r, y_th, epsabs=0, epsrel=1e-13)[0]
    return math.sqrt(2 * math.pi * w) / (2.0 / 20.0 + r)


@pytest.mark.parametrize("mu,sigma", [(15.0, 5.0), (25.0, 2.0), (10.0, 3.0), (30.0, 10.0), (5.0, 2.0), (19.0, 1.0), (21.0, 0.5)])
def test_cv_matches_quadrature(mu, sigma):
    assert float(lif_cv(BRUNEL, mu, sigma)) == pytest.approx(cv_scipy(mu, sigma), rel=1e-9)


def test_cv_limits():
    # Poisson far below threshold, regular firing for vanishing noise above threshold
    assert float(lif_cv(BRUNEL, -50.0, 1.0)) == pytest.approx(1.0, abs=1e-9)
    assert float(lif_cv(BRUNEL, 25.0, 0.0)) == 0.0
    assert float(lif_cv(BRUNEL, 40.0, 0.05)) < 0.01
    assert np.all(np.isfinite(np.asarray(lif_cv(BRUNEL, jnp.asarray(MUS), 0.01))))


@pytest.mark.parametrize("mu,sigma", [(15.0, 5.0), (25.0, 2.0), (10.0, 3.0)])
def test_membrane_density_normalisation(mu, sigma):
    # int P(V) dV + nu tau_ref = 1 (Brunel 2000 eq. 18), by scipy quadrature of our P(V)
    nu = float(lif_rate(BRUNEL, mu, sigma))
    density = jax.jit(lambda v: membrane_density(BRUNEL, mu, sigma, v))
    total = quad(lambda v: float(density(v)), -200.0, 20.0, points=[10.0], limit=200)[0]
    assert total + nu * 2e-3 == pytest.approx(1.0, abs=1e-9)


def test_membrane_density_is_gaussian_far_below_threshold():
    # for mu far below reset and threshold, P(V) -> N(mu, sigma^2/2) (OU process)
    v = jnp.linspace(-60.0, -40.0, 5)
    p = np.asarray(membrane_density(BRUNEL, -50.0, 2.0, v))
    gauss = np.exp(-((np.asarray(v) + 50.0) ** 2) / 4.0) / math.sqrt(4.0 * math.pi)
    np.testing.assert_allclose(p, gauss, rtol=1e-10)


@pytest.mark.parametrize(
    "kwargs,name",
    [
        (dict(tau_m=-1.0, tau_ref=2.0, v_th=20.0, v_reset=10.0), "tau_m"),
        (dict(tau_m=0.0, tau_ref=2.0, v_th=20.0, v_reset=10.0), "tau_m"),
        (dict(tau_m=20.0, tau_ref=-2.0, v_th=20.0, v_reset=10.0), "tau_ref"),
        (dict(tau_m=20.0, tau_ref=2.0, v_th=20.0, v_reset=20.0), "v_reset"),
        (dict(tau_m=20.0, tau_ref=2.0, v_th=20.0, v_reset=10.0, tau_s=-1.0), "tau_s"),
        (dict(tau_m=float("nan"), tau_ref=2.0, v_th=20.0, v_reset=10.0), "tau_m"),
    ],
)
def test_bad_parameters_name_the_field(kwargs, name):
    with pytest.raises(ValueError, match=name):
        LIF(**kwargs)


def test_bad_inputs_are_rejected_before_compiling():
    with pytest.raises(ValueError, match="sigma"):
        lif_rate(BRUNEL, 10.0, -1.0)
    with pytest.raises(ValueError, match="mu"):
        lif_rate(BRUNEL, float("nan"), 1.0)
    with pytest.raises(ValueError, match="correction"):
        lif_rate(BRUNEL, 10.0, 1.0, correction="bogus")


def test_jit_and_vmap():
    f = jax.jit(jax.vmap(lambda m: lif_rate(BRUNEL, m, 5.0)))
    mus = jnp.linspace(0.0, 30.0, 7)
    np.testing.assert_allclose(np.asarray(f(mus)), np.asarray(lif_rate(BRUNEL, mus, 5.0)), rtol=1e-15)


def test_float32_accuracy_documented_bound():
    # README: float32 relative error <= 1e-5 where the rate exceeds 1e-3 Hz
    # (measured 6.0e-6 on a dense grid, mostly the rounding of mu and sigma)
    M, S = np.meshgrid(np.linspace(-20.0, 60.0, 41), np.array([0.5, 1.0, 3.0, 10.0, 30.0]))
    r64 = np.asarray(lif_rate(BRUNEL, jnp.asarray(M), jnp.asarray(S)))
    n32 = LIF(*(jnp.float32(x) for x in (20.0, 2.0, 20.0, 10.0)), tau_s=jnp.float32(0.0))
    r32 = np.asarray(lif_rate(n32, jnp.asarray(M, jnp.float32), jnp.asarray(S, jnp.float32)))
    assert r32.dtype == np.float32 and np.all(np.isfinite(r32))
    m = r64 > 1e-3
    assert np.max(np.abs(r32[m] / r64[m] - 1)) < 1e-5
