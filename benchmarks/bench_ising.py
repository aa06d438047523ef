"""mfjax.ising benchmarks: Monte Carlo throughput, the Binder-cumulant estimate of the 2D
critical temperature, and the inverse Ising problem against coniii 3.0 in the same run.

Usage::

    python benchmarks/bench_ising.py            # -> benchmarks/results/ising.json
    python benchmarks/bench_ising.py --quick    # smaller Monte Carlo runs (minutes -> seconds)

coniii is installed into ``benchmarks/.work/venv-coniii`` on first use (it needs numpy < 2,
scipy < 1.12, numba and multiprocess, and builds without isolation) and is driven through
``coniii_worker.py``; mfjax never imports it.

Work:
1. Checkerboard Metropolis on a 256 x 256 lattice at 64 temperatures in one vmapped program
   (float32 and float64): attempted spin flips per second after compilation.
2. Binder cumulant crossings of L = 8, 16, 32 near T_c: the estimate against Onsager's
   2 / ln(1 + sqrt 2) = 2.269185.
3. Inverse Ising on SK samples (N = 9, beta = 0.8; 5e4 samples drawn exactly from the Boltzmann
   distribution): RMS coupling error and time of mfjax (nMF, TAP, Bethe, pseudo-likelihood,
   exact maximum likelihood) and coniii (Pseudo, Enumerate).
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
from _peers import HERE, best_time, machine, peer_python, run_worker, write_json

CONIII_STEPS = [["numpy<2", "scipy<1.12", "numba", "multiprocess", "setuptools", "wheel"],
                ["--no-build-isolation", "coniii==3.0.1"]]


def coniii_python():
    return peer_python("coniii", CONIII_STEPS, env={"CONDA_PREFIX": "{venv}"})


def mc_throughput(jax, jnp, ising, sweeps):
    out = {}
    T = np.linspace(1.5, 3.5, 64)
    for dtype in ("float32", "float64"):
        def run(key, dtype=dtype):
            return ising.monte_carlo_lattice(256, T, key=key, n_sweeps=sweeps, n_burn=0, dtype=getattr(jnp, dtype))

        t0 = time.perf_counter()
        run(jax.random.key(0)).abs_m.block_until_ready()
        compile_s = time.perf_counter() - t0
        t, _ = best_time(lambda: run(jax.random.key(1)).abs_m, repeat=2)
        flips = 256 * 256 * 64 * sweeps
        out[dtype] = {"lattice": [256, 256], "temperatures": 64, "sweeps": sweeps, "seconds": t,
                      "first_call_seconds_incl_compile": compile_s, "flips_per_second": flips / t}
    return out


def binder(jax, ising, sweeps, chains):
    T = np.linspace(2.20, 2.34, 15)
    curves = {}
    t0 = time.perf_counter()
    for L in (8, 16, 32):
        r = ising.monte_carlo_lattice(L, T, key=jax.random.key(L), n_sweeps=sweeps, n_burn=sweeps // 5,
                                      n_chains=chains)
        curves[L] = np.asarray(r.binder)
    exact = ising.critical_temperature("onsager")
    crossings = {}
    for a, b in ((8, 16), (16, 32)):
        tc = ising.binder_crossing(T, curves[a], curves[b])
        crossings[f"{a}x{b}"] = {"T_c": tc, "relative_error_vs_onsager": abs(tc / exact - 1)}
    return {"temperatures": T.tolist(), "sweeps": sweeps, "chains": chains,
            "binder": {str(k): v.tolist() for k, v in curves.items()}, "crossings": crossings,
            "onsager_T_c": exact, "seconds": time.perf_counter() - t0}


def sk_samples(jax, ising, n, beta, n_samples, seed=5):
    J = beta * np.asarray(ising.sk_couplings(jax.random.key(seed), n))
    h = 0.3 * beta * np.asarray(jax.random.normal(jax.random.key(seed + 1), (n,)))
    S = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
    E = -0.5 * np.einsum("bi,ij,bj->b", S, J, S) - S @ h
    p = np.exp(-(E - E.min()))
    p /= p.sum()
    return J, h, S[np.random.default_rng(0).choice(len(S), size=n_samples, p=p)]


def inverse(jax, ising):
    n, beta = 9, 0.8
    J, h, samples = sk_samples(jax, ising, n, beta, 50_000)

    def rms(Ji):
        return float(np.sqrt(np.mean((np.asarray(Ji) - J)[np.triu_indices(n, 1)] ** 2)))

    ours = {}
    for method in ("nmf", "tap", "bethe", "pseudolikelihood", "exact"):
        t0 = time.perf_counter()
        ising.infer(samples=samples, method=method)[0].block_until_ready()
        first = time.perf_counter() - t0
        t, (Ji, hi) = best_time(lambda m=method: ising.infer(samples=samples, method=m), repeat=3)
        ours[method] = {"seconds": t, "first_call_seconds_incl_compile": first, "rms_J_error": rms(Ji),
                        "rms_h_error": float(np.sqrt(np.mean((np.asarray(hi) - h) ** 2)))}
    peer = run_worker(coniii_python(), "coniii_worker.py", {"sk9": {"enumerate": True}}, {"sk9": samples})["sk9"]
    theirs = {k: {"seconds": v["seconds"], "rms_J_error": rms(v["J"]),
                  "rms_h_error": float(np.sqrt(np.mean((np.array(v["h"]) - h) ** 2)))} for k, v in peer.items()}
    return {"model": f"SK N={n}, beta={beta}, fields 0.3*beta*N(0,1); 50000 exact samples",
            "mfjax": ours, "coniii_3.0.1": theirs,
            "speedup_pseudolikelihood": theirs["pseudolikelihood"]["seconds"] / ours["pseudolikelihood"]["seconds"],
            "speedup_exact_vs_enumerate": theirs["enumerate"]["seconds"] / ours["exact"]["seconds"]}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(HERE / "results" / "ising.json"))
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    from mfjax import ising

    result = {"machine": machine()}
    result["monte_carlo_256x256x64T"] = mc_throughput(jax, jnp, ising, 20 if args.quick else 100)
    result["binder_crossing"] = binder(jax, ising, 4000 if args.quick else 40_000, 4 if args.quick else 8)
    result["inverse_ising_vs_coniii"] = inverse(jax, ising)
    write_json(Path(args.out), result)
    for k, v in result.items():
        print(k, v if k != "binder_crossing" else v["crossings"])


if __name__ == "__main__":
    main()
