"""Self-consistent rates against Brunel (2000) and NNMT; implicit gradients against finite differences."""

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mfjax import LIF, Network, brunel_a, microcircuit, solve_rates
from mfjax.populations import ConvergenceError, input_std, mean_input

NNMT = json.loads((Path(__file__).parents[1] / "data" / "nnmt_microcircuit.json").read_text())


@pytest.mark.parametrize(
    "g,eta,ref",
    # Brunel (2000) model A mean-field rates (Hz), printed to 6 significant digits in issue 2
    # (Siegert self-consistency, cf. Brunel 2000 Fig. 2); agreement to half a unit in the last digit
    [(5, 2, "37.9497"), (8, 2, "12.9875"), (5, 1, "7.8266"), (4.5, 0.9, "6.5167"), (3, 2, "327.008")],
)
def test_brunel_reference_rates(g, eta, ref):
    sol = solve_rates(brunel_a(g, eta))
    half_unit = 0.5 * 10.0 ** -len(ref.split(".")[1])
    assert abs(float(sol.rates[0]) - float(ref)) <= half_unit
    assert abs(float(sol.rates[1]) - float(ref)) <= half_unit


def test_brunel_inputs_closed_form():
    # (g, eta) = (5, 2): mu = tau (C_E J - C_I g J) nu + tau C_E J nu_ext (Brunel 2000 eq. 4)
    net = brunel_a(5.0, 2.0)
    nu = jnp.array([10.0, 10.0])
    assert float(mean_input(net, nu)[0]) == pytest.approx(0.02 * (100 - 125) * 10 + 0.02 * 100 * 20, rel=1e-14)
    var = 0.02 * (1000 * 0.01 + 250 * 0.25) * 10 + 0.02 * 1000 * 0.01 * 20
    assert float(input_std(net, nu)[0]) == pytest.approx(np.sqrt(var), rel=1e-14)
    # weights drawn with sd J_sd: second moment J^2 + J_sd^2 in the variance, mean unchanged
    spread = net.replace(J_sd=0.3 * jnp.abs(net.J))
    var_sd = 0.02 * (1000 * 0.01 * 1.09 + 250 * 0.25 * 1.09) * 10 + 0.02 * 1000 * 0.01 * 20
    assert float(input_std(spread, nu)[0]) == pytest.approx(np.sqrt(var_sd), rel=1e-14)
    assert float(mean_input(spread, nu)[0]) == float(mean_input(net, nu)[0])


@pytest.mark.parametrize("variant", ["pd14", "bos2016"])
@pytest.mark.parametrize("synapses", ["delta", "shift", "taylor"])
def test_microcircuit_matches_nnmt(variant, synapses):
    ref = np.array(NNMT["microcircuit"][f"{variant}_{synapses}"])
    ours = np.asarray(solve_rates(microcircuit(variant, synapses)).rates)
    np.testing.assert_allclose(ours, ref, rtol=1e-8)


@pytest.fixture(scope="module")
def small_net():
    return microcircuit("pd14", "shift")


def test_implicit_gradient_wrt_J_matches_finite_differences(small_net):
    def rates(J):
        return solve_rates(small_net.replace(J=J), on_failure="return").rates

    J0 = small_net.J
    jac = np.asarray(jax.jit(jax.jacrev(rates))(J0))  # (8 rates, 8, 8 entries of J)
    assert np.all(np.isfinite(jac))
    f = jax.jit(rates)
    h = 1e-6
    for i, j in [(0, 1), (2, 2), (6, 7), (4, 0)]:
        fd = (np.asarray(f(J0.at[i, j].add(h))) - np.asarray(f(J0.at[i, j].add(-h)))) / (2 * h)
        np.testing.assert_allclose(jac[:, i, j], fd, rtol=1e-6, atol=1e-7)


def test_gradient_wrt_every_field_is_finite_and_matches_fd():
    def rate(params):
        neuron = LIF(params["tau_m"], params["tau_ref"], 20.0, 10.0)
        net = Network(neuron, np.array([[800.0, 200.0], [800.0, 200.0]]),
                      jnp.array([[0.1, -0.5], [0.1, -0.5]]), K_ext=1000.0, J_ext=0.1,
                      nu_ext=params["nu_ext"], I_ext=params["I_ext"])
        return solve_rates(net, on_failure="return").rates[0]

    p = {"tau_m": 20.0, "tau_ref": 2.0, "nu_ext": 15.0, "I_ext": 10.0}
    g = jax.grad(rate)(p)
    for k in p:
        h = 1e-5 * max(1.0, abs(p[k]))
        fd = (float(rate({**p, k: p[k] + h})) - float(rate({**p, k: p[k] - h}))) / (2 * h)
        assert np.isfinite(float(g[k]))
        assert float(g[k]) == pytest.approx(fd, rel=1e-6, abs=1e-9), k


def test_vmap_over_parameters():
    f = jax.jit(jax.vmap(lambda g: solve_rates(brunel_a(g, 2.0), on_failure="return").rates[0]))
    out = np.asarray(f(jnp.array([5.0, 8.0])))
    np.testing.assert_allclose(out, [37.9497, 12.9875], rtol=5e-6)


def test_nonconvergence_raises_at_the_edge():
    with pytest.raises(ConvergenceError, match="did not converge"):
        solve_rates(brunel_a(5.0, 2.0), max_steps=1)
    sol = solve_rates(brunel_a(5.0, 2.0), max_steps=1, on_failure="return")
    assert not bool(sol.converged)


def test_bad_network_input_names_the_parameter():
    n = LIF(20.0, 2.0, 20.0, 10.0)
    with pytest.raises(ValueError, match="K must be a square"):
        Network(n, np.ones((2, 3)), 0.1, K_ext=1.0, J_ext=0.1, nu_ext=1.0)
    with pytest.raises(ValueError, match="nu_ext"):
        Network(n, np.ones((2, 2)), 0.1, K_ext=1.0, J_ext=0.1, nu_ext=-1.0)
    with pytest.raises(ValueError, match="J must have shape"):
        Network(n, np.ones((2, 2)), np.ones((3, 3)), K_ext=1.0, J_ext=0.1, nu_ext=1.0)
    with pytest.raises(ValueError, match="tau_s"):
        Network(n, np.ones((2, 2)), 0.1, K_ext=1.0, J_ext=0.1, nu_ext=1.0, synapses="shift")
    with pytest.raises(ValueError, match="delay_sd"):
        Network(n, np.ones((2, 2)), 0.1, K_ext=1.0, J_ext=0.1, nu_ext=1.0, delay_sd=-0.5)
    with pytest.raises(ValueError, match="J_sd must have shape"):
        Network(n, np.ones((2, 2)), 0.1, K_ext=1.0, J_ext=0.1, nu_ext=1.0, J_sd=np.ones(3))
    with pytest.raises(ValueError, match="init"):
        solve_rates(brunel_a(5.0, 2.0), init=np.array([1.0, float("nan")]))


def test_replace_keeps_shapes_and_names_fields():
    net = brunel_a(5.0, 2.0)
    assert float(net.replace(nu_ext=jnp.array([30.0, 30.0])).nu_ext[0]) == 30.0
    with pytest.raises(ValueError, match="J must keep shape"):
        net.replace(J=jnp.ones((3, 3)))
    with pytest.raises(ValueError, match="synapses"):
        net.replace(synapses="shift")


def _brunel_roots_scipy(g, eta):
    """Every self-consistent rate of Brunel's model A (nu_E = nu_I) by a scipy bracketing of
    nu = phi(nu) on a logarithmic grid, with the Siegert rate by scipy quadrature."""
    from scipy.optimize import brentq
    from scipy_lif import siegert

    def excess(nu):
        mu = 0.02 * ((1000 - 250 * g) * 0.1 * nu + 1000 * eta)  # nu_ext = 10 eta Hz (nu_thr = 10)
        sigma = np.sqrt(0.02 * ((1000 + 250 * g * g) * 0.01 * nu + 100 * eta))
        return siegert(20.0, 2.0, 20.0, 10.0, mu, sigma) - nu

    grid = np.concatenate([[0.0], np.logspace(-10, np.log10(499.9), 120)])
    vals = [excess(x) for x in grid]
    return [brentq(excess, a, b, xtol=1e-13, rtol=1e-15)
            for a, b, va, vb in zip(grid[:-1], grid[1:], vals[:-1], vals[1:]) if va * vb < 0]


_BRUNEL_SWEEP = jax.jit(jax.vmap(lambda g, eta: solve_rates(brunel_a(g, eta), on_failure="return")))


def test_default_start_converges_where_newton_used_to_bounce():
    # strong inhibition and drive (g 8.8-10, eta 6.3-10): the rate map is nearly a step, and
    # Newton from 0 Hz used to bounce between ~0 and ~75 Hz (359 of the 10,201 points of the
    # (g, eta) in [0, 10]^2 grid failed before the overshoot rejection)
    g, eta = np.meshgrid(np.linspace(8.0, 10.0, 21), np.linspace(6.0, 10.0, 21), indexing="ij")
    sol = _BRUNEL_SWEEP(jnp.asarray(g.ravel()), jnp.asarray(eta.ravel()))
    assert bool(jnp.all(sol.converged))
    for k in (0, 150, 300, 440):
        roots = _brunel_roots_scipy(g.ravel()[k], eta.ravel()[k])
        assert len(roots) == 1
        assert float(sol.rates[k, 0]) == pytest.approx(roots[0], rel=1e-9)


@pytest.mark.slow
def test_default_start_converges_on_the_whole_brunel_grid():
    # issue 19's number: from the default start on 100% of the (g, eta) in [0, 10]^2 grid
    g, eta = np.meshgrid(np.linspace(0.0, 10.0, 101), np.linspace(0.0, 10.0, 101), indexing="ij")
    sol = _BRUNEL_SWEEP(jnp.asarray(g.ravel()), jnp.asarray(eta.ravel()))
    assert int(jnp.sum(~sol.converged)) == 0
    for k in range(505, g.size, 1000):  # the returned rate is the bracketed root, or one of them
        if eta.ravel()[k] == 0:  # no input at all: the quiescent state, exactly
            assert float(sol.rates[k, 0]) == 0.0
            continue
        roots = _brunel_roots_scipy(g.ravel()[k], eta.ravel()[k])
        if not roots:  # quiescent, below the grid's 1e-10 Hz
            assert float(sol.rates[k, 0]) < 1e-10
            continue
        assert min(abs(float(sol.rates[k, 0]) / r - 1) for r in roots) < 1e-9
