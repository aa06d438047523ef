"""Spiking-network benchmark on an accelerator (issue 3's GPU figures), BrainPy beside it.

On the first device JAX sees, in one run, every task in a fresh process:

* mfjax, Brunel (2000) model A (g = 5, eta = 2, C_E = 1000, C_I = 250), N = 12,500 and 100,000,
  1 s of biological time (``batch_mode="vmap"``, the accelerator default);
* mfjax, a batch of 100 trials of N = 12,500 in one program, timed in turn with a single trial in
  the same process;
* BrainPy (``spiking_brainpy.py``) on the same device and networks, where ``brainpy`` imports
  in this Python.

Per task: run time of the compiled simulation (best of the repeats), compile time, real-time
factor (run time / simulated time; per trial for the batch; target <= 0.2 at N = 12,500), peak
device memory, rates and CV.  Writes ``results/spiking_gpu.json`` atomically.

    python benchmarks/bench_spiking_gpu.py [--sizes 12500 100000] [--batch 100] [--no-brainpy]

The device machine has no network: run it with the checkout on ``PYTHONPATH`` (its Python holds
JAX with CUDA, equinox, optax, scipy).  BrainPy 2.8 travels as wheels (pure Python: brainpy,
brainevent, brainstate, braintools, brainunit, brainpy_state; numba is there).  On a machine with
no accelerator it refuses unless ``--allow-cpu`` (a smoke test of the script with small sizes).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

from _peers import HERE, machine, write_json
from bench_spiking import in_subprocess


def tasks(sizes, batch, duration, brainpy, platform):
    """mfjax single runs, the batch, and BrainPy on the same networks."""
    out = [dict(tool="mfjax", model="brunel", N=n, duration=duration) for n in sizes]
    out.append(dict(tool="mfjax", model="brunel", N=sizes[0], duration=duration, batch=batch, repeat=2))
    if brainpy:
        out += [dict(tool="brainpy", model="brunel", N=n, duration=duration, threads=1, platform=platform)
                for n in sizes]
    return out


def run(task):
    """One task in a fresh process: mfjax through ``bench_spiking.py --task``, BrainPy through
    ``spiking_peers.py``."""
    if task["tool"] == "mfjax":
        return in_subprocess(sys.executable, [str(HERE / "bench_spiking.py"), "--task"], task)
    return in_subprocess(sys.executable, [str(HERE / "spiking_peers.py")], task)


def summarize(results):
    """Real-time factors and mfjax / BrainPy ratios per network size."""
    summary = {}
    for r in results:
        if "run_s" not in r:
            continue
        seconds = r["duration"] / 1e3
        name = f"{r['tool']}_brunel_{r['N']}" + (f"_batch{r['batch']}" if r.get("batch") else "")
        entry = dict(run_s=r["run_s"], real_time_factor=r["run_s"] / seconds, rates=r["rates"], cv=r.get("cv"))
        if r.get("batch"):
            entry.update(per_trial_s=r["per_trial_s"], real_time_factor_per_trial=r["per_trial_s"] / seconds,
                         per_trial_over_single=r.get("per_trial_over_single"))
        summary[name] = entry
    for name, theirs in summary.items():
        mine = summary.get(name.replace("brainpy_", "mfjax_", 1))
        if name.startswith("brainpy_") and mine:
            mine["ratio_to_brainpy"] = mine["run_s"] / theirs["run_s"]
    return summary


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[12500, 100000])
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--duration", type=float, default=1000.0, help="biological time (ms)")
    ap.add_argument("--no-brainpy", action="store_true")
    ap.add_argument("--allow-cpu", action="store_true", help="run without an accelerator (smoke test)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "spiking_gpu.json")
    args = ap.parse_args()
    import jax

    platform = jax.devices()[0].platform
    if platform == "cpu" and not args.allow_cpu:
        sys.exit("no accelerator visible to JAX (jax.devices() is CPU); --allow-cpu runs the script anyway")
    if args.batch < 2:
        sys.exit(f"--batch must be at least 2, got {args.batch}")
    brainpy = not args.no_brainpy and importlib.util.find_spec("brainpy") is not None
    results = []
    for task in tasks(args.sizes, args.batch, args.duration, brainpy, platform):
        results.append(run(task))
        print(json.dumps(results[-1]), flush=True)
        # every finished task is kept: an interrupted run loses only the task in flight
        write_json(args.out, {"machine": machine(), "brainpy": brainpy, "summary": summarize(results),
                              "runs": results})
    print(json.dumps(summarize(results), indent=1))


if __name__ == "__main__":
    main()
