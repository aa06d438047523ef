"""The exact LIF rate under exponential shot noise (Richardson & Swarbrick 2010, PRL 105:178102)
against independent references:

* mpmath quadrature (tanh-sinh on many sub-intervals, 20 digits) of the same integrals;
* an event-driven simulation of the same neuron (numpy; exact between input events, drift
  crossings of the threshold included), which also checks the formula itself, and the flux
  share ``kappa`` above threshold that mfjax derives;
* the diffusion limit (jumps -> 0 at fixed mean and variance): the Siegert rate;
* finite differences for the gradients.
"""

import jax
import jax.numpy as jnp
import mpmath as mp
import numpy as np
import pytest

from mfjax import LIF, lif_rate, lif_shot_rate

NEURON = LIF(tau_m=20.0, tau_ref=2.0, v_th=10.0, v_reset=0.0)


def mpmath_rate(mu, neuron, rate_exc, jump_exc, rate_inh=0.0, jump_inh=1.0, dps=20, pieces=120):
    """The rate integrals of mfjax.neurons._shot by mpmath (Hz), written in the same variables
    (1 - z = e^{-t} on [0, 1), z - 1 = e^t above 1) but integrated by tanh-sinh on ``pieces``
    sub-intervals."""
    with mp.workdps(dps):
        tau = mp.mpf(float(neuron.tau_m))
        R, Q = mp.mpf(rate_exc) * tau / 1000, mp.mpf(rate_inh) * tau / 1000
        rho = mp.mpf(jump_inh) / jump_exc
        x = (mp.mpf(float(neuron.v_th)) - mu) / jump_exc
        D = mp.mpf(float(neuron.v_th) - float(neuron.v_reset)) / jump_exc

        def E(y):
            return -mp.expm1(-y) / y if y != 0 else mp.mpf(1)

        def integrate(f, lo, hi):
            return mp.quad(f, mp.linspace(lo, hi, pieces))

        kappa = mp.mpf(1)
        if x < 0:
            def den(t):
                z = 1 + mp.exp(t)
                return mp.exp(R * t + Q * mp.log1p(rho * z) + x * z)

            def num(t):
                z = 1 + mp.exp(t)
                return den(t) * mp.exp(t) * D * E(D * z)

            lo, hi = -(60 + 80 / R), mp.log((140 + 4 * (R + Q + 1)) / -x) + 2
            kappa = integrate(num, lo, hi) / integrate(den, lo, hi)

        def jump_part(t):
            z = -mp.expm1(-t)
            return mp.exp(-R * t + Q * mp.log1p(rho * z) + x * z)

        def drift_part(t):
            return jump_part(t) * mp.exp(-t) * D * E(-D * mp.expm1(-t))

        total = kappa * integrate(jump_part, 0, 60 + 80 / R) + integrate(drift_part, 0, 60 + 80 / (R + 1))
        return float(1000 / (mp.mpf(float(neuron.tau_ref)) + tau * total))


def event_driven_rate(mu, neuron, rate_exc, jump_exc, rate_inh=0.0, jump_inh=1.0, neurons=20000, events=4000,
                      seed=0):
    """Mean rate (Hz) and its standard error from an event-driven simulation of independent
    neurons: exact exponential relaxation to ``mu`` between input events (a drift crossing of
    the threshold first where ``mu > v_th``), exponential jumps, reset and refractoriness (input
    arriving then is lost; Poisson input is memoryless, so the next event is drawn afresh)."""
    tau, tau_ref = float(neuron.tau_m), float(neuron.tau_ref)
    v_th, v_reset = float(neuron.v_th), float(neuron.v_reset)
    rng = np.random.default_rng(seed)
    total = (rate_exc + rate_inh) * 1e-3
    v = np.full(neurons, v_reset)
    t, spikes = np.zeros(neurons), np.zeros(neurons)
    for step in range(events):
        if step == events // 10:  # leave the start from v_reset out
            t[:], spikes[:] = 0.0, 0.0
        dt = rng.exponential(1 / total, neurons)
        cross, tc = np.zeros(neurons, bool), dt
        if mu > v_th:
            tc = tau * np.log((mu - v) / (mu - v_th))
            cross = tc < dt
        v = np.where(cross, v_reset, mu + (v - mu) * np.exp(-dt / tau))
        t += np.where(cross, tc + tau_ref, dt)
        spikes += cross
        up = rng.random(neurons) < rate_exc * 1e-3 / total
        jump = np.where(up, rng.exponential(jump_exc, neurons), -rng.exponential(jump_inh, neurons))
        v = np.where(cross, v, v + jump)
        fired = v >= v_th
        spikes += fired
        t += np.where(fired, tau_ref, 0.0)
        v = np.where(fired, v_reset, v)
    rate = 1000 * spikes / t
    return rate.mean(), rate.std() / np.sqrt(neurons)


CASES = [  # (mu, rate_exc Hz, jump_exc mV, rate_inh Hz, jump_inh mV)
    (5.0, 500.0, 1.0, 0.0, 1.0),  # below threshold, excitation only
    (12.0, 500.0, 1.0, 0.0, 1.0),  # above threshold: part of the flux crosses by the drift
    (-2.0, 3000.0, 0.5, 1500.0, 1.5),  # below, with inhibition
    (14.0, 2000.0, 0.3, 800.0, 2.5),  # above, with inhibition
    (-30.0, 4000.0, 2.0, 0.0, 1.0),  # strongly hyperpolarized drive: jumps do all the work
    (6.0, 40.0, 0.05, 10.0, 0.1),  # deep below threshold: a rate of ~1e-50 Hz
]


@pytest.mark.parametrize("case", CASES)
def test_rate_matches_mpmath_quadrature(case):
    mu, re, ae, ri, ai = case
    expected = mpmath_rate(mu, NEURON, re, ae, ri, ai)
    got = float(lif_shot_rate(NEURON, mu, re, ae, ri, ai))
    assert got == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("case", [pytest.param(CASES[0], marks=pytest.mark.slow), CASES[1],
                                  pytest.param(CASES[3], marks=pytest.mark.slow)])
def test_rate_matches_event_driven_simulation(case):
    mu, re, ae, ri, ai = case
    sim, err = event_driven_rate(mu, NEURON, re, ae, ri, ai)
    theory = float(lif_shot_rate(NEURON, mu, re, ae, ri, ai))
    assert abs(sim - theory) < 4 * err + 5e-4 * theory, (sim, err, theory)


def test_the_drift_share_matters_above_threshold():
    """Above threshold kappa < 1; the sub-threshold formula (kappa = 1) would be visibly wrong
    there, so the simulation test above tests kappa."""
    from mfjax.neurons._shot import _log_kappa, _reduced

    R, Q, rho, x, D, *_ = _reduced(NEURON, 12.0, 500.0, 1.0, 0.0, 1.0)
    assert 0.5 < float(jnp.exp(_log_kappa(R, Q, rho, x, D))) < 0.95
    assert float(jnp.exp(_log_kappa(*_reduced(NEURON, 5.0, 500.0, 1.0, 0.0, 1.0)[:5]))) == 1.0


def test_diffusion_limit_is_siegert():
    """Jumps a -> 0 at fixed mean ``mu + tau R a`` and variance ``tau R a^2`` (sigma^2 = 2 tau R a^2
    in the Siegert convention): the error shrinks like a."""
    mean, sigma = 8.0, 3.0
    target = float(lif_rate(NEURON, mean, sigma, correction="none"))
    errors = []
    for a in (0.04, 0.02, 0.01):
        rate = 1e3 * sigma**2 / (2 * float(NEURON.tau_m) * a * a)  # Hz
        mu = mean - float(NEURON.tau_m) * 1e-3 * rate * a
        errors.append(abs(float(lif_shot_rate(NEURON, mu, rate, a)) / target - 1))
    assert errors[2] < 0.01
    assert errors[0] / errors[2] == pytest.approx(4.0, rel=0.3)


def test_gradients_match_finite_differences():
    args = (12.0, 2000.0, 0.3, 800.0, 2.5)

    def f(v):
        return lif_shot_rate(NEURON, *v)

    grad = jax.grad(lambda v: f(v))(jnp.asarray(args))
    for i in range(len(args)):
        h = 1e-5 * max(abs(args[i]), 1.0)
        up, down = list(args), list(args)
        up[i] += h
        down[i] -= h
        fd = (float(f(jnp.asarray(up))) - float(f(jnp.asarray(down)))) / (2 * h)
        assert float(grad[i]) == pytest.approx(fd, rel=1e-6, abs=1e-9)
    g_tau = jax.grad(lambda tau: lif_shot_rate(LIF(tau, 2.0, 10.0, 0.0), *args))(20.0)
    fd = (float(lif_shot_rate(LIF(20.0 + 1e-4, 2.0, 10.0, 0.0), *args))
          - float(lif_shot_rate(LIF(20.0 - 1e-4, 2.0, 10.0, 0.0), *args))) / 2e-4
    assert float(g_tau) == pytest.approx(fd, rel=1e-6)


def test_vmap_jit_and_silent_points():
    mus = jnp.linspace(-40.0, 20.0, 7)
    got = jax.jit(jax.vmap(lambda m: lif_shot_rate(NEURON, m, 300.0, 0.2)))(mus)
    direct = np.array([float(lif_shot_rate(NEURON, float(m), 300.0, 0.2)) for m in mus])
    np.testing.assert_allclose(np.asarray(got), direct, rtol=1e-13)
    assert np.all(np.isfinite(got)) and np.all(np.diff(np.asarray(got)) >= 0)
    # far below threshold the rate underflows to an exact 0 (never NaN)
    assert float(lif_shot_rate(NEURON, -500.0, 10.0, 0.01)) == 0.0


def test_float32_accuracy():
    """Measured float32 error (README: Accuracy): at most 2e-6 on these cases (5e-6 at 1e-32 Hz)."""
    for mu, re, ae, ri, ai in CASES[:4]:
        f64 = float(lif_shot_rate(NEURON, mu, re, ae, ri, ai))
        n32 = LIF(jnp.float32(20.0), jnp.float32(2.0), jnp.float32(10.0), jnp.float32(0.0))
        f32 = lif_shot_rate(n32, *(jnp.float32(v) for v in (mu, re, ae, ri, ai)))
        assert f32.dtype == jnp.float32
        assert float(f32) == pytest.approx(f64, rel=3e-5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"jump_exc": -1.0}, "jump_exc"),
        ({"rate_exc": 0.0}, "rate_exc"),
        ({"rate_inh": -5.0}, "rate_inh"),
        ({"jump_inh": 0.0}, "jump_inh"),
        ({"mu": float("nan")}, "mu"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, message):
    args = {"mu": 5.0, "rate_exc": 500.0, "jump_exc": 1.0, "rate_inh": 0.0, "jump_inh": 1.0} | kwargs
    with pytest.raises(ValueError, match=message):
        lif_shot_rate(NEURON, **args)
    with pytest.raises(Exception, match=message):  # traced: a runtime error, never a number
        jax.jit(lambda a: lif_shot_rate(NEURON, **a))(args).block_until_ready()


def test_colored_noise_neuron_is_refused():
    with pytest.raises(ValueError, match="tau_s"):
        lif_shot_rate(LIF(20.0, 2.0, 10.0, 0.0, tau_s=0.5), 5.0, 500.0, 1.0)
    with pytest.raises(TypeError, match="LIF"):
        lif_shot_rate("lif", 5.0, 500.0, 1.0)
