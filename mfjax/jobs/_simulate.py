"""``mfjax simulate CONFIG``: a spiking simulation of a network preset, in resumable chunks,
several trials, with the statistics that test the theory and the mean-field prediction beside
them.

Config (TOML)::

    [simulate]
    network = "brunel"             # brunel, microcircuit or coba
    duration = 1000.0              # ms per trial
    chunk = 250.0                  # ms per chunk (progress, checkpoint)
    transient = 100.0              # ms left out of the statistics (< chunk)
    dt = 0.1                       # ms
    trials = 1
    seed = 0
    sample_size = 100              # neurons per population recorded (raster, CV)
    record = ["rates", "cv", "population_rate", "spikes", "spectrum"]
    [simulate.network_parameters]
    N_E = 2000
    [output]
    folder = "mfjax-sim"

Writes ``NAME.npz`` (per trial: rates, CV, population rate, spikes and spectrum as recorded),
``NAME.json`` (summary, the mean-field rates where the mean field converges, provenance),
``NAME.png`` (raster, population rate and spectrum of trial 0), the config, and the chunks in
``checkpoint-NAME/trial-K/`` (a killed run resumes where it stopped).
"""

from __future__ import annotations

import json
import time

import numpy as np

from ._networks import NETWORKS, build_network
from ._output import OUTPUT, prepare_output, pyplot, save_figure, write_json
from ..sweep import Progress
from ._schema import ConfigError, Field, Table, validate

__all__ = ["SIMULATE_CONFIG", "run_simulate", "check_simulate", "RECORDS"]

RECORDS = ("rates", "cv", "population_rate", "spikes", "spectrum")

SIMULATE_CONFIG = Table({
    "simulate": Table({
        "network": Field(str, "brunel", "network preset", choices=NETWORKS),
        "network_parameters": Table(entry=Field((float, int, str, bool, list), doc="a preset argument"),
                                    doc="arguments of the preset"),
        "duration": Field(float, 1000.0, "simulated time per trial (ms)", minimum=1e-9),
        "chunk": Field(float, 250.0, "ms per chunk (must divide duration)", minimum=1e-9),
        "transient": Field(float, 100.0, "ms left out of the statistics (shorter than a chunk)", minimum=0.0),
        "dt": Field(float, 0.1, "time step (ms)", minimum=1e-9),
        "trials": Field(int, 1, "independent trials (keys split from the seed)", minimum=1),
        "seed": Field(int, 0, "random seed", minimum=0),
        "sample_size": Field(int, 100, "neurons per population recorded", minimum=1),
        "bin_size": Field(float, 1.0, "population-rate bin (ms)", minimum=1e-9),
        "segment": Field(float, 256.0, "spectrum segment (ms)", minimum=1e-9),
        "record": Field(list, list(RECORDS), "what is stored", items=str, choices=None,
                        check=lambda v: next((f"unknown record {r!r} (known: {', '.join(RECORDS)})" for r in v
                                              if r not in RECORDS), None)),
    }, doc="the simulation", required=True),
    "output": OUTPUT,
})


def check_simulate(raw: dict) -> dict:
    cfg = validate(raw, SIMULATE_CONFIG)
    s = cfg["simulate"]
    n = s["duration"] / s["chunk"]
    if abs(n - round(n)) > 1e-9:
        raise ConfigError(f"simulate.chunk: {s['chunk']} ms must divide simulate.duration = {s['duration']} ms")
    if s["transient"] >= s["chunk"]:
        raise ConfigError(f"simulate.transient: {s['transient']} ms must be shorter than simulate.chunk ({s['chunk']} ms)")
    return cfg


def run_simulate(raw: dict, text: str, *, out=None, quiet: bool = False, restart: bool = False) -> dict:
    import shutil

    import jax

    cfg = check_simulate(raw)
    s = cfg["simulate"]
    from ..populations import solve_rates
    from ..spiking import run_chunks
    from ..sweep import atomic_save_npz, provenance

    net = build_network(s["network"], s["network_parameters"], "simulate.network_parameters")
    folder = prepare_output(cfg, text, out)
    name = cfg["output"]["name"] or f"{s['network']}_simulation"
    ckpt = folder / f"checkpoint-{name}"
    if restart and ckpt.exists():
        shutil.rmtree(ckpt)
    n_chunks = int(round(s["duration"] / s["chunk"]))
    keys = jax.random.split(jax.random.key(s["seed"]), s["trials"])
    bar = Progress(n_chunks * s["trials"], desc=f"mfjax simulate {s['network']}", unit="chunk", quiet=quiet)
    arrays, per_trial = {}, []
    t0 = time.perf_counter()
    with bar:
        for trial in range(s["trials"]):
            def progress(done, n, computed, trial=trial):
                bar.update(trial * n + done, trial=trial, computed=computed)

            res = run_chunks(net, s["duration"], key=keys[trial], chunk=s["chunk"], path=ckpt / f"trial-{trial}",
                             transient=s["transient"], progress=progress, dt=s["dt"], sample_size=s["sample_size"],
                             bin_size=s["bin_size"])
            rates = np.asarray(res["rates"])
            cv = np.asarray(res["chunk_cv"])
            rec = {"rates": rates, "cv": np.nanmean(cv, axis=0)}
            rec["population_rate"] = np.asarray(res["population_rate"])
            rec["spike_times"], rec["spike_neurons"] = res["spike_times"], res["spike_neurons"]
            freqs, psd = _spectrum(rec["population_rate"], s["bin_size"], s["segment"])
            rec["frequencies"], rec["spectrum"] = freqs, psd
            wanted = set(s["record"]) | ({"spike_times", "spike_neurons"} if "spikes" in s["record"] else set())
            wanted |= {"frequencies"} if "spectrum" in s["record"] else set()
            arrays.update({f"trial{trial}:{k}": v for k, v in rec.items() if k in wanted})
            per_trial.append({"rates_hz": rates.tolist(), "cv": rec["cv"].tolist(),
                              "chunks_computed": int(res["chunks_computed"])})
            if trial == 0:
                first = rec
    seconds = time.perf_counter() - t0
    theory = solve_rates(jax.lax.stop_gradient(net), on_failure="return")
    atomic_save_npz(folder / f"{name}.npz", **arrays)
    names = list(net.names) if getattr(net, "names", None) else [f"pop{i}" for i in range(net.num_populations)]
    prov = provenance(seconds=seconds, config=cfg, seed=s["seed"])
    if "netcdf" in cfg["output"]["formats"]:
        from ..sweep import atomic_write_bytes

        atomic_write_bytes(folder / f"{name}.nc", to_xarray(arrays, s, names, prov).to_netcdf())
    summary = {
        "job": f"mfjax simulate {s['network']}",
        "populations": list(net.names) if getattr(net, "names", None) else None,
        "trials": per_trial,
        "mean_rates_hz": np.mean([t["rates_hz"] for t in per_trial], axis=0).tolist(),
        "mean_field_rates_hz": np.asarray(theory.rates).tolist() if bool(theory.converged) else None,
        "seconds_including_compile": seconds,
        "real_time_factor": seconds / (s["duration"] * s["trials"] / 1e3),
        "provenance": prov,
    }
    write_json(folder / f"{name}.json", summary)
    png = _figure(first, names, s, folder / f"{name}.png") if cfg["output"]["figure"] else None
    rates_text = ", ".join(f"{r:.2f}" for r in summary["mean_rates_hz"])
    print(f"mfjax: simulated {s['trials']} x {s['duration']:g} ms of {s['network']} in {seconds:.1f} s; rates "
          f"[{rates_text}] Hz; wrote {folder / (name + '.npz')}, {folder / (name + '.json')}"
          + (f", {png}" if png else ""), flush=True)
    return summary


def to_xarray(arrays: dict, s: dict, names: list, prov: dict):
    """The recorded statistics as an ``xarray.Dataset``: ``rates`` and ``cv`` over (trial,
    population), ``population_rate`` over (trial, time, population) with time in ms,
    ``spectrum`` over (trial, population, frequency) in Hz^2/Hz, the spikes of trial K as
    ``spike_times_K`` / ``spike_neurons_K`` (their own dimension: counts differ), units and
    provenance as attributes."""
    try:
        import xarray as xr
    except ImportError as err:
        raise ImportError("netCDF output needs xarray (pip install 'mfjax[xarray]')") from err
    trials = s["trials"]
    units = {"rates": "Hz", "cv": "", "population_rate": "Hz", "spectrum": "Hz^2/Hz", "spike_times": "ms",
             "spike_neurons": ""}
    dims = {"rates": ("population",), "cv": ("population",), "population_rate": ("time", "population"),
            "spectrum": ("population", "frequency")}
    data, coords = {}, {"trial": np.arange(trials), "population": names}
    for key, d in dims.items():
        # a zero-length dimension would be netCDF-3's unlimited one: an empty record is left out
        if f"trial0:{key}" in arrays and arrays[f"trial0:{key}"].size:
            data[key] = (("trial",) + d, np.stack([arrays[f"trial{k}:{key}"] for k in range(trials)]),
                         {"units": units[key]})
    if "population_rate" in data:
        n = data["population_rate"][1].shape[1]
        coords["time"] = ("time", s["transient"] + (np.arange(n) + 0.5) * s["bin_size"], {"units": "ms"})
    if "spectrum" in data:
        coords["frequency"] = ("frequency", arrays["trial0:frequencies"], {"units": "Hz"})
    for k in range(trials):
        for key in ("spike_times", "spike_neurons"):
            if f"trial{k}:{key}" in arrays and arrays[f"trial{k}:{key}"].size:
                data[f"{key}_{k}"] = (f"spike_{k}", arrays[f"trial{k}:{key}"], {"units": units[key]})
    return xr.Dataset(data, coords=coords, attrs={"provenance": json.dumps(prov, default=str),
                                                  "producer": "mfjax simulate"})


def _spectrum(rate, bin_ms, segment_ms):
    """Bartlett power spectrum (Hz^2/Hz) of the population rate (which starts after the
    transient) in segments of ``segment_ms`` (:func:`mfjax.spiking._statistics.power_spectrum`):
    frequencies (F,), spectrum (P, F); empty when the run is shorter than one segment."""
    from ..spiking._statistics import power_spectrum

    seg = int(round(segment_ms / bin_ms))
    if rate.shape[0] < seg:
        return np.zeros(0), np.zeros((rate.shape[1], 0))
    freqs, power = power_spectrum(rate, bin_ms, seg)
    return np.asarray(freqs), np.asarray(power)


def _figure(rec, names, s, path):
    plt = pyplot()
    if plt is None:
        return None
    fig, (a, b, c) = plt.subplots(3, 1, figsize=(7.5, 8), dpi=120, gridspec_kw={"height_ratios": [2, 1, 1]})
    ids, rank = np.unique(rec["spike_neurons"], return_inverse=True)
    a.plot(rec["spike_times"], rank, ",k", ms=1)
    a.set_ylabel(f"recorded neuron ({ids.size})")
    a.set_title(f"{s['network']}: raster of the recorded neurons (trial 0)")
    t = s["transient"] + (np.arange(rec["population_rate"].shape[0]) + 0.5) * s["bin_size"]
    for i, n in enumerate(names):
        b.plot(t, rec["population_rate"][:, i], lw=0.6, label=n)
    b.set_ylabel("rate (Hz)")
    b.set_xlabel("time (ms)")
    b.legend(fontsize=6, ncol=4)
    if rec["frequencies"].size > 1:
        for i, n in enumerate(names):
            c.loglog(rec["frequencies"][1:], rec["spectrum"][i, 1:], lw=0.8, label=n)
    else:
        c.text(0.5, 0.5, f"run shorter than one spectrum segment ({s['segment']:g} ms)", ha="center",
               transform=c.transAxes)
    c.set_xlabel("frequency (Hz)")
    c.set_ylabel("power (Hz$^2$/Hz)")
    return save_figure(plt, fig, path)
