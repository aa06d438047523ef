"""The ``mfjax`` command's overhead and the sharded sweep (issue 24).

    python benchmarks/bench_cli.py            # -> benchmarks/results/cli.json
    python benchmarks/bench_cli.py --quick    # 100 x 100 grid instead of 200 x 200

1. The default job (Brunel model A rates on the (g, eta) grid) through the CLI, warm (its
   compiled program reused, a fresh output folder: every chunk computed, checkpointed, the npz,
   JSON and PNG written), against ``grid_sweep`` of the same point function called directly
   (no checkpoint, nothing written), best of 5; and the CLI without its figure
   (``output.figure = false``).  The issue asks for the CLI within 10%.
2. The same sweep split over 8 host devices (``XLA_FLAGS=--xla_force_host_platform_device_count=8``,
   in a subprocess) against 1 device: the results bit-identical, the times recorded (on a
   2-core CPU 8 fake devices only add scheduling; on a multi-GPU node this is the speed-up).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _peers import machine, write_json  # noqa: E402

_SHARDED = r"""
import json, sys, time
import numpy as np, jax
jax.config.update("jax_enable_x64", True)
from mfjax.jobs import point_function
from mfjax.jobs._sweep import check_sweep, DEFAULT_SWEEP
from mfjax.jobs import parse_toml
from mfjax.sweep import grid_sweep
n = int(sys.argv[1])
cfg, axes, fixed = check_sweep(parse_toml(DEFAULT_SWEEP))
axes = {"g": np.linspace(0, 8, n), "eta": np.linspace(0, 4, n)}
fn = point_function("brunel", tuple(sorted(fixed.items())), tuple(axes))
out = {}
for devices in (1, "all"):
    grid_sweep(fn, axes, chunk_size=4096, devices=devices)  # compile
    t = time.perf_counter(); r = grid_sweep(fn, axes, chunk_size=4096, devices=devices); out[str(devices)] = time.perf_counter() - t
    out["rate_" + str(devices)] = r["rate"]
print(json.dumps({"devices": len(jax.local_devices()), "seconds_1_device": out["1"], "seconds_8_devices": out["all"],
                  "bit_identical": bool(np.array_equal(out["rate_1"], out["rate_all"]))}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "cli.json")
    args = ap.parse_args()
    n = 100 if args.quick else 200

    import jax
    import numpy as np

    jax.config.update("jax_enable_x64", True)
    from mfjax.cli import main as cli
    from mfjax.jobs import parse_toml, point_function
    from mfjax.jobs._sweep import DEFAULT_SWEEP, check_sweep
    from mfjax.sweep import grid_sweep

    def overhead(n):
        """The default job on an n x n grid: direct grid_sweep vs the CLI, warm."""
        cfg, _, fixed = check_sweep(parse_toml(DEFAULT_SWEEP))
        axes = {"g": np.linspace(0, 8, n), "eta": np.linspace(0, 4, n)}
        fn = point_function("brunel", tuple(sorted(fixed.items())), tuple(axes))
        chunk = cfg["sweep"]["chunk_size"]
        grid_sweep(fn, axes, chunk_size=chunk)  # compile
        direct = []
        for _ in range(5):
            t = time.perf_counter()
            ref = grid_sweep(fn, axes, chunk_size=chunk)
            direct.append(time.perf_counter() - t)
        sets = ["--quiet", "--set", f"sweep.axes.g.num={n}", "--set", f"sweep.axes.eta.num={n}"]
        via_cli, no_figure = [], []
        with tempfile.TemporaryDirectory() as tmp:
            for k in range(5):
                t = time.perf_counter()
                cli(["--out", f"{tmp}/run{k}", *sets])
                via_cli.append(time.perf_counter() - t)
                t = time.perf_counter()
                cli(["--out", f"{tmp}/plain{k}", *sets, "--set", "output.figure=false"])
                no_figure.append(time.perf_counter() - t)
            from mfjax.sweep import SweepResult

            same = bool(np.array_equal(SweepResult.load(f"{tmp}/run3/brunel_sweep.npz")["rate"], ref["rate"]))
        cli_best, direct_best, plain_best = min(via_cli[1:]), min(direct), min(no_figure[1:])
        return {
            "grid": [n, n],
            "direct_grid_sweep_s": direct_best,
            "cli_warm_s": cli_best,
            "cli_first_call_s_including_compile": via_cli[0],
            "cli_over_direct_ratio": cli_best / direct_best,
            "overhead_percent": 100 * (cli_best / direct_best - 1),
            "cli_warm_without_figure_s": plain_best,
            "overhead_percent_without_figure": 100 * (plain_best / direct_best - 1),
            "chunk_size": chunk,
            "same_numbers": same,
        }

    jobs = [overhead(n)] + ([] if args.quick else [overhead(2 * n)])
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8", JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", _SHARDED, str(n)], env=env, capture_output=True, text=True, check=True)
    sharded = json.loads(proc.stdout.strip().splitlines()[-1])
    result = {
        "machine": machine(),
        "default_job": jobs,
        "what_the_cli_adds": "config validation, a checkpoint chunk + manifest per chunk (fsync), npz, JSON, PNG",
        "sharded_8_fake_cpu_devices": {**sharded, "ratio_8_over_1": sharded["seconds_8_devices"] / sharded["seconds_1_device"]},
    }
    write_json(args.out, result)
    print(json.dumps(result["default_job"], indent=1), json.dumps(result["sharded_8_fake_cpu_devices"], indent=1))


if __name__ == "__main__":
    main()
