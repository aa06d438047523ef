"""Exact enumeration and forward mean field against independent references: numpy brute-force
enumeration, the finite-N Curie-Weiss and 1-d transfer-matrix closed forms, scipy root finding,
and closed-form critical temperatures (Bethe 1935; Onsager 1944)."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import gammaln

from mfjax import ising


def brute_force(J, h, beta):
    n = J.shape[0]
    S = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
    E = -0.5 * np.einsum("bi,ij,bj->b", S, J, S) - S @ h
    logw = -beta * E
    w = np.exp(logw - logw.max())
    Z = w.sum()
    p = w / Z
    m = p @ S
    return m, (S * p[:, None]).T @ S - np.outer(m, m), np.log(Z) + logw.max()


@pytest.fixture(scope="module")
def sk10():
    J = np.asarray(ising.sk_couplings(jax.random.key(0), 10))
    h = np.linspace(-0.4, 0.3, 10)
    return J, h


def test_exact_matches_brute_force(sk10):
    J, h = sk10
    res = ising.exact(J, h, 1.3)
    m, C, log_z = brute_force(J, h, 1.3)
    np.testing.assert_allclose(res.m, m, rtol=0, atol=1e-13)
    np.testing.assert_allclose(res.C, C, rtol=0, atol=1e-13)
    assert abs(float(res.log_z) - log_z) < 1e-12 * abs(log_z)
    m2, _ = ising.exact(J, h, 1.3)  # unpacks as (m, C)
    np.testing.assert_array_equal(m2, res.m)


def test_exact_curie_weiss_closed_form():
    """Finite-N Curie-Weiss: Z = sum_k binom(N,k) exp(beta (J/2N)(M^2 - N) + beta h M), M = 2k - N."""
    n, beta, h = 16, 1.7, 0.05
    res = ising.exact(ising.curie_weiss_couplings(n), h, beta)
    k = np.arange(n + 1)
    M = 2.0 * k - n
    logw = gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1) + beta * (0.5 / n) * (M**2 - n) + beta * h * M
    w = np.exp(logw - logw.max())
    m_ref = (w @ M) / w.sum() / n
    np.testing.assert_allclose(res.m, m_ref, rtol=1e-12)


def test_exact_transfer_matrix_ring():
    """Periodic 1-d chain: Z = lambda_+^N + lambda_-^N (Ising 1925)."""
    n, beta, Jc, h = 14, 0.8, 1.0, 0.2
    J = np.zeros((n, n))
    i = np.arange(n)
    J[i, (i + 1) % n] = Jc
    J[(i + 1) % n, i] = Jc
    res = ising.exact(J, h, beta)
    T = np.array([[np.exp(beta * (Jc + h)), np.exp(-beta * Jc)], [np.exp(-beta * Jc), np.exp(beta * (Jc - h))]])
    lam = np.linalg.eigvalsh(T)
    assert abs(float(res.log_z) - np.log(np.sum(lam**n))) < 1e-12 * n


def test_curie_weiss_mean_field_to_1e10():
    n, beta, h = 400, 1.5, 0.02
    sol = ising.magnetization(ising.curie_weiss_couplings(n), h, beta)
    zJ = (n - 1) / n
    ref = brentq(lambda m: m - np.tanh(beta * (h + zJ * m)), 0.1, 1.0, xtol=1e-15)
    assert bool(sol.converged)
    np.testing.assert_allclose(sol.m, ref, rtol=1e-10)


def test_free_energy_selects_stable_branch():
    """At h > 0 below T_c the negative branch is metastable; the default picks the positive one."""
    J = ising.curie_weiss_couplings(50)
    neg = ising.magnetization(J, 0.05, 2.0, init=-0.9 * np.ones(50))
    best = ising.magnetization(J, 0.05, 2.0)
    assert bool(neg.converged) and float(neg.m[0]) < 0
    assert float(best.m[0]) > 0 and float(best.free_energy) < float(neg.free_energy)


def test_lattice_critical_temperatures():
    assert ising.critical_temperature("naive", z=4) == 4.0
    assert abs(ising.critical_temperature("bethe", z=4) - 2.0 / math.log(2.0)) < 1e-14  # 2.8854
    assert abs(ising.critical_temperature("onsager") - 2.269185314213022) < 1e-14


def test_lattice_magnetization_against_scipy():
    T = np.array([1.5, 2.5, 3.5, 4.5])
    m_naive, ok = ising.lattice_magnetization(T, "naive")
    assert bool(np.all(ok))
    for t, m in zip(T, np.asarray(m_naive)):
        ref = brentq(lambda x: x - np.tanh(4 * x / t), 1e-3, 1.0, xtol=1e-15) if t < 4 else 0.0
        assert abs(m - ref) < 1e-10
    m_bethe, _ = ising.lattice_magnetization(T, "bethe")
    for t, m in zip(T, np.asarray(m_bethe)):
        if t < 2.0 / math.log(2.0):
            H = brentq(lambda x: x - 3 * t * np.arctanh(np.tanh(1 / t) * np.tanh(x / t)), 1e-3, 10.0, xtol=1e-15)
            ref = np.tanh(4 * np.arctanh(np.tanh(1 / t) * np.tanh(H / t)))
        else:
            ref = 0.0
        assert abs(m - ref) < 1e-10
    m_exact, _ = ising.lattice_magnetization(np.array([2.0]), "onsager")
    assert abs(float(m_exact[0]) - (1 - np.sinh(1.0) ** -4) ** 0.125) < 1e-15


def test_bethe_exact_on_tree():
    J = np.asarray(ising.random_tree_couplings(jax.random.key(1), 12))
    h = np.linspace(-0.5, 0.4, 12)
    sol = ising.magnetization(J, h, 1.0, "bethe")
    m, _, log_z = brute_force(J, h, 1.0)
    assert bool(sol.converged)
    np.testing.assert_allclose(sol.m, m, rtol=0, atol=1e-10)
    assert abs(float(sol.free_energy) + log_z) < 1e-10 * abs(log_z)


def test_tap_beats_naive_on_weak_sk(sk10):
    J, h = sk10
    J = 0.3 * J
    m_exact, _, _ = brute_force(J, h, 1.0)
    err = {k: np.max(np.abs(ising.magnetization(J, h, 1.0, k).m - m_exact)) for k in ("naive", "tap")}
    assert err["tap"] < 0.3 * err["naive"]


def test_variational_free_energy_bounds_and_stationarity(sk10):
    """Bogoliubov: F[g] >= -T ln Z; minimum at g* = h + J m (seed 002 eqs. 8-9), equal to G[m*]."""
    J, h = sk10
    J = 0.5 * J
    beta = 1.0
    _, _, log_z = brute_force(J, h, beta)
    sol = ising.magnetization(J, h, beta, "naive")
    g_star = h + J @ np.asarray(sol.m)
    F = ising.variational_free_energy(jnp.asarray(g_star), J, h, beta)
    assert float(F) >= -log_z / beta
    grad = jax.grad(ising.variational_free_energy)(jnp.asarray(g_star), J, h, beta)
    assert float(jnp.max(jnp.abs(grad))) < 1e-10
    assert abs(float(F) - float(sol.free_energy)) < 1e-12
    for shift in (0.1, -0.1):
        assert float(ising.variational_free_energy(jnp.asarray(g_star + shift), J, h, beta)) > float(F)


@pytest.mark.parametrize("method", ["tap", "bethe"])
def test_gradient_matches_finite_differences(sk10, method):
    J, h = sk10
    J = 0.4 * J

    def f(beta):
        return jnp.sum(ising.magnetization(J, h, beta, method, init=jnp.zeros(10)).m ** 2)

    g = float(jax.grad(f)(1.0))
    eps = 1e-5
    fd = (float(f(1.0 + eps)) - float(f(1.0 - eps))) / (2 * eps)
    assert abs(g - fd) < 1e-6 * max(1.0, abs(fd))


def test_sk_paramagnet_stability():
    """Naive theory loses the paramagnet at T = lambda_max(J) ~ 2J; TAP only touches zero near T = J."""
    n = 200
    J = np.asarray(ising.sk_couplings(jax.random.key(3), n))
    lam_max = np.linalg.eigvalsh(J)[-1]
    zero = np.zeros(n)
    for T in (0.9 * lam_max, 1.1 * lam_max):
        s = float(ising.stability(J, 0.0, 1 / T, "naive", m=zero))
        assert abs(s - (T - lam_max)) < 1e-10
    Ts = np.linspace(0.6, 1.6, 21)
    tap = np.array([float(ising.stability(J, 0.0, 1 / T, "tap", m=zero)) for T in Ts])
    assert abs(Ts[np.argmin(tap)] - 1.0) <= 0.1
    # ~ T + 1/T - lambda_max: its minimum, at T = 1, is the finite-N edge gap 2 - lambda_max
    assert tap.min() < (2.0 - lam_max) + 0.02
    assert np.all(tap[np.abs(Ts - 1.0) > 0.3] > tap.min() + 0.05)


def test_bad_input_names_parameter():
    with pytest.raises(ValueError, match="J must be symmetric"):
        ising.magnetization(np.array([[0.0, 1.0], [0.5, 0.0]]))
    with pytest.raises(ValueError, match="zero diagonal"):
        ising.magnetization(np.eye(2))
    with pytest.raises(ValueError, match="beta"):
        ising.magnetization(np.zeros((2, 2)), 0.0, -1.0)
    with pytest.raises(ValueError, match="h must"):
        ising.magnetization(np.zeros((2, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="method"):
        ising.magnetization(np.zeros((2, 2)), method="plefka9")
    with pytest.raises(ValueError, match="J must be finite"):
        ising.exact(np.array([[0.0, np.nan], [np.nan, 0.0]]))
