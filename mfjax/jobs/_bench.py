"""``mfjax bench``: the benchmark suite (``benchmarks/`` of a source checkout), task by task.

Every benchmark script runs in its own process on the chosen platform (``--device cpu|gpu``
sets ``JAX_PLATFORMS``; the scripts themselves are unchanged), its JSON result is copied into
the output folder, and a summary (status and wall time per task, the speed ratios each result
reports) and a bar chart are written.  Benchmarks whose peer (NNMT, Brian2, NEST, BrainPy,
coniii) must be installed into its own virtual environment run only with ``--peers``; the
others compare mfjax with scipy/numpy in the same process and always run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ._output import pyplot, save_figure, write_json
from ..sweep import Progress

__all__ = ["BENCHMARKS", "run_bench", "benchmark_folder"]


@dataclass(frozen=True)
class Benchmark:
    script: str
    result: str
    peer: str = ""  # a peer in its own venv ("": scipy/numpy in the same process)
    args: tuple = ()  # arguments for a shorter run (--quick)
    doc: str = ""


BENCHMARKS = {
    "cli": Benchmark("bench_cli.py", "cli.json", "", ("--quick",), "CLI sweep vs grid_sweep; sharded sweep devices"),
    "guards": Benchmark("bench_guards.py", "guards.json", "", (), "cost of the traced input checks"),
    "flat_batching": Benchmark("bench_flat_batching.py", "flat_batching.json", "", (), "flat vs vmapped transfer"),
    "fokker_planck": Benchmark("bench_fokker_planck.py", "fokker_planck.json", "", (), "EIF engine vs numpy"),
    "dynamics": Benchmark("bench_dynamics.py", "dynamics.json", "", (), "Arnold tongues vs scipy solve_ivp"),
    "attractors": Benchmark("bench_attractors.py", "attractors.json", "", (), "Brunel grid, attractors vs scipy"),
    "memory": Benchmark("bench_memory.py", "memory.json", "", (), "AGS, Gardner vs scipy"),
    "dmft": Benchmark("bench_dmft.py", "dmft.json", "", ("--quick",), "DMFT vs scipy and simulation"),
    "ising": Benchmark("bench_ising.py", "ising.json", "coniii", ("--quick",), "Ising vs coniii"),
    "nnmt": Benchmark("bench_nnmt.py", "nnmt.json", "nnmt", (), "LIF mean field vs NNMT"),
    "transfer": Benchmark("bench_transfer.py", "transfer.json", "nnmt", (), "transfer function vs NNMT"),
    "linear_response": Benchmark("bench_linear_response.py", "linear_response.json", "nnmt", (), "spectra vs NNMT"),
    "covariances": Benchmark("bench_covariances.py", "covariances.json", "nnmt", (), "covariances vs NNMT"),
    "spiking": Benchmark("bench_spiking.py", "spiking.json", "brian2, nest, brainpy", ("--quick",),
                         "simulator vs Brian2, NEST, BrainPy"),
    "spiking_gpu": Benchmark("bench_spiking_gpu.py", "spiking_gpu.json", "", (), "simulator on an accelerator"),
}


def benchmark_folder() -> Path:
    """``benchmarks/`` beside the installed package (a source checkout), or an error saying so."""
    folder = Path(__file__).resolve().parents[2] / "benchmarks"
    if not (folder / "_peers.py").exists():
        raise SystemExit("mfjax bench: the benchmark scripts live in the source checkout's benchmarks/ folder, "
                         f"not found at {folder}; install mfjax from a clone (pip install -e .)")
    return folder


def run_bench(names, *, out, device: str = "cpu", peers: bool = False, quick: bool = False,
              quiet: bool = False, timeout: float = 3600.0) -> dict:
    """Run benchmarks ``names`` (default: every one that needs no peer, plus those with a peer
    when ``peers``) and summarise them in ``out``."""
    folder = benchmark_folder()
    if device == "gpu":
        import jax

        try:
            jax.devices("gpu")
        except RuntimeError:
            raise SystemExit("mfjax bench --device gpu: JAX sees no GPU here (pip install 'jax[cuda12]' on a "
                             "machine with an NVIDIA GPU)") from None
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"mfjax bench: unknown benchmark {unknown[0]!r} (known: {', '.join(BENCHMARKS)})")
    if not names:
        names = [n for n in BENCHMARKS if n != "spiking_gpu" or device == "gpu"]
    skipped = [n for n in names if BENCHMARKS[n].peer and not peers]
    names = [n for n in names if n not in skipped]
    if device == "gpu" and "spiking_gpu" not in names and "spiking_gpu" in BENCHMARKS:
        names.append("spiking_gpu")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, JAX_PLATFORMS="cuda" if device == "gpu" else "cpu")
    tasks = {}
    bar = Progress(len(names), desc="mfjax bench", unit="task", quiet=quiet)
    with bar:
        for i, name in enumerate(names, start=1):
            b = BENCHMARKS[name]
            cmd = [sys.executable, str(folder / b.script), *(b.args if quick else ())]
            if name == "spiking" and not peers:
                cmd.append("--skip-peers")
            t0 = time.perf_counter()
            try:
                proc = subprocess.run(cmd, env=env, cwd=folder.parent, capture_output=True, text=True, timeout=timeout)
                rc, log = proc.returncode, proc.stdout + proc.stderr
            except subprocess.TimeoutExpired as err:
                rc, log = 124, f"timed out after {timeout} s\n{err.stdout or ''}"
            seconds = time.perf_counter() - t0
            (out / f"{name}.log").write_text(log)
            result = folder / "results" / b.result
            task = {"status": "ok" if rc == 0 else f"failed (exit {rc})", "seconds": seconds, "doc": b.doc,
                    "command": " ".join(cmd[1:])}
            if rc == 0 and result.exists():
                shutil.copy(result, out / b.result)
                task["ratios"] = _ratios(json.loads(result.read_text()))
            tasks[name] = task
            bar.update(i, task=name, status=task["status"])
    from ..sweep import provenance

    summary = {"device": device, "peers": peers, "quick": quick, "tasks": tasks,
               "skipped_need_peers": {n: BENCHMARKS[n].peer for n in skipped}, "provenance": provenance()}
    write_json(out / "bench_summary.json", summary)
    png = _figure(tasks, out / "bench_summary.png")
    failed = [n for n, t in tasks.items() if t["status"] != "ok"]
    print(f"mfjax: {len(tasks) - len(failed)}/{len(tasks)} benchmarks ran" + (f" (failed: {', '.join(failed)})" if failed else "")
          + (f"; skipped (need --peers): {', '.join(skipped)}" if skipped else "") + f"; wrote {out / 'bench_summary.json'}"
          + (f", {png}" if png else ""), flush=True)
    return summary


def _ratios(data, prefix: str = "") -> dict:
    """Every number whose key names a ratio or speed-up, by dotted path."""
    found = {}
    if isinstance(data, dict):
        for k, v in data.items():
            path = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and any(w in str(k).lower() for w in ("ratio", "speedup", "speed_up")):
                found[path] = float(v)
            elif isinstance(v, (dict, list)):
                found.update(_ratios(v, path))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            found.update(_ratios(v, f"{prefix}[{i}]"))
    return found


def _figure(tasks: dict, path: Path):
    plt = pyplot()
    if plt is None or not tasks:
        return None
    import numpy as np

    names = list(tasks)
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 0.4 * len(names) + 2), dpi=120)
    a.barh(names, [tasks[n]["seconds"] for n in names], color=["C0" if tasks[n]["status"] == "ok" else "C3" for n in names])
    a.set_xlabel("wall time of the task (s)")
    a.invert_yaxis()
    ratios = [(f"{n}: {k.split('.')[-1]}"[:48], v) for n in names for k, v in tasks[n].get("ratios", {}).items()
              if np.isfinite(v) and v > 0][:30]
    if ratios:
        b.barh([r[0] for r in ratios], [r[1] for r in ratios], color="C2")
        b.set_xscale("log")
        b.axvline(1.0, color="k", lw=0.8)
        b.set_xlabel("ratio reported by the benchmark (log scale)")
        b.invert_yaxis()
        b.tick_params(axis="y", labelsize=6)
    else:
        b.axis("off")
    fig.suptitle("mfjax bench")
    return save_figure(plt, fig, path)
