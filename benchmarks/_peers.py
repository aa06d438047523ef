"""Shared helpers for the benchmark scripts: peer virtual environments, worker processes,
timing, atomic JSON output.  Peers live in ``benchmarks/.work/venv-<name>``; mfjax never
imports them."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work"


def peer_python(name: str, install_steps: list[list[str]], env: dict | None = None) -> Path:
    """Python of the peer's own venv, created on first use by running ``pip`` with each of
    ``install_steps`` (argument lists after ``pip install``)."""
    venv = WORK / f"venv-{name}"
    py = venv / "bin" / "python"
    if not py.exists():
        WORK.mkdir(exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        full_env = dict(os.environ, **{k: v.format(venv=venv) for k, v in (env or {}).items()})
        for step in install_steps:
            subprocess.run([str(py), "-m", "pip", "install", "-q", *step], check=True, env=full_env)
    return py


def run_worker(python: Path, worker: str, tasks: dict, arrays: dict | None = None) -> dict:
    """Run ``benchmarks/<worker>`` in the peer venv with tasks (JSON) and arrays (npz)."""
    with tempfile.TemporaryDirectory() as tmp:
        t_in, t_out, t_npz = Path(tmp) / "tasks.json", Path(tmp) / "out.json", Path(tmp) / "arrays.npz"
        t_in.write_text(json.dumps(tasks))
        np.savez(t_npz, **(arrays or {}))
        subprocess.run([str(python), str(HERE / worker), str(t_in), str(t_out), str(t_npz)], check=True)
        return json.loads(t_out.read_text())


def block(out):
    import jax

    jax.tree_util.tree_map(lambda x: x.block_until_ready() if hasattr(x, "block_until_ready") else x, out)


def best_time(fn, repeat=5):
    """Best wall time of ``fn()`` (blocking on JAX results) over ``repeat`` runs, and its output."""
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        block(out)
        best = min(best, time.perf_counter() - t0)
    return best, out


def machine() -> dict:
    import jax

    return {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
            "jax_device": str(jax.devices()[0]), "jax": jax.__version__}


def write_json(path: Path, result: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1))
    os.replace(tmp, path)
