"""Line attractor of a rank-one network: the free diffusion of the remembered value of linear
units (exact D) and the stationary density of the amplitude equation of tanh units, both
against simulations of the full network; the memory states against scipy root finding."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import brentq

from mfjax.dynamics import amplitude_density, amplitude_drift, rank_one_line, simulate_rank_one

N = 200
_rng = np.random.default_rng(0)
M = _rng.normal(size=N)
_n = M + 0.5 * _rng.normal(size=N)
N_UNIT = _n * N / np.dot(_n, M)  # overlap n . m / N = 1 exactly


def test_linear_line_attractor_diffuses_freely():
    line = rank_one_line(M, N_UNIT, tau=10.0, noise=0.5)
    assert float(line.overlap) == pytest.approx(1.0, rel=1e-14)
    D = 0.25 * np.dot(N_UNIT, N_UNIT) / (2 * 10.0 * np.dot(N_UNIT, M) ** 2)
    assert float(line.diffusion) == pytest.approx(D, rel=1e-14)
    np.testing.assert_allclose(amplitude_drift(line, jnp.linspace(-2, 2, 5)), 0.0, atol=1e-15)
    trials = 400
    times, kappa = simulate_rank_one(jax.random.PRNGKey(0), line, 500.0, dt=0.5, trials=trials, kappa0=0.3, keep=50)
    sq = (np.asarray(kappa) - 0.3) ** 2 / (2 * np.asarray(times))
    final = sq[:, -1]
    assert abs(final.mean() - D) < 4 * final.std() / np.sqrt(trials)
    # no drift: the mean stays at the remembered value
    assert abs(np.asarray(kappa)[:, -1].mean() - 0.3) < 4 * np.sqrt(2 * D * 500.0 / trials)


def test_tanh_memory_states_and_stationary_density_against_simulation():
    n = 1.3 * N_UNIT
    quiet = rank_one_line(M, n, tau=10.0, noise=0.0, phi="tanh")
    # memory states: kappa = mean(n tanh(kappa m)) by scipy
    star = brentq(lambda k: np.mean(n * np.tanh(k * M)) - k, 0.1, 3.0, xtol=1e-14)
    assert float(amplitude_drift(quiet, star)) == pytest.approx(0.0, abs=1e-13)
    noisy = rank_one_line(M, n, tau=10.0, noise=0.6, phi="tanh")
    grid = np.linspace(-2.0, 2.0, 801)
    p = np.asarray(amplitude_density(noisy, grid))
    assert np.trapezoid(p, grid) == pytest.approx(1.0, rel=1e-12)
    trials = 64
    _, kappa = simulate_rank_one(jax.random.PRNGKey(1), noisy, 5000.0, dt=0.5, trials=trials, kappa0=0.5, keep=20)
    kappa = np.asarray(kappa)[:, 50:]  # drop the first 500 ms
    per_trial_abs = np.abs(kappa).mean(axis=1)
    per_trial_sq = (kappa**2).mean(axis=1)
    for sim, theory in ((per_trial_abs, np.trapezoid(np.abs(grid) * p, grid)), (per_trial_sq, np.trapezoid(grid**2 * p, grid))):
        # measured (50 trials of 20 s): mean |kappa| 0.4714 vs 0.4750, <kappa^2> 0.2314 vs 0.2336
        assert abs(sim.mean() - theory) < 4 * sim.std() / np.sqrt(trials) + 0.01 * theory


def test_line_refusals():
    with pytest.raises(ValueError, match="n must have shape"):
        rank_one_line(M, N_UNIT[:10])
    with pytest.raises(ValueError, match="tau"):
        rank_one_line(M, N_UNIT, tau=0.0)
    with pytest.raises(ValueError, match="phi must be one of"):
        rank_one_line(M, N_UNIT, phi="sigmoid")
    with pytest.raises(ValueError, match="n . m must not be 0"):
        rank_one_line(np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="needs noise > 0"):
        amplitude_density(rank_one_line(M, N_UNIT), np.linspace(-1, 1, 11))
    with pytest.raises(ValueError, match="dt must be well below tau"):
        simulate_rank_one(jax.random.PRNGKey(0), rank_one_line(M, N_UNIT), 100.0, dt=5.0)
