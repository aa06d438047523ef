"""Response, Monte Carlo, inverse problem and binary networks against independent references:
numpy matrix inversion, exact enumeration, scipy quadrature of the Bessel integral, Onsager's
magnetisation (Onsager 1944 / Yang 1952), samples drawn exactly from the Boltzmann distribution,
and a direct simulation of the binary network."""

import itertools
import math

import jax
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import kv

from mfjax import ising
from mfjax.ising._response import _ornstein_zernike_ball


@pytest.fixture(scope="module")
def sk8():
    J = 0.3 * np.asarray(ising.sk_couplings(jax.random.key(0), 8))
    h = np.linspace(-0.3, 0.3, 8)
    return J, h


def test_naive_susceptibility_closed_form(sk8):
    J, h = sk8
    m = np.asarray(ising.magnetization(J, h, 1.2).m)
    chi0 = np.diag(1.2 * (1 - m**2))
    ref = np.linalg.inv(np.eye(8) - chi0 @ J) @ chi0  # seed 002 eq. 7
    np.testing.assert_allclose(ising.susceptibility(J, h, 1.2), ref, rtol=1e-10, atol=1e-14)


def test_linear_response_correlations_against_exact(sk8):
    J, h = sk8
    C_exact = np.asarray(ising.exact(J, h, 1.0).C)
    err = {k: np.max(np.abs(ising.correlations(J, h, 1.0, k) - C_exact)) for k in ("naive", "tap", "bethe")}
    assert err["tap"] < 0.5 * err["naive"] and err["bethe"] < 0.5 * err["naive"]
    assert err["tap"] < 0.05 and err["bethe"] < 0.05


def test_lattice_susceptibility_against_matrix_inverse():
    L, T = 8, 5.0
    J = np.asarray(ising.square_lattice_couplings(L))
    chi = np.linalg.inv(T * np.eye(L * L) - J)  # naive chi at m = 0, from numpy
    row = chi[0].reshape(L, L)
    for qx, qy in [(0, 0), (1, 2), (4, 4)]:
        q = 2 * np.pi * np.array([qx, qy]) / L
        ref = np.sum(row * np.cos(q[0] * np.arange(L)[:, None] + q[1] * np.arange(L)[None, :]))
        assert abs(float(ising.lattice_susceptibility(q, T)) - ref) < 1e-12


def test_correlation_length_and_ginzburg():
    # xi^2 (T - T_c) = J at m = 0 (seed 002 appendix)
    for T in (4.5, 5.0, 8.0):
        assert abs(float(ising.correlation_length(T, D=2)) ** 2 * (T - 4.0) - 1.0) < 1e-12
    # the ball integral of the Ornstein-Zernike function against scipy quadrature
    for D in (1, 2, 3, 4):
        nu = D / 2 - 1
        surface = 2 * math.pi ** (D / 2) / math.gamma(D / 2)
        ref = surface / (2 * math.pi) ** (D / 2) * quad(lambda r: r ** (D - 1) * r ** (-nu) * kv(nu, r), 0, 1)[0]
        assert abs(_ornstein_zernike_ball(D) - ref) < 1e-8 * ref
    # E_G ~ (T_c - T)^{(D-4)/2}: diverges for D < 4, stays finite for D = 4
    for D, slope in ((2, -1.0), (3, -0.5), (4, 0.0)):
        t = np.array([1e-4, 1e-3])
        eg = np.asarray(ising.ginzburg_criterion(2 * D - t, D=D))
        measured = np.log(eg[1] / eg[0]) / np.log(t[1] / t[0])
        assert abs(measured - slope) < 0.02


def test_lattice_monte_carlo_against_exact_enumeration():
    """4x4 periodic lattice: MC averages vs exact enumeration of its 2^16 states."""
    L, T = 4, 2.5
    ex = ising.exact(ising.square_lattice_couplings(L), 0.0, 1.0 / T)
    n = L * L
    # exact <m^2> = sum_ij (C_ij + m_i m_j) / n^2, exact energy per site = <H>/n
    m2_exact = float(np.sum(np.asarray(ex.C))) / n**2
    e_exact = float(ex.energy) / n
    for algorithm in ("metropolis", "glauber"):
        r = ising.monte_carlo_lattice(L, [T], key=jax.random.key(2), n_sweeps=20_000, n_burn=500, n_chains=4,
                                      algorithm=algorithm)
        assert abs(float(r.m2[0]) - m2_exact) < 0.01
        assert abs(float(r.energy[0]) - e_exact) < 0.01


def test_lattice_monte_carlo_onsager_ordered_phase():
    r = ising.monte_carlo_lattice(16, [1.8, 2.0], key=jax.random.key(0), n_sweeps=3000, n_burn=500, n_chains=2)
    np.testing.assert_allclose(r.abs_m, ising.onsager_magnetization(np.array([1.8, 2.0])), atol=0.006)


def test_dense_monte_carlo_against_exact(sk8):
    J, h = sk8
    ex = ising.exact(J, h, 1.0)
    mc = ising.monte_carlo(J, h, 1.0, key=jax.random.key(1), n_sweeps=20_000, n_chains=4)
    assert float(np.max(np.abs(mc.m - ex.m))) < 0.015
    assert float(np.max(np.abs(mc.C - ex.C))) < 0.015


def test_binder_crossing_interpolates():
    T = np.array([2.0, 2.2, 2.4])
    assert abs(ising.binder_crossing(T, [0.6, 0.5, 0.3], [0.62, 0.48, 0.2]) - (2.0 + 0.2 * 0.02 / 0.04)) < 1e-12
    with pytest.raises(ValueError, match="do not cross"):
        ising.binder_crossing(T, [0.6, 0.5, 0.3], [0.7, 0.6, 0.4])


def test_inverse_bethe_recovers_tree():
    J = np.asarray(ising.random_tree_couplings(jax.random.key(3), 10))
    h = np.linspace(-0.3, 0.3, 10)
    ex = ising.exact(J, h, 1.0)
    Ji, hi = ising.infer(ex.m, ex.C, "bethe")
    np.testing.assert_allclose(Ji, J, rtol=0, atol=1e-10)
    np.testing.assert_allclose(hi, h, rtol=0, atol=1e-10)


def _sk_data(n=12, beta=0.8, n_samples=50_000):
    J = beta * np.asarray(ising.sk_couplings(jax.random.key(5), n))
    h = 0.3 * beta * np.asarray(jax.random.normal(jax.random.key(6), (n,)))
    S = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
    E = -0.5 * np.einsum("bi,ij,bj->b", S, J, S) - S @ h
    p = np.exp(-(E - E.min()))
    p /= p.sum()
    samples = S[np.random.default_rng(0).choice(len(S), size=n_samples, p=p)]
    return J, h, samples


def test_inverse_ranking_on_sk():
    """Errors (RMS over J) nMF > TAP > Bethe > pseudo-likelihood (from 5e4 exact samples);
    maximum likelihood with exact moments recovers J to 1e-6."""
    J, h, samples = _sk_data()
    ex = ising.exact(J, h, 1.0)

    def rms(Ji):
        return float(np.sqrt(np.mean((np.asarray(Ji) - J) ** 2)))

    err = {k: rms(ising.infer(ex.m, ex.C, k)[0]) for k in ("nmf", "tap", "bethe", "exact")}
    err["pl"] = rms(ising.infer(samples=samples, method="pseudolikelihood")[0])
    assert err["nmf"] > err["tap"] > err["bethe"] > err["pl"] > err["exact"]
    assert err["exact"] < 1e-6 and err["pl"] < 0.015


def test_infer_bad_input():
    with pytest.raises(ValueError, match="needs samples"):
        ising.infer(np.zeros(2), np.eye(2), "pseudolikelihood")
    with pytest.raises(ValueError, match="m must lie"):
        ising.infer(np.array([1.0, 0.0]), np.eye(2), "nmf")
    with pytest.raises(ValueError, match="C must have shape"):
        ising.infer(np.zeros(2), np.eye(3), "nmf")
    with pytest.raises(ValueError, match="samples must be"):
        ising.infer(samples=np.array([[0.0, 1.0]]), method="nmf")


def test_binary_network_mean_field_against_simulation():
    """Sparse E-I threshold network (K/N = 1/80): mean field within 0.015 (5%) of the simulation
    (the residual is finite-size: population fluctuations on the 20 tau window and correlations)."""
    K = np.array([[400, 100], [400, 100]])
    J = np.array([[0.05, -0.25], [0.05, -0.25]])
    h, theta = np.array([0.7, 0.6]), np.array([0.5, 0.5])
    mf = ising.binary_rates(K, J, h, theta)
    sim = ising.simulate_binary(K, J, h, theta, [32000, 8000], key=jax.random.key(0), duration=20.0, burn_in=5.0)
    assert bool(mf.converged)
    np.testing.assert_allclose(sim.m, mf.m, atol=0.015)
    # the fixed point satisfies the erfc gain written with scipy
    from scipy.special import erfc

    m = np.asarray(mf.m)
    mu = (K * J) @ m + h
    sigma = np.sqrt((K * J**2) @ (m * (1 - m)))
    np.testing.assert_allclose(m, 0.5 * erfc((theta - mu) / (np.sqrt(2) * sigma)), rtol=1e-12)
    with pytest.raises(ValueError, match="N must be"):
        ising.simulate_binary(K, J, h, theta, [10], key=jax.random.key(0))


def test_binder_crossing_within_one_percent_of_onsager():
    """Binder cumulants of L = 8 and 16 cross within 1% of Onsager's T_c = 2.269185."""
    T = np.linspace(2.18, 2.36, 7)
    U = {L: ising.monte_carlo_lattice(L, T, key=jax.random.key(L), n_sweeps=6000, n_burn=1000, n_chains=4).binder
         for L in (8, 16)}
    tc = ising.binder_crossing(T, U[8], U[16])
    assert abs(tc / (2 / math.log(1 + math.sqrt(2))) - 1) < 0.01


def test_float32_accuracy_documented_bound():
    """float32 vs float64 on an SK sample (N = 12, beta J = 0.5): the bounds quoted in the README."""
    import jax.numpy as jnp

    J64 = 0.5 * ising.sk_couplings(jax.random.key(1), 12)
    h64 = 0.3 * jax.random.normal(jax.random.key(2), (12,))
    J32, h32 = J64.astype(jnp.float32), h64.astype(jnp.float32)
    e64, e32 = ising.exact(J64, h64, 1.0), ising.exact(J32, h32, jnp.float32(1.0))
    assert e32.m.dtype == jnp.float32
    assert float(jnp.max(jnp.abs(e32.m - e64.m))) < 1e-6 and float(jnp.max(jnp.abs(e32.C - e64.C))) < 1e-6
    for method, bound in (("naive", 2e-6), ("tap", 2e-6), ("bethe", 2e-5)):
        b = ising.magnetization(J32, h32, jnp.float32(1.0), method)
        assert bool(b.converged) and b.m.dtype == jnp.float32
        assert float(jnp.max(jnp.abs(b.m - ising.magnetization(J64, h64, 1.0, method).m))) < bound
    for method in ("nmf", "tap", "bethe"):
        b = ising.infer(e32.m, e32.C, method)[0]
        assert b.dtype == jnp.float32
        assert float(jnp.max(jnp.abs(b - ising.infer(e64.m, e64.C, method)[0]))) < 1e-6
