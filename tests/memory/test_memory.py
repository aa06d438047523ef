"""Memory networks against independent references: scipy root finding and optimisation of the
AGS equations (Amit, Gutfreund & Sompolinsky 1985: alpha_c = 0.138), scipy quadrature of
Gardner's integral, linear-programming separability (scipy linprog) for Cover's formula, numpy
eigenvalues of sampled matrices, and direct simulation."""

import math

import jax
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq, linprog, minimize_scalar
from scipy.special import erf

from mfjax import memory


def test_ags_capacity_against_scipy():
    def alpha(y):
        return (erf(y) - 2 / math.sqrt(math.pi) * y * math.exp(-y * y)) ** 2 / (2 * y * y)

    res = minimize_scalar(lambda y: -alpha(y), bounds=(1.0, 2.5), method="bounded", options={"xatol": 1e-12})
    a_c, m_c = memory.ags_capacity()
    assert abs(a_c - alpha(res.x)) < 1e-9 and abs(m_c - erf(res.x)) < 1e-6
    assert abs(a_c - 0.138) < 5e-4  # AGS 1985/1987: alpha_c ~ 0.138


@pytest.mark.parametrize("alpha", [0.02, 0.08, 0.13])
def test_ags_overlap_against_scipy(alpha):
    def F(y):
        return erf(y) - y * (math.sqrt(2 * alpha) + 2 / math.sqrt(math.pi) * math.exp(-y * y))

    y = brentq(F, 1.5, 10.0, xtol=1e-15)
    assert abs(float(memory.ags_overlap(alpha).m) - erf(y)) < 1e-10
    assert float(memory.ags_overlap(0.15).m) == 0.0


def test_finite_temperature_limits():
    # T -> 0 approaches the zero-temperature overlap; retrieval vanishes at high T
    assert abs(float(memory.ags_overlap(0.05, 0.02).m) - float(memory.ags_overlap(0.05).m)) < 1e-6
    assert float(memory.ags_overlap(0.05, 0.9).m) < 1e-6
    assert abs(float(memory.spin_glass_temperature(0.04)) - 1.2) < 1e-15
    # alpha -> 0: the retrieval state survives up to T = 1 (Curie-Weiss)
    assert 0.95 < memory.retrieval_temperature(1e-4) <= 1.0


def test_gardner_capacity_against_quadrature():
    assert abs(float(memory.gardner_capacity(0.0)) - 2.0) < 1e-14
    for k in (0.5, 1.0, 2.0):
        integral = quad(lambda t, k=k: (t + k) ** 2 * math.exp(-t * t / 2) / math.sqrt(2 * math.pi), -k, np.inf)[0]
        assert abs(float(memory.gardner_capacity(k)) - 1 / integral) < 1e-10


def test_cover_formula_against_linear_programming():
    """Fraction of separable random labelings (LP feasibility) vs Cover's count, d = 5, P = 10."""
    rng = np.random.default_rng(0)
    d, P, trials = 5, 10, 400
    sep = 0
    for _ in range(trials):
        X = rng.normal(size=(P, d))
        y = rng.choice([-1.0, 1.0], P)
        res = linprog(np.zeros(d), A_ub=-(y[:, None] * X), b_ub=-np.ones(P), bounds=[(None, None)] * d)
        sep += res.status == 0
    p = memory.cover_probability(P, d)
    assert abs(p - 2 ** (1 - P) * sum(math.comb(P - 1, k) for k in range(d))) < 1e-14
    assert abs(sep / trials - p) < 3 * math.sqrt(p * (1 - p) / trials)


def test_learned_couplings_store_patterns_beyond_hebbian():
    N, P = 60, 60  # alpha = 1, far beyond the Hebbian 0.138
    xi = np.asarray(memory.random_patterns(jax.random.key(0), P, N))
    res = memory.learn_couplings(xi, 0.0)
    assert bool(res.success)
    J = np.asarray(res.J)
    assert np.all(np.sign(xi @ J.T) == xi)  # every pattern is a fixed point of s <- sign(J s)
    assert not np.all(np.sign(xi @ np.asarray(memory.hopfield_couplings(xi)).T) == xi)
    sym = memory.learn_couplings(xi[:30], 0.5, symmetric=True)
    assert bool(sym.success) and np.allclose(sym.J, np.asarray(sym.J).T)
    assert float(sym.min_stability) >= 0.5


def test_hopfield_retrieval_against_ags():
    """N = 2000, 40 trials: overlap within 0.3% of the AGS value at alpha = 0.1."""
    m = np.asarray(memory.hopfield_retrieval(2000, 200, key=jax.random.key(1), n_trials=40, n_sweeps=8))
    assert abs(m.mean() / float(memory.ags_overlap(0.1).m) - 1) < 0.003


def test_retrieve_generic_dynamics():
    xi = memory.random_patterns(jax.random.key(2), 5, 200)
    J = memory.hopfield_couplings(xi)
    cue = np.asarray(xi[0]).copy()
    cue[:30] *= -1
    for mode in ("async", "sync"):
        r = memory.retrieve(J, cue, key=jax.random.key(3), patterns=xi, mode=mode)
        assert float(r.overlaps[0]) == 1.0 and int(r.flips_last_sweep) == 0
    hot = memory.retrieve(J, xi[0], key=jax.random.key(4), patterns=xi, T=5.0)
    assert abs(float(hot.overlaps[0])) < 0.3  # paramagnetic at T = 5


def test_lowrank_outliers_against_eigenvalues():
    N, g = 1500, 0.7
    k = jax.random.split(jax.random.key(5), 3)
    m = np.asarray(jax.random.normal(k[0], (N, 2)))
    n = np.asarray(jax.random.normal(k[1], (N, 2))) + m @ np.array([[1.6, 0.0], [0.0, 0.3]])
    J = g * np.asarray(jax.random.normal(k[2], (N, N))) / math.sqrt(N) + m @ n.T / N
    ev = np.linalg.eigvals(J)
    lam, outside = memory.lowrank_outliers(m, n, g)
    lam, outside = np.asarray(lam), np.asarray(outside)
    assert outside.sum() == 1  # 1.6 is outside the bulk, 0.3 inside
    pred = lam[outside][0]
    assert np.min(np.abs(ev - pred)) < 4 / math.sqrt(N)
    assert np.sum(np.abs(ev) > g + 4 / math.sqrt(N)) == 1  # no other outlier
    assert abs(float(memory.spectral_radius(J)) - abs(pred)) < 4 / math.sqrt(N)
    assert abs(float(memory.ei_bulk_radius([0.8, 0.2], [1.0, 2.0])) - math.sqrt(0.8 + 0.8)) < 1e-14


def test_rank_one_state_against_simulation():
    """x' = -x + J tanh(x), J = g X/sqrt N + m n^T/N, n = sigma_mn m + noise: kappa vs MF."""
    N, g, s_mn = 2000, 0.5, 2.0
    k = jax.random.split(jax.random.key(6), 3)
    m = np.array(jax.random.normal(k[0], (N,)))
    m *= math.sqrt(N) / np.linalg.norm(m)  # sample variance exactly 1
    noise = np.array(jax.random.normal(k[1], (N,)))
    noise -= (noise @ m / N) * m  # orthogonal to m: sample overlap n.m/N exactly sigma_mn
    n = s_mn * m + noise
    J = g * np.asarray(jax.random.normal(k[2], (N, N))) / math.sqrt(N) + np.outer(m, n) / N
    x = 0.5 * m
    for _ in range(4000):
        x = x + 0.05 * (-x + J @ np.tanh(x))
    kappa_sim = abs(n @ np.tanh(x) / N)
    mf = memory.rank_one_state(s_mn, g=g)
    assert abs(kappa_sim / float(mf.kappa) - 1) < 0.03
    below = memory.rank_one_state(0.8, g=g)
    assert float(below.kappa) == 0.0 and abs(float(below.relaxation_rate) - 0.2) < 1e-6


def test_bad_input():
    with pytest.raises(ValueError, match="patterns must"):
        memory.learn_couplings(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="mode"):
        memory.retrieve(np.zeros((3, 3)), np.ones(3), key=jax.random.key(0), mode="wave")
    with pytest.raises(ValueError, match="alpha must be > 0"):
        memory.ags_overlap(-0.1)
