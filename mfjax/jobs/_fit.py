"""``mfjax fit CONFIG``: fit a network's couplings or drive to target rates (optax, implicit
gradients through the self-consistency; :func:`mfjax.fit.fit_rates`).

Config (TOML)::

    [fit]
    network = "brunel"              # brunel, microcircuit or coba (mean field of any preset)
    parameters = "pathways"         # what is fitted: "pathways" (log-scale of every J_ab) or
                                    # "external" (log-scale of every population's nu_ext)
    target = [10.0, 10.0]           # Hz, one per population
    optimizer = "adam"              # optax: adam, adabelief, sgd or rmsprop
    learning_rate = 0.02
    max_steps = 500
    tol = 0.005                     # stop at this max relative error
    [fit.network_parameters]
    g = 5.0
    eta = 2.0
    [output]
    folder = "mfjax-fit"

Writes ``NAME.npz`` (fitted log-scales, rates, loss history), ``NAME.json`` (summary with
provenance), ``NAME.png`` (loss and relative error per step) and the config.
"""

from __future__ import annotations

import time

import numpy as np

from ._networks import NETWORKS, build_network
from ._output import OUTPUT, prepare_output, pyplot, save_figure, write_json
from ..sweep import Progress
from ._schema import ConfigError, Field, Table, validate

__all__ = ["FIT_CONFIG", "run_fit", "check_fit"]

OPTIMIZERS = ("adam", "adabelief", "sgd", "rmsprop")

FIT_CONFIG = Table({
    "fit": Table({
        "network": Field(str, "brunel", "network preset", choices=NETWORKS),
        "network_parameters": Table(entry=Field((float, int, str, bool, list), doc="a preset argument"),
                                    doc="arguments of the preset"),
        "parameters": Field(str, "pathways", "what is fitted", choices=("pathways", "external")),
        "target": Field(list, None, "target rate per population (Hz, > 0)", items=float, min_items=1, minimum=1e-300),
        "optimizer": Field(str, "adam", "optax optimiser", choices=OPTIMIZERS),
        "learning_rate": Field(float, 0.02, "optimiser step size", minimum=1e-12),
        "max_steps": Field(int, 500, "optimiser step cap", minimum=1),
        "tol": Field(float, 0.005, "stop when every rate is within this relative error", minimum=0.0),
        "dtype": Field(str, "float64", "float precision", choices=("float64", "float32")),
    }, doc="the fit", required=True),
    "output": OUTPUT,
})


def check_fit(raw: dict):
    cfg = validate(raw, FIT_CONFIG)
    if cfg["fit"]["target"] is None:
        raise ConfigError("fit.target: missing (one target rate in Hz per population)")
    return cfg


def run_fit(raw: dict, text: str, *, out=None, quiet: bool = False) -> dict:
    import jax

    cfg = check_fit(raw)
    f = cfg["fit"]
    jax.config.update("jax_enable_x64", f["dtype"] == "float64")
    import jax.numpy as jnp
    import optax

    from ..fit import fit_rates, scale_pathways
    from ..sweep import provenance

    net = jax.lax.stop_gradient(build_network(f["network"], f["network_parameters"], "fit.network_parameters"))
    p = net.num_populations
    if len(f["target"]) != p:
        raise ConfigError(f"fit.target: the {f['network']} network has {p} populations, got {len(f['target'])} targets")
    if f["parameters"] == "pathways":
        init = jnp.zeros((p, p))

        def make(s):
            return scale_pathways(net, s)
    else:
        init = jnp.zeros(p)

        def make(s):
            return net.replace(nu_ext=net.nu_ext * jnp.exp(s))
    folder = prepare_output(cfg, text, out)
    name = cfg["output"]["name"] or f"{f['network']}_fit"
    optimizer = getattr(optax, f["optimizer"])(f["learning_rate"])
    losses, errors = [], []
    bar = Progress(f["max_steps"], desc=f"mfjax fit {f['network']}", unit="step", quiet=quiet)

    def callback(step, n, loss, worst):
        losses.append(loss)
        errors.append(worst)
        bar.update(step, loss=loss, max_rel_error=worst)

    t0 = time.perf_counter()
    with bar:
        res = fit_rates(make, init, jnp.asarray(f["target"]), optimizer=optimizer, max_steps=f["max_steps"],
                        tol=f["tol"], callback=callback)
    seconds = time.perf_counter() - t0
    from ..sweep import atomic_save_npz

    atomic_save_npz(folder / f"{name}.npz", log_scale=np.asarray(res.params), rates=np.asarray(res.rates),
                    target=np.asarray(f["target"]), loss=np.asarray(losses), max_rel_error=np.asarray(errors))
    summary = {
        "job": f"mfjax fit {f['network']} ({f['parameters']})",
        "success": bool(res.success),
        "steps": int(res.num_steps),
        "max_rel_error": float(res.max_rel_error),
        "rates_hz": np.asarray(res.rates).tolist(),
        "target_hz": f["target"],
        "populations": list(net.names) if getattr(net, "names", None) else None,
        "scale": np.exp(np.asarray(res.params)).tolist(),
        "seconds_including_compile": seconds,
        "provenance": provenance(seconds=seconds, config=cfg),
    }
    write_json(folder / f"{name}.json", summary)
    png = _loss_figure(losses, errors, f["tol"], folder / f"{name}.png") if cfg["output"]["figure"] else None
    state = "converged" if res.success else "NOT converged"
    print(f"mfjax: fit {state} in {res.num_steps} steps ({seconds:.1f} s), max relative error "
          f"{res.max_rel_error:.2e}; wrote {folder / (name + '.npz')}, {folder / (name + '.json')}"
          + (f", {png}" if png else ""), flush=True)
    return summary


def _loss_figure(losses, errors, tol, path):
    plt = pyplot()
    if plt is None or not losses:
        return None
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.6), dpi=120)
    steps = np.arange(1, len(losses) + 1)
    a.semilogy(steps, losses)
    a.set_xlabel("accepted step")
    a.set_ylabel("loss (mean squared log rate error)")
    b.semilogy(steps, errors)
    b.axhline(tol, color="k", ls="--", lw=0.8, label=f"tol {tol:g}")
    b.set_xlabel("accepted step")
    b.set_ylabel("max relative rate error")
    b.legend()
    fig.suptitle("mfjax fit: loss curve")
    return save_figure(plt, fig, path)
