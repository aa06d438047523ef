"""mfjax.dmft benchmarks: the DMFT against direct simulation of the network, and speed.

Usage::

    python benchmarks/bench_dmft.py            # -> benchmarks/results/dmft.json (~10 min on 2 cores)
    python benchmarks/bench_dmft.py --quick    # N = 1000, 2 seeds
    python benchmarks/bench_dmft.py --reuse-simulations   # re-time the theory, keep the stored simulations

Work:
1. Delta0(g) for 1000 values of g in one vmapped call (order parameters only), after compilation;
   the full ``stationary`` (Delta(tau), tau_c, Lyapunov exponent) per point.
2. Network simulations (N = 2000 and 4000, several seeds, vmapped over seeds) against the DMFT:
   Delta0 and the largest Lyapunov exponent (Benettin) for g = 2, 3 without noise and g = 2,
   1.5 with noise; the simulation time per parameter point, i.e. what the same Delta0(g) curve
   costs by direct simulation.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _peers import HERE, best_time, machine, write_json


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(HERE / "results" / "dmft.json"))
    p.add_argument("--quick", action="store_true")
    p.add_argument("--reuse-simulations", action="store_true",
                   help="keep dmft_vs_simulation from the existing output file (theory timings only)")
    args = p.parse_args()
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    from mfjax import dmft

    result = {"machine": machine()}
    gs = jnp.linspace(0.5, 4.0, 1000)
    curve = jax.jit(jax.vmap(lambda g: dmft.order_parameters(g).delta0))
    t0 = time.perf_counter()
    curve(gs).block_until_ready()
    compile_s = time.perf_counter() - t0
    t_curve, d0 = best_time(lambda: curve(gs), repeat=3)
    t_point, _ = best_time(lambda: dmft.stationary(2.0).lyapunov, repeat=3)
    result["delta0_curve_1000_g"] = {"seconds": t_curve, "first_call_seconds_incl_compile": compile_s,
                                     "g_range": [0.5, 4.0], "stationary_full_per_point_seconds": t_point}

    if args.reuse_simulations:
        import json

        stored = json.loads(Path(args.out).read_text())
        result["dmft_vs_simulation"] = stored["dmft_vs_simulation"]
        for key in ("direct_simulation_estimate_seconds", "direct_simulation_basis"):
            result["delta0_curve_1000_g"][key] = stored["delta0_curve_1000_g"][key]
        write_json(Path(args.out), result)
        print(result["delta0_curve_1000_g"])
        return
    sizes = [1000] if args.quick else [2000, 4000]
    seeds = 2 if args.quick else 4
    cases = [(2.0, 0.0), (3.0, 0.0), (2.0, 0.5), (1.5, 1.0)]
    comparisons = []
    for N in sizes:
        for g, sigma in cases if N == sizes[0] else cases[:1]:
            th = dmft.stationary(g, sigma)
            keys = jax.random.split(jax.random.key(int(100 * g + 10 * sigma + N)), seeds)
            run = jax.vmap(lambda k, g=g, sigma=sigma, N=N: dmft.simulate(g, N, 200.0, key=k, sigma=sigma, tau_max=10.0))
            t0 = time.perf_counter()
            sims = run(keys)
            sims.delta0.block_until_ready()
            elapsed = time.perf_counter() - t0
            d0 = np.asarray(sims.delta0)
            lam = np.asarray(sims.lyapunov)
            comparisons.append({
                "g": g, "sigma": sigma, "N": N, "seeds": seeds, "duration": 200.0,
                "dmft_delta0": float(th.delta0), "sim_delta0_mean": float(d0.mean()),
                "sim_delta0_sem": float(d0.std(ddof=1) / np.sqrt(seeds)),
                "delta0_rel_error": float(abs(d0.mean() / float(th.delta0) - 1)),
                "dmft_lyapunov": float(th.lyapunov), "sim_lyapunov_mean": float(lam.mean()),
                "sim_lyapunov_sem": float(lam.std(ddof=1) / np.sqrt(seeds)),
                "lyapunov_rel_error": float(abs(lam.mean() / float(th.lyapunov) - 1)),
                "simulation_seconds_all_seeds_incl_compile": elapsed,
            })
            print(comparisons[-1], flush=True)
    result["dmft_vs_simulation"] = comparisons
    per_point = comparisons[0]["simulation_seconds_all_seeds_incl_compile"] / seeds
    result["delta0_curve_1000_g"]["direct_simulation_estimate_seconds"] = 1000 * per_point
    result["delta0_curve_1000_g"]["direct_simulation_basis"] = (
        f"one N={comparisons[0]['N']} network, 200 time constants, per g value")
    write_json(Path(args.out), result)
    print(result["delta0_curve_1000_g"])


if __name__ == "__main__":
    main()
