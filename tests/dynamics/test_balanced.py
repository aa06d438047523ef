"""The balanced state (van Vreeswijk & Sompolinsky 1996/1998): the linear balance equations, the
O(1) input of the limit against scipy quadrature, the approach of finite-K solutions (LIF and
binary) to the limit with the predicted 1/sqrt(K) coefficient, a nested scipy bracketing of the
finite-K rates, gradients against finite differences, and the refusals."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import erfcinv
from scipy_lif import siegert as siegert_hz

from mfjax.dynamics import BalancedNetwork, balanced_limit, binary_balanced_limit
from mfjax.ising import binary_rates
from mfjax.populations import solve_rates

# E and I populations, C_I = C_E / 4 (Brunel's gamma); j in mV, nu_0 = 20 Hz
SPEC = BalancedNetwork([[2.0, -10.0], [3.0, -10.0]], [2.0, 1.6], 20.0, fractions=[[1.0, 0.25], [1.0, 0.25]])
TAU_M, TAU_REF, V_TH, V_R = 20.0, 2.0, 20.0, 10.0
BINARY = BalancedNetwork([[1.0, -2.0], [1.0, -1.8]], [1.0, 0.8], 0.1)
THETA = np.array([1.0, 0.7])


def siegert(mu, sigma):
    return siegert_hz(TAU_M, TAU_REF, V_TH, V_R, mu, sigma)


def test_limit_rates_are_van_vreeswijk_closed_form():
    # two populations, W = [[w_EE, -w_EI], [w_IE, -w_II]], I = (I_E, I_I) (vV&S 1998 eq. 4.7-4.8)
    w_ee, w_ei, w_ie, w_ii = 2.0, 2.5, 3.0, 2.5
    i_e, i_i = 40.0, 32.0
    det = w_ei * w_ie - w_ee * w_ii
    nu_e = (i_e * w_ii - i_i * w_ei) / det
    nu_i = (i_e * w_ie - i_i * w_ee) / det
    np.testing.assert_allclose(SPEC.limit_rates(), [nu_e, nu_i], rtol=1e-14)
    assert (nu_e, nu_i) == pytest.approx((8.0, 22.4), rel=1e-14)


def test_lif_limit_input_against_scipy():
    lim = balanced_limit(SPEC)
    assert bool(lim.valid)
    nu = np.asarray(lim.rates)
    var = 1e-3 * TAU_M * (np.array([[1.0, 0.25], [1.0, 0.25]]) * np.array([[4.0, 100.0], [9.0, 100.0]]) @ nu
                          + np.array([4.0, 2.56]) * 20.0)
    np.testing.assert_allclose(lim.sigma, np.sqrt(var), rtol=1e-13)
    for a in range(2):
        mu = brentq(lambda m: siegert(m, np.sqrt(var[a])) - nu[a], 0.0, 40.0, xtol=1e-13)
        assert float(lim.mu[a]) == pytest.approx(mu, abs=1e-9)
    # eq. (2): c = W^{-1} m / tau_m
    W = np.array([[2.0, -2.5], [3.0, -2.5]])
    np.testing.assert_allclose(lim.correction, np.linalg.solve(W, np.asarray(lim.mu)) / (1e-3 * TAU_M), rtol=1e-12)


def _nested_bracketing(net):
    """Every self-consistent (nu_E, nu_I) of a 2-population network by scipy alone: for each nu_E,
    nu_I solves its own (monotone) equation; then sign changes of the E equation are bracketed."""
    K, J = np.asarray(net.K), np.asarray(net.J)
    ext_mu = np.asarray(net.K_ext * net.J_ext * net.nu_ext)
    ext_var = np.asarray(net.K_ext * net.J_ext**2 * net.nu_ext)

    def phi(a, nu):
        mu = 1e-3 * TAU_M * ((K[a] * J[a]) @ nu + ext_mu[a])
        sigma = np.sqrt(1e-3 * TAU_M * ((K[a] * J[a] ** 2) @ nu + ext_var[a]))
        return siegert(mu, sigma)

    def nu_i_of(nu_e):
        return brentq(lambda x: x - phi(1, np.array([nu_e, x])), 0.0, 1e3 / TAU_REF, xtol=1e-13, rtol=1e-15)

    def excess(nu_e):
        return phi(0, np.array([nu_e, nu_i_of(nu_e)])) - nu_e

    grid = np.linspace(0.0, 60.0, 61)
    vals = [excess(x) for x in grid]
    roots = [brentq(excess, a, b, xtol=1e-12, rtol=1e-15)
             for a, b, va, vb in zip(grid[:-1], grid[1:], vals[:-1], vals[1:]) if va * vb < 0]
    return [(r, nu_i_of(r)) for r in roots]


@pytest.mark.parametrize("K", [1e4, 1e6])
def test_finite_k_rates_from_default_start_equal_nested_bracketing(K):
    net = SPEC.network(K)
    roots = _nested_bracketing(net)
    assert len(roots) == 1
    sol = solve_rates(net)  # default start 0 Hz; raises if not converged
    np.testing.assert_allclose(sol.rates, roots[0], rtol=1e-9)


def test_lif_rates_approach_the_limit_as_one_over_sqrt_k():
    lim = balanced_limit(SPEC)
    Ks = np.array([1e4, 1e5, 1e6])
    rates = np.stack([np.asarray(solve_rates(SPEC.network(K)).rates) for K in Ks])
    scaled = (rates - np.asarray(lim.rates)) * np.sqrt(Ks)[:, None]
    remainder = np.abs(scaled - np.asarray(lim.correction))
    # the next term is O(1/K): the remainder of sqrt(K) (nu - nu_inf) falls as 1/sqrt(K)
    np.testing.assert_allclose(remainder[1:] / remainder[:-1], 10**-0.5, rtol=0.1)
    assert np.all(np.abs(rates[-1] / np.asarray(lim.rates) - 1) < 0.03)


def test_binary_activities_approach_the_limit():
    lim = binary_balanced_limit(BINARY, THETA)
    m = np.asarray(lim.rates)
    np.testing.assert_allclose(m, [0.1, 0.1], rtol=1e-14)  # (1*1.8 - 0.8*2)/(2 - 1.8) * 0.1
    sigma = np.sqrt(np.array([[1.0, 4.0], [1.0, 3.24]]) @ (m * (1 - m)))
    np.testing.assert_allclose(lim.sigma, sigma, rtol=1e-14)
    np.testing.assert_allclose(lim.mu, THETA - np.sqrt(2) * sigma * erfcinv(2 * m), rtol=1e-12)
    Ks = np.array([1e4, 1e5, 1e6])
    acts = []
    for K in Ks:
        sol = binary_rates(*BINARY.binary(K, THETA))
        assert bool(sol.converged)
        acts.append(np.asarray(sol.m))
    scaled = (np.stack(acts) - m) * np.sqrt(Ks)[:, None]
    remainder = np.abs(scaled - np.asarray(lim.correction))
    np.testing.assert_allclose(remainder[1:] / remainder[:-1], 10**-0.5, rtol=0.15)


def test_limit_gradients_equal_finite_differences():
    def f(j_ext):
        lim = balanced_limit(BalancedNetwork(SPEC.j, j_ext, 20.0, fractions=SPEC.fractions))
        return lim.correction[0] + lim.mu[1]

    x = jnp.array([2.0, 1.6])
    g = jax.grad(f)(x)
    for i in range(2):
        e = jnp.zeros(2).at[i].set(1e-5)
        fd = (f(x + e) - f(x - e)) / 2e-5
        assert float(g[i]) == pytest.approx(float(fd), rel=1e-6)


def test_no_balanced_state_is_refused_and_masked_when_traced():
    # I_E / I_I below w_EI / w_II: the balance equations give a negative excitatory rate
    bad = BalancedNetwork(SPEC.j, [1.0, 1.6], 20.0, fractions=SPEC.fractions)
    with pytest.raises(ValueError, match="no balanced state"):
        balanced_limit(bad)
    traced = jax.jit(lambda s: balanced_limit(s))(bad)
    assert not bool(traced.valid) and np.all(np.isnan(np.asarray(traced.rates)))
    with pytest.raises(ValueError, match="no balanced state"):
        binary_balanced_limit(BalancedNetwork([[1.0, -2.0], [1.0, -1.8]], [1.0, 0.8], 1.0), THETA)  # m_inf = 1
    with pytest.raises(ValueError, match="j must be a square"):
        BalancedNetwork([1.0, 2.0], [1.0, 1.0], 1.0)
    with pytest.raises(ValueError, match="nu_ext"):
        BalancedNetwork(SPEC.j, [2.0, 1.6], -1.0)
    with pytest.raises(ValueError, match="K"):
        SPEC.network(0.0)
