"""Count covariances: neuron-level pairwise covariances against NNMT 1.3, and the mean count
correlation of Brunel's model A against the spiking simulation of the same network for several
in-degrees K (Helias et al. 2014: the correlations of balanced networks fall as 1/N).

Usage::

    python benchmarks/bench_covariances.py               # -> benchmarks/results/covariances.json
    python benchmarks/bench_covariances.py --references  # regenerate tests/data/nnmt_pairwise.json

Pairwise: a 60-neuron Brunel-type network (48 E, 12 I, Bernoulli connections so that every
synapse count is 0 or 1, which is what NNMT's ``J**2`` term assumes), mfjax's neuron-level
working point, then NNMT's CVs, effective connectivity and covariances from the same rates and
inputs.  The drive (eta = 0.9) keeps every neuron fluctuation driven: NNMT evaluates
``exp(y^2) (1 + erf(y))`` directly, which cancels to 0 for y < -6 (mean-driven neurons; at
eta = 1.5 its effective coupling of such a neuron is 2.2 times too large), where mfjax uses the
scaled complementary error function.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from _peers import HERE, ROOT, best_time, machine, peer_python, run_worker, write_json


def _jax():
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax


def pairwise_network(n_e: int, k_e: float, seed: int, g: float = 5.0, eta: float = 0.9):
    """A neuron-level Brunel-type network (Bernoulli connectivity, p = k_e / n_e)."""
    jax = _jax()
    from mfjax import populations as pop
    from mfjax import spiking

    net = pop.brunel_a(g, eta, N_E=n_e, epsilon=k_e / n_e, J=0.5)
    net = pop.Network(net.neuron, net.K, net.J, K_ext=net.K_ext, J_ext=net.J_ext, nu_ext=net.nu_ext, N=net.N,
                      delay=net.delay, connectivity="fixed_probability")
    conn = spiking.build_connectivity(jax.random.PRNGKey(seed), np.asarray(net.N).astype(int), np.asarray(net.K),
                                      rule="fixed_probability")
    return spiking.neuron_network(net, conn)


def pairwise_task(neurons) -> dict:
    from mfjax import populations as pop

    sol = pop.solve_rates(neurons)
    n = neurons.neuron
    scalar = lambda v: float(np.asarray(v).ravel()[0])  # noqa: E731
    return {"kind": "pairwise", "rates": np.asarray(sol.rates).tolist(), "mu": np.asarray(sol.mu).tolist(),
            "sigma": np.asarray(sol.sigma).tolist(), "J": np.asarray(neurons.K * neurons.J).tolist(),
            "v_reset": scalar(n.v_reset), "v_th": scalar(n.v_th), "tau_m": scalar(n.tau_m), "tau_s": scalar(n.tau_s)}


def references() -> None:
    neurons = pairwise_network(48, 8.0, seed=3)
    task = pairwise_task(neurons)
    res = run_worker(peer_python("nnmt", [["nnmt==1.3.0"]]), "nnmt_worker.py", {"pw": task})["pw"]
    if "error" in res:
        raise RuntimeError(res["error"])
    out = {
        "source": "NNMT 1.3.0 (pip install nnmt==1.3.0): lif.exp._cvs, _pairwise_effective_connectivity, "
        "_pairwise_covariances (return_noise_strength) at the mfjax working point of "
        "bench_covariances.pairwise_network(48, 8.0, seed=3, eta=0.9) (60 neurons, delta synapses); "
        "command: python benchmarks/bench_covariances.py --references",
        "network": {"n_e": 48, "k_e": 8.0, "seed": 3},
        "inputs": {k: task[k] for k in ("rates", "mu", "sigma")},
        **res,
    }
    path = ROOT / "tests" / "data" / "nnmt_pairwise.json"
    path.write_text(json.dumps(out))
    print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB)")


def pairwise_timing(n_e: int) -> dict:
    """mfjax's pairwise_covariances against NNMT's CVs + effective connectivity + covariances
    on the same working point of an (n_e + n_e/4)-neuron realisation."""
    from mfjax import populations as pop

    neurons = pairwise_network(n_e, 80.0, seed=5)
    sol = pop.solve_rates(neurons)
    task = pairwise_task(neurons)
    t0 = time.perf_counter()
    res = run_worker(peer_python("nnmt", [["nnmt==1.3.0"]]), "nnmt_worker.py", {"pw": task})["pw"]
    nnmt_s = time.perf_counter() - t0  # includes the worker's start (~1 s)
    run = lambda: pop.pairwise_covariances(neurons, sol).covariance.block_until_ready()  # noqa: E731
    t0 = time.perf_counter()
    run()
    first = time.perf_counter() - t0
    mf, _ = best_time(run, 3)
    ours = np.asarray(pop.pairwise_covariances(neurons, sol).covariance)
    C = np.asarray(res["covariance"])
    return {"neurons": int(neurons.num_populations), "nnmt_s (worker wall, incl. start)": nnmt_s,
            "mfjax_first_call_s": first, "mfjax_s": mf, "ratio": nnmt_s / mf,
            "covariance_max_diff_rel_to_max": float(np.max(np.abs(ours - C)) / np.max(np.abs(C)))}


def simulation_study(cases, window: float, duration: float) -> list:
    """compare_covariances on each (label, brunel_a kwargs): theory (renewal and Poisson
    autocovariances) beside the simulated count covariances."""
    jax = _jax()
    from mfjax import populations as pop
    from mfjax import spiking

    rows = []
    for label, kw in cases:
        net = pop.brunel_a(**kw)
        t0 = time.perf_counter()
        c = spiking.compare_covariances(net, window=window, duration=duration + 200.0, key=jax.random.key(1))
        wall = time.perf_counter() - t0
        poisson = pop.covariances(net, window=window)
        th = c.theory
        iu = np.triu_indices(2)
        z = (c.population - np.asarray(th.population)) / c.standard_error
        row = {
            "case": label, "brunel_a": kw, "N": float(np.sum(np.asarray(net.N))), "K_E": float(np.asarray(net.K)[0, 0]),
            "window_ms": window, "windows": c.windows, "simulated_ms": duration, "wall_s": wall,
            "stable": bool(pop.stability(net).stable),
            "rates_theory_hz": np.asarray(th.rates).tolist(), "rates_sim_hz": np.asarray(c.simulation.rates).tolist(),
            "fano_sim": np.asarray(c.simulation.fano).tolist(), "cv_sim": np.asarray(c.simulation.cv).tolist(),
            "pairs (EE, EI, II)": ["EE", "EI", "II"],
            "population_cov_theory_hz": np.asarray(th.population)[iu].tolist(),
            "population_cov_theory_poisson_hz": np.asarray(poisson.population)[iu].tolist(),
            "population_cov_sim_hz": c.population[iu].tolist(),
            "population_cov_se_hz": c.standard_error[iu].tolist(),
            "z (sim - theory)/se": z[iu].tolist(),
            "correlation_theory": np.asarray(th.correlation)[iu].tolist(),
            "correlation_sim": c.correlation[iu].tolist(),
        }
        print(label, "z", np.round(z[iu], 2), "corr theory", np.round(row["correlation_theory"], 5),
              "sim", np.round(row["correlation_sim"], 5), f"{wall:.0f} s", flush=True)
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--references", action="store_true", help="write tests/data/nnmt_pairwise.json and stop")
    ap.add_argument("--sim-ms", type=float, default=20000.0, help="simulated time per network (ms)")
    ap.add_argument("--window", type=float, default=100.0, help="counting window (ms)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "covariances.json")
    args = ap.parse_args()
    if args.references:
        return references()
    _jax()
    # Brunel's model A at (g, eta) = (8, 2), K_E = 800: the working point is the same for every N
    # (it depends on K only), the correlations fall as 1/N (Helias et al. 2014)
    fixed_k = [(f"K_E=800, N_E={n}", dict(g=8.0, eta=2.0, N_E=n, epsilon=800.0 / n)) for n in (4000, 8000, 16000, 32000)]
    # epsilon = 0.1, K grows with N (the state moves with K as well)
    fixed_eps = [(f"epsilon=0.1, K_E={n // 10}", dict(g=8.0, eta=2.0, N_E=n)) for n in (4000, 16000)]
    out = {
        "machine": machine(),
        "work": "Brunel (2000) model A at (g, eta) = (8, 2): spike-count covariances of the population-averaged "
        f"counts in {args.window:.0f}-ms windows, mean field (mfjax.populations.covariances, renewal "
        "autocovariances: the LIF renewal spike-train spectrum, mfjax.neurons.lif_spike_spectrum) vs "
        "mfjax.spiking.simulate of the same network "
        f"({args.sim_ms / 1000:.0f} s each, mfjax.spiking.compare_covariances); pairwise: "
        "mfjax.populations.pairwise_covariances vs NNMT 1.3 on a 1000-neuron realisation",
        "fixed_K_vary_N": simulation_study(fixed_k, args.window, args.sim_ms),
        "fixed_epsilon_vary_K": simulation_study(fixed_eps, args.window, args.sim_ms),
        "pairwise_vs_nnmt": pairwise_timing(800),
    }
    write_json(args.out, out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
