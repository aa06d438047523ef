"""mfjax vs NNMT 1.3: the LIF dynamic transfer function, same machine, same run.

Usage::

    python benchmarks/bench_transfer.py          # -> benchmarks/results/transfer.json
    python benchmarks/bench_transfer.py --stride 5  # NNMT on every 5th frequency (slower)

Work compared: the 8 populations of the Potjans-Diesmann microcircuit at its mfjax working point
(``solve_rates(microcircuit())``, shift synapses) on Bos et al.'s (2016) grid of 3141
frequencies, ``f = k/(2 pi)`` Hz, ``k = 0..3140``.  mfjax evaluates the whole grid (compile time
recorded separately); NNMT (``nnmt.lif.exp._transfer_function_taylor`` and ``_shift``, which call
``mpmath.pcfu`` per frequency and population) runs on every ``stride``-th frequency and its
per-frequency time is scaled to the grid.

Agreement is reported two ways: against mfjax with ``refractory_phase=False`` (NNMT's formula,
which leaves out the reset's phase ``e^{-2 pi i f tau_ref}``: the two should agree to the
precision of NNMT's inputs), and against mfjax's exact response (NNMT's error from the missing
phase).  A white-noise check with ``tau_ref = 0``, where NNMT's formula is exact, is added, and
the float32 accuracy of mfjax on the same grid.  NNMT lives in ``benchmarks/.work/venv-nnmt``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _peers import HERE, best_time, machine, peer_python, run_worker, write_json


def run_nnmt(tasks: dict) -> dict:
    return run_worker(peer_python("nnmt", [["nnmt==1.3.0"]]), "nnmt_worker.py", tasks)


def neuron_dict(n) -> dict:
    return {k: float(np.asarray(getattr(n, k)).ravel()[0]) for k in ("tau_m", "tau_s", "tau_ref", "v_th", "v_reset")}


def rel_err(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stride", type=int, default=20, help="NNMT on every stride-th frequency")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "transfer.json")
    args = ap.parse_args()

    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    import mfjax
    from mfjax.populations import microcircuit

    net = microcircuit()
    sol = mfjax.solve_rates(net)
    mu, sigma, neuron = np.asarray(sol.mu), np.asarray(sol.sigma), net.neuron
    freqs = np.arange(3141) / (2 * np.pi)
    sub = freqs[:: args.stride]

    fn = jax.jit(lambda f, c: mfjax.lif_transfer(neuron, mu, sigma, f[:, None], correction=c), static_argnums=1)
    result = {"machine": machine(), "work": "microcircuit (8 populations) x 3141 frequencies, f = k/(2 pi) Hz"}
    for corr in ("taylor", "shift"):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(jnp.asarray(freqs), corr))
        compile_s = time.perf_counter() - t0
        run_s, h = best_time(lambda: fn(jnp.asarray(freqs), corr), repeat=7)
        h = np.asarray(h)
        assert np.all(np.isfinite(h))
        h_nnmt_form = np.asarray(
            mfjax.lif_transfer(neuron, mu, sigma, jnp.asarray(sub)[:, None], correction=corr, refractory_phase=False)
        )
        nn = run_nnmt({"t": {"kind": "transfer", "mu": mu.tolist(), "sigma": sigma.tolist(),
                             "neuron": neuron_dict(neuron), "frequencies": sub.tolist(), "method": corr}})["t"]
        h_nn = np.array(nn["real"]) + 1j * np.array(nn["imag"])
        per_freq = nn["seconds"] / len(sub)
        nonzero = sub > 0
        result[corr] = {
            "mfjax_compile_s": compile_s,
            "mfjax_run_s": run_s,
            "nnmt_s_per_frequency": per_freq,
            "nnmt_s_grid_extrapolated": per_freq * len(freqs),
            "nnmt_frequencies_timed": len(sub),
            "ratio_per_frequency": per_freq / (run_s / len(freqs)),
            "max_rel_diff_vs_mfjax_nnmt_form": rel_err(h_nn[nonzero], h_nnmt_form[nonzero]),
            "max_rel_diff_vs_mfjax_exact": rel_err(h_nn[nonzero], h[:: args.stride][nonzero]),
            "nnmt_rel_error_at_first_nonzero_frequency": rel_err(h_nn[1], h[args.stride]),
        }
        print(corr, result[corr])

    # white noise, no refractory period: NNMT's formula is exact there
    points = [(15.0, 5.0), (25.0, 3.0), (10.0, 4.0), (19.0, 1.5)]
    white = mfjax.LIF(tau_m=20.0, tau_ref=0.0, v_th=20.0, v_reset=10.0, tau_s=0.0)
    fw = np.array([0.5, 5.0, 50.0, 500.0, 5000.0])
    pm, ps = np.array(points).T
    hw = np.asarray(mfjax.lif_transfer(white, pm, ps, jnp.asarray(fw)[:, None], correction="none"))
    nn = run_nnmt({"w": {"kind": "transfer", "mu": pm.tolist(), "sigma": ps.tolist(), "neuron": neuron_dict(white),
                         "frequencies": fw.tolist(), "method": "shift"}})["w"]
    result["white_noise_tau_ref_0"] = {
        "points_mu_sigma": points, "frequencies": fw.tolist(),
        "max_rel_diff": rel_err(np.array(nn["real"]) + 1j * np.array(nn["imag"]), hw),
    }
    print("white", result["white_noise_tau_ref_0"])

    # float32 on the same grid (x64 stays on; float32 inputs keep the computation in float32)
    f32 = jax.tree_util.tree_map(lambda v: jnp.asarray(v, jnp.float32), neuron)
    h32 = np.asarray(mfjax.lif_transfer(f32, jnp.asarray(mu, jnp.float32), jnp.asarray(sigma, jnp.float32),
                                        jnp.asarray(freqs, jnp.float32)[:, None]))
    h64 = np.asarray(fn(jnp.asarray(freqs), "shift"))
    result["float32"] = {"dtype": str(h32.dtype), "max_rel_error_vs_float64": rel_err(h32, h64),
                         "finite": bool(np.all(np.isfinite(h32)))}
    print("float32", result["float32"])
    write_json(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
