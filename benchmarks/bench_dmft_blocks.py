"""Block-structured DMFT (several cell types) benchmarks: theory against direct simulation of
the block network, and the speed of a two-population phase diagram.

Usage::

    python benchmarks/bench_dmft_blocks.py           # -> benchmarks/results/dmft_blocks.json (~15 min, 2 cores)
    python benchmarks/bench_dmft_blocks.py --quick   # N = 1000, 2 seeds

Work:
1. A 100 x 100 phase diagram of a two-population network over (g_E, g_I), gains
   g = [[g_E, g_I], [g_E, g_I]], fractions (0.8, 0.2), inputs (0.3, 0.1): the static state, its
   stability radius and the transition line to chaos (``block_static`` vmapped), after
   compilation; the full ``block_stationary`` (profiles, Lyapunov exponent) per point, on a
   5 x 5 sub-grid one point at a time (vmapped, Newton runs every point for the slowest one's
   steps); and the time the diagram costs by direct simulation (one N = 4000
   network of 200 time constants per point).
2. Simulations (N = 4000, several seeds) against ``block_stationary``: Delta0 per population
   and the largest Lyapunov exponent, for a chaotic network with mixed transfer functions and a
   noisy one.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _peers import HERE, best_time, machine, write_json

G2 = np.array([[1.0, 2.0], [0.5, 1.5]])
ALPHA = np.array([0.2, 0.8])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(HERE / "results" / "dmft_blocks.json"))
    p.add_argument("--quick", action="store_true")
    p.add_argument("--seeds", type=int, default=2, help="simulated networks per case (N = 4000: ~2 min each)")
    args = p.parse_args()
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    from mfjax import dmft

    result = {"machine": machine()}
    gE, gI = jnp.meshgrid(jnp.linspace(0.1, 2.5, 100), jnp.linspace(0.1, 2.5, 100), indexing="ij")

    def static_point(a, b):
        net = dmft.block_network([0.8, 0.2], jnp.stack([jnp.stack([a, b]), jnp.stack([a, b])]), 0.0, jnp.array([0.3, 0.1]))
        st = dmft.block_static(net)
        return st.radius, st.converged

    diagram = jax.jit(jax.vmap(static_point))
    t0 = time.perf_counter()
    jax.block_until_ready(diagram(gE.ravel(), gI.ravel()))
    compile_s = time.perf_counter() - t0
    t_diag, (radius, ok) = best_time(lambda: diagram(gE.ravel(), gI.ravel()), repeat=3)
    radius = np.asarray(radius).reshape(100, 100)
    # the transition line g_I*(g_E): first grid point with radius >= 1 along g_I
    chaotic = radius >= 1.0
    line = [float(np.asarray(gI)[0, np.argmax(row)]) if row.any() else None for row in chaotic]

    def full_point(a, b):
        net = dmft.block_network([0.8, 0.2], jnp.stack([jnp.stack([a, b]), jnp.stack([a, b])]), 0.0, jnp.array([0.3, 0.1]))
        st = dmft.block_stationary(net, n_nodes=64)
        return st.delta0, st.lyapunov, st.converged

    sub = (slice(None, None, 20), slice(None, None, 20))
    full = jax.jit(full_point)
    a, b = gE[sub].ravel(), gI[sub].ravel()
    jax.block_until_ready(full(a[0], b[0]))
    t0 = time.perf_counter()
    outs = [jax.block_until_ready(full(x, y)) for x, y in zip(a, b)]
    t_full = time.perf_counter() - t0
    full_ok = np.array([bool(o[2]) for o in outs])
    result["phase_diagram_100x100"] = {
        "static_seconds": t_diag, "first_call_seconds_incl_compile": compile_s,
        "points": int(radius.size), "converged_fraction": float(np.mean(np.asarray(ok))),
        "chaotic_fraction": float(np.mean(chaotic)), "transition_gI_at_gE": dict(zip(
            [round(float(x), 4) for x in np.asarray(gE)[::10, 0]], line[::10])),
        "block_stationary_5x5_serial_seconds": t_full,
        "block_stationary_per_point_seconds": t_full / a.size,
        "block_stationary_converged_fraction": float(np.mean(np.asarray(full_ok))),
        "note": "static: the noise-free fixed point and its radius rho(M diag<phi'^2>) (transition at 1); "
                "block_stationary: profiles, tau_c and the Lyapunov exponent at every point",
    }
    print(result["phase_diagram_100x100"], flush=True)

    N = 1000 if args.quick else 4000
    seeds = 2 if args.quick else args.seeds
    cases = [
        ("chaotic, tanh/erf", dmft.block_network(ALPHA, 1.3 * G2, phi=("tanh", "erf"))),
        ("noisy, tanh", dmft.block_network(ALPHA, 1.5 * G2, sigma=[0.5, 1.0])),
        ("E-I means, tanh", dmft.block_network([0.8, 0.2], [[1.5, 2.0], [1.5, 2.0]], [[1.0, -2.0], [1.0, -2.0]],
                                               [0.3, 0.1])),
    ]
    comparisons = []
    for label, net in cases:
        th = dmft.block_stationary(net)
        keys = jax.random.split(jax.random.key(len(comparisons) + 7), seeds)
        t0 = time.perf_counter()
        sims = [dmft.simulate_blocks(net, N, 200.0, key=k, tau_max=10.0) for k in keys]
        jax.block_until_ready(sims[-1].delta0)
        elapsed = time.perf_counter() - t0
        d0 = np.stack([np.asarray(s.delta0) for s in sims])
        lam = np.array([float(s.lyapunov) for s in sims])
        mean = np.stack([np.asarray(s.mean) for s in sims])
        comparisons.append({
            "network": label, "N": N, "seeds": seeds, "duration": 200.0, "converged": bool(th.converged),
            "dmft_delta0": np.asarray(th.delta0).tolist(), "sim_delta0_mean": d0.mean(0).tolist(),
            "sim_delta0_sem": (d0.std(0, ddof=1) / np.sqrt(seeds)).tolist(),
            "delta0_rel_error": np.abs(d0.mean(0) / np.asarray(th.delta0) - 1).tolist(),
            "dmft_mean": np.asarray(th.mean).tolist(), "sim_mean": mean.mean(0).tolist(),
            "dmft_lyapunov": float(th.lyapunov), "sim_lyapunov_mean": float(lam.mean()),
            "sim_lyapunov_sem": float(lam.std(ddof=1) / np.sqrt(seeds)),
            "lyapunov_rel_error": float(abs(lam.mean() / float(th.lyapunov) - 1)),
            "simulation_seconds_all_seeds_incl_compile": elapsed,
        })
        print(comparisons[-1], flush=True)
    result["dmft_vs_simulation"] = comparisons
    per_point = comparisons[0]["simulation_seconds_all_seeds_incl_compile"] / seeds
    result["phase_diagram_100x100"]["direct_simulation_estimate_seconds"] = 1e4 * per_point
    result["phase_diagram_100x100"]["direct_simulation_basis"] = f"one N={N} network, 200 time constants, per point"
    write_json(Path(args.out), result)


if __name__ == "__main__":
    main()
