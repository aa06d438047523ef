"""EIF and QIF populations in ``mfjax.spiking.simulate`` (alone and mixed with LIF in one network)
against independent references:

* the diffusion-limit rate of each model from the Fokker-Planck engine (``mfjax.firing_rate``,
  itself tested against scipy shooting in tests/neurons/test_threshold.py) for unconnected
  neurons driven by many small Poisson inputs;
* ``solve_rates`` of recurrent Brunel-type networks with EIF, QIF and LIF populations (the mean
  field these simulations test);
* the LIF's exact integration: a network given as one LIF per population simulates to the same
  numbers as the same network with one shared LIF.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mfjax
from mfjax import EIF, LIF, QIF, Network, spiking
from mfjax.populations import Conductance

EIF_ = EIF(tau_m=20.0, tau_ref=2.0, v_th=30.0, v_reset=10.0, delta_t=2.0, v_t=20.0)
QIF_ = QIF(tau_m=20.0, tau_ref=2.0, v_th=60.0, v_reset=0.0, v_t=20.0)
LIF_ = LIF(20.0, 2.0, 20.0, 10.0)
JUMP = 0.1  # mV


def _feedforward(models, mus, sigmas, n=2000):
    """Unconnected populations, each driven by Poisson input of jump 0.1 mV at the rate that
    gives (mu, sigma) in the diffusion limit, the rest of mu as a DC current."""
    mus, sigmas = np.asarray(mus, float), np.asarray(sigmas, float)
    rate = sigmas**2 / (20e-3 * JUMP**2)  # Hz: sigma^2 = tau R J^2
    dc = mus - 20e-3 * rate * JUMP
    p = len(models)
    return Network(tuple(models), np.zeros((p, p)), np.zeros((p, p)), K_ext=1.0, J_ext=JUMP, nu_ext=rate,
                   N=[n] * p, delay=0.1, I_ext=dc * 250.0 / 20.0)


@pytest.mark.slow  # 39 s; the recurrent mixed networks vs the mean field stay in the main run
def test_mixed_feedforward_populations_match_the_fokker_planck_rates():
    """EIF, QIF and LIF in one simulation, dt 0.025 ms: measured (5 s, 4000 neurons each, dt
    0.01-0.05 ms) EIF +1.5 to +2.8 %, QIF -0.3 to -0.1 %, LIF +0.8 to +5 % (the finite 0.1 mV jumps
    and the discrete time lift the rate; the LIF is integrated exactly)."""
    mus, sigmas = [15.0, 5.0, 15.0], [4.0, 4.0, 4.0]
    net = _feedforward((EIF_, QIF_, LIF_), mus, sigmas, n=1000)
    res = spiking.simulate(net, 2500.0, key=jax.random.key(0), dt=0.025, transient=200.0)
    theory = [float(mfjax.firing_rate(m, mu, s)) for m, mu, s in zip((EIF_, QIF_, LIF_), mus, sigmas)]
    np.testing.assert_allclose(np.asarray(mfjax.solve_rates(net).rates), theory, rtol=1e-10)
    sim = np.asarray(res.rates)
    se = sim * np.asarray(res.cv) / np.sqrt(1000 * 2.3 * sim)
    assert np.all(np.abs(sim - theory) < 0.025 * np.asarray(theory) + 3 * se), (sim, theory)


@pytest.mark.slow  # 20 s: a convergence study; the EIF rates vs the engine stay in the main run
def test_time_step_convergence_of_the_eif():
    """ETD2RK: the EIF's rate error falls with dt (measured +2.8 % at 0.05 ms, +1.5 % at 0.01 ms,
    first-order exponential Euler +18.5 % and +4.8 %)."""
    net = _feedforward((EIF_,), [15.0], [4.0])
    theory = float(mfjax.firing_rate(EIF_, 15.0, 4.0))
    coarse = float(spiking.simulate(net, 4000.0, key=jax.random.key(1), dt=0.1, transient=200.0).rates[0])
    fine = float(spiking.simulate(net, 4000.0, key=jax.random.key(1), dt=0.025, transient=200.0).rates[0])
    assert abs(fine / theory - 1) < abs(coarse / theory - 1)
    assert abs(coarse / theory - 1) < 0.08


def _brunel(neuron, n_e=4000):
    base = mfjax.brunel_a(g=5.0, eta=2.0, N_E=n_e)
    return Network(neuron, base.K, base.J, K_ext=base.K_ext, J_ext=base.J_ext, nu_ext=base.nu_ext, N=base.N,
                   delay=base.delay)


@pytest.mark.parametrize("neuron, tol", [((EIF_, LIF_), 0.08),
                                         pytest.param((QIF_, EIF_), 0.05, marks=pytest.mark.slow)])
def test_recurrent_mixed_networks_match_the_mean_field(neuron, tol):
    """Brunel's model A (g 5, eta 2, N_E 4000) with EIF excitatory and LIF inhibitory neurons,
    and QIF/EIF: measured -4.8 % / -0.5 % and +0.5 % / +0.7 % (dt 0.05 ms, 2 s); all-EIF +0.6 %,
    all-QIF +3.0 %."""
    net = _brunel(neuron)
    theory = np.asarray(mfjax.solve_rates(net).rates)
    res = spiking.simulate(net, 1300.0, key=jax.random.key(0), dt=0.05, transient=300.0)
    np.testing.assert_allclose(np.asarray(res.rates), theory, rtol=tol)


def test_one_lif_per_population_is_the_shared_lif():
    shared = _brunel(LIF_, 1000)
    split = _brunel((LIF_, LIF_), 1000)
    a = spiking.simulate(shared, 200.0, key=jax.random.key(3))
    b = spiking.simulate(split, 200.0, key=jax.random.key(3))
    np.testing.assert_array_equal(np.asarray(a.raster), np.asarray(b.raster))
    np.testing.assert_array_equal(np.asarray(a.v), np.asarray(b.v))
    np.testing.assert_allclose(np.asarray(mfjax.solve_rates(split).rates), np.asarray(mfjax.solve_rates(shared).rates),
                               rtol=1e-12)


def test_eif_with_conductance_synapses_runs_and_is_refused_by_the_mean_field():
    """AdEx-free conductance-based EIF network (the COBA benchmark's structure): it simulates,
    fires and stays finite; the COBA mean field is the LIF's and refuses it."""
    cob = spiking.coba(N=1000)
    eif = EIF(tau_m=20.0, tau_ref=5.0, v_th=20.0, v_reset=0.0, delta_t=2.0, v_t=10.0, c_m=200.0)
    net = Network(eif, cob.K, cob.J, K_ext=0.0, J_ext=0.0, nu_ext=0.0, I_ext=cob.I_ext, N=cob.N, delay=cob.delay,
                  synapses=cob.synapses, connectivity=cob.connectivity)
    res = spiking.simulate(net, 300.0, key=jax.random.key(0), record_v=3)
    assert np.all(np.isfinite(np.asarray(res.v)))
    assert np.all(np.asarray(res.rates) > 1.0)
    with pytest.raises(ValueError, match="LIF"):
        mfjax.solve_rates(net)


def test_bad_neuron_descriptions_are_named():
    base = mfjax.brunel_a()
    args = dict(K_ext=base.K_ext, J_ext=base.J_ext, nu_ext=base.nu_ext)
    with pytest.raises(ValueError, match="one model per population"):
        Network((EIF_,), base.K, base.J, **args)
    with pytest.raises(TypeError, match=r"neuron\[1\]"):
        Network((EIF_, "LIF"), base.K, base.J, **args)
    with pytest.raises(ValueError, match=r"neuron\[0\].tau_m must be a scalar"):
        Network((EIF_.__class__(**{**EIF_.__dict__, "tau_m": jnp.ones(2) * 20.0}), LIF_), base.K, base.J, **args)
    with pytest.raises(ValueError, match="needs LIF"):
        Network(EIF_, base.K, base.J, **args, synapses="shift")
    with pytest.raises(ValueError, match="needs LIF"):
        Network((EIF_, LIF_), base.K, base.J, **args, input_model="shot")
    with pytest.raises(TypeError, match="keep the neuron model"):
        _brunel(LIF_).replace(neuron=EIF_)
    with pytest.raises(ValueError, match="decay rate"):
        mfjax.populations.effective_connectivity(_brunel(EIF_), jnp.array([10.0 + 30.0j]))
    with pytest.raises(ValueError, match="c_m"):
        EIF(tau_m=20.0, tau_ref=2.0, v_th=30.0, v_reset=10.0, delta_t=2.0, v_t=20.0, c_m=-1.0)
    assert isinstance(Conductance(), Conductance)
