"""The shot-noise input model of a Network (``input_model="shot"``) against independent references:

* Campbell's theorem (the cumulants of filtered Poisson shot noise, ``k_n = tau R E[w^n]/n``)
  with the weight moments of the simulator's normal weights by Gauss-Hermite quadrature: the
  exponential representation keeps the mean, variance and skewness of the free membrane potential;
* ``mfjax.spiking.simulate`` of the same networks (finite jumps, where the diffusion rate is off
  by several percent);
* finite differences for the implicit gradients.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mfjax import LIF, Network, brunel_a, lif_shot_rate, solve_rates
from mfjax.populations import INPUT_MODELS, effective_connectivity, shot_input
from mfjax.spiking import simulate

BRUNEL_NEURON = LIF(tau_m=20.0, tau_ref=2.0, v_th=20.0, v_reset=10.0)


def _feedforward(input_model, jumps=(0.5, 4.0), mean=15.0):
    """Unconnected populations driven at ``mean`` mV by external Poisson input of fixed jumps."""
    jumps = np.asarray(jumps)
    events = mean / (jumps * 20e-3)  # K_ext nu_ext (Hz)
    return Network(BRUNEL_NEURON, K=np.zeros((2, 2)), J=np.zeros((2, 2)), K_ext=100.0, J_ext=jumps,
                   nu_ext=events / 100.0, N=[2000, 2000], delay=0.1, input_model=input_model)


def _normal_moments(mean, sd, n):
    x, w = np.polynomial.hermite_e.hermegauss(40)
    return float(np.sum(w * (mean + sd * x) ** n) / np.sqrt(2 * np.pi))


def test_input_models_are_listed():
    assert INPUT_MODELS == ("diffusion", "shot")


def test_exponential_representation_keeps_three_cumulants():
    """Campbell: the free potential's n-th cumulant is ``tau sum_streams R E[w^n]/n``; an
    exponential stream has ``E[w^n] = n! a^n``; the DC drive adds to the mean only."""
    J = np.array([[0.4, -1.7], [0.9, -2.2]])
    J_sd = np.array([[0.1, 0.5], [0.2, 0.0]])
    net = Network(BRUNEL_NEURON, K=[[300.0, 80.0], [250.0, 60.0]], J=J, J_sd=J_sd, K_ext=[400.0, 500.0],
                  J_ext=[0.3, 0.25], nu_ext=[9.0, 7.0], I_ext=[50.0, 0.0], N=[100, 25], input_model="shot")
    rates = np.array([6.0, 14.0])
    tau = 20e-3
    shot = shot_input(net, jnp.asarray(rates))
    for a in range(2):
        true = np.zeros(4)
        for b in range(2):
            for n in (1, 2, 3):
                true[n] += tau * float(net.K[a, b]) * rates[b] * _normal_moments(J[a, b], J_sd[a, b], n) / n
        for n in (1, 2, 3):
            true[n] += tau * float(net.K_ext[a]) * float(net.nu_ext[a]) * float(net.J_ext[a]) ** n / n
        true[1] += 20.0 * float(net.I_ext[a]) / 250.0
        re, ae = float(shot.rate_exc[a]), float(shot.jump_exc[a])
        ri, ai = float(shot.rate_inh[a]), float(shot.jump_inh[a])
        model = [0.0,
                 float(shot.mu[a]) + tau * (re * ae - ri * ai),
                 tau * (re * 2 * ae**2 + ri * 2 * ai**2) / 2,
                 tau * (re * 6 * ae**3 - ri * 6 * ai**3) / 3]
        np.testing.assert_allclose(model[1:], true[1:], rtol=1e-12)


@pytest.fixture(scope="module")
def feedforward_simulation():
    res = simulate(_feedforward("diffusion"), 4000.0, key=jax.random.key(3), dt=0.05, transient=200.0)
    per_neuron = np.asarray(res.neuron_rates)
    errors = np.array([per_neuron[:2000].std(), per_neuron[2000:].std()]) / np.sqrt(2000)
    return np.asarray(res.rates), errors


def test_shot_rates_match_simulation_where_diffusion_is_off(feedforward_simulation):
    """Fixed jumps of 0.5 and 4 mV at a 15 mV mean drive (v_th 20 mV): the diffusion rate is
    21 % below and 9 % above the simulation; the shot model is within 2 %."""
    sim, err = feedforward_simulation
    shot = np.asarray(solve_rates(_feedforward("shot")).rates)
    diffusion = np.asarray(solve_rates(_feedforward("diffusion")).rates)
    assert np.all(np.abs(diffusion / sim - 1) > 0.05), diffusion / sim - 1
    assert np.all(np.abs(shot - sim) < 0.02 * sim + 4 * err), (shot / sim - 1, err / sim)
    assert np.all(np.abs(shot / sim - 1) < 0.25 * np.abs(diffusion / sim - 1))


@pytest.mark.slow
def test_recurrent_brunel_network_with_large_jumps():
    """Brunel model A with J = 0.5 mV and C_E = 200 (g = 5, eta = 1.2; N_E = 10,000): the
    simulated rate is 23.70 Hz, diffusion gives 25.49 (+7.6 %), the shot model 24.19 (+2.1 %)."""
    kwargs = dict(g=5.0, eta=1.2, J=0.5, epsilon=0.02, N_E=10000)
    res = simulate(brunel_a(**kwargs), 4000.0, key=jax.random.key(0), dt=0.05, transient=300.0)
    sim = float(res.rates[0])
    shot = float(solve_rates(brunel_a(**kwargs, input_model="shot")).rates[0])
    diffusion = float(solve_rates(brunel_a(**kwargs)).rates[0])
    assert abs(diffusion / sim - 1) > 0.05
    assert abs(shot / sim - 1) < 0.035


def test_single_population_equals_the_rate_formula():
    """A population with only external input of fixed jumps J: a = J/3 at 4.5 times the rate,
    and a DC offset of -tau K nu J/2 (the shot_input docstring)."""
    net = _feedforward("shot", jumps=(1.0, 2.0))
    events = 15.0 / (np.array([1.0, 2.0]) * 20e-3)
    expected = [float(lif_shot_rate(BRUNEL_NEURON, -0.5 * 20e-3 * e * j, 4.5 * e, j / 3)) for e, j in zip(events, (1.0, 2.0))]
    np.testing.assert_allclose(np.asarray(solve_rates(net).rates), expected, rtol=1e-11)


def test_implicit_gradient_with_shot_input():
    def rate(J):
        return solve_rates(brunel_a(g=5.0, eta=2.0, J=J, input_model="shot")).rates[0]

    h = 1e-6
    fd = (float(rate(0.1 + h)) - float(rate(0.1 - h))) / (2 * h)
    assert float(jax.grad(rate)(0.1)) == pytest.approx(fd, rel=1e-6)


def test_vmap_sweep_over_g():
    gs = jnp.array([4.5, 5.0, 6.0])
    rates = jax.vmap(lambda g: solve_rates(brunel_a(g=g, eta=2.0, input_model="shot")).rates[0])(gs)
    one = [float(solve_rates(brunel_a(g=float(g), eta=2.0, input_model="shot")).rates[0]) for g in gs]
    np.testing.assert_allclose(np.asarray(rates), one, rtol=1e-10)


def test_bad_input_models():
    with pytest.raises(ValueError, match="input_model"):
        Network(BRUNEL_NEURON, K=[[1.0]], J=[[0.1]], K_ext=1.0, J_ext=0.1, nu_ext=1.0, input_model="poisson")
    with pytest.raises(ValueError, match="delta synapses"):
        Network(LIF(20.0, 2.0, 20.0, 10.0, tau_s=0.5), K=[[1.0]], J=[[0.1]], K_ext=1.0, J_ext=0.1, nu_ext=1.0,
                synapses="shift", input_model="shot")
    with pytest.raises(ValueError, match="input_model"):
        effective_connectivity(brunel_a(input_model="shot"), 10.0)
