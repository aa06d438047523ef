"""``mfjax sweep CONFIG``: any registered model (:data:`SWEEP_MODELS`) over a grid of its
parameters, chunked, resumable, spread over devices and processes, with labelled outputs.

Config (TOML)::

    [sweep]
    model = "brunel"          # brunel, brunel_phases, brunel_spectrum, microcircuit, ising, dmft, memory, lif
    chunk_size = 512          # grid points per compiled batch
    dtype = "float64"         # or "float32"
    devices = 1               # local devices each chunk is split over: a number or "all"
    outputs = []              # a subset of the model's outputs (empty: all)
    [sweep.axes]              # one entry per swept parameter: start/stop/num (linear or log) or values
    g = { start = 0.0, stop = 8.0, num = 200 }
    eta = { values = [1.0, 2.0, 4.0] }
    [sweep.parameters]        # the model's other parameters (its defaults otherwise)
    J = 0.1
    [output]
    folder = "mfjax-output"
    formats = ["npz", "netcdf"]

The results go to ``FOLDER/NAME.npz`` (and ``.nc``), a JSON summary, the figure (the model's
default output as a heat map over the first two axes, or a line over one), and the config copied
in; the chunks are checkpointed in ``FOLDER/checkpoint-NAME/`` so a killed job resumes.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ._models import SWEEP_MODELS, point_function
from ._output import OUTPUT, prepare_output, pyplot, save_figure, write_json
from ..sweep import Progress
from ._schema import ConfigError, Field, Table, validate

__all__ = ["SWEEP_CONFIG", "DEFAULT_SWEEP", "check_sweep", "run_sweep", "sweep_axes"]

AXIS = Table({
    "start": Field(float, None, "first value"),
    "stop": Field(float, None, "last value"),
    "num": Field(int, None, "number of values", minimum=1),
    "scale": Field(str, "linear", "spacing of start..stop", choices=("linear", "log")),
    "values": Field(list, None, "explicit values (instead of start/stop/num)", items=float, min_items=1),
}, doc="a grid axis: start, stop, num (and scale), or values")

SWEEP_CONFIG = Table({
    "sweep": Table({
        "model": Field(str, "brunel", "the model", choices=tuple(SWEEP_MODELS)),
        "chunk_size": Field(int, 512, "grid points per compiled batch (bounds memory)", minimum=1),
        "dtype": Field(str, "float64", "float precision", choices=("float64", "float32")),
        "devices": Field((int, str), 1, "local devices per chunk: a number or 'all'",
                         check=lambda v: None if v == "all" or (isinstance(v, int) and v >= 1) else "a number >= 1 or 'all'"),
        "outputs": Field(list, [], "outputs to keep (empty: all of the model's)", items=str),
        "axes": Table(entry=AXIS, doc="swept parameters, one table each (grid order: first slowest)"),
        "parameters": Table(entry=Field((float, int, str, bool), doc="a fixed model parameter"),
                            doc="fixed values of the model's other parameters"),
    }, doc="the sweep", required=True),
    "output": OUTPUT,
})

#: the default job of ``mfjax`` (``mfjax config show`` prints it)
DEFAULT_SWEEP = """\
# mfjax default job: the mean-field rate of Brunel (2000) model A over (g, eta).
# Run it with `mfjax` (or `mfjax sweep THIS_FILE`); every key is explained by `mfjax sweep --help`.

[sweep]
model = "brunel"
chunk_size = 4096
dtype = "float64"
devices = 1

[sweep.axes]
g = { start = 0.0, stop = 8.0, num = 200 }      # relative inhibition J_I / J_E
eta = { start = 0.0, stop = 4.0, num = 200 }    # external drive nu_ext / nu_thr

[sweep.parameters]
J = 0.1        # mV
delay = 1.5    # ms

[output]
folder = "mfjax-output"
name = "brunel_sweep"
formats = ["npz"]
figure = true
"""


def sweep_axes(axes: dict) -> dict:
    """Config axis tables -> name -> 1-d numpy values (``ConfigError`` naming the axis)."""
    out = {}
    for name, a in axes.items():
        where = f"sweep.axes.{name}"
        if a["values"] is not None:
            if any(a[k] is not None for k in ("start", "stop", "num")):
                raise ConfigError(f"{where}: give either values or start/stop/num, not both")
            out[name] = np.asarray(a["values"], float)
            continue
        for k in ("start", "stop", "num"):
            if a[k] is None:
                raise ConfigError(f"{where}.{k}: missing (an axis needs start, stop and num, or values)")
        if a["scale"] == "log":
            if a["start"] <= 0 or a["stop"] <= 0:
                raise ConfigError(f"{where}: a log axis needs start > 0 and stop > 0")
            out[name] = np.geomspace(a["start"], a["stop"], a["num"])
        else:
            out[name] = np.linspace(a["start"], a["stop"], a["num"])
    return out


def _check_value(name: str, p, value, where: str) -> None:
    if p.choices is not None:
        if value not in p.choices:
            raise ConfigError(f"{where}: must be one of {', '.join(map(repr, p.choices))}, got {value!r}")
        return
    if isinstance(value, str) or isinstance(value, bool):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if isinstance(p.default, int) and not isinstance(value, int):
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    lo, hi = p.minimum, p.maximum
    v = np.asarray(value, float)
    if lo is not None and np.any(v < lo):
        raise ConfigError(f"{where}: must be >= {lo}, got {value!r}")
    if hi is not None and np.any(v > hi):
        raise ConfigError(f"{where}: must be <= {hi}, got {value!r}")


def check_sweep(raw: dict) -> tuple[dict, dict, dict]:
    """Validate a sweep config: (config with defaults, axes name -> values, fixed parameters).
    Every error names its key; nothing is compiled."""
    cfg = validate(raw, SWEEP_CONFIG)
    s = cfg["sweep"]
    model = SWEEP_MODELS[s["model"]]
    if not s["axes"]:
        raise ConfigError("sweep.axes: name at least one parameter to sweep "
                          f"(sweepable for {model.name}: {', '.join(k for k, p in model.parameters.items() if p.sweepable)})")
    for name in s["axes"]:
        if name not in model.parameters:
            raise ConfigError(f"sweep.axes.{name}: {model.name} has no parameter {name!r} "
                              f"(parameters: {', '.join(model.parameters)})")
        if not model.parameters[name].sweepable:
            raise ConfigError(f"sweep.axes.{name}: {name!r} fixes shapes or code paths of {model.name} and "
                              "cannot be an axis; set it in [sweep.parameters]")
    axes = sweep_axes(s["axes"])
    for name, values in axes.items():
        _check_value(name, model.parameters[name], values, f"sweep.axes.{name}")
    fixed = {}
    for name, p in model.parameters.items():
        if name in axes:
            if name in s["parameters"]:
                raise ConfigError(f"sweep.parameters.{name}: {name!r} is already an axis")
            continue
        value = s["parameters"].get(name, p.default)
        _check_value(name, p, value, f"sweep.parameters.{name}")
        fixed[name] = float(value) if isinstance(p.default, float) else value
    for name in s["parameters"]:
        if name not in model.parameters:
            raise ConfigError(f"sweep.parameters.{name}: {model.name} has no parameter {name!r} "
                              f"(parameters: {', '.join(model.parameters)})")
    for name in s["outputs"]:
        if name not in model.outputs:
            raise ConfigError(f"sweep.outputs: {model.name} has no output {name!r} (outputs: {', '.join(model.outputs)})")
    return cfg, axes, fixed


def run_sweep(raw: dict, text: str, *, out=None, quiet: bool = False, restart: bool = False, share=None) -> dict:
    """Run the sweep of config ``raw`` (its TOML ``text`` is copied into the output folder).

    Returns the summary (also written as ``NAME.json``); under a process share without the
    distributed runtime (an array job) only this share's chunks are computed and the summary
    says so.
    """
    import shutil

    import jax

    cfg, axes, fixed = check_sweep(raw)
    s = cfg["sweep"]
    jax.config.update("jax_enable_x64", s["dtype"] == "float64")
    from ..sweep import grid_sweep, local_devices

    model = SWEEP_MODELS[s["model"]]
    devices = local_devices("all" if s["devices"] == "all" else min(s["devices"], len(jax.local_devices())))
    name = cfg["output"]["name"] or f"{model.name}_sweep"
    lead = jax.process_index() == 0
    folder = prepare_output(cfg, text, out) if lead else Path(out or cfg["output"]["folder"])
    ckpt = folder / f"checkpoint-{name}"
    if restart and lead and ckpt.exists():
        shutil.rmtree(ckpt)
    fn = point_function(model.name, tuple(sorted(fixed.items())), tuple(axes))
    total = int(np.prod([v.size for v in axes.values()]))
    bar = Progress(None, desc=f"mfjax sweep {model.name}", unit="chunk", quiet=quiet)
    t0 = time.perf_counter()
    with bar:
        result = grid_sweep(
            fn, axes, chunk_size=s["chunk_size"], checkpoint=ckpt, tag=f"mfjax sweep {model.name}",
            devices=devices, share=share, progress=lambda done, n, points: bar.update(done, n, points=points),
            units={**{k: p.unit for k, p in model.parameters.items()}, **model.outputs},
            dims=model.dims, coords=_coords(model, fixed),
        )
    seconds = time.perf_counter() - t0
    if result is None:  # a share of an array job: its chunks are written; the merge comes later
        summary = {"job": f"mfjax sweep {model.name}", "share": list(share), "chunks_of_this_share": bar.total or 0,
                   "seconds": seconds, "checkpoint": str(ckpt),
                   "merge": "run the same command without --share once every share has finished"}
        print(f"mfjax: share {share[0]}/{share[1]} of {model.name} done ({bar.total or 0} chunks) in {seconds:.1f} s; "
              f"merge with the same command without --share", flush=True)
        return summary
    if s["outputs"]:
        keep = set(s["outputs"]) | ({model.valid} if model.valid in result.values else set())
        result.values = {k: v for k, v in result.values.items() if k in keep}
    result.provenance.update(config=cfg, model=model.name, fixed=fixed)
    if not lead:
        return {}
    written = [folder / f"{name}.npz", folder / f"{name}.json"]
    result.save(written[0])
    ok = np.asarray(result.values.get(model.valid, np.ones(1, bool))).astype(bool)
    summary = {
        "job": f"mfjax sweep {model.name}: {model.doc}",
        "axes": {k: [float(v[0]), float(v[-1]), int(v.size)] for k, v in axes.items()},
        "fixed": fixed,
        "points": total,
        "valid_points": int(ok.sum()),
        "invalid_points": [[float(axes[k][i]) for k, i in zip(axes, idx)] for idx in zip(*np.nonzero(~ok))][:1000],
        "outputs": {k: {"unit": model.outputs.get(k, ""), "shape": list(v.shape),
                        "min_max_valid": _range(v, ok)} for k, v in result.values.items()},
        "seconds_including_compile": seconds,
        "provenance": result.provenance,
    }
    write_json(written[1], summary)
    if "netcdf" in cfg["output"]["formats"]:
        written.append(folder / f"{name}.nc")
        result.to_netcdf(written[-1])
    png = _figure(model, result, folder / f"{name}.png") if cfg["output"]["figure"] else None
    if png:
        written.append(png)
    print(f"mfjax: {model.name} sweep: {int(ok.sum())}/{total} points valid in {seconds:.1f} s; wrote "
          + ", ".join(str(p) for p in written), flush=True)
    return summary


def _coords(model, fixed: dict) -> dict:
    coords = model.coords(fixed) if callable(model.coords) else model.coords
    return {k: np.asarray(v) for k, v in coords.items()}


def _range(v, ok):
    v = np.asarray(v)
    if v.dtype == bool or ok.shape != v.shape[: ok.ndim] or not ok.any():
        return None
    sel = v[ok]
    finite = sel[np.isfinite(sel)]
    return [float(finite.min()), float(finite.max())] if finite.size else None


def _figure(model, result, path):
    """The model's figure output as a heat map over the first two axes (log colour scale where
    the model says so; points failing ``valid`` marked), or a line over a single axis."""
    if model.plot == "phases":
        return phase_figure(result, path)
    plt = pyplot()
    if plt is None:
        return None
    output, log = model.figure
    if output not in result.values:
        output = next(iter(result.values))
    data = np.asarray(result.values[output], float)
    names = list(result.axes)
    extra = data.ndim - len(names)
    ok = np.asarray(result.values.get(model.valid, np.ones(data.shape[: len(names)], bool))).astype(bool)
    # average the other axes away, keep the first trailing label (e.g. the first population)
    while data.ndim > len(names):
        data = data[..., 0]
    for _ in names[2:]:
        data, ok = data.mean(axis=-1), ok.all(axis=-1)
    unit = model.outputs.get(output, "")
    label = f"{output} ({unit})" if unit else output
    if extra:
        dim = model.dims.get(output, ("",))[0]
        label += f", {dim} {result.coords.get(dim, ['0'])[0]}"
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=120)
    x = result.axes[names[0]]
    data = np.where(ok, data, np.nan)
    if log:
        data = np.log10(np.maximum(data, 1e-3))
        label = f"log10 {label}"
    if len(names) == 1:
        ax.plot(x, data, "-o", ms=2)
        ax.set_ylabel(label)
    else:
        y = result.axes[names[1]]
        if _uniform(x) and _uniform(y):  # an image: 10x faster to draw than a mesh of 40,000 cells
            dx, dy = (x[-1] - x[0]) / max(x.size - 1, 1) or 1.0, (y[-1] - y[0]) / max(y.size - 1, 1) or 1.0
            mesh = ax.imshow(data.T, origin="lower", aspect="auto", cmap="viridis", interpolation="nearest",
                             extent=(x[0] - dx / 2, x[-1] + dx / 2, y[0] - dy / 2, y[-1] + dy / 2))
        else:
            mesh = ax.pcolormesh(x, y, data.T, shading="nearest", cmap="viridis")
        fig.colorbar(mesh, ax=ax).set_label(label)
        if (~ok).any():
            gi, ei = np.nonzero(~ok)
            ax.scatter(x[gi], y[ei], s=6, c="red", marker="x", label=f"not {model.valid}")
            ax.legend(loc="upper right")
        ax.set_ylabel(_axis_label(model, names[1]))
    ax.set_xlabel(_axis_label(model, names[0]))
    ax.set_title(model.doc.split(" (")[0] if len(model.doc) > 70 else model.doc, fontsize=9)
    return save_figure(plt, fig, path)


def _uniform(v) -> bool:
    return v.size < 3 or bool(np.allclose(np.diff(v), v[1] - v[0], rtol=1e-6, atol=0))


def _axis_label(model, name: str) -> str:
    p = model.parameters[name]
    return f"{name}: {p.doc}" + (f" ({p.unit})" if p.unit else "")


def phase_figure(result, path):
    """Brunel (2000) Fig. 2 style: the phase of every (g, eta) point (:data:`mfjax.sweep.PHASES`)
    in categorical colours, with contours of the oscillation frequency."""
    plt = pyplot()
    if plt is None:
        return None
    from matplotlib.colors import BoundaryNorm, ListedColormap

    from ..sweep import PHASES

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
    ax.legend(handles, [PHASES[c].split(" (")[0].split(":")[0] for c in codes], loc="upper left", fontsize=7,
              framealpha=0.9)
    ax.set_xlabel("relative inhibition g")
    ax.set_ylabel(r"external drive $\eta = \nu_{ext}/\nu_{thr}$")
    ax.set_title("Brunel (2000) model A: stability of the asynchronous state")
    return save_figure(plt, fig, path)
