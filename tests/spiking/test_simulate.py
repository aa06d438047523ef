"""mfjax.spiking.simulate against closed forms, scipy quadrature and published simulations."""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, special, stats

import mfjax
from mfjax import spiking
from mfjax.spiking import _simulate
from mfjax.neurons import LIF
from mfjax.populations import Conductance, Network


def _isolated(n, *, I_ext=0.0, K_ext=0.0, J_ext=0.0, nu_ext=0.0, synapses="delta", tau_s=0.0, tau_ref=2.0):
    """One population of n unconnected LIF neurons (tau_m 20 ms, threshold 20 mV, reset 10 mV)."""
    neuron = LIF(tau_m=20.0, tau_ref=tau_ref, v_th=20.0, v_reset=10.0, tau_s=tau_s, c_m=250.0)
    return Network(neuron, K=np.zeros((1, 1)), J=np.zeros((1, 1)), K_ext=K_ext, J_ext=J_ext, nu_ext=nu_ext, I_ext=I_ext,
                   N=np.array([n]), synapses=synapses)


def _siegert(mu, sigma, tau_m=20.0, tau_ref=2.0, v_th=20.0, v_reset=10.0):
    """Siegert rate (Hz) by scipy quadrature: 1/nu = tau_ref + tau_m sqrt(pi) int e^{u^2}(1+erf u) du."""
    integral, _ = integrate.quad(lambda u: special.erfcx(-u), (v_reset - mu) / sigma, (v_th - mu) / sigma)
    return 1e3 / (tau_ref + tau_m * math.sqrt(math.pi) * integral)


@pytest.mark.parametrize("synapses", ["delta", "shift", "coba"])
def test_constant_input_gives_the_closed_form_interval(synapses):
    # mu = tau_m I / C = 20 ms * 300 pA / 250 pF = 24 mV above rest: deterministic regular firing
    # with ISI = tau_ref + tau_m ln((mu - V_r) / (mu - theta)) (continuous time); on the grid the
    # threshold is detected at the first step with V >= theta, i.e. ceil of the free time.
    kind = Conductance() if synapses == "coba" else synapses
    net = _isolated(5, I_ext=300.0, synapses=kind, tau_s=0.5 if synapses == "shift" else 0.0)
    res = spiking.simulate(net, 500.0, key=jax.random.key(0), record_v=5)
    times, neurons = res.spike_times()
    free = 20.0 * math.log((24.0 - 10.0) / (24.0 - 20.0))
    steps = math.ceil(free / 0.1 - 1e-9)
    isi = np.diff(times[neurons == 3])
    np.testing.assert_allclose(isi, 2.0 + steps * 0.1, atol=1e-9)
    assert float(res.rates[0]) == pytest.approx(1e3 / (2.0 + free), rel=0.1 / (2.0 + free) + 0.02)
    assert float(res.cv[0]) < 1e-6


def test_shot_noise_membrane_moments_match_campbell():
    # Without threshold (theta far away) V_{t+1} = a V_t + J n_t, n_t ~ Poisson(lambda):
    # stationary mean J lambda / (1 - a), variance J^2 lambda / (1 - a^2) (exact, discrete time).
    neuron = LIF(tau_m=20.0, tau_ref=0.0, v_th=100.0, v_reset=0.0)  # 18 sd above the mean
    net = Network(neuron, K=np.zeros((1, 1)), J=np.zeros((1, 1)), K_ext=500.0, J_ext=0.2, nu_ext=10.0, N=np.array([2000]))
    res = spiking.simulate(net, 300.0, key=jax.random.key(3), record_v=2000, sample_size=0)
    lam, a = 500 * 10.0 * 1e-4, math.exp(-0.1 / 20.0)
    v = np.asarray(res.v[-1])  # 2000 independent neurons after 15 membrane time constants
    mean, var = 0.2 * lam / (1 - a), 0.04 * lam / (1 - a * a)
    assert v.mean() == pytest.approx(mean, abs=4 * math.sqrt(var / 2000))
    assert v.var() == pytest.approx(var, rel=0.1)


def test_many_weak_poisson_inputs_fire_at_the_siegert_rate():
    # diffusion limit: 4000 inputs of 0.05 mV at 5 Hz, mu = tau K J nu = 20 mV (threshold),
    # sigma^2 = tau K J^2 nu = 1 mV^2.  Siegert by scipy quadrature.
    K, J, nu = 4000.0, 0.05, 5.0
    net = _isolated(2000, K_ext=K, J_ext=J, nu_ext=nu)
    mu = 20.0 * 1e-3 * K * J * nu
    sigma = math.sqrt(20.0 * 1e-3 * K * J * J * nu)
    res = spiking.simulate(net, 2000.0, key=jax.random.key(1), dt=0.05, transient=100.0)
    expected = _siegert(mu, sigma)
    # finite dt and shot noise shift the rate by O(sqrt(dt / tau)) and O(J / sigma) (Brunel 2000)
    assert float(res.rates[0]) == pytest.approx(expected, rel=0.05)
    assert 5.0 < expected < 30.0


def test_exponential_synapses_follow_the_shifted_siegert_rate():
    # Fourcaud & Brunel (2002): colored noise with tau_s << tau_m shifts both boundaries by
    # sigma alpha/2 sqrt(tau_s/tau_m), alpha = sqrt(2) |zeta(1/2)|.
    K, J, nu, tau_s = 4000.0, 0.05, 5.0, 1.0
    net = _isolated(2000, K_ext=K, J_ext=J, nu_ext=nu, synapses="shift", tau_s=tau_s)
    mu = 20.0 * 1e-3 * K * J * nu
    sigma = math.sqrt(20.0 * 1e-3 * K * J * J * nu)
    shift = sigma * math.sqrt(2.0) * 1.4603545088095868 / 2 * math.sqrt(tau_s / 20.0)
    expected = _siegert(mu, sigma, v_th=20.0 + shift, v_reset=10.0 + shift)
    res = spiking.simulate(net, 2000.0, key=jax.random.key(2), dt=0.05, transient=100.0)
    assert float(res.rates[0]) == pytest.approx(expected, rel=0.05)


def test_brunel_model_a_asynchronous_irregular_state():
    # Brunel (2000) model A, g = 5, eta = 2, N = 12,500: mean field 37.95 Hz; NEST and Brian2
    # simulations of the same network give ~37.3 Hz and CV ~0.42 (PEERS.md; benchmarks/).
    cmp = spiking.compare(mfjax.brunel_a(g=5.0, eta=2.0), 1000.0, key=jax.random.key(7), transient=100.0)
    assert cmp.theory_rates == pytest.approx([37.95, 37.95], abs=0.01)
    assert np.all(np.abs(cmp.rate_error) < 0.03)
    assert np.all((cmp.simulated_cv > 0.38) & (cmp.simulated_cv < 0.47))
    sim = cmp.simulation
    assert np.all(np.asarray(sim.synchrony) < 0.3)  # asynchronous
    assert np.all(np.abs(np.asarray(sim.correlation)) < 0.05)
    assert "E" in cmp.table()


def test_coba_benchmark_rates_lie_within_the_peers_spread():
    # Brette et al. (2007) benchmark 1; Brian2 21.1/21.6 Hz, NEST 21.1/20.7 Hz, BrainPy 19.4/19.9 Hz
    # measured side by side (benchmarks/results/spiking.json; PEERS.md: 19-22 Hz).
    res = spiking.simulate(spiking.coba(), 1000.0, key=jax.random.key(5), connectivity="fixed_probability")
    rates = np.asarray(res.rates)
    assert np.all((rates > 18.5) & (rates < 23.0)), rates


def test_trials_and_parameters_batch_in_one_program():
    net = mfjax.brunel_a(g=5.0, eta=2.0, N_E=800, epsilon=0.1)  # C_E = 80, C_I = 20
    keys = jax.random.split(jax.random.key(11), 3)
    conn = spiking.build_connectivity(jax.random.key(1), (800, 200), net.K)
    batch = spiking.simulate(net, 100.0, key=keys, connectivity=conn)  # trials share the graph
    assert batch.rates.shape == (3, 2)
    single = spiking.simulate(net, 100.0, key=keys[1], connectivity=conn)
    np.testing.assert_allclose(batch.rates[1], single.rates, rtol=1e-12)
    vectorized = spiking.simulate(net, 100.0, key=keys, connectivity=conn, batch_mode="vmap")  # GPU default
    np.testing.assert_array_equal(vectorized.raster, batch.raster)
    gs = jnp.array([4.0, 6.0, 7.0])  # a batch size other than P: every array carries the axis
    nets = jax.vmap(lambda g: mfjax.brunel_a(g=g, eta=2.0, N_E=800, epsilon=0.1))(gs)
    sweep = spiking.simulate(nets, 100.0, key=keys, connectivity=conn)
    for i, g in enumerate([4.0, 6.0, 7.0]):
        one = spiking.simulate(mfjax.brunel_a(g=g, eta=2.0, N_E=800, epsilon=0.1), 100.0, key=keys[i], connectivity=conn)
        np.testing.assert_allclose(sweep.rates[i], one.rates, rtol=1e-12)
    assert float(sweep.rates[0, 0]) > float(sweep.rates[1, 0])  # more inhibition, lower rate
    # per-synapse delays, a graph and delays redrawn per trial: the stacked tables give the
    # same spikes whether the batch is looped or vectorized
    spread = net.replace(delay_sd=jnp.array([[0.5, 0.0], [0.5, 0.0]]))
    redrawn = spiking.simulate(spread, 50.0, key=keys, redraw_connectivity=True)
    assert redrawn.rates.shape == (3, 2)
    np.testing.assert_array_equal(
        spiking.simulate(spread, 50.0, key=keys, redraw_connectivity=True, batch_mode="vmap").raster, redrawn.raster
    )


def test_concurrent_slices_of_a_batch_reproduce_each_members_run(monkeypatch):
    # every core running a slice of the batch: the neuron update is then kept on one thread
    # (an in-place update, _unsplit); each member's spikes must be those of its own run
    monkeypatch.setattr(_simulate, "cores", lambda: 2)
    net = mfjax.brunel_a(g=5.0, eta=2.0, N_E=800, epsilon=0.1)
    keys = jax.random.split(jax.random.key(11), 2)
    conn = spiking.build_connectivity(jax.random.key(1), (800, 200), net.K)
    sliced = spiking.simulate(net, 100.0, key=keys, connectivity=conn, workers=2)
    for i in range(2):
        one = spiking.simulate(net, 100.0, key=keys[i], connectivity=conn)
        np.testing.assert_array_equal(sliced.raster[i], one.raster)
        np.testing.assert_array_equal(sliced.state.v[i], one.state.v)


def test_distributed_delays_and_weights_follow_the_redraw_law():
    # One source neuron (DC drive, 40 ms refractory) fires once; each of 3000 targets has that
    # source as its single input, with its own delay and weight, drawn as in the Potjans-Diesmann
    # microcircuit (NEST's redraw): delay ~ Normal(1, 0.5) ms redrawn until >= dt and rounded to
    # the grid; weight J m with m ~ Normal(1, 0.2) redrawn until m >= 0.  The arrival step of
    # each PSP (a jump in the target's free decay) and its size are compared with those laws.
    n = 3000
    neuron = LIF(tau_m=10.0, tau_ref=np.array([40.0, 2.0]), v_th=np.array([15.0, 1e3]), v_reset=0.0)
    net = Network(neuron, K=np.array([[0.0, 0.0], [1.0, 0.0]]), J=np.array([[0.0, 0.0], [0.5, 0.0]]),
                  K_ext=0.0, J_ext=0.0, nu_ext=0.0, I_ext=np.array([750.0, 0.0]), N=np.array([1, n]),
                  delay=1.0, delay_sd=np.array([[0.0, 0.0], [0.5, 0.0]]), J_sd=np.array([[0.0, 0.0], [0.1, 0.0]]))
    res = spiking.simulate(net, 30.0, key=jax.random.key(2), record_v=n, sample_size=1)
    (fired,) = np.nonzero(np.asarray(res.raster)[:, 0])
    assert fired.size == 1
    v = np.asarray(res.v)[:, 1:]
    jump = v[1:] - v[:-1] * math.exp(-0.1 / 10.0)  # row i + 1 minus the free decay of row i
    arrival = np.argmax(jump > 1e-9, axis=0) + 1
    steps = arrival - fired[0]
    assert np.all(np.sum(jump > 1e-9, axis=0) == 1)  # one PSP per target
    # discrete law of rint(X / dt), X ~ Normal(1, 0.5) | X >= 0.1 (scipy), against the sample
    grid = np.arange(1, 200)
    lo, hi = np.maximum((grid - 0.5) * 0.1, 0.1), (grid + 0.5) * 0.1
    law = (stats.norm.cdf(hi, 1.0, 0.5) - stats.norm.cdf(lo, 1.0, 0.5)) / stats.norm.sf(0.1, 1.0, 0.5)
    empirical = np.array([np.mean(steps <= k) for k in grid])
    assert np.max(np.abs(empirical - np.cumsum(law))) < 1.63 / math.sqrt(n)  # KS, 1% level
    factors = jump[arrival - 1, np.arange(n)] / 0.5
    assert stats.kstest(factors, stats.truncnorm(-5.0, np.inf, loc=1.0, scale=0.2).cdf).pvalue > 1e-3


def test_bursts_are_never_dropped():
    # all neurons start just below threshold and fire together in the first steps: far more
    # spikes than one extraction chunk (16 spikes, or 16 words of 32 neurons on the CPU); every
    # one must be delivered.  The CPU extraction (bit words) and delivery (compiled kernel) and
    # the accelerators' (stream compaction with batch_mode="vmap", spikes delivered in chunks
    # by gather/scatter, several chunks in a burst) must give the same spikes.
    neuron = LIF(tau_m=20.0, tau_ref=2.0, v_th=20.0, v_reset=19.999)
    net = Network(neuron, K=np.array([[50.0]]), J=np.array([[0.01]]), K_ext=100.0, J_ext=0.5, nu_ext=100.0,
                  N=np.array([2000]), delay=0.1)
    res = spiking.simulate(net, 20.0, key=jax.random.key(0), rate_hint=1.0, sample_size=2000)
    raster = np.asarray(res.raster)
    assert raster[:2].sum() > 1000  # a burst far above one chunk
    assert float(res.rates[0]) > 0
    vectorized = spiking.simulate(net, 20.0, key=jax.random.key(0), rate_hint=1.0, sample_size=2000, batch_mode="vmap",
                                  delivery="gather")
    np.testing.assert_array_equal(np.asarray(vectorized.raster), raster)
    np.testing.assert_array_equal(np.asarray(vectorized.state.v), np.asarray(res.state.v))


@pytest.mark.parametrize("synapses", ["delta", pytest.param("shift", marks=pytest.mark.slow), pytest.param("coba", marks=pytest.mark.slow)])
def test_compiled_kernel_and_pure_jax_deliveries_give_identical_runs(synapses):
    # the CPU default delivers spikes and updates the spike statistics in compiled C++
    # (mfjax.spiking._kernel); the pure-JAX loop over spikes and the chunked gather/scatter (the
    # accelerators' default) must give bit-identical results, with per-block delays and with
    # per-synapse delays and weights, after a transient.
    if synapses == "coba":
        net = spiking.coba(N=1000)
    else:
        net = mfjax.brunel_a(g=5.0, eta=2.0, N_E=800, epsilon=0.1)
        if synapses == "shift":
            neuron = LIF(tau_m=20.0, tau_ref=2.0, v_th=20.0, v_reset=10.0, tau_s=0.5)
            net = Network(neuron, K=net.K, J=net.J, K_ext=net.K_ext, J_ext=net.J_ext, nu_ext=net.nu_ext, N=net.N,
                          delay=net.delay, synapses="shift")
    net = net.replace(delay_sd=jnp.array([[0.0, 0.5], [0.0, 0.5]]), J_sd=0.1 * jnp.abs(net.J) * jnp.array([[1.0, 0.0]]))
    args = dict(key=jax.random.key(4), transient=20.0, sample_size=50, connectivity="fixed_probability")
    kernel = spiking.simulate(net, 100.0, delivery="kernel", **args)
    assert float(np.min(kernel.rates)) > 1.0
    for delivery in ("loop", "gather"):
        other = spiking.simulate(net, 100.0, delivery=delivery, **args)
        for a, b in zip(jax.tree_util.tree_leaves(kernel), jax.tree_util.tree_leaves(other)):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(duration=-1.0), "duration"),
        (dict(dt=0.2), "divide delay"),
        (dict(dt=0.0), "dt"),
        (dict(connectivity="random"), "connectivity"),
        (dict(transient=2000.0), "transient"),
        (dict(rng="mt"), "rng"),
        (dict(delivery="csr"), "delivery"),
        (dict(sample_size=-2), "sample_size"),
    ],
)
def test_bad_input_is_refused_before_compiling(kwargs, match):
    args = dict(duration=10.0, key=jax.random.key(0))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        spiking.simulate(mfjax.brunel_a(N_E=400), args.pop("duration"), **args)


def test_bad_network_and_key_are_refused():
    with pytest.raises(ValueError, match="key"):
        spiking.simulate(mfjax.brunel_a(N_E=400), 10.0, key=0)
    with pytest.raises(ValueError, match="N must hold whole numbers"):
        mfjax.brunel_a(N_E=400).replace(N=jnp.array([400.5, 100.0]))
    conn = spiking.build_connectivity(jax.random.key(0), (400, 100), mfjax.brunel_a(N_E=400).K)
    with pytest.raises(ValueError, match="do not match"):
        spiking.simulate(mfjax.brunel_a(N_E=800), 10.0, key=jax.random.key(0), connectivity=conn)
    silent = mfjax.brunel_a(N_E=400).replace(J=jnp.array([[0.1, 0.0], [0.1, -0.5]]), J_sd=jnp.full((2, 2), 0.01))
    with pytest.raises(ValueError, match=r"J_sd\[0, 1\] > 0 needs J\[0, 1\] != 0"):
        spiking.simulate(silent, 10.0, key=jax.random.key(0))


def test_a_batch_that_cannot_fit_is_refused_before_compiling():
    from mfjax.spiking._batching import check_memory

    # 1000 trials x 10^5 steps x 200 recorded neurons = 20 GB of raster alone
    with pytest.raises(MemoryError, match="sample_size"):
        check_memory(1000, 100_000, 200, 2, (10000, 2500), np.array([[1000, 250], [1000, 250]]), limit_bytes=8 * 2**30)
    check_memory(8, 10_000, 200, 2, (10000, 2500), np.array([[1000, 250], [1000, 250]]), limit_bytes=8 * 2**30)


def test_continuing_from_a_state_reproduces_an_uninterrupted_run(tmp_path):
    # excitatory synapses with distributed delays, inhibitory ones with distributed weights:
    # the ring of future input is part of the state
    net = mfjax.brunel_a(g=5.0, eta=2.0, N_E=800, epsilon=0.1)
    net = net.replace(delay_sd=jnp.array([[0.7, 0.0], [0.7, 0.0]]), J_sd=jnp.array([[0.0, 0.05], [0.0, 0.05]]))
    key = jax.random.key(4)
    whole = spiking.simulate(net, 60.0, key=key, sample_size=200)
    first = spiking.simulate(net, 30.0, key=key, sample_size=200)
    second = spiking.simulate(net, 30.0, key=key, sample_size=200, state=first.state)
    np.testing.assert_array_equal(np.concatenate([first.raster, second.raster]), whole.raster)
    np.testing.assert_array_equal(second.state.v, whole.state.v)
    with pytest.raises(ValueError, match="transient"):
        spiking.simulate(net, 30.0, key=key, state=first.state, transient=5.0)
    # chunks on disk: an interrupted run (last two chunks lost) resumes and gives the same result
    out = spiking.run_chunks(net, 60.0, key=key, chunk=15.0, path=tmp_path, sample_size=200)
    assert out["chunks_computed"] == 4
    np.testing.assert_allclose(out["rates"], np.asarray(whole.rates), rtol=1e-12)
    for name in ("chunk_00002.npz", "chunk_00003.npz"):
        (tmp_path / name).unlink()
    again = spiking.run_chunks(net, 60.0, key=key, chunk=15.0, path=tmp_path, sample_size=200)
    assert again["chunks_computed"] == 2
    np.testing.assert_array_equal(again["population_rate"], out["population_rate"])
    assert not list(tmp_path.glob("*.tmp*"))


@pytest.mark.slow
def test_full_scale_microcircuit_is_asynchronous_near_nnmt_rates():
    # Potjans & Diesmann (2014) at full scale (77,169 neurons, 3e8 synapses, 8 GB, 2.5 min):
    # with its per-synapse delays and weights the network is asynchronous and every population
    # fires within 30% of the mean-field rates computed by NNMT (tests/data; the mean field
    # itself deviates most in L2/3E: 0.94 Hz simulated against 0.76 Hz).
    import json
    from pathlib import Path

    nnmt = json.loads((Path(__file__).parents[1] / "data" / "nnmt_microcircuit.json").read_text())
    ref = np.array(nnmt["microcircuit"]["pd14_shift"])
    net = mfjax.microcircuit("pd14", synapses="shift", J_rel_sd=0.1)
    res = spiking.simulate(net, 700.0, key=jax.random.key(0), transient=200.0, connectivity="fixed_total_number")
    np.testing.assert_allclose(np.asarray(res.rates), ref, rtol=0.3)
    assert np.all(np.asarray(res.synchrony) < 0.3)


def test_a_state_or_graph_of_another_run_is_refused():
    # issue 17: simulate(state=s) accepted states of another key, connectivity or delay ring,
    # and a prebuilt Connectivity whose K differed from the network's was used
    net = mfjax.brunel_a(N_E=400)
    key = jax.random.key(0)
    first = spiking.simulate(net, 5.0, key=key)
    for kwargs, part in ((dict(key=jax.random.key(1)), "another key"),
                         (dict(key=key, connectivity="fixed_probability"), "another connectivity")):
        with pytest.raises(ValueError, match=part):
            spiking.simulate(net, 5.0, state=first.state, **kwargs)
    with pytest.raises(ValueError, match="another structure"):
        spiking.simulate(mfjax.brunel_a(N_E=400, delay=2.0), 5.0, key=key, state=first.state)
    bare = dataclasses.replace(first.state, origin=None)
    with pytest.raises(ValueError, match="no origin"):
        spiking.simulate(net, 5.0, key=key, state=bare)
    other_K = spiking.build_connectivity(jax.random.key(0), (400, 100), np.array([[30.0, 10.0], [30.0, 10.0]]))
    with pytest.raises(ValueError, match="drawn with K"):
        spiking.simulate(net, 5.0, key=key, connectivity=other_K)
    # the continuation with the same key and graph is accepted (and exact: see the test above)
    spiking.simulate(net, 5.0, key=key, state=first.state)


@pytest.mark.slow
def test_count_covariances_against_the_simulated_network():
    # Brunel A at (8, 2), K_E = 800, N_E = 8000: population count covariances in 100-ms windows.
    # With the LIF renewal spike-train spectrum as source the theory is 8-20% above the
    # simulation here (z = -1.7, -2.1, -3.2 for EE, EI, II; 18-47% at the other N of
    # benchmarks/results/covariances.json): the test pins that measured agreement, it does not
    # claim agreement within the error bars
    net = mfjax.brunel_a(8.0, 2.0, N_E=8000)
    c = spiking.compare_covariances(net, window=100.0, duration=20200.0, key=jax.random.key(1))
    ratio = c.population / np.asarray(c.theory.population)
    assert c.windows == 200 and np.all((ratio > 0.7) & (ratio < 1.1)), ratio
    np.testing.assert_allclose(c.correlation[0, 0], float(c.theory.correlation[0, 0]), rtol=0.25)
    with pytest.raises(ValueError, match="bin_size"):
        spiking.compare_covariances(net, window=2.5, duration=100.0)
