"""Critical slowing down and Fisher information of linear(ised) rate networks: the Lyapunov
covariance against scipy, tau_c = tau/delta against simulated autocorrelations (exact OU steps,
and Euler-Maruyama of a nonlinear network for the linearisation), the linear Fisher information
against a bias-corrected estimate from Euler-Maruyama trials."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.linalg import expm, solve_continuous_lyapunov

from mfjax.dynamics import (
    autocorrelation_time,
    fisher_information_estimate,
    linear_fisher_information,
    linear_network,
    lyapunov_covariance,
    simulate_linear_network,
)

TAU = 10.0
RNG = np.random.default_rng(0)
BASIS, _ = np.linalg.qr(RNG.normal(size=(12, 12)))


def normal_W(delta):
    ev = np.linspace(-0.5, 0.3, 12)
    ev[-1] = 1 - delta
    return (BASIS * ev) @ BASIS.T


def test_covariance_and_autocorrelation_time_equal_scipy_for_a_non_normal_network():
    W = 0.3 * RNG.normal(size=(6, 6)) / math.sqrt(6) + np.triu(np.full((6, 6), 0.4), 1)
    D = np.diag(RNG.uniform(0.5, 2.0, 6))
    net = linear_network(W, TAU, D)
    A = (W - np.eye(6)) / TAU
    sigma_ref = solve_continuous_lyapunov(A, -D)
    np.testing.assert_allclose(np.asarray(lyapunov_covariance(net.A, net.Q)), sigma_ref, rtol=1e-10, atol=1e-14)
    u = RNG.normal(size=6)
    c = lambda t: u @ expm(A * t) @ sigma_ref @ u  # noqa: E731
    ref = quad(c, 0, np.inf, limit=400, epsabs=0, epsrel=1e-12)[0] / (u @ sigma_ref @ u)
    assert abs(float(autocorrelation_time(net, u)) - ref) < 1e-9 * ref


@pytest.mark.parametrize("delta, seed", [(0.5, 1), (0.2, 2), (0.05, 3), (0.01, 4)])
def test_critical_slowing_down_equals_tau_over_delta(delta, seed):
    net = linear_network(normal_W(delta), TAU, 1.0)
    u = BASIS[:, -1]
    tc = float(autocorrelation_time(net, u))
    assert abs(tc - TAU / delta) < 1e-9 * TAU / delta
    dt = tc / 5
    y = np.asarray(simulate_linear_network(jax.random.key(seed), net, 0.0, dt, 50_000, trials=8) @ jnp.asarray(u))
    rho = np.array([np.sum(yy[1:] * yy[:-1]) / np.sum(yy[:-1] ** 2) for yy in y])
    est = -dt / np.log(rho)
    se = np.std(est) / math.sqrt(len(est))
    assert abs(np.mean(est) / tc - 1) < 0.02 and abs(np.mean(est) - tc) < 4 * se


def test_linearised_nonlinear_network_slows_down_as_predicted():
    # tau dx/dt = -x + tanh(J x + I) + noise, one population near its saddle-node: Euler-Maruyama
    J, I, sig = 1.05, 0.02, 0.003  # noqa: E741
    x_star = 0.0
    for _ in range(200):  # Newton on x = tanh(J x + I)
        g = math.tanh(J * x_star + I)
        x_star -= (x_star - g) / (1 - J * (1 - g * g))
    slope = J * (1 - math.tanh(J * x_star + I) ** 2)
    net = linear_network(np.array([[slope]]), TAU, sig**2 * TAU)
    tc = float(autocorrelation_time(net, np.ones(1)))
    assert abs(tc - TAU / (1 - slope)) < 1e-9 * tc
    dt, lag, n_steps = 0.05, 40, 400_000

    def run(key):
        noise = jax.random.normal(key, (n_steps,)) * sig * math.sqrt(dt / TAU)

        def step(x, xi):
            x = x + dt / TAU * (-x + jnp.tanh(J * x + I)) + xi
            return x, x

        _, xs = jax.lax.scan(step, jnp.asarray(x_star), noise)
        return xs[::lag] - x_star

    y = np.asarray(jax.jit(jax.vmap(run))(jax.random.split(jax.random.key(5), 8)))
    h = dt * lag
    est = np.array([-h / np.log(np.sum(yy[1:] * yy[:-1]) / np.sum(yy[:-1] ** 2)) for yy in y])
    assert abs(np.mean(est) / tc - 1) < 0.05, (np.mean(est), tc)


def _em_snapshots(key, W, h, s, sig_r, trials, steps=2000, dt=0.25):
    n = W.shape[0]
    Wj, hj = jnp.asarray(W), jnp.asarray(h)

    def run(k):
        k1, k2 = jax.random.split(k)

        def step(x, xi):
            return x + dt / TAU * (-x + Wj @ x + hj * s) + math.sqrt(dt / TAU) * xi, None

        x, _ = jax.lax.scan(step, jnp.zeros(n), jax.random.normal(k1, (steps, n)))
        return x + sig_r * jax.random.normal(k2, (n,))

    return np.asarray(jax.jit(jax.vmap(run))(jax.random.split(key, trials)))


@pytest.mark.slow
def test_fisher_information_equals_simulated_estimate_and_is_amplified_near_instability():
    h = BASIS[:, -1] + 0.5 * BASIS[:, 0]
    ds, sig_r = 0.2, 1.0
    fi = {}
    for delta in (0.5, 0.2):
        W = normal_W(delta)
        # D = tau in the module's convention: <xi xi> = tau^2 D delta  <=>  unit-variance noise per sqrt(tau)
        net = linear_network(W, TAU, 1.0 / TAU, h)
        theory = float(linear_fisher_information(net, sig_r))
        a = _em_snapshots(jax.random.key(11), W, h, 0.0, sig_r, 8000)
        b = _em_snapshots(jax.random.key(12), W, h, ds, sig_r, 8000)
        est = float(fisher_information_estimate(a, b, ds))
        # sampling error of the estimate from 6 independent halves
        parts = [float(fisher_information_estimate(a[i::6], b[i::6], ds)) for i in range(6)]
        se = np.std(parts) / math.sqrt(6)  # each part has 1/6 of the trials
        # Euler-Maruyama (dt/tau = 0.025) biases the covariance by O(dt/2tau): 3% allowed
        assert abs(est - theory) < 3 * se + 0.03 * theory, (delta, est, theory, se)
        fi[delta] = theory
    # without readout noise recurrence cannot add information (h^T D^-1 h tau-scaled, any delta)
    assert fi[0.2] > 1.5 * fi[0.5]


def test_snapshot_fisher_information_equals_the_modal_closed_form():
    h = BASIS[:, -1] + 0.5 * BASIS[:, 0]
    # without readout noise the snapshot still gains as delta -> 0 (temporal integration by the
    # slow mode): for a normal W and Q = q I, I_F = sum_k 2 (h . u_k)^2 / ((1 - lambda_k) q tau)
    ev = np.linspace(-0.5, 0.3, 12)
    for d in (0.5, 0.05, 0.001):
        lam = ev.copy()
        lam[-1] = 1 - d
        modal = np.sum(2 * (BASIS.T @ h) ** 2 / ((1 - lam) * (1.0 / TAU) * TAU))
        got = float(linear_fisher_information(linear_network(normal_W(d), TAU, 1.0 / TAU, h)))
        assert abs(got / modal - 1) < 1e-8
