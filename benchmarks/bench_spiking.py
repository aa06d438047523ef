"""Spiking-network benchmark: mfjax.spiking against Brian2 (C++ standalone), NEST and BrainPy.

Same networks, same machine, same run (see ``spiking_peers.py`` for the peer models):

* Brunel (2000) model A, g = 5, eta = 2, N = 12,500 and 50,000 (C_E = 1000, C_I = 250), 1 s;
* COBA (Brette et al. 2007 benchmark 1), N = 4,000, 1 s;
* mfjax: a vmapped batch of 8 trials of Brunel N = 12,500, timed in turn with a single trial in
  the same process (the ratio then does not depend on how fast the machine was in another
  process: this is a shared VM whose speed drifts by ~10% between runs).

Per task: run time of the simulation proper (compiled program; peers: their run phase), total
time with model building and compilation/code generation, peak resident memory of the process,
rates and CV.  Every task runs in a fresh process.  Writes ``results/spiking.json``.

    python benchmarks/bench_spiking.py [--quick] [--skip-peers] [--threads 1 2] [--reuse-peers [--rerun brainpy]]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _peers import HERE, machine, peer_python, write_json

PEERS = {
    "brian2": [["brian2", "numpy<2.4"]],
    "nest": [["nest-simulator", "numpy"]],
    "brainpy": [["brainpy", "numba"]],
}


def mfjax_task(task: dict) -> dict:
    """One mfjax measurement (runs in its own process)."""
    import resource

    import jax
    import numpy as np

    import mfjax
    from mfjax import spiking

    t0 = time.perf_counter()
    if task["model"] == "brunel":
        net = mfjax.brunel_a(g=5.0, eta=2.0, N_E=4 * task["N"] // 5, epsilon=1000.0 / (4 * task["N"] // 5))
        rule = "fixed_indegree"
    else:
        net = spiking.coba(N=task["N"])
        rule = "fixed_probability"
    conn = spiking.build_connectivity(jax.random.key(0), tuple(int(n) for n in np.asarray(net.N)), net.K, rule)
    jax.block_until_ready(conn.tables)
    build_s = time.perf_counter() - t0
    batch = task.get("batch", 0)
    key = jax.random.split(jax.random.key(1), batch) if batch else jax.random.key(1)
    kw = dict(connectivity=conn, sample_size=50, record_v=0)
    t1 = time.perf_counter()
    res = spiking.simulate(net, task["duration"], key=key, **kw)
    jax.block_until_ready(res.rates)
    first_s = time.perf_counter() - t1
    key2 = jax.random.split(jax.random.key(2), batch) if batch else jax.random.key(2)

    def timed(k):
        t2 = time.perf_counter()
        out = spiking.simulate(net, task["duration"], key=k, **kw)
        jax.block_until_ready(out.rates)
        return time.perf_counter() - t2, out

    if batch:  # the single-trial program, compiled before the timings
        timed(jax.random.key(3))
    runs, singles = [], []
    for _ in range(task.get("repeat", 2)):
        if batch:
            singles.append(timed(jax.random.key(3))[0])
        elapsed, res = timed(key2)
        runs.append(elapsed)
    rates = np.asarray(res.rates).reshape(-1, 2).mean(0)
    cv = float(np.nanmean(np.asarray(res.cv)))
    run_s = min(runs)
    extra = dict(single_run_s=min(singles), per_trial_over_single=run_s / batch / min(singles)) if batch else {}
    device = jax.devices()[0]
    extra["device"] = device.device_kind
    if device.platform != "cpu":  # peak of JAX's allocator on the accelerator
        extra["device_peak_gib"] = (device.memory_stats() or {}).get("peak_bytes_in_use", 0) / 2**30
    return dict(task, run_s=run_s, total_s=build_s + first_s, build_s=build_s, compile_s=first_s - run_s,
                per_trial_s=run_s / batch if batch else run_s, rates=[float(r) for r in rates], cv=cv,
                peak_gib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                dtype=str(np.asarray(res.rates).dtype), **extra)


def in_subprocess(python, args, task):
    with tempfile.TemporaryDirectory() as tmp:
        t_in, t_out = Path(tmp) / "task.json", Path(tmp) / "out.json"
        t_in.write_text(json.dumps([task]))
        cmd = [str(python), *args, str(t_in), str(t_out)]
        proc = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True)
        if proc.returncode != 0:
            return dict(task, error=proc.stderr[-2000:])
        out = json.loads(t_out.read_text())
        return out[0] if isinstance(out, list) else out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="Brunel 12,500 and COBA only, 1 thread")
    ap.add_argument("--skip-peers", action="store_true")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--reuse-peers", action="store_true", help="keep peer results of the last JSON")
    ap.add_argument("--rerun", nargs="+", default=[], choices=sorted(PEERS),
                    help="with --reuse-peers: measure these peers again, keep the others")
    ap.add_argument("--merge-log", help="results printed by an earlier run: keep them, redo failed tasks")
    args = ap.parse_args()
    out_path = HERE / "results" / "spiking.json"
    sizes = [12500] if args.quick else [12500, 50000]
    if args.merge_log:
        results = []
        for line in Path(args.merge_log).read_text().splitlines():
            if line.startswith('{"tool"'):
                r = json.loads(line)
                if "error" in r and r["tool"] == "mfjax":
                    task = {k: v for k, v in r.items() if k != "error"}
                    r = in_subprocess(sys.executable, [str(HERE / "bench_spiking.py"), "--task"], task)
                    print(json.dumps(r), flush=True)
                results.append(r)
        return finish(results, sizes, out_path)
    mf_tasks = [dict(tool="mfjax", model="brunel", N=n, duration=1000.0) for n in sizes]
    mf_tasks += [dict(tool="mfjax", model="coba", N=4000, duration=1000.0),
                 dict(tool="mfjax", model="brunel", N=12500, duration=1000.0, batch=8, repeat=3)]
    results = []
    for task in mf_tasks:
        results.append(in_subprocess(sys.executable, [str(HERE / "bench_spiking.py"), "--task"], task))
        print(json.dumps(results[-1]), flush=True)
    peer_results = []
    to_run = [] if args.skip_peers else list(PEERS)
    if args.reuse_peers and out_path.exists():
        peer_results = [r for r in json.loads(out_path.read_text())["runs"] if r["tool"] not in ("mfjax", *args.rerun)]
        to_run = args.rerun
    for tool in to_run:
        py = peer_python(tool, PEERS[tool])
        for model, n in [("brunel", s) for s in sizes] + [("coba", 4000)]:
            # NEST runs with 1 and 2 threads on Brunel 12,500 (8 minutes a run at 50,000:
            # left out); Brian2 and BrainPy with one.
            threads = args.threads if (tool == "nest" and model == "brunel" and n == 12500) else [1]
            if tool == "nest" and n > 12500:
                continue
            for th in threads:
                task = dict(tool=tool, model=model, N=n, duration=1000.0, threads=th)
                peer_results.append(in_subprocess(py, [str(HERE / "spiking_peers.py")], task))
                print(json.dumps(peer_results[-1]), flush=True)
    results += peer_results
    finish(results, sizes, out_path)


def finish(results, sizes, out_path):
    """Ratios against the fastest peer per network; writes the JSON."""
    summary = {}
    for model, n in [("brunel", s) for s in sizes] + [("coba", 4000)]:
        mine = next(r for r in results if r["tool"] == "mfjax" and r["model"] == model and r["N"] == n and not r.get("batch"))
        peers = [r for r in results if r["tool"] != "mfjax" and r["model"] == model and r["N"] == n and "run_s" in r]
        entry = {"mfjax_run_s": mine["run_s"], "mfjax_total_s": mine["total_s"], "mfjax_rates": mine["rates"]}
        if peers:
            fastest = min(peers, key=lambda r: r["run_s"])
            entry.update(fastest_peer=f"{fastest['tool']} ({fastest.get('threads', 1)} thread)",
                         fastest_peer_run_s=fastest["run_s"], ratio_to_fastest=mine["run_s"] / fastest["run_s"])
            for r in peers:
                entry[f"ratio_to_{r['tool']}_{r.get('threads', 1)}t"] = mine["run_s"] / r["run_s"]
        summary[f"{model}_{n}"] = entry
    single = next(r for r in results if r["tool"] == "mfjax" and r["model"] == "brunel" and r["N"] == 12500 and not r.get("batch"))
    batch = next(r for r in results if r["tool"] == "mfjax" and r.get("batch"))
    # per trial of the batch over a single trial timed in turn in the same process; also over the
    # single-trial task's run (another process)
    summary["batch8_per_trial_over_single"] = batch.get("per_trial_over_single", batch["per_trial_s"] / single["run_s"])
    summary["batch8_per_trial_over_single_task"] = batch["per_trial_s"] / single["run_s"]
    write_json(out_path, {"machine": machine(), "summary": summary, "runs": results})
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--task":
        task = json.loads(Path(sys.argv[2]).read_text())[0]
        Path(sys.argv[3]).write_text(json.dumps(mfjax_task(task)))
    else:
        main()
