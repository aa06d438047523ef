"""Peer simulators for ``bench_spiking.py``: Brunel (2000) model A and the COBA benchmark in
Brian2 (C++ standalone), NEST and BrainPy.  Runs inside the peer's own virtual environment:
``python spiking_peers.py TASKS.json OUT.json`` with tasks
``[{"tool": "brian2"|"nest"|"brainpy", "model": "brunel"|"coba", "N": ..., "duration": ms,
"threads": n, "seed": s}, ...]``.  Each result: run time (s) of the simulation proper, total
wall time including model building and code generation/compilation, peak memory (resident,
GiB), population rates (Hz) and mean CV of the inter-spike intervals.

The models follow mfjax's presets: Brunel model A with g = 5, eta = 2, C_E = 1000, C_I = 250
fixed in-degrees (multapses allowed), J = 0.1 mV, delay 1.5 ms, refractory 2 ms, input during
refractoriness discarded, V0 uniform in [V_reset, V_th); COBA as Brette et al. (2007) benchmark
1 with Bernoulli(0.02) connectivity and a 20 mV drive.  dt = 0.1 ms everywhere.
"""

import json
import resource
import sys
import time

import numpy as np

BRUNEL = dict(g=5.0, eta=2.0, J=0.1, C_E=1000, C_I=250, tau=20.0, theta=20.0, v_reset=10.0, t_ref=2.0, delay=1.5)


def peak_gib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def summarize(times, senders, n_e, n, duration):
    """Rates (Hz) of E and I and the mean CV of neurons with >= 2 intervals (all spikes)."""
    times, senders = np.asarray(times, float), np.asarray(senders, int)
    counts = np.bincount(senders, minlength=n)
    rates = [counts[:n_e].sum() / n_e / duration * 1e3, counts[n_e:].sum() / (n - n_e) / duration * 1e3]
    order = np.lexsort((times, senders))
    t, s = times[order], senders[order]
    same = s[1:] == s[:-1]
    isi, who = np.diff(t)[same], s[1:][same]
    n_isi = np.bincount(who, minlength=n)
    mean = np.bincount(who, isi, n) / np.maximum(n_isi, 1)
    sq = np.bincount(who, isi**2, n) / np.maximum(n_isi, 1)
    ok = n_isi >= 2
    cv = np.sqrt(np.maximum(sq[ok] - mean[ok] ** 2, 0)) / mean[ok]
    return rates, float(cv.mean()) if cv.size else float("nan")


def brunel_pairs(rng, n_e, n, k, first, count):
    """Fixed in-degree pairs: every neuron draws k sources in [first, first + count)."""
    src = rng.integers(first, first + count, size=(n, k))
    tgt = np.repeat(np.arange(n), k)
    return src.ravel(), tgt


def run_brian2(task):
    import tempfile

    import brian2 as b2

    t_start = time.perf_counter()
    b2.set_device("cpp_standalone", directory=tempfile.mkdtemp(), build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = task.get("threads", 1)
    b2.defaultclock.dt = 0.1 * b2.ms
    b2.seed(task.get("seed", 1))
    rng = np.random.default_rng(task.get("seed", 1))
    n, ms, mV = task["N"], b2.ms, b2.mV
    if task["model"] == "brunel":
        p = BRUNEL
        n_e = 4 * n // 5
        nu_thr = p["theta"] / (p["J"] * p["C_E"] * p["tau"])  # kHz
        group = b2.NeuronGroup(
            n, "dv/dt = -v / tau : volt (unless refractory)", threshold="v >= theta", reset="v = v_reset",
            refractory=p["t_ref"] * ms, method="exact",
            namespace=dict(tau=p["tau"] * ms, theta=p["theta"] * mV, v_reset=p["v_reset"] * mV),
        )
        group.v = "v_reset + rand() * (theta - v_reset)"
        syns = []
        for first, count, k, w in ((0, n_e, p["C_E"], p["J"]), (n_e, n - n_e, p["C_I"], -p["g"] * p["J"])):
            syn = b2.Synapses(group, group, on_pre="v_post += w * int(not_refractory_post)",
                              delay=p["delay"] * ms, namespace=dict(w=w * mV))
            src, tgt = brunel_pairs(rng, n_e, n, k, first, count)
            syn.connect(i=src, j=tgt)
            syns.append(syn)
        drive = b2.PoissonInput(group, "v", p["C_E"], p["eta"] * nu_thr * 1e3 * b2.Hz,
                                weight=f"{p['J']} * mV * int(not_refractory)")
        objects = [group, drive, *syns]
    else:
        n_e = 4 * n // 5
        eqs = """dv/dt = (ge * (E_ex - v) + gi * (E_in - v) - (v - E_L) + I) / taum : volt (unless refractory)
                 dge/dt = -ge / taue : 1
                 dgi/dt = -gi / taui : 1"""
        ns = dict(taum=20 * ms, taue=5 * ms, taui=10 * ms, E_ex=0 * mV, E_in=-80 * mV, E_L=-60 * mV,
                  I=20 * mV, v_th=-50 * mV, v_r=-60 * mV)
        group = b2.NeuronGroup(n, eqs, threshold="v > v_th", reset="v = v_r", refractory=5 * ms,
                               method="exponential_euler", namespace=ns)
        group.v = "v_r + rand() * (v_th - v_r)"
        ce = b2.Synapses(group[:n_e], group, on_pre="ge += 0.6")
        ci = b2.Synapses(group[n_e:], group, on_pre="gi += 6.7")
        ce.connect(p=0.02)
        ci.connect(p=0.02)
        objects = [group, ce, ci]
    monitor = b2.SpikeMonitor(group)
    net = b2.Network(*objects, monitor)
    net.run(task["duration"] * ms)
    b2.device.build(run=True, compile=True)
    run_s = float(b2.device._last_run_time)
    total_s = time.perf_counter() - t_start
    rates, cv = summarize(np.asarray(monitor.t / ms), np.asarray(monitor.i), n_e, n, task["duration"])
    return dict(run_s=run_s, total_s=total_s, rates=rates, cv=cv, peak_gib=peak_gib())


def run_nest(task):
    import nest

    t_start = time.perf_counter()
    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": 0.1, "local_num_threads": task.get("threads", 1),
                          "rng_seed": task.get("seed", 1)})
    n = task["N"]
    n_e = 4 * n // 5
    if task["model"] == "brunel":
        p = BRUNEL
        nodes = nest.Create("iaf_psc_delta", n, params={
            "tau_m": p["tau"], "t_ref": p["t_ref"], "E_L": 0.0, "V_reset": p["v_reset"], "V_th": p["theta"],
            "C_m": 250.0, "V_m": nest.random.uniform(p["v_reset"], p["theta"])})
        nu_thr = p["theta"] / (p["J"] * p["C_E"] * p["tau"]) * 1e3
        noise = nest.Create("poisson_generator", params={"rate": p["eta"] * nu_thr * p["C_E"]})
        nest.Connect(noise, nodes, syn_spec={"weight": p["J"], "delay": p["delay"]})
        nest.Connect(nodes[:n_e], nodes, {"rule": "fixed_indegree", "indegree": p["C_E"]},
                     {"weight": p["J"], "delay": p["delay"]})
        nest.Connect(nodes[n_e:], nodes, {"rule": "fixed_indegree", "indegree": p["C_I"]},
                     {"weight": -p["g"] * p["J"], "delay": p["delay"]})
    else:
        nodes = nest.Create("iaf_cond_exp", n, params={
            "V_th": -50.0, "V_reset": -60.0, "E_L": -60.0, "t_ref": 5.0, "C_m": 200.0, "g_L": 10.0,
            "E_ex": 0.0, "E_in": -80.0, "tau_syn_ex": 5.0, "tau_syn_in": 10.0, "I_e": 200.0,
            "V_m": nest.random.uniform(-60.0, -50.0)})
        nest.Connect(nodes[:n_e], nodes, {"rule": "pairwise_bernoulli", "p": 0.02}, {"weight": 6.0, "delay": 0.1})
        nest.Connect(nodes[n_e:], nodes, {"rule": "pairwise_bernoulli", "p": 0.02}, {"weight": -67.0, "delay": 0.1})
    recorder = nest.Create("spike_recorder")
    nest.Connect(nodes, recorder)
    t0 = time.perf_counter()
    nest.Simulate(task["duration"])
    run_s = time.perf_counter() - t0
    ev = recorder.get("events")
    rates, cv = summarize(ev["times"], np.asarray(ev["senders"]) - nodes[0].global_id, n_e, n, task["duration"])
    return dict(run_s=run_s, total_s=time.perf_counter() - t_start, rates=rates, cv=cv, peak_gib=peak_gib())


def main():
    tasks = json.load(open(sys.argv[1]))
    out = []
    for task in tasks:
        fn = {"brian2": run_brian2, "nest": run_nest}.get(task["tool"])
        if fn is None:
            from spiking_brainpy import run_brainpy as fn
        out.append(dict(task, **fn(task)))
        print(json.dumps(out[-1]), flush=True)
    json.dump(out, open(sys.argv[2], "w"), indent=1)


if __name__ == "__main__":
    main()
