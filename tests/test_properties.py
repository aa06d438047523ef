"""Property tests (hypothesis): random valid inputs give finite results, converged or flagged.

For any valid network the rate solver returns either a converged working point (finite rates
>= 0 that satisfy the self-consistency to the solver's tolerance, checked here against the
Siegert formula evaluated by scipy quadrature) or ``converged=False``; never NaN or inf marked
as converged.  The single-neuron functions are finite and inside their physical ranges for any
valid neuron and input.
"""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy_lif import siegert

from mfjax import LIF, Network, lif_cv, lif_rate, solve_rates
from mfjax.populations import input_std, mean_input

# derandomize: CI runs the same 40 examples every time (a random draw found the runaway case
# pinned as an expected failure below)
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def _siegert_scipy(tau_m, tau_ref, v_th, v_r, mu, sigma):
    return siegert(tau_m, tau_ref, v_th, v_r, mu, sigma, epsrel=1e-12)


neurons = st.builds(
    lambda tau_m, tau_ref, v_th, gap: (tau_m, tau_ref, v_th, v_th - gap),
    st.floats(5.0, 40.0), st.floats(0.0, 5.0), st.floats(5.0, 30.0), st.floats(0.5, 25.0),
)


@SETTINGS
@given(
    neuron=neurons,
    p=st.integers(1, 3),
    data=st.data(),
)
def test_random_valid_networks_are_finite_and_converged_or_flagged(neuron, p, data):
    tau_m, tau_ref, v_th, v_r = neuron
    K = np.array(data.draw(st.lists(st.floats(0.0, 1500.0), min_size=p * p, max_size=p * p))).reshape(p, p)
    J = np.array(data.draw(st.lists(st.floats(-1.0, 0.3), min_size=p * p, max_size=p * p))).reshape(p, p)
    K_ext = np.array(data.draw(st.lists(st.floats(0.0, 2000.0), min_size=p, max_size=p)))
    J_ext = np.array(data.draw(st.lists(st.floats(0.0, 0.3), min_size=p, max_size=p)))
    nu_ext = np.array(data.draw(st.lists(st.floats(0.0, 40.0), min_size=p, max_size=p)))
    net = Network(LIF(tau_m, tau_ref, v_th, v_r), K, J, K_ext=K_ext, J_ext=J_ext, nu_ext=nu_ext)
    sol = solve_rates(net, on_failure="return")
    if not bool(sol.converged):
        return  # flagged: acceptable, never silently wrong
    rates = np.asarray(sol.rates)
    assert np.all(np.isfinite(rates)) and np.all(rates >= 0)
    assert np.all(rates <= 1e3 / max(tau_ref, 1e-12) + 1e-9)  # at most one spike per refractory period
    mu = np.asarray(mean_input(net, sol.rates))
    sigma = np.asarray(input_std(net, sol.rates))
    for a in range(p):
        ref = _siegert_scipy(tau_m, tau_ref, v_th, v_r, mu[a], sigma[a])
        assert abs(ref - rates[a]) <= 1e-8 * max(ref, 1.0) + 1e-12, (a, ref, rates[a])


@SETTINGS
@given(neuron=neurons, mu=st.floats(-100.0, 100.0), sigma=st.floats(0.0, 100.0))
def test_single_neuron_functions_are_finite_and_in_range(neuron, mu, sigma):
    n = LIF(*neuron)
    rate = float(lif_rate(n, mu, sigma))
    cv = float(lif_cv(n, mu, sigma))
    assert math.isfinite(rate) and 0.0 <= rate <= 1e3 / max(neuron[1], 1e-300)
    # (CV exceeds 1 when v_reset is close to v_th: quick re-crossings after the reset)
    assert math.isfinite(cv) and cv >= 0.0
    tau_m, tau_ref, v_th, v_r = neuron
    if sigma == 0 or max(abs(v_th - mu), abs(v_r - mu)) / sigma < 1e4:  # where scipy's quad is reliable
        ref = _siegert_scipy(*neuron, mu, sigma)
        assert abs(rate - ref) <= 1e-8 * max(ref, 1e-300) + 1e-300 or (ref < 1e-250 and rate < 1e-240)


@SETTINGS
@given(mu=st.floats(20.001, 60.0), log_sigma=st.floats(-9.0, -1.0))
def test_weak_noise_cv_tends_to_zero_as_sigma_does(mu, log_sigma):
    # deterministic limit above threshold: CV ~ sigma tau_m sqrt((1/(mu-v_th)^2 - 1/(mu-v_r)^2)/2) / T
    n = LIF(20.0, 2.0, 20.0, 10.0)
    sigma = 10.0**log_sigma
    T = 2.0 + 20.0 * math.log((mu - 10.0) / (mu - 20.0))
    leading = sigma * 20.0 * math.sqrt(0.5 * (1 / (mu - 20.0) ** 2 - 1 / (mu - 10.0) ** 2)) / T
    y = (mu - 20.0) / sigma
    got = float(lif_cv(n, jnp.asarray(mu), jnp.asarray(sigma)))
    assert abs(got / leading - 1) < 5.0 / y**2 + 1e-12


@pytest.mark.xfail(strict=True, reason="known bug: solve_rates reports a runaway network without refractoriness as "
                   "converged at ~6e17 Hz instead of flagging it (found by the property test above, 2026-12-01)")
def test_runaway_network_without_refractoriness_is_flagged():
    K = np.array([[0.0, 0.0, 0.0], [385.0, 647.0, 0.0], [0.0, 0.0, 0.0]])
    J = np.array([[0.0, 0.0, 0.0], [0.25, 0.0234375, 0.0], [0.0, 0.0, 0.0]])
    net = Network(LIF(5.0, 0.0, 5.0, -5.0), K, J, K_ext=np.array([448.0, 0.0, 0.0]), J_ext=np.array([0.25, 0.0, 0.0]),
                  nu_ext=np.array([6.0, 0.0, 0.0]))
    sol = solve_rates(net, on_failure="return")
    assert not bool(sol.converged) or float(np.max(np.asarray(sol.rates))) < 1e4
