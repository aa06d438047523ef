"""LIF dynamic transfer function against independent references.

* mpmath: the closed form of Brunel & Hakim (1999) / Lindner & Schimansky-Geier (2001) with
  ``mpmath.pcfu`` parabolic cylinder functions (40 digits), and the Weber integrals themselves;
* a direct numerical solution of the linearised Fokker-Planck equation (threshold integration,
  Richardson 2007, Phys. Rev. E 76:021919) with scipy's DOP853, including the delayed reset;
* NNMT 1.3.0's outputs (tests/data/nnmt_transfer.json, inputs stored with them);
* the high-frequency asymptotics ``h ~ sqrt(2) nu0/(sigma sqrt(i omega tau_m))`` (Brunel &
  Hakim 1999; Brunel, Chance, Fourcaud & Abbott 2001, PRL 86:2186);
* finite differences for the gradients; d nu/d mu, d nu/d sigma^2 of the Siegert rate at f = 0.
"""

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import mpmath as mp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import mfjax
from mfjax import LIF, lif_rate, lif_transfer, lif_variance_transfer
from mfjax.neurons._weber import weber_integrals
from mpmath_lif import responses

DATA = Path(__file__).resolve().parents[1] / "data" / "nnmt_transfer.json"

# (tau_m, tau_ref, v_th, v_reset, mu, sigma): fluctuation-driven, mean-driven, deep sub-threshold
# (rate ~1e-6 Hz), weak noise, no refractory period, long refractory period
POINTS = [
    (20.0, 2.0, 20.0, 10.0, 15.0, 5.0),
    (10.0, 2.0, 15.0, 0.0, 25.0, 3.0),
    (20.0, 2.0, 20.0, 10.0, 5.0, 2.0),
    (20.0, 2.0, 20.0, 10.0, 30.0, 1.5),
    (20.0, 0.0, 20.0, 10.0, 12.0, 1.0),
    (20.0, 5.0, 20.0, 10.0, 19.0, 0.5),
]
FREQS = [0.01, 1.0, 10.0, 80.0, 300.0, 1000.0, 10000.0, 50 - 20j, 50 + 20j, 7 - 3j]


def _closed_form(point, f):
    """(h, h_var) from Lindner & Schimansky-Geier's formulas, e^{lambda t} convention."""
    _, h, h_var = responses(*point, f)
    return complex(h), complex(h_var)


@pytest.fixture(scope="module")
def grid():
    """mfjax on the whole grid: one compiled call per function."""
    p = np.array(POINTS)
    neuron = LIF(tau_m=p[:, 0], tau_ref=p[:, 1], v_th=p[:, 2], v_reset=p[:, 3])
    f = jnp.asarray(np.array(FREQS, complex))[:, None]
    h = np.asarray(lif_transfer(neuron, p[:, 4], p[:, 5], f, correction="none"))
    hv = np.asarray(lif_variance_transfer(neuron, p[:, 4], p[:, 5], f, correction="none"))
    return neuron, p, h, hv


def test_weber_integrals_match_mpmath():
    mp.mp.dps = 40
    ss = [0, 6e-4j, 0.02j, 0.5 + 0.2j, 3j, 9j, 60j, 1257j, -0.5 + 3j, -1.5 + 20j, 20 + 2j, -0.2 - 7j]
    xs = [-30.0, -8.0, -2.0, 0.0, 1.9, 2.1, 9.0, 30.0]
    S, X = np.meshgrid(np.array(ss, complex), np.array(xs), indexing="ij")
    c, i1, i2, e = map(np.asarray, weber_integrals(jnp.asarray(S), jnp.asarray(X)))
    for idx in np.ndindex(S.shape):
        if abs(S[idx]) > 1000 and abs(X[idx]) > 10:
            continue  # mpmath needs ~15 s there (checked once: 1.2e-12, 2.0e-12)
        s, x = mp.mpc(complex(S[idx])), mp.mpf(float(X[idx]))
        integral = lambda sig: mp.gamma(sig) * mp.exp(x * x / 4) * mp.pcfu(sig - mp.mpf(1) / 2, x)  # noqa: E731
        r1, r2 = integral(s + 1), integral(s + 2)
        scale = mp.exp(mp.mpf(float(c[idx])))
        assert abs(scale * complex(i1[idx]) / r1 - 1) < 1e-10, (S[idx], X[idx])
        assert abs(scale * complex(i2[idx]) / r2 - 1) < 1e-10, (S[idx], X[idx])
        if abs(s) < 1:  # E = (s I_s - 1)/s, at s = 0 the integral of log t (x + t) e^{-xt - t^2/2}
            if s == 0:
                re = mp.quad(lambda t: mp.log(t) * (x + t) * mp.exp(-x * t - t * t / 2), [0, max(1, -x), mp.inf])
            else:
                re = (x * r1 + r2 - 1) / s
            assert abs(scale * complex(e[idx]) / re - 1) < 1e-9, (S[idx], X[idx])


def test_transfer_matches_mpmath_closed_form(grid):
    """Relative error <= 1e-8 (measured ~1e-12) from 0.01 Hz to 10 kHz and at complex
    frequencies of both growth signs, in every regime, for both responses."""
    mp.mp.dps = 40
    _, _, h, hv = grid
    for j, point in enumerate(POINTS):
        for k, f in enumerate(FREQS):
            ref_h, ref_v = _closed_form(point, f)
            assert abs(h[k, j] / ref_h - 1) < 1e-8, (point, f, h[k, j], ref_h)
            assert abs(hv[k, j] / ref_v - 1) < 1e-8, (point, f, hv[k, j], ref_v)


# "shift" here; the other two in the slow step (each compiles its own program)
@pytest.mark.parametrize(
    "correction", [pytest.param("none", marks=pytest.mark.slow), "shift", pytest.param("taylor", marks=pytest.mark.slow)]
)
def test_zero_frequency_is_the_rate_derivative(correction):
    neuron = LIF(10.0, 2.0, 15.0, 0.0, tau_s=0.5)
    mus, sigmas = jnp.array([10.0, 18.0, 5.0, 14.0]), jnp.array([4.0, 2.0, 6.0, 0.8])
    d_mu = jax.vmap(jax.grad(lambda m, s: lif_rate(neuron, m, s, correction=correction)))(mus, sigmas)
    d_var = jax.vmap(jax.grad(lambda v, m: lif_rate(neuron, m, jnp.sqrt(v), correction=correction)))(sigmas**2, mus)
    h0 = lif_transfer(neuron, mus, sigmas, 0.0, correction=correction)
    v0 = lif_variance_transfer(neuron, mus, sigmas, 0.0, correction=correction)
    np.testing.assert_allclose(np.asarray(h0), np.asarray(d_mu), rtol=1e-10)
    np.testing.assert_allclose(np.asarray(v0), np.asarray(d_var), rtol=1e-10)


def _threshold_integration(point, f, which="mean"):
    """Rate response by integrating the linearised Fokker-Planck equation from threshold down
    (Richardson 2007): P(th) = 0, J(th) = nu; the reset re-injects the flux tau_ref later.

    State (P0, J0, P1a, J1a, P1b, J1b, N): stationary density and flux (J0(th) = 1), the
    response to a rate modulation nu1 = 1 (a) and to the input modulation (b), and the
    integral of P0 (the normalisation).  h = -J1b(lb)/J1a(lb) nu0."""
    tm, tr, vth, vr, mu, sg = point
    lam = 2j * np.pi * f / 1000.0  # 1/ms
    d = sg * sg / 2

    def rhs(v, y):
        p0, j0, pa, ja, pb, jb, _ = y
        dp0 = ((mu - v) * p0 - tm * j0) / d
        dpa = ((mu - v) * pa - tm * ja) / d
        if which == "mean":  # tau J = (mu - v) P - D dP/dv + mu1 P0
            dpb = ((mu - v) * pb + p0 - tm * jb) / d
        else:  # sigma^2 -> sigma^2 + 1: tau J1 = (mu - v) P1 - D dP1/dv - (1/2) dP0/dv
            dpb = ((mu - v) * pb - 0.5 * dp0 - tm * jb) / d
        return [dp0, 0.0, dpa, -lam * pa, dpb, -lam * pb, p0]

    opts = dict(method="DOP853", rtol=1e-12, atol=1e-14)
    y0 = np.array([0, 1, 0, 1, 0, 0, 0], complex)
    upper = solve_ivp(rhs, (vth, vr), y0, **opts).y[:, -1]
    # crossing the reset downward: the re-injected fluxes (nu0 and nu1 e^{-lambda tau_ref})
    upper[1] -= 1.0
    upper[3] -= np.exp(-lam * tr)
    lower = solve_ivp(rhs, (vr, min(mu, vr) - 12 * sg), upper, **opts).y[:, -1]
    nu0 = 1000.0 / (tr - lower[6].real)  # Hz; the integral of P0 from th down is negative
    return -lower[5] / lower[3] * nu0


@pytest.mark.parametrize("which", ["mean", "variance"])
def test_matches_direct_fokker_planck_solution(which):
    """An independent numerical method (no parabolic cylinder functions), refractory period
    included: agreement to 1e-6 is the ODE solver's."""
    points = [(20.0, 2.0, 20.0, 10.0, 15.0, 5.0), (10.0, 4.0, 15.0, 0.0, 18.0, 3.0)]
    freqs = [2.0, 30.0, 150.0]
    p = np.array(points)
    neuron = LIF(tau_m=p[:, 0], tau_ref=p[:, 1], v_th=p[:, 2], v_reset=p[:, 3])
    fn = lif_transfer if which == "mean" else lif_variance_transfer
    kw = {"synaptic_filter": False} if which == "mean" else {}
    h = np.asarray(fn(neuron, p[:, 4], p[:, 5], jnp.array(freqs)[:, None], correction="none", **kw))
    for j, point in enumerate(points):
        for k, f in enumerate(freqs):
            ref = _threshold_integration(point, f, which)
            assert abs(h[k, j] / ref - 1) < 1e-6, (point, f, h[k, j], ref)


@pytest.mark.slow  # (56 s of compiles) the microcircuit spectra repeat the check vs NNMT in the main run
def test_nnmt_published_behaviour():
    """NNMT 1.3's formula (no reset phase) is reproduced with refractory_phase=False; with
    tau_ref = 0 it is the exact response; with tau_ref > 0 NNMT misses d nu/d mu at low f."""
    data = json.loads(DATA.read_text())
    cases = list(data["cases"].values())
    # all populations of both cases in one call per form (one compilation each)
    cols = {k: np.concatenate([np.broadcast_to(c["neuron"][k], len(c["mu"])) for c in cases])
            for k in ("tau_m", "tau_ref", "v_th", "v_reset", "tau_s")}
    neuron = LIF(**{k: jnp.asarray(v) for k, v in cols.items()})
    mu = jnp.asarray(np.concatenate([c["mu"] for c in cases]))
    sigma = jnp.asarray(np.concatenate([c["sigma"] for c in cases]))
    refractory = cols["tau_ref"] > 0
    f = jnp.asarray([1e-4] + data["frequencies_hz"])[:, None]
    for method in ("shift", "taylor"):
        ref = np.concatenate([np.array(c[method]["real"]) + 1j * np.array(c[method]["imag"]) for c in cases], 1)
        like = np.asarray(lif_transfer(neuron, mu, sigma, f, correction=method, refractory_phase=False))
        np.testing.assert_allclose(like[1:], ref, rtol=1e-9)
        exact = np.asarray(lif_transfer(neuron, mu, sigma, f, correction=method))
        err = np.abs(exact[1:] / ref - 1)
        assert err[:, ~refractory].max() < 1e-9
        assert err[0, refractory].min() > 5e-3  # 1-9 % at 0.5 Hz, vanishing towards kHz
        # as f -> 0 the exact response meets d nu/d mu; NNMT's form stays off by percents
        d_mu = np.asarray(jax.grad(lambda m: jnp.sum(lif_rate(neuron, m, sigma, correction=method)))(mu))  # elementwise
        assert np.max(np.abs(exact[0] / d_mu - 1)) < 1e-4
        assert np.min(np.abs(like[0, refractory] / d_mu[refractory] - 1)) > 5e-3


def test_high_frequency_asymptotics():
    """White noise: |h| sqrt(omega tau_m) -> sqrt(2) nu0/sigma, phase lag -> pi/4."""
    neuron = LIF(20.0, 2.0, 20.0, 10.0)
    mu, sigma = 15.0, 5.0
    nu0 = float(lif_rate(neuron, mu, sigma))
    f = jnp.array([1e3, 1e4, 1e5])
    h = np.asarray(lif_transfer(neuron, mu, sigma, f, correction="none"))
    scaled = np.abs(h) * np.sqrt(2 * np.pi * np.asarray(f) * 0.02) / (np.sqrt(2) * nu0 / sigma)
    lag = -np.angle(h) / np.pi
    assert abs(scaled[-1] - 1) < 2e-2 and abs(lag[-1] - 0.25) < 2e-3
    assert np.all(np.diff(np.abs(scaled - 1)) < 0) and np.all(np.diff(np.abs(lag - 0.25)) < 0)


@pytest.mark.parametrize(
    "corr, f", [("shift", 35.0), pytest.param("taylor", 3.0, marks=pytest.mark.slow), pytest.param("none", 400.0, marks=pytest.mark.slow)]
)
def test_gradients_match_finite_differences(corr, f):
    def fields(p):
        return LIF(tau_m=p[0], tau_ref=p[1], v_th=p[2], v_reset=p[3], tau_s=p[4])

    def loss(p, correction):
        h = lif_transfer(fields(p), p[5], p[6], p[7], correction=correction)
        return jnp.abs(h) + jnp.angle(h)

    p = jnp.array([12.0, 2.0, 15.0, 0.0, 0.5, 11.0, 4.0, f])
    g = np.asarray(jax.grad(loss)(p, corr))
    for i in range(len(p)):
        step = 1e-5 * max(1.0, abs(float(p[i])))
        e = jnp.zeros_like(p).at[i].set(step)
        fd = (float(loss(p + e, corr)) - float(loss(p - e, corr))) / (2 * step)
        assert abs(g[i] - fd) <= 1e-6 * max(1.0, abs(fd)), (corr, i, g[i], fd)


@pytest.mark.slow  # 21 s; NaN-free edges are also the hostile suite's job
def test_no_nan_in_values_or_gradients(grid):
    neuron, p, h, hv = grid
    assert np.all(np.isfinite(h)) and np.all(np.isfinite(hv))
    f = jnp.asarray(np.array(FREQS, complex))[:, None]

    def total(mu, sigma):
        return jnp.sum(jnp.abs(lif_transfer(neuron, mu, sigma, f, correction="none")))

    gm, gs = jax.grad(total, argnums=(0, 1))(jnp.asarray(p[:, 4]), jnp.asarray(p[:, 5]))
    assert np.all(np.isfinite(np.asarray(gm))) and np.all(np.isfinite(np.asarray(gs)))


def test_float32_accuracy(grid):
    """float32 keeps complex64 end to end.  Measured: 5e-6 on the microcircuit grid
    (benchmarks/results/transfer.json), up to 2e-4 at real frequencies in the deep sub-threshold
    rows here, ~1e-3 for strongly decaying complex frequencies far below threshold (the
    downward recurrence of the integrals loses ~x^2/|s| per step)."""
    neuron, p, h, _ = grid
    n32 = jax.tree_util.tree_map(lambda v: jnp.asarray(v, jnp.float32), neuron)
    f = jnp.asarray(np.array(FREQS, complex), jnp.complex64)[:, None]
    h32 = np.asarray(lif_transfer(n32, jnp.asarray(p[:, 4], jnp.float32), jnp.asarray(p[:, 5], jnp.float32), f,
                                  correction="none"))
    assert h32.dtype == np.complex64
    err = np.abs(h32 / h - 1)
    real = np.isreal(np.array(FREQS))
    assert err[real].max() < 5e-4
    assert err.max() < 3e-3


def test_bad_input_is_refused_by_name():
    n = LIF(20.0, 2.0, 20.0, 10.0)
    with pytest.raises(ValueError, match="sigma"):
        lif_transfer(n, 15.0, 0.0, 10.0)
    with pytest.raises(ValueError, match="sigma"):
        lif_variance_transfer(n, 15.0, -1.0, 10.0)
    with pytest.raises(ValueError, match="mu"):
        lif_transfer(n, float("nan"), 5.0, 10.0)
    with pytest.raises(ValueError, match="frequency"):
        lif_transfer(n, 15.0, 5.0, jnp.array([1.0, jnp.inf]))
    with pytest.raises(ValueError, match="frequency"):
        lif_transfer(n, 15.0, 5.0, complex(1.0, float("nan")))
    with pytest.raises(ValueError, match="decay rate"):
        lif_transfer(n, 15.0, 5.0, 100j)
    assert np.isfinite(complex(lif_transfer(n, 15.0, 5.0, -100j)))  # fast growth is fine
    with pytest.raises(ValueError, match="frequency"):
        lif_transfer(n, 15.0, 5.0, True)
    with pytest.raises(ValueError, match="correction"):
        lif_transfer(n, 15.0, 5.0, 1.0, correction="exact")
    with pytest.raises(TypeError, match="LIF"):
        lif_transfer({"tau_m": 20.0}, 15.0, 5.0, 1.0)


def test_traced_bad_input_is_a_runtime_error():
    n = LIF(20.0, 2.0, 20.0, 10.0)
    fn = jax.jit(lambda sg, f: lif_transfer(n, 15.0, sg, f))
    assert np.isfinite(complex(fn(5.0, 10.0)))
    with pytest.raises(Exception, match="sigma"):
        jax.block_until_ready(fn(-1.0, 10.0))
    with pytest.raises(Exception, match="frequency"):
        jax.block_until_ready(fn(5.0, jnp.nan))


def test_top_level_export():
    assert mfjax.lif_transfer is lif_transfer and mfjax.neurons.lif_variance_transfer is lif_variance_transfer


def test_low_pass_fit():
    """Exact on a low pass; on the LIF response equal to scipy's curve_fit (an independent
    optimiser of the same least-squares problem, Senk et al. 2020 Sec. F / NNMT)."""
    from scipy.optimize import curve_fit

    from mfjax.neurons import fit_low_pass

    f = np.linspace(0.5, 400.0, 120)
    fit = fit_low_pass(f, 3.0 / (1 + 2j * np.pi * f[:, None] / 1000 * np.array([7.0, 2.5])))
    np.testing.assert_allclose(np.asarray(fit.h0), 3.0, rtol=1e-10)
    np.testing.assert_allclose(np.asarray(fit.tau), [7.0, 2.5], rtol=1e-10)
    neuron = LIF(10.0, 2.0, 15.0, 0.0, tau_s=0.5)
    mu, sigma = jnp.array([8.0, 12.0, 17.0]), jnp.array([5.0, 3.0, 2.0])
    h = np.asarray(lif_transfer(neuron, mu, sigma, jnp.asarray(f)[:, None]))
    fit = fit_low_pass(f, h)
    for p in range(3):
        (tau, h0), _ = curve_fit(lambda w, t, g: np.abs(g / (1 + 1j * w * t)), 2 * np.pi * f / 1000, np.abs(h[:, p]),
                                 p0=[5.0, 5.0], xtol=1e-14, ftol=1e-14)
        # (the magnitude fixes tau only up to its sign: curve_fit may return -tau)
        assert abs(float(fit.tau[p]) / abs(tau) - 1) < 1e-6 and abs(float(fit.h0[p]) / abs(h0) - 1) < 1e-6
    rms = np.sqrt(np.mean((np.abs(np.asarray(fit(f))) - np.abs(h)) ** 2, 0))  # the reported misfit
    np.testing.assert_allclose(np.asarray(fit.rms_error), rms, rtol=1e-8)

    class Net:  # the two fields rate_weights reads
        J = jnp.array([[0.1, -0.4, 0.1], [0.1, -0.4, 0.1], [0.1, -0.4, 0.1]])
        K = jnp.full((3, 3), 100.0)

    Net.neuron = neuron
    w = np.asarray(fit.rate_weights(Net))
    np.testing.assert_allclose(w, np.asarray(fit.h0)[:, None] * 0.01 * 100.0 * np.asarray(Net.J), rtol=1e-12)
    with pytest.raises(ValueError, match="frequency"):
        fit_low_pass(np.array([1.0]), h[:1])
    with pytest.raises(ValueError, match="h must"):
        fit_low_pass(f, h[:-1])


def test_flat_batch_rule_equals_vmap():
    # mfjax._batching.flat_under_vmap: the batch as a broadcast axis gives vmap's values, with
    # batched and unbatched arguments mixed (the phase diagram, test_linear_response, runs it
    # inside the secant loop)
    from functools import partial

    from mfjax._batching import flat_under_vmap
    from mfjax.neurons._transfer import _responses

    plain = partial(_responses, correction="shift", refractory_phase=True)
    flat = flat_under_vmap(plain)
    neuron = LIF(20.0, 2.0, 20.0, 10.0, tau_s=0.5)
    mu, sigma = jnp.linspace(8.0, 22.0, 5), jnp.linspace(3.0, 6.0, 5)
    f = jnp.array([[1.0], [80.0 + 5.0j], [900.0]])

    def run(fn):
        return jax.vmap(lambda m, s: fn(neuron, m[None], s, f))(mu, sigma)

    for a, b in zip(run(plain), run(flat)):
        assert a.shape == b.shape == (5, 3, 1)
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-12)
