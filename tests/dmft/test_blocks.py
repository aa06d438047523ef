"""Block-structured DMFT (several cell types) against independent references: the
one-population DMFT (energy integral, itself checked against scipy), scipy's collocation BVP
solver on the same equations, scipy root finding of the static equations, the closed-form
transition of Aljadeff, Stern & Sharpee 2015 (PRL 114:088101: rho(alpha_b g_ab^2) = 1), the
exact noisy transition of Schuecker, Goedeke & Helias 2018 (via dmft.chaos_onset), finite
differences, and direct simulation of the block network."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_bvp
from scipy.optimize import fsolve

from mfjax import dmft

G2 = np.array([[1.0, 2.0], [0.5, 1.5]])  # a non-symmetric two-population gain matrix
ALPHA = np.array([0.2, 0.8])
# one set of static solver arguments for every call here (one compilation per P)
KW = dict(n_nodes=64, horizon=120.0)

# Gauss-Hermite with 160 nodes: tanh's complex poles limit it to ~5e-8 at 90 nodes for Delta0 ~ 3,
# ~2e-10 at 160
X_GH, W_GH = np.polynomial.hermite_e.hermegauss(160)
W_GH = W_GH / W_GH.sum()


def np_pair(f, delta, d0, m):
    """<f(x) f(y)> for x, y ~ N(m, d0) with covariance delta (numpy Gauss-Hermite; 1-d delta,
    evaluated in chunks to bound the memory)."""
    delta = np.atleast_1d(np.asarray(delta, float))
    out = []
    for chunk in np.array_split(delta, max(1, delta.size // 128)):
        d = chunk[:, None, None]
        u = m + np.sqrt(np.maximum(d, 0.0)) * X_GH[:, None] + np.sqrt(np.maximum(d0 - d, 0.0)) * X_GH[None, :]
        inner = (W_GH[None, :] * f(u)).sum(-1)
        out.append((W_GH * inner**2).sum(-1))
    return np.concatenate(out)


def scipy_profiles(M, sigma, T=40.0):
    """Delta_a(tau) for zero means (tanh): scipy.integrate.solve_bvp of
    Delta_a'' = Delta_a - sum_b M_ab C_b(Delta_b), Delta_a'(0) = -sigma_a^2/2, Delta_a'(T) = 0,
    with the unknown parameters Delta_a(0)."""
    P = M.shape[0]
    tau = np.linspace(0.0, T, 100)

    def rhs(t, y, p):
        D = y[:P]
        C = np.stack([np_pair(np.tanh, D[b], p[b], 0.0) for b in range(P)])
        return np.vstack([y[P:], D - M @ C])

    def bc(ya, yb, p):
        return np.concatenate([ya[:P] - p, ya[P:] + 0.5 * sigma**2, yb[P:]])

    p0 = np.full(P, 2.0)
    y0 = np.vstack([np.outer(p0, np.exp(-tau / 3)), np.outer(-p0 / 3, np.exp(-tau / 3))])
    sol = solve_bvp(rhs, bc, tau, y0, p=p0, tol=1e-8, max_nodes=200000)
    assert sol.success, sol.message
    return sol


def test_one_population_and_identical_blocks_reduce_to_the_scalar_dmft():
    ref = dmft.stationary(2.0, 0.3, 0.4, 0.2)
    for alpha in ([1.0], [0.3, 0.7]):
        st = dmft.block_stationary(dmft.block_network(alpha, 2.0, 0.4, 0.2, 0.3), **KW)
        assert bool(st.converged) and not bool(st.static)
        np.testing.assert_allclose(st.delta0, float(ref.delta0), rtol=1e-12)
        np.testing.assert_allclose(st.delta_inf, float(ref.delta_inf), rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(st.mean, float(ref.mean), rtol=1e-12, atol=1e-13)
        # tau_c: the scalar solver's is good to ~1e-5 (its docstring), this one to ~1e-10 (n, T varied)
        np.testing.assert_allclose(st.tau_c, float(ref.tau_c), rtol=2e-4)
        # lambda: the scalar solver's finite differences are good to ~1e-4 (its docstring: 1e-3)
        assert abs(float(st.lyapunov) - float(ref.lyapunov)) < 1e-4
        # Delta(tau): the scalar solver interpolates its trajectory to ~1e-5 (its docstring)
        assert float(jnp.max(jnp.abs(st.delta - ref.delta[None, :]))) < 2e-4


def test_two_populations_against_scipy_bvp():
    sigma = np.array([0.5, 1.0])
    net = dmft.block_network(ALPHA, 1.5 * G2, sigma=sigma)
    st = dmft.block_stationary(net, **KW)
    assert bool(st.converged)
    sol = scipy_profiles(np.asarray(net.variance_matrix), sigma)
    np.testing.assert_allclose(st.delta0, sol.p, rtol=1e-9)
    tau = np.asarray(st.tau)
    near = tau <= 10.0  # scipy's Neumann end at T = 40 bends its tail by ~exp(-2 kappa (T - tau))
    np.testing.assert_allclose(np.asarray(st.delta)[:, near], sol.sol(tau[near])[:2], atol=1e-7)
    np.testing.assert_allclose(st.delta_inf, 0.0, atol=1e-12)
    assert float(st.lyapunov) > 0  # chaotic with these gains


def test_static_state_against_scipy_root():
    """Non-zero means and inputs, mixed transfer functions: the static equations by scipy."""
    J0 = np.array([[0.5, -1.0], [1.0, -0.8]])
    I = np.array([0.3, -0.2])
    net = dmft.block_network(ALPHA, 0.5 * G2, J0, I, phi=("tanh", "erf"))
    st = dmft.block_static(net)
    assert bool(st.converged)
    M = ALPHA[None, :] * (0.5 * G2) ** 2
    erf = np.vectorize(math.erf)
    fs = (np.tanh, lambda x: erf(math.sqrt(math.pi) / 2 * x))
    dfs = (lambda x: 1 - np.tanh(x) ** 2, lambda x: np.exp(-math.pi * x * x / 4))

    def eqs(v):
        d, m = v[:2], v[2:]
        mom = lambda f, b: W_GH @ f(m[b] + math.sqrt(max(d[b], 0)) * X_GH)
        phi2 = np.array([mom(lambda u: fs[b](u) ** 2, b) for b in range(2)])
        phi1 = np.array([mom(fs[b], b) for b in range(2)])
        return np.concatenate([d - M @ phi2, m - (J0 * ALPHA[None, :]) @ phi1 - I])

    v = fsolve(eqs, np.r_[0.1, 0.1, I], xtol=1e-14)
    np.testing.assert_allclose(np.r_[st.delta, st.mean], v, rtol=1e-9, atol=1e-12)
    c = [W_GH @ dfs[b](v[2 + b] + math.sqrt(v[b]) * X_GH) ** 2 for b in range(2)]
    rho = max(np.linalg.eigvals(M * np.array(c)[None, :]).real)
    assert abs(float(st.radius) - rho) < 1e-10
    assert abs(float(st.lyapunov) - (-1 + math.sqrt(rho))) < 1e-10


def test_transition_to_chaos_closed_forms():
    """No noise, zero means: s_c = 1/sqrt(rho(alpha_b g_ab^2)) (Aljadeff et al. 2015); with
    noise and one population: the exact g_c(sigma) of Schuecker et al. 2018."""
    s_c = dmft.block_chaos_onset(dmft.block_network(ALPHA, G2))
    rho = max(np.linalg.eigvals(ALPHA[None, :] * G2**2).real)
    assert abs(s_c - 1 / math.sqrt(rho)) < 1e-10
    # the dynamic solution just above it is chaotic, the static one just below is stable
    above = dmft.block_stationary(dmft.block_network(ALPHA, 1.05 * s_c * G2), **KW)
    below = dmft.block_stationary(dmft.block_network(ALPHA, 0.95 * s_c * G2), **KW)
    assert bool(above.converged) and not bool(above.static) and float(above.lyapunov) > 0
    assert bool(below.static) and float(below.lyapunov) < 0
    g_c = dmft.block_chaos_onset(dmft.block_network([1.0], 1.0, sigma=0.5), tol=1e-9, **KW)
    assert abs(g_c - dmft.chaos_onset(0.5)) < 1e-9


@pytest.mark.slow
def test_gradients_match_finite_differences():
    sigma = jnp.array([0.5, 1.0])

    def observables(scale):
        st = dmft.block_stationary(dmft.block_network(ALPHA, scale * G2, 0.0, 0.0, sigma), **KW)
        return jnp.stack([st.delta0[0], st.delta0[1], st.lyapunov])

    s0, h = 1.5, 1e-5
    jac = jax.jacfwd(observables)(s0)
    fd = (observables(s0 + h) - observables(s0 - h)) / (2 * h)
    np.testing.assert_allclose(jac, fd, rtol=2e-6, atol=1e-8)


def test_static_gradient_matches_finite_differences():
    """Reverse mode through the static solver, w.r.t. every gain."""
    h = 1e-5
    grad = jax.grad(lambda g: dmft.block_static(dmft.block_network(ALPHA, g, 0.3, 0.2)).delta[1])(0.5 * G2)
    e = np.zeros((2, 2))
    e[0, 1] = 1.0
    f = lambda g: float(dmft.block_static(dmft.block_network(ALPHA, g, 0.3, 0.2)).delta[1])
    assert abs(float(grad[0, 1]) - (f(0.5 * G2 + h * e) - f(0.5 * G2 - h * e)) / (2 * h)) < 1e-8


def test_vmapped_phase_diagram_of_the_static_state():
    """The transition line of a (g_E, g_I) sweep: radius = 1 where s_c says."""
    scales = jnp.linspace(0.5, 1.0, 11)
    radius = jax.vmap(lambda s: dmft.block_static(dmft.block_network(ALPHA, s * G2)).radius)(scales)
    rho = max(np.linalg.eigvals(ALPHA[None, :] * G2**2).real)
    np.testing.assert_allclose(radius, np.asarray(scales) ** 2 * rho, rtol=1e-12)


@pytest.mark.slow
def test_simulation_agrees_with_theory():
    net = dmft.block_network(ALPHA, 1.3 * G2, phi=("tanh", "erf"))
    th = dmft.block_stationary(net, **KW)
    keys = jax.random.split(jax.random.key(0), 2)
    sims = [dmft.simulate_blocks(net, 1000, 120.0, key=k, tau_max=5.0) for k in keys]
    # finite N = 1000, 120 time constants; N = 4000 agreement: benchmarks/bench_dmft_blocks.py
    d0 = np.mean([np.asarray(s.delta0) for s in sims], axis=0)
    np.testing.assert_allclose(d0, th.delta0, rtol=0.06)
    assert abs(np.mean([float(s.lyapunov) for s in sims]) / float(th.lyapunov) - 1) < 0.2


def test_bad_input_and_traced_invalid_parameters():
    with pytest.raises(ValueError, match="alpha .* must sum to 1"):
        dmft.block_network([0.3, 0.3], G2)
    with pytest.raises(ValueError, match="g must be"):
        dmft.block_network(ALPHA, -G2)
    with pytest.raises(ValueError, match=r"g must be a scalar or have shape \(2, 2\)"):
        dmft.block_network(ALPHA, np.ones((3, 3)))
    with pytest.raises(ValueError, match="I must not be NaN"):
        dmft.block_network(ALPHA, G2, I=[0.0, float("nan")])
    with pytest.raises(ValueError, match="phi must be one transfer function or a sequence"):
        dmft.block_network(ALPHA, G2, phi=("tanh", "tanh", "erf"))
    with pytest.raises(ValueError, match="net must be a BlockNetwork"):
        dmft.block_stationary(2.0)
    # traced invalid values: a status, not a silently converged result
    bad = jax.jit(lambda a: dmft.block_static(dmft.block_network(a, G2)).converged)(jnp.array([0.5, 0.2]))
    assert not bool(bad)
    neg = jax.vmap(lambda s: dmft.block_static(dmft.block_network(ALPHA, G2, sigma=s)).converged)(jnp.array([0.0, -1.0]))
    assert neg.tolist() == [True, False]


@pytest.mark.slow
def test_float32():
    """float32 runs; the order parameters agree with float64 to the bound quoted in the README."""
    net64 = dmft.block_network(ALPHA, 1.5 * G2, sigma=[0.5, 1.0])
    net32 = dmft.block_network(np.float32(ALPHA), np.float32(1.5 * G2), sigma=np.float32([0.5, 1.0]))
    a, b = dmft.block_stationary(net64, **KW), dmft.block_stationary(net32, **KW)
    assert b.delta0.dtype == jnp.float32 and bool(b.converged)
    # measured: 7e-5 (Delta0): round-off of the collocation matrices in float32
    np.testing.assert_allclose(b.delta0, a.delta0, rtol=2e-4)
    assert abs(float(b.lyapunov) - float(a.lyapunov)) < 2e-3
