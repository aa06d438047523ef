"""mfjax.memory benchmarks: the Hopfield capacity curve by simulation against the AGS theory,
and the capacity of learned couplings against Gardner's bound and Cover's counting.

Usage::

    python benchmarks/bench_memory.py          # -> benchmarks/results/memory.json

Work:
1. Zero-temperature asynchronous retrieval, N = 2000, 40 trials per load (vmapped), 7 loads
   alpha = 0.05 ... 0.17, started from the pattern: mean overlap vs AGS m(alpha) and the
   retrieval fraction (final overlap > 0.9); wall time of the whole curve.
2. Learned asymmetric couplings at kappa = 0 (optax Adam on the squared hinge of the normalised
   stabilities, from the Hebbian start, 4000 steps): for N = 50, 100, 200, 400 and
   alpha = P/N in 1.0 ... 2.2, the fraction of rows (independent perceptrons with N - 1
   inputs) that store all P patterns, against Cover's probability 2^{1-P} sum_{k<N-1} binom(P-1, k).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _peers import HERE, machine, write_json


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(HERE / "results" / "memory.json"))
    args = p.parse_args()
    import jax

    jax.config.update("jax_enable_x64", True)
    from mfjax import memory

    result = {"machine": machine()}
    alphas = [0.05, 0.08, 0.11, 0.13, 0.14, 0.15, 0.17]
    N, trials = 2000, 40
    curve = []
    t0 = time.perf_counter()
    for i, a in enumerate(alphas):
        m = np.asarray(memory.hopfield_retrieval(N, int(round(a * N)), key=jax.random.key(i), n_trials=trials, n_sweeps=10))
        theory = float(memory.ags_overlap(a).m)
        curve.append({"alpha": a, "P": int(round(a * N)), "mean_overlap": float(m.mean()),
                      "sem": float(m.std(ddof=1) / np.sqrt(trials)), "ags_m": theory,
                      "rel_error": float(abs(m.mean() / theory - 1)) if theory > 0 else None,
                      "retrieval_fraction": float((m > 0.9).mean())})
        print(curve[-1], flush=True)
    elapsed = time.perf_counter() - t0
    a_c, m_c = memory.ags_capacity()
    result["hopfield_capacity_curve"] = {"N": N, "trials": trials, "points": curve,
                                         "seconds_incl_compile": elapsed, "ags_alpha_c": a_c, "ags_m_c": m_c}
    learned = []
    for N in (50, 100, 200, 400):
        for a in (1.0, 1.4, 1.8, 2.0, 2.2):
            P = int(round(a * N))
            xi = memory.random_patterns(jax.random.key(1000 * N + P), P, N)
            t0 = time.perf_counter()
            res = memory.learn_couplings(xi, 0.0, max_steps=4000)
            rows = np.asarray(res.row_success)
            learned.append({"N": N, "alpha": a, "P": P, "row_success_fraction": float(rows.mean()),
                            "cover_row_probability": memory.cover_probability(P, N - 1),
                            "network_success": bool(res.success), "steps": int(res.num_steps),
                            "seconds": time.perf_counter() - t0})
            print(learned[-1], flush=True)
    result["learned_capacity_kappa0"] = learned
    result["gardner_alpha_c_kappa0"] = float(memory.gardner_capacity(0.0))
    write_json(Path(args.out), result)


if __name__ == "__main__":
    main()
