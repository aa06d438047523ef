"""The ``mfjax`` command.

With no arguments it runs the default job: the mean-field rates of Brunel (2000) model A on a
200 x 200 grid of relative inhibition g in [0, 8] and external drive eta = nu_ext/nu_thr in [0, 4],
writing ``brunel_sweep.npz`` (data), ``brunel_sweep.json`` (summary) and ``brunel_sweep.png``
(figure) to ``mfjax-output/``.  The sweep is checkpointed chunk by chunk in
``mfjax-output/checkpoint/`` and resumes after an interruption; the checkpoint records the job
(grid, chunking, dtype, mfjax version) and the digest of every chunk, so a folder of another job
is refused (``--restart`` discards it) and a damaged chunk is recomputed.

``mfjax --phase-diagram`` runs the linear stability of the same model on the same grid instead
(:func:`mfjax.sweep.brunel_phase_diagram`: Brunel 2000 Fig. 2) and writes ``brunel_phases.*``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mfjax", description=__doc__.split("\n\n")[1])
    p.add_argument("--out", default="mfjax-output", help="output folder (default: mfjax-output)")
    p.add_argument("--n-g", type=int, default=200, help="grid points in g (default 200)")
    p.add_argument("--n-eta", type=int, default=200, help="grid points in eta (default 200)")
    p.add_argument("--g-range", type=float, nargs=2, default=(0.0, 8.0), metavar=("MIN", "MAX"))
    p.add_argument("--eta-range", type=float, nargs=2, default=(0.0, 4.0), metavar=("MIN", "MAX"))
    p.add_argument("--chunk-size", type=int, default=512, help="grid points per compiled batch")
    p.add_argument("--float32", action="store_true", help="run in float32 (default float64)")
    p.add_argument("--phase-diagram", action="store_true",
                   help="the stability phase diagram (AI, rate instability, slow/fast oscillations) instead of the rates")
    p.add_argument("--restart", action="store_true",
                   help="discard the checkpoint of an earlier, different job in --out and start again")
    return p


def _pyplot():
    """matplotlib.pyplot on the Agg backend, or None (with a note) when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: skipping the PNG (pip install 'mfjax[plot]')", file=sys.stderr)
        return None
    return plt


def _save(plt, fig, path: Path) -> bool:
    """Write ``fig`` to ``path`` atomically (a temporary file, then a rename)."""
    fig.tight_layout()
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)
    return True


def _figure(result, path: Path) -> bool:
    plt = _pyplot()
    if plt is None:
        return False
    g, eta = result.axes["g"], result.axes["eta"]
    rate = result.masked("rate")
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=120)
    log_rate = np.ma.log10(np.ma.maximum(rate, 1e-3))
    mesh = ax.pcolormesh(g, eta, log_rate.T, shading="nearest", cmap="viridis")
    bad = ~result["converged"].astype(bool)
    if bad.any():
        gi, ei = np.nonzero(bad)
        ax.scatter(g[gi], eta[ei], s=6, c="red", marker="x", label="not converged")
        ax.legend(loc="upper right")
    cb = fig.colorbar(mesh, ax=ax)
    cb.set_label("log10 rate (Hz)")
    ax.set_xlabel("relative inhibition g")
    ax.set_ylabel(r"external drive $\eta = \nu_{ext}/\nu_{thr}$")
    ax.set_title("Brunel (2000) model A: mean-field stationary rate")
    return _save(plt, fig, path)


def _phase_figure(result, path: Path) -> bool:
    plt = _pyplot()
    if plt is None:
        return False
    from matplotlib.colors import BoundaryNorm, ListedColormap

    from .sweep import PHASES

    g, eta = result.axes["g"], result.axes["eta"]
    phase = np.asarray(result["phase"])
    codes = sorted(PHASES)
    cmap = ListedColormap(["#bbbbbb", "#ffffff", "#d62728", "#1f77b4", "#ff7f0e", "#9467bd"][: len(codes)])
    norm = BoundaryNorm(np.arange(codes[0] - 0.5, codes[-1] + 1.0), cmap.N)
    fig, ax = plt.subplots(figsize=(7.2, 4.8), dpi=120)
    ax.pcolormesh(g, eta, phase.T, shading="nearest", cmap=cmap, norm=norm)
    freq = np.ma.masked_where(phase < 2, np.asarray(result["frequency"]))
    if freq.count() > 3 and len(g) > 2 and len(eta) > 2:
        cs = ax.contour(g, eta, freq.T, levels=[20, 50, 100, 200, 300, 500], colors="k", linewidths=0.6)
        ax.clabel(cs, fmt="%d Hz", fontsize=7)
    handles = [plt.Rectangle((0, 0), 1, 1, fc=cmap(norm(c)), ec="k", lw=0.3) for c in codes]
    ax.legend(handles, [PHASES[c].split(" (")[0].split(":")[0] for c in codes], loc="upper left", fontsize=7, framealpha=0.9)
    ax.set_xlabel("relative inhibition g")
    ax.set_ylabel(r"external drive $\eta = \nu_{ext}/\nu_{thr}$")
    ax.set_title("Brunel (2000) model A: stability of the asynchronous state")
    return _save(plt, fig, path)


def _phase_job(args, out: Path, g, eta, config) -> int:
    import jax

    from . import __version__
    from .sweep import PHASES, atomic_write_text, brunel_phase_diagram

    t0 = time.perf_counter()
    try:
        result = brunel_phase_diagram(g, eta, chunk_size=args.chunk_size, checkpoint=out / "checkpoint_phases")
    except ValueError as err:
        raise SystemExit(f"mfjax: {err}\n(run with --restart to discard it, or choose another --out)") from None
    seconds = time.perf_counter() - t0
    result.save(out / "brunel_phases.npz")
    phase = np.asarray(result["phase"])
    summary = {
        "job": "Brunel (2000) model A phase diagram (linear stability of the asynchronous state)",
        "grid": {"g": [float(g[0]), float(g[-1]), len(g)], "eta": [float(eta[0]), float(eta[-1]), len(eta)]},
        "points": int(phase.size),
        "phases": {PHASES[c]: int(np.sum(phase == c)) for c in sorted(PHASES)},
        "seconds_including_compile": seconds,
        "dtype": "float32" if args.float32 else "float64",
        "device": str(jax.devices()[0]),
        "config": config,
        "mfjax_version": __version__,
    }
    atomic_write_text(out / "brunel_phases.json", json.dumps(summary, indent=1))
    png = _phase_figure(result, out / "brunel_phases.png")
    print(
        f"mfjax: phase diagram of {phase.size} points in {seconds:.1f} s; wrote {out / 'brunel_phases.npz'}, "
        f"{out / 'brunel_phases.json'}" + (f", {out / 'brunel_phases.png'}" if png else "")
    )
    return 0


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.n_g < 1 or args.n_eta < 1:
        raise SystemExit("mfjax: --n-g and --n-eta must be >= 1")
    if args.chunk_size < 1:
        raise SystemExit("mfjax: --chunk-size must be >= 1")
    for flag, (lo, hi) in (("--g-range", args.g_range), ("--eta-range", args.eta_range)):
        if not (np.isfinite(lo) and np.isfinite(hi) and 0 <= lo <= hi):
            raise SystemExit(f"mfjax: {flag} needs finite 0 <= MIN <= MAX, got {lo} {hi}")
    import jax

    jax.config.update("jax_enable_x64", not args.float32)
    from . import __version__
    from .sweep import atomic_write_text, brunel_rate_sweep

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    g = np.linspace(*args.g_range, args.n_g)
    eta = np.linspace(*args.eta_range, args.n_eta)
    config = {k: list(v) if isinstance(v, tuple) else v for k, v in vars(args).items() if k != "restart"}
    atomic_write_text(out / "config.json", json.dumps(config, indent=1))
    for name in ("checkpoint", "checkpoint_phases"):
        if args.restart and (out / name).exists():
            shutil.rmtree(out / name)
    if args.phase_diagram:
        return _phase_job(args, out, g, eta, config)
    t0 = time.perf_counter()
    try:
        result = brunel_rate_sweep(g, eta, chunk_size=args.chunk_size, checkpoint=out / "checkpoint")
    except ValueError as err:  # a checkpoint of another job (grid, dtype, version) in --out
        raise SystemExit(f"mfjax: {err}\n(run with --restart to discard it, or choose another --out)") from None
    seconds = time.perf_counter() - t0
    result.save(out / "brunel_sweep.npz")
    conv = result["converged"].astype(bool)
    summary = {
        "job": "Brunel (2000) model A mean-field rate sweep",
        "grid": {"g": [float(g[0]), float(g[-1]), len(g)], "eta": [float(eta[0]), float(eta[-1]), len(eta)]},
        "points": int(conv.size),
        "converged_points": int(conv.sum()),
        "not_converged": [[float(g[i]), float(eta[j])] for i, j in zip(*np.nonzero(~conv))],
        "rate_hz_min_max": [float(result["rate"][conv].min()), float(result["rate"][conv].max())],
        "seconds_including_compile": seconds,
        "dtype": "float32" if args.float32 else "float64",
        "device": str(jax.devices()[0]),
        "config": config,
        "mfjax_version": __version__,
    }
    atomic_write_text(out / "brunel_sweep.json", json.dumps(summary, indent=1))
    png = _figure(result, out / "brunel_sweep.png")
    print(
        f"mfjax: {conv.sum()}/{conv.size} grid points converged in {seconds:.1f} s; wrote "
        f"{out / 'brunel_sweep.npz'}, {out / 'brunel_sweep.json'}" + (f", {out / 'brunel_sweep.png'}" if png else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
