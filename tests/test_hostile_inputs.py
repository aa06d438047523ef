"""Hostile inputs across the public API: every bad argument is refused with an error that names it.

Each case calls a public function with one argument made bad (NaN, inf, negative, zero, a wrong
shape, a wrong type, empty, a boolean, out of its domain) and the others valid.  Concrete values
must raise ``ValueError`` or ``TypeError`` before anything is computed, with the parameter's name
in the message.  Traced values (inside ``jit`` or ``vmap``) must give a runtime error naming the
parameter where one result is asked for, or ``converged=False`` where a solver status exists;
never a silently wrong number.  The closing note of issue 17 lists the suite's size.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mfjax
from mfjax import LIF, Network, dmft, ising, lif_cv, lif_rate, membrane_density, memory, populations, solve_rates, spiking
from mfjax.fit import fit_rates, scale_pathways
from mfjax.sweep import brunel_rate_sweep, grid_sweep

NAN, INF = math.nan, math.inf
NEURON = LIF(20.0, 2.0, 20.0, 10.0)

#: bad values by the domain of a parameter
REAL = [NAN, INF, -INF, "x", None, 1j, True, np.array([1.0, NAN])]
NONNEGATIVE = REAL + [-1.0, -1e-300]
POSITIVE = NONNEGATIVE + [0.0]
COUNT = [0, -1, 1.5, NAN, "x", None, True, np.array([2, 3])]  # sizes, step counts
FRACTION = NONNEGATIVE + [1.5]


def _cases():
    cases = []

    def add(func, param, bads, *, label=None, match=None):
        for i, bad in enumerate(bads):
            cases.append(pytest.param(func, bad, match or param, id=f"{label or func.__name__}-{param}-{i}"))

    # ---- LIF parameters and single-neuron theory -------------------------------------------
    lif_args = dict(tau_m=20.0, tau_ref=2.0, v_th=20.0, v_reset=10.0, tau_s=0.0, c_m=250.0)
    domains = dict(tau_m=POSITIVE, tau_ref=NONNEGATIVE, v_th=REAL, v_reset=REAL + [20.0, 25.0],
                   tau_s=NONNEGATIVE, c_m=POSITIVE)
    for field, bads in domains.items():
        add(lambda bad, f=field: LIF(**{**lif_args, f: bad}), field, bads, label="LIF")
    add(lambda bad: LIF(**{**lif_args, "v_th": bad}), "v_reset", [10.0, 5.0], label="LIF-threshold")
    for fn in (lif_rate, lif_cv):
        add(lambda bad, fn=fn: fn(NEURON, bad, 5.0), "mu", REAL, label=fn.__name__)
        add(lambda bad, fn=fn: fn(NEURON, 15.0, bad), "sigma", NONNEGATIVE, label=fn.__name__)
        add(lambda bad, fn=fn: fn(NEURON, 15.0, 5.0, correction=bad), "correction", ["bad", None, 1], label=fn.__name__)
        add(lambda bad, fn=fn: fn(bad, 15.0, 5.0), "neuron", [None, "LIF", {"tau_m": 20.0}], label=fn.__name__)
    add(lambda bad: membrane_density(NEURON, 15.0, 5.0, bad), "v", REAL, label="membrane_density")
    add(lambda bad: membrane_density(NEURON, bad, 5.0, 0.0), "mu", REAL, label="membrane_density")

    # ---- EIF / QIF and the Fokker-Planck engine ---------------------------------------------
    eif_args = dict(tau_m=20.0, tau_ref=2.0, v_th=30.0, v_reset=5.0, delta_t=2.0, v_t=15.0, v_lb=-10.0)
    eif_domains = dict(tau_m=POSITIVE, tau_ref=NONNEGATIVE, v_th=REAL, v_reset=REAL + [30.0, 40.0],
                       delta_t=POSITIVE, v_t=REAL, v_lb=[b for b in REAL if b is not None] + [5.0, 6.0])  # None: natural
    for field, bads in eif_domains.items():
        add(lambda bad, f=field: mfjax.EIF(**{**eif_args, f: bad}), field, bads, label="EIF")
    qif_args = dict(tau_m=20.0, tau_ref=0.0, v_th=60.0, v_reset=-10.0, v_t=10.0, v_lb=None)
    for field, bads in dict(v_t=POSITIVE, v_reset=REAL + [60.0, 70.0]).items():
        add(lambda bad, f=field: mfjax.QIF(**{**qif_args, f: bad}), field, bads, label="QIF")
    eif = mfjax.EIF(**eif_args)
    for fn in (mfjax.firing_rate, mfjax.isi_cv):
        add(lambda bad, fn=fn: fn(eif, bad, 3.0), "mu", REAL, label=fn.__name__)
        add(lambda bad, fn=fn: fn(eif, 10.0, bad), "sigma", POSITIVE, label=fn.__name__)
        add(lambda bad, fn=fn: fn(bad, 10.0, 3.0), "neuron", [None, "EIF", {"tau_m": 20.0}], label=fn.__name__)
        add(lambda bad, fn=fn: fn(eif, 10.0, 3.0, steps=bad), "steps", COUNT, label=fn.__name__)
    # complex frequencies are accepted (analytic continuation) inside the decay-rate bound
    add(lambda bad: mfjax.rate_response(eif, 10.0, 3.0, bad), "frequency",
        [b for b in NONNEGATIVE if not isinstance(b, complex)] + [10.0 + 30.0j], label="rate_response")
    add(lambda bad: mfjax.rate_response(eif, 10.0, 3.0, 5.0, modulation=bad), "modulation", ["gain", None, 1],
        label="rate_response")
    add(lambda bad: mfjax.firing_rate(eif, 10.0, 3.0, method=bad), "method", ["exact", None], label="firing_rate")

    # ---- shot noise ----------------------------------------------------------------------------
    shot_args = dict(mu=5.0, rate_exc=500.0, jump_exc=1.0, rate_inh=100.0, jump_inh=2.0)
    shot_domains = dict(mu=REAL, rate_exc=POSITIVE, jump_exc=POSITIVE, rate_inh=NONNEGATIVE, jump_inh=POSITIVE)
    for field, bads in shot_domains.items():
        add(lambda bad, f=field: mfjax.lif_shot_rate(NEURON, **{**shot_args, f: bad}), field, bads, label="lif_shot_rate")
    add(lambda bad: mfjax.lif_shot_rate(bad, 5.0, 500.0, 1.0), "neuron", [None, eif, "LIF"], label="lif_shot_rate")
    add(lambda bad: mfjax.brunel_a(input_model=bad), "input_model", ["poisson", None, 1], label="brunel_a")

    # ---- conductance-based mean field --------------------------------------------------------------
    cob = spiking.coba(N=1000)
    for fn in (populations.coba_rate, populations.conductance_input):
        add(lambda bad, fn=fn: fn(cob, bad), "rates", NONNEGATIVE[:4] + [np.ones(3)], label=fn.__name__)
        add(lambda bad, fn=fn: fn(bad, np.ones(2)), "Conductance", [mfjax.brunel_a(), None], label=fn.__name__)

    # ---- networks, presets, the rate solver --------------------------------------------------
    net = mfjax.brunel_a()
    base = dict(K=net.K, J=net.J, K_ext=net.K_ext, J_ext=net.J_ext, nu_ext=net.nu_ext, N=net.N)
    fields = dict(K=NONNEGATIVE + [np.ones((2, 3)), np.ones(2), np.zeros((0, 0)), [["a", "b"], ["c", "d"]]],
                  J=REAL + [np.ones((3, 3))], K_ext=NONNEGATIVE + [np.ones(3)], J_ext=REAL,
                  nu_ext=NONNEGATIVE + [np.ones(5)],
                  N=[b for b in POSITIVE if b is not None] + [0.5, 10.5, np.array([100.0, 0.5])])  # None: default
    for field, bads in fields.items():
        add(lambda bad, f=field: Network(net.neuron, **{**base, f: bad}), field, bads, label="Network")
    for field, bads in dict(I_ext=REAL, delay=NONNEGATIVE, J_sd=NONNEGATIVE, delay_sd=NONNEGATIVE).items():
        add(lambda bad, f=field: Network(net.neuron, **base, **{f: bad}), field, bads, label="Network")
    add(lambda bad: Network(net.neuron, **base, synapses=bad), "synapses", ["bad", None, "shift"], label="Network")
    add(lambda bad: Network(net.neuron, **base, connectivity=bad), "connectivity", ["random", None], label="Network")
    add(lambda bad: Network(net.neuron, **base, names=bad), "names", [("E",), ("E", "I", "X")], label="Network")
    add(lambda bad: Network(bad, **base), "neuron", [None, 20.0], label="Network")
    replace_bad = dict(K=NONNEGATIVE[:4] + [np.ones((3, 3))], J=REAL[:4] + [np.ones(2)], K_ext=NONNEGATIVE[:4],
                       J_ext=REAL[:4], nu_ext=NONNEGATIVE[:4], I_ext=REAL[:4], N=POSITIVE[:4] + [0.5],
                       delay=NONNEGATIVE[:4], J_sd=NONNEGATIVE[:4], delay_sd=NONNEGATIVE[:4])
    for field, bads in replace_bad.items():
        shape = np.shape(getattr(net, field))
        bads = [np.full(shape, b) if isinstance(b, float) else b for b in bads]
        add(lambda bad, f=field: net.replace(**{f: bad}), field, bads, label="replace")
    add(lambda bad: net.replace(**{bad: 1.0}), "replace", ["names", "synapses", "bogus"], label="replace")
    add(lambda bad: net.replace(neuron=bad), "neuron", [None, 20.0], label="replace")
    brunel = dict(g=NONNEGATIVE, eta=NONNEGATIVE, J=POSITIVE, N_E=POSITIVE, epsilon=POSITIVE + [1.5],
                  gamma=NONNEGATIVE, tau_m=POSITIVE, tau_ref=NONNEGATIVE, v_th=REAL, v_reset=REAL + [30.0],
                  delay=NONNEGATIVE)
    for param, bads in brunel.items():
        add(lambda bad, p=param: mfjax.brunel_a(**{p: bad}), param, bads, label="brunel_a")
    add(lambda bad: mfjax.microcircuit(bad), "variant", ["pd15", None], label="microcircuit")
    add(lambda bad: mfjax.microcircuit(synapses=bad), "synapses", ["exp", None], label="microcircuit")
    add(lambda bad: mfjax.microcircuit(J_rel_sd=bad), "J_rel_sd", NONNEGATIVE, label="microcircuit")
    not_none = [b for b in NONNEGATIVE if b is not None]  # None means the default there
    add(lambda bad: solve_rates(net, init=bad), "init", not_none + [np.ones(3), np.full(2, -1.0)], label="solve_rates")
    add(lambda bad: solve_rates(net, max_steps=bad), "max_steps", COUNT, label="solve_rates")
    add(lambda bad: solve_rates(net, rtol=bad), "rtol", not_none, label="solve_rates")
    add(lambda bad: solve_rates(net, atol=bad), "atol", not_none, label="solve_rates")
    add(lambda bad: solve_rates(net, on_failure=bad), "on_failure", ["ignore", None], label="solve_rates")
    add(lambda bad: solve_rates(bad), "network", [None, NEURON, {"K": 1}], label="solve_rates")

    # ---- sweeps and fits -----------------------------------------------------------------
    add(lambda bad: grid_sweep(lambda x: {"v": x}, {"x": bad}), "axis 'x'",
        [[1.0, NAN], [INF], np.ones((2, 2)), [], ["a"]], label="grid_sweep")
    add(lambda bad: grid_sweep(lambda x: {"v": x}, {"x": [1.0]}, chunk_size=bad), "chunk_size", COUNT, label="grid_sweep")
    add(lambda bad: grid_sweep(lambda x: {"v": x}, bad), "axes", [{}, [1.0, 2.0], None], label="grid_sweep")
    add(lambda bad: brunel_rate_sweep(bad, [2.0]), "axis 'g'", [[NAN], [INF, 1.0], []], label="brunel_rate_sweep")
    mc_fit = lambda s: scale_pathways(net, s)  # noqa: E731
    add(lambda bad: fit_rates(mc_fit, jnp.zeros((2, 2)), bad), "target", NONNEGATIVE[:4] + [np.ones(3)], label="fit_rates")

    # ---- spiking simulation ----------------------------------------------------------------
    small = mfjax.brunel_a(N_E=400)
    key = jax.random.key(0)
    sim = dict(duration=POSITIVE[:5] + [0.05], dt=POSITIVE[:5] + [0.3], rate_hint=POSITIVE[:5],
               bin_size=POSITIVE[:5], count_window=POSITIVE[:5], segment=POSITIVE[:5],
               transient=NONNEGATIVE[:5] + [10.0, 20.0])
    for param, bads in sim.items():
        add(lambda bad, p=param: spiking.simulate(small, **{"duration": 10.0, "key": key, p: bad}), param, bads,
            label="simulate")
    for param in ("sample_size", "record_v"):
        add(lambda bad, p=param: spiking.simulate(small, 10.0, key=key, **{p: bad}), param, [-1, 1.5, "x", None],
            label="simulate")
    for param, bads in dict(workers=[0, -1, 1.5], batch_mode=["pmap", 1], delivery=["fast", 1], rng=["mt", None],
                            connectivity=["random", 3]).items():
        add(lambda bad, p=param: spiking.simulate(small, 10.0, key=key, **{p: bad}), param, bads, label="simulate")
    add(lambda bad: spiking.simulate(small, 10.0, key=bad), "key",
        [0, "x", None, np.zeros(3), jax.random.split(key, 3)[None]], label="simulate")
    add(lambda bad: spiking.simulate(small, 10.0, key=key, state=bad), "state", [{"v": 0}, 1.0], label="simulate")
    add(lambda bad: spiking.run_chunks(small, 20.0, key=key, chunk=bad, path="/nonexistent/x"), "chunk",
        [0.0, -1.0, 3.0, "x", NAN], label="run_chunks")
    add(lambda bad: spiking.run_chunks(small, 20.0, key=bad, chunk=10.0, path="/nonexistent/x"), "key",
        [0, jax.random.split(key, 2)], label="run_chunks")
    for param in ("N", "p", "g_ex", "g_in", "tau_m", "c_m"):
        add(lambda bad, p=param: spiking.coba(**{p: bad}), param, POSITIVE[:5], label="coba")
    add(lambda bad: spiking.coba(excitatory_fraction=bad), "excitatory_fraction", [0.0, 1.0, 1.5, NAN], label="coba")

    # ---- DMFT ------------------------------------------------------------------------------
    for fn in (dmft.order_parameters, dmft.stationary):
        add(lambda bad, fn=fn: fn(bad), "g", NONNEGATIVE, label=fn.__name__)
        add(lambda bad, fn=fn: fn(2.0, bad), "sigma", NONNEGATIVE, label=fn.__name__)
        add(lambda bad, fn=fn: fn(2.0, J0=bad), "J0", REAL[:4], label=fn.__name__)
        add(lambda bad, fn=fn: fn(2.0, I=bad), "I", REAL[:4], label=fn.__name__)
        add(lambda bad, fn=fn: fn(2.0, phi=bad), "phi", ["sigmoid", None, 3], label=fn.__name__)
        add(lambda bad, fn=fn: fn(2.0, max_steps=bad), "max_steps", COUNT, label=fn.__name__)
        add(lambda bad, fn=fn: fn(2.0, init=bad), "init", [np.ones(2), np.ones(3) * NAN, "x"], label=fn.__name__)
    add(lambda bad: dmft.stationary(2.0, n_tau=bad), "n_tau", [2, 0, 1.5, "x"], label="stationary")
    add(lambda bad: dmft.stationary(2.0, tau_max=bad), "tau_max", POSITIVE[:5], label="stationary")
    dsim = dict(N=[1, 1.5, "x", NAN], duration=POSITIVE[:5], dt=POSITIVE[:5] + [1.0], J0=REAL[:4], I=REAL[:4],
                g=NONNEGATIVE[:5], sigma=NONNEGATIVE[:5], burn_in=NONNEGATIVE[:5])
    for param, bads in dsim.items():
        def call(bad, p=param):
            args = {"g": 1.5, "N": 50, "duration": 30.0, "key": key, "tau_max": 2.0, "dt": 0.1, p: bad}
            return dmft.simulate(args.pop("g"), args.pop("N"), args.pop("duration"), **args)
        add(call, param, bads, label="dmft.simulate")
    add(lambda bad: dmft.simulate(1.5, 50, 30.0, key=bad, tau_max=2.0), "key", [0, "x", None], label="dmft.simulate")
    add(lambda bad: dmft.chaos_onset(bad), "sigma", NONNEGATIVE[:5], label="chaos_onset")
    add(lambda bad: dmft.chaos_onset(0.5, tol=bad), "tol", POSITIVE[:5], label="chaos_onset")
    add(lambda bad: dmft.chaos_onset(0.5, phi=bad), "phi", ["softplus"], label="chaos_onset")
    two = dict(alpha=[0.4, 0.6], g=np.ones((2, 2)))
    for param, bads in dict(alpha=[[0.4, 0.4], [-0.2, 1.2], [[0.5, 0.5]], [NAN, 1.0], "x"],
                            g=[-np.ones((2, 2)), np.ones((3, 3)), np.ones(3), np.full((2, 2), NAN)],
                            J0=[np.ones((2, 3)), np.full((2, 2), INF)], I=[np.ones(3), [0.0, NAN]],
                            sigma=[[-1.0, 0.0], np.ones(4), INF], phi=["sigmoid", ("tanh",) * 3, 3]).items():
        add(lambda bad, p=param: dmft.block_network(**{**two, p: bad}), param, bads, label="block_network")
    net2 = dmft.block_network(**two)
    for param, bads in dict(n_nodes=[3, 1.5, "x"], n_tau=[1, 2.5], tau_max=[0.0, -1.0, NAN, 500.0],
                            horizon=[0.0, INF], max_steps=COUNT).items():
        add(lambda bad, p=param: dmft.block_stationary(net2, **{p: bad}), param, bads, label="block_stationary")
    add(lambda bad: dmft.block_stationary(bad), "net", [2.0, None], label="block_stationary")
    add(lambda bad: dmft.block_static(net2, init=bad), "init", [np.ones(3), "x"], label="block_static")
    add(lambda bad: dmft.simulate_blocks(net2, bad, 30.0, key=key, tau_max=2.0), "N", [1, 1.5, "x"],
        label="simulate_blocks")
    add(lambda bad: dmft.simulate_blocks(net2, 50, 30.0, key=key, tau_max=2.0, dt=bad), "dt", POSITIVE[:5],
        label="simulate_blocks")
    add(lambda bad: dmft.block_chaos_onset(net2, tol=bad), "tol", [0.0, -1.0, NAN], label="block_chaos_onset")

    # ---- Ising / binary networks -------------------------------------------------------------
    J = np.asarray(ising.sk_couplings(jax.random.key(1), 6))
    asym = J.copy()
    asym[0, 1] += 0.3
    diag = J + np.eye(6)
    bad_J = [np.full((6, 6), NAN), asym, diag, np.ones((6, 5)), np.ones(6), "x"]
    for fn in (ising.magnetization, ising.susceptibility, ising.correlations, ising.exact):
        add(lambda bad, fn=fn: fn(bad, 0.1, 0.8), "J", bad_J, label=fn.__name__)
        add(lambda bad, fn=fn: fn(J, bad, 0.8), "h", REAL[:4] + [np.ones(5)], label=fn.__name__)
        add(lambda bad, fn=fn: fn(J, 0.1, bad), "beta", POSITIVE[:6], label=fn.__name__)
    add(lambda bad: ising.magnetization(J, 0.1, 0.8, method=bad), "method", ["mean", None], label="magnetization")
    add(lambda bad: ising.magnetization(J, 0.1, 0.8, max_steps=bad), "max_steps", COUNT[:4], label="magnetization")
    add(lambda bad: ising.magnetization(J, 0.1, 0.8, init=bad), "init", [np.ones(5), np.full(6, NAN)],
        label="magnetization")
    m, C = ising.exact(J, 0.1, 0.8)
    C = np.asarray(C)
    C_asym = C.copy()
    C_asym[0, 1] += 0.02
    add(lambda bad: ising.infer(np.asarray(m), bad), "C", [C_asym, np.zeros((6, 6)), np.ones((6, 5)), C * NAN],
        label="infer")
    add(lambda bad: ising.infer(bad, C), "m", [np.full(6, 1.5), np.full(6, NAN), np.ones((6, 2))], label="infer")
    add(lambda bad: ising.infer(np.asarray(m), C, method=bad), "method", ["magic"], label="infer")
    add(lambda bad: ising.monte_carlo_lattice(bad, jnp.array([2.0]), key=key, n_sweeps=10, n_burn=10), "L",
        [3, 0, 1.5, "x", NAN], label="monte_carlo_lattice")
    add(lambda bad: ising.monte_carlo_lattice(8, bad, key=key, n_sweeps=10, n_burn=10), "T", POSITIVE[:6],
        label="monte_carlo_lattice")
    add(lambda bad: ising.monte_carlo_lattice(8, jnp.array([2.0]), key=key, n_sweeps=bad, n_burn=10), "n_sweeps",
        COUNT[:4], label="monte_carlo_lattice")
    add(lambda bad: ising.monte_carlo(J, 0.1, 0.8, key=key, n_sweeps=bad), "n_sweeps", COUNT[:4], label="monte_carlo")
    add(lambda bad: ising.sk_couplings(key, bad), "n", COUNT[:4], label="sk_couplings")
    add(lambda bad: ising.critical_temperature(bad), "method", ["exact", None], label="critical_temperature")

    # ---- memory networks ---------------------------------------------------------------------
    add(lambda bad: memory.hopfield_retrieval(bad, 5, key=key, n_trials=2), "N", COUNT[:6], label="hopfield_retrieval")
    add(lambda bad: memory.hopfield_retrieval(100, bad, key=key, n_trials=2), "P", COUNT[:6], label="hopfield_retrieval")
    add(lambda bad: memory.hopfield_retrieval(100, 5, key=key, n_trials=2, flip_fraction=bad), "flip_fraction",
        FRACTION[:5] + [1.5], label="hopfield_retrieval")
    add(lambda bad: memory.hopfield_retrieval(100, 5, key=key, n_trials=bad), "n_trials", COUNT[:4],
        label="hopfield_retrieval")
    add(lambda bad: memory.hopfield_retrieval(100, 5, key=bad, n_trials=2), "key", [0, "x"], label="hopfield_retrieval")
    add(lambda bad: memory.ags_overlap(bad), "alpha", POSITIVE[:6], label="ags_overlap")
    add(lambda bad: memory.random_patterns(key, bad, 10), "P", COUNT[:4], label="random_patterns")
    add(lambda bad: memory.random_patterns(key, 5, bad), "N", COUNT[:4], label="random_patterns")
    add(lambda bad: memory.learn_couplings(bad), "patterns", [np.zeros((3, 4)), np.full((3, 4), NAN), "x"],
        label="learn_couplings")
    add(lambda bad: memory.gardner_capacity(bad), "kappa", REAL[:4], label="gardner_capacity")
    add(lambda bad: memory.cover_probability(bad, 10), "P", COUNT[:4], label="cover_probability")

    # ---- population dynamics: continuation, Wilson-Cowan, limit cycles, entrainment ----------
    from mfjax import dynamics, solvers

    wc_domains = dict(tau_e=POSITIVE, tau_i=POSITIVE, a_e=POSITIVE, a_i=POSITIVE, w_ei=POSITIVE, w_ie=POSITIVE,
                      w_ee=NONNEGATIVE, w_ii=NONNEGATIVE, theta_e=REAL, theta_i=REAL)
    for field, bads in wc_domains.items():
        add(lambda bad, f=field: dynamics.WilsonCowan(**{f: bad}), field, bads, label="WilsonCowan")
    wc = dynamics.WilsonCowan()
    add(lambda bad: dynamics.wilson_cowan_fixed_points(wc, bad, 0.0), "P_e", REAL[:4], label="wilson_cowan_fixed_points")
    add(lambda bad: dynamics.wilson_cowan_fixed_points(wc, 1.0, bad), "P_i", REAL[:4], label="wilson_cowan_fixed_points")
    add(lambda bad: dynamics.wilson_cowan_curves(wc, bad), "E", [0.0, 1.0, -0.5, NAN], label="wilson_cowan_curves")
    add(lambda bad: dynamics.wilson_cowan_curves(wc, 0.2, bad), "kind", ["saddle", None], label="wilson_cowan_curves")
    cubic = lambda x, p, _: p + x - x**3 / 3  # noqa: E731
    x1 = jnp.array([-2.0])
    for param, bads in dict(steps=COUNT[:4], max_newton=COUNT[:4], max_bifurcations=COUNT[:4], ds=POSITIVE[:6],
                            ds_min=POSITIVE[:6], ds_max=POSITIVE[:6], max_turn=POSITIVE[:6]).items():
        add(lambda bad, p=param: solvers.continuation(cubic, x1, 0.0, **{p: bad}), param, bads, label="continuation")
    add(lambda bad: solvers.continuation(cubic, x1, 0.0, direction=bad), "direction", [0, 2.0, "up"], label="continuation")
    add(lambda bad: solvers.continuation(cubic, x1, 0.0, p_bounds=bad), "p_bounds", [(1.0, 0.0), (0.0, 0.0)],
        label="continuation")
    add(lambda bad: solvers.continuation(cubic, bad, 0.0), "x0", [np.ones((2, 2)), np.array([NAN])], label="continuation")
    add(lambda bad: solvers.continuation(cubic, x1, bad), "p0", REAL[:3], label="continuation")
    osc = lambda x, m: dynamics.wilson_cowan_field(m, x, 1.5, 0.0)  # noqa: E731
    x2 = jnp.array([0.2, 0.1])
    add(lambda bad: dynamics.periodic_orbit(osc, x2, bad, wc), "period", POSITIVE[:6], label="periodic_orbit")
    add(lambda bad: dynamics.periodic_orbit(osc, x2, 50.0, wc, steps=bad), "steps", COUNT[:4] + [4], label="periodic_orbit")
    add(lambda bad: dynamics.periodic_orbit(osc, bad, 50.0, wc), "x0", [np.ones(1), np.array([NAN, 0.1])],
        label="periodic_orbit")
    add(lambda bad: dynamics.cycle_guess(osc, x2, wc, dt=bad, transient=10, window=10), "dt", POSITIVE[:6],
        label="cycle_guess")
    add(lambda bad: dynamics.cycle_guess(osc, x2, wc, dt=0.1, transient=bad, window=10), "transient", [-1, 1.5, "x"],
        label="cycle_guess")
    forced = lambda x, u, m: dynamics.wilson_cowan_field(m, x, 1.5 + u, 0.0)  # noqa: E731
    add(lambda bad: dynamics.rotation_numbers(forced, x2, bad, 0.1, wc, level=0.2), "frequency", POSITIVE[:4],
        label="rotation_numbers")
    add(lambda bad: dynamics.rotation_numbers(forced, x2, 20.0, bad, wc, level=0.2), "amplitude", NONNEGATIVE[:4],
        label="rotation_numbers")
    add(lambda bad: dynamics.rotation_numbers(forced, x2, 20.0, 0.1, wc, level=0.2, periods=bad), "periods",
        COUNT[:4], label="rotation_numbers")
    add(lambda bad: dynamics.branching_avalanches(key, bad, 10), "m", NONNEGATIVE[:8] + [60.0],
        label="branching_avalanches")
    add(lambda bad: dynamics.branching_avalanches(key, 0.5, bad), "n", COUNT[:4], label="branching_avalanches")
    add(lambda bad: dynamics.branching_avalanches(key, 0.5, 10, max_generations=bad), "max_generations", COUNT[:4],
        label="branching_avalanches")
    add(lambda bad: dynamics.branching_avalanches(bad, 0.5, 10), "key", [0, "x", None], label="branching_avalanches")
    pre = np.zeros((4, 2), int)
    add(lambda bad: dynamics.network_avalanches(key, pre, bad, 5), "prob",
        [np.full((4, 2), 1.5), np.full((4, 2), -0.1), np.full((4, 2), NAN)], label="network_avalanches")
    add(lambda bad: dynamics.network_avalanches(key, bad, np.full((4, 2), 0.1), 5), "pre",
        [np.full((4, 2), 7), np.zeros((4, 3), int), np.full((4, 2), 0.5)], label="network_avalanches")
    add(lambda bad: dynamics.fit_power_law(bad), "data", [np.array([0, 1, 2]), np.array([1.5, 2.0]), np.ones((2, 2)),
                                                          np.array([1.0, NAN]), np.array([3])], label="fit_power_law")
    add(lambda bad: dynamics.fit_power_law(np.arange(1, 50), x_min=bad), "x_min", ["auto", 0.0, 100.0, NAN],
        label="fit_power_law")
    add(lambda bad: dynamics.fit_power_law(np.arange(1, 50), x_max=bad), "x_max", [10.0, NAN], label="fit_power_law")
    add(lambda bad: dynamics.fit_power_law(np.arange(1, 50), n_boot=bad), "n_boot", [-1, 1.5, "x"], label="fit_power_law")
    add(lambda bad: dynamics.fit_power_law(np.arange(1, 50), n_boot=5, key=bad), "key", [None, "x"], label="fit_power_law")
    W2 = 0.5 * np.eye(2)
    add(lambda bad: dynamics.linear_network(W2, bad, 1.0), "tau", POSITIVE[:6], label="linear_network")
    add(lambda bad: dynamics.linear_network(bad, 10.0, 1.0), "W", [np.ones((2, 3)), np.full((2, 2), NAN), 2.0 * np.eye(2)],
        label="linear_network")
    add(lambda bad: dynamics.linear_network(W2, 10.0, bad), "D", [-1.0, np.ones(3), np.full(2, NAN)], label="linear_network")
    add(lambda bad: dynamics.linear_network(W2, 10.0, 1.0, bad), "h", [np.ones(3), np.full(2, INF)], label="linear_network")
    lin = dynamics.linear_network(W2, 10.0, 1.0)
    add(lambda bad: dynamics.linear_fisher_information(lin, bad), "readout_noise", NONNEGATIVE[:4],
        label="linear_fisher_information")
    add(lambda bad: dynamics.simulate_linear_network(key, lin, 0.0, bad, 10), "dt", POSITIVE[:6],
        label="simulate_linear_network")
    add(lambda bad: dynamics.simulate_linear_network(key, lin, 0.0, 1.0, bad), "steps", COUNT[:4],
        label="simulate_linear_network")

    # ---- attractors and the balanced state ---------------------------------------------------
    ring_args = dict(J0=2.0, J2=6.0, I0=1.0, I2=0.0, theta0=0.0, tau=10.0)
    ring_domains = dict(J0=REAL[:5], J2=NONNEGATIVE[:4], I0=POSITIVE[:4], I2=NONNEGATIVE[:4], theta0=REAL[:3],
                        tau=POSITIVE[:4])
    for field, bads in ring_domains.items():
        add(lambda bad, f=field: dynamics.RingNetwork(**{**ring_args, f: bad}), field, bads, label="RingNetwork")
    ring = dynamics.RingNetwork(2.0, 6.0, 1.0)
    add(lambda bad: dynamics.ring_steady_state(ring, bad), "n", COUNT[:4], label="ring_steady_state")
    add(lambda bad: dynamics.bump_diffusion(ring, 32, bad), "noise", NONNEGATIVE[:4], label="bump_diffusion")
    add(lambda bad: dynamics.simulate_ring(key, ring, 32, 10.0, dt=bad), "dt", POSITIVE[:6], label="simulate_ring")
    m_load = np.linspace(-1.0, 1.0, 8)
    add(lambda bad: dynamics.rank_one_line(m_load, m_load, noise=bad), "noise", NONNEGATIVE[:4], label="rank_one_line")
    add(lambda bad: dynamics.rank_one_line(m_load, bad), "n", [np.ones(3), np.full(8, NAN)], label="rank_one_line")
    add(lambda bad: dynamics.BalancedNetwork(bad, [1.0, 1.0], 1.0), "j", [np.ones(2), np.full((2, 2), NAN)],
        label="BalancedNetwork")
    add(lambda bad: dynamics.BalancedNetwork(np.eye(2), [1.0, 1.0], bad), "nu_ext", NONNEGATIVE[:4],
        label="BalancedNetwork")
    spec = dynamics.BalancedNetwork([[2.0, -10.0], [3.0, -10.0]], [2.0, 1.6], 20.0)
    add(lambda bad: spec.network(bad), "K", POSITIVE[:4], label="BalancedNetwork.network")
    add(lambda bad: dynamics.persistent_activity(bad), "network", [None, "net"], label="persistent_activity")
    return cases


CASES = _cases()


def test_the_suite_is_broad():
    assert len(CASES) >= 500


@pytest.mark.parametrize("call, bad, name", CASES)
def test_bad_argument_is_refused_naming_it(call, bad, name):
    with pytest.raises((ValueError, TypeError)) as info:
        call(bad)
    assert name in str(info.value), f"error does not name {name!r}: {info.value}"


# ---- traced values: the same conditions hold inside jit and vmap ------------------------------


def _runtime_error_names(fn, arg, name):
    with pytest.raises(Exception) as info:  # JaxRuntimeError wrapping equinox's message
        jax.block_until_ready(fn(arg))
    assert name in str(info.value), str(info.value)[:500]


@pytest.mark.parametrize("bad", [NAN, INF, -1.0])
def test_traced_neuron_fields_raise_at_runtime(bad):
    _runtime_error_names(jax.jit(lambda t: lif_rate(LIF(t, 2.0, 20.0, 10.0), 15.0, 5.0)), bad, "neuron.tau_m")
    _runtime_error_names(jax.jit(lambda t: lif_cv(LIF(20.0, t, 20.0, 10.0), 15.0, 5.0)), bad, "neuron.tau_ref")
    _runtime_error_names(jax.jit(lambda s: lif_rate(NEURON, 15.0, s)), bad, "sigma")


@pytest.mark.parametrize("v_reset", [20.0, 25.0, NAN])
def test_traced_reset_above_threshold_raises_at_runtime(v_reset):
    # issue 17: jit(lambda vr: lif_rate(LIF(20, 2, 20, vr), 15, 5))(25.) returned a negative rate
    _runtime_error_names(jax.jit(lambda vr: lif_rate(LIF(20.0, 2.0, 20.0, vr), 15.0, 5.0)), v_reset, "v_reset")
    _runtime_error_names(jax.vmap(lambda vr: membrane_density(LIF(20.0, 2.0, 20.0, vr), 15.0, 5.0, 0.0)),
                         jnp.array([10.0, v_reset]), "v_reset")


def test_traced_invalid_parameters_are_never_converged():
    # issue 17: NaN J / eta reported converged=True with residual 0
    eta = jnp.array([2.0, NAN, INF, -1.0])
    conv = jax.vmap(lambda e: solve_rates(mfjax.brunel_a(eta=e)).converged)(eta)
    assert conv.tolist() == [True, False, False, False]
    g = jnp.array([5.0, -5.0, NAN])
    assert jax.vmap(lambda x: solve_rates(mfjax.brunel_a(g=x)).converged)(g).tolist() == [True, False, False]
    net = mfjax.brunel_a()
    J = jnp.stack([net.J, jnp.full((2, 2), NAN), net.J.at[0, 0].set(INF)])
    assert jax.vmap(lambda j: solve_rates(net.replace(J=j)).converged)(J).tolist() == [True, False, False]
    taus = jnp.array([20.0, -20.0, 0.0])
    conv = jax.vmap(lambda t: solve_rates(net.replace(neuron=LIF(t, 2.0, 20.0, 10.0))).converged)(taus)
    assert conv.tolist() == [True, False, False]
    K = jnp.stack([net.K, -net.K])
    assert jax.vmap(lambda k: solve_rates(net.replace(K=k)).converged)(K).tolist() == [True, False]


def test_sweep_masks_points_outside_the_domain():
    # issue 17: brunel_rate_sweep([-5, 5], [2]) reported g = -5 as converged at 478 Hz
    res = brunel_rate_sweep([-5.0, 5.0], [-1.0, 2.0], chunk_size=4)
    assert res["converged"].tolist() == [[False, False], [False, True]]
    assert res.masked("rate").count() == 1 and abs(res.masked("rate")[1, 1] - 37.9497) < 5e-5


def test_traced_ising_parameters_are_never_converged():
    J = ising.sk_couplings(jax.random.key(2), 6)
    beta = jnp.array([0.8, NAN, -0.8, 0.0])
    conv = jax.vmap(lambda b: ising.magnetization(J, 0.1, b, method="tap").converged)(beta)
    assert conv.tolist() == [True, False, False, False]
    conv = jax.jit(lambda j: ising.magnetization(j, 0.1, 0.8).converged)(J.at[0, 1].add(0.5))
    assert not bool(conv)  # non-symmetric couplings


def test_traced_dmft_simulation_parameters_raise_at_runtime():
    fn = jax.jit(lambda j0: dmft.simulate(1.5, 20, 25.0, key=jax.random.key(0), J0=j0, tau_max=2.0, dt=0.1).delta0)
    _runtime_error_names(fn, NAN, "J0")


def test_legacy_keys_are_accepted_everywhere():
    legacy = jax.random.PRNGKey(0)
    typed = jax.random.key(0)
    small = mfjax.brunel_a(N_E=400)
    a = spiking.simulate(small, 10.0, key=legacy)
    b = spiking.simulate(small, 10.0, key=jax.random.wrap_key_data(jax.random.key_data(legacy)))
    np.testing.assert_array_equal(np.asarray(a.raster), np.asarray(b.raster))
    batch = spiking.simulate(small, 10.0, key=jax.random.split(legacy, 2))
    assert batch.rates.shape == (2, 2)
    assert memory.hopfield_retrieval(100, 5, key=legacy, n_trials=2).shape == (2,)
    assert np.isfinite(float(dmft.simulate(1.5, 20, 25.0, key=legacy, tau_max=2.0, dt=0.1).delta0))
    del typed


def test_numpy_integer_sizes_are_accepted():
    n = np.int64
    assert memory.hopfield_retrieval(n(100), n(5), key=jax.random.key(0), n_trials=n(2)).shape == (2,)
    assert ising.monte_carlo_lattice(n(4), jnp.array([2.0]), key=jax.random.key(0), n_sweeps=n(5), n_burn=n(5)).T.shape == (1,)
    assert dmft.simulate(1.5, n(20), 25.0, key=jax.random.key(0), tau_max=2.0, dt=0.1).delta.ndim == 1
    # nested Python lists for K and J
    net = Network(NEURON, [[100, 25], [100, 25]], [[0.1, -0.5], [0.1, -0.5]], K_ext=100, J_ext=0.1, nu_ext=10.0)
    assert net.K.shape == (2, 2)


def test_traced_dmft_and_ising_parameters_are_flagged_or_raise():
    g = jnp.array([2.0, NAN, -1.0])
    assert jax.vmap(lambda x: dmft.order_parameters(x).converged)(g).tolist() == [True, False, False]
    assert jax.vmap(lambda s: dmft.stationary(2.0, s).converged)(jnp.array([0.5, INF])).tolist() == [True, False]
    blocks = jax.vmap(lambda i: dmft.block_static(dmft.block_network([0.5, 0.5], 0.5, I=i)).converged)
    assert blocks(jnp.array([[0.1, 0.2], [NAN, 0.0]])).tolist() == [True, False]
    J = ising.sk_couplings(jax.random.key(2), 6)
    _runtime_error_names(jax.jit(lambda b: ising.exact(J, 0.1, b).m), -1.0, "beta")
    _runtime_error_names(jax.jit(lambda j: ising.susceptibility(j, 0.1, 0.8)), J.at[0, 1].add(1.0), "symmetric")


def test_traced_memory_load_is_flagged():
    alpha = jnp.array([0.1, -0.1, NAN])
    assert jax.vmap(lambda a: memory.ags_overlap(a).converged)(alpha).tolist() == [True, False, False]
