"""Avalanches: the branching process against its closed forms (Borel sizes, iterated generating
function durations), exponents 3/2 and 2 at criticality, the power-law fit against scipy's
zeta distribution, the network's branching ratio against numpy's eigenvalues."""

import math

import jax
import numpy as np
import pytest
from scipy import stats
from scipy.special import gammaln

from mfjax.dynamics import (
    borel_pmf,
    branching_avalanches,
    branching_duration_cdf,
    branching_ratio,
    fit_power_law,
    network_avalanches,
)


def borel_cdf_ref(n_max, m):
    n = np.arange(1, n_max + 1)
    return np.cumsum(np.exp(-m * n + (n - 1) * np.log(m * n) - gammaln(n + 1)))


def ks_discrete(samples, cdf):
    """sup |F_emp - F| over the integers 1 .. len(cdf) (the law's own CDF given there)."""
    emp = np.searchsorted(np.sort(samples), np.arange(1, len(cdf) + 1), side="right") / samples.size
    return np.max(np.abs(emp - cdf))


@pytest.mark.parametrize("m", [0.8, 1.0])
def test_sizes_and_durations_follow_the_closed_forms(m):
    n = 20000
    av = branching_avalanches(jax.random.key(3), m, n, max_generations=4096)
    crit = 1.63 / math.sqrt(n)  # KS critical value at the 1% level (conservative for discrete laws)
    assert ks_discrete(av.size, borel_cdf_ref(2000, m)) < crit
    # durations: P(D <= t) = f^(t)(0), iterated here in numpy
    s, cdf = 0.0, []
    for _ in range(2000):
        s = math.exp(m * (s - 1.0))
        cdf.append(s)
    assert ks_discrete(av.duration, np.array(cdf)) < crit
    np.testing.assert_allclose(np.asarray(branching_duration_cdf(2000, m)), cdf, rtol=1e-13)
    n_k = np.arange(1, 400)
    pmf_ref = np.exp(-m * n_k + (n_k - 1) * np.log(m * n_k) - gammaln(n_k + 1))
    np.testing.assert_allclose(np.asarray(borel_pmf(n_k, m)), pmf_ref, rtol=1e-11)
    if m < 1:  # subcritical: nothing censored, E[S] = 1/(1 - m)
        assert not av.censored.any()
        assert abs(av.size.mean() - 1 / (1 - m)) < 4 * av.size.std() / math.sqrt(n)


@pytest.mark.slow  # 48 s; the sparse-network avalanches vs the branching process stay in the main run
def test_critical_exponents_from_a_hundred_thousand_avalanches():
    av = branching_avalanches(jax.random.key(7), 1.0, 100_000, max_generations=10_000)
    done = ~av.censored
    assert av.censored.sum() < 100  # P(D > 10^4) ~ 2e-4
    size = fit_power_law(av.size[done])
    duration = fit_power_law(av.duration[done])
    assert abs(size.alpha - 1.5) < 0.05 and abs(duration.alpha - 2.0) < 0.05, (size, duration)
    # subcritical sizes are not a power law: the fit rejects it
    sub = branching_avalanches(jax.random.key(8), 0.7, 20_000)
    bad = fit_power_law(sub.size, x_min=1.0, n_boot=40, key=jax.random.key(1))
    assert bad.p_value < 0.05


def test_power_law_fit_recovers_a_zeta_law():
    # scipy's zeta (Zipf) distribution is exactly p(x) = x^-a / zeta(a) on x >= 1
    a = 2.5
    x = stats.zipf.rvs(a, size=20000, random_state=np.random.default_rng(2))
    fit = fit_power_law(x, x_min=1.0, n_boot=100, key=jax.random.key(5))
    assert abs(fit.alpha - a) < 3 * fit.stderr and fit.stderr < 0.02
    assert fit.p_value > 0.05
    # the KS distance is the one against scipy's CDF at the fitted exponent
    grid = np.arange(1, 5000)
    emp = np.searchsorted(np.sort(x), grid, side="right") / x.size
    emp_lo = np.searchsorted(np.sort(x), grid, side="left") / x.size
    model = stats.zipf.cdf(grid, fit.alpha)
    model_lo = stats.zipf.cdf(grid - 1, fit.alpha)
    ks_ref = max(np.max(np.abs(emp - model)), np.max(np.abs(emp_lo - model_lo)))
    assert abs(fit.ks - ks_ref) < 1e-6


def test_branching_ratio_is_the_perron_root():
    rng = np.random.default_rng(0)
    N, K = 300, 12
    pre = np.stack([rng.choice(N, K, replace=False) for _ in range(N)])
    prob = rng.uniform(0.0, 0.15, (N, K))
    A = np.zeros((N, N))
    np.add.at(A, (np.repeat(np.arange(N), K), pre.ravel()), prob.ravel())
    lam = np.max(np.abs(np.linalg.eigvals(A)))
    assert abs(float(branching_ratio(pre, prob)) - lam) < 1e-8 * lam


def test_network_avalanches_match_the_branching_process_when_sparse():
    # fixed in-degree K, p = m/K: row sums m, so the Perron root is m; offspring ~ Poisson(m)
    rng = np.random.default_rng(1)
    N, K, m = 1000, 10, 0.5
    pre = rng.integers(0, N, (N, K))
    prob = np.full((N, K), m / K)
    assert abs(float(branching_ratio(pre, prob)) - m) < 1e-10
    av = network_avalanches(jax.random.key(2), pre, prob, 3000, max_generations=64)
    assert not av.censored.any()
    n = av.size.size
    assert abs(av.size.mean() - 1 / (1 - m)) < 4 * av.size.std() / math.sqrt(n)
    assert ks_discrete(av.size, borel_cdf_ref(200, m)) < 1.63 / math.sqrt(n) + 0.005
