"""The Bos et al. (2016) microcircuit: linear-response spectra and characteristic roots beside a
simulation of the same network at full scale (77,169 neurons), mfjax.spiking.compare_spectra.

Writes benchmarks/results/microcircuit_spectra.json: simulated rates and synchrony, the spectral
peaks (gamma band and high-frequency band) of every population in simulation and theory, the
dominant characteristic root with the variance channel (mfjax's default) and without it (Bos
2016 / NNMT form), and the band-averaged ratio simulated / predicted spectrum.  ~7 min on the
2-core CPU (float32 simulation, 4 s after a 0.2 s transient).

    python benchmarks/bench_microcircuit_spectra.py
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from _peers import HERE, machine, write_json

import mfjax
from mfjax import populations as pop
from mfjax import spiking

BANDS = ((20.0, 50.0), (50.0, 100.0), (100.0, 200.0), (200.0, 300.0), (300.0, 450.0))


def peak(f, S, lo, hi):
    band = (f >= lo) & (f <= hi)
    return f[band][np.argmax(S[band], axis=0)].tolist()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sim-ms", type=float, default=4000.0, help="simulated time after the transient (ms)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "microcircuit_spectra.json")
    args = ap.parse_args()
    net = mfjax.microcircuit("bos2016", synapses="shift")
    start = time.perf_counter()
    c = spiking.compare_spectra(net, args.sim_ms + 200.0, key=jax.random.key(0), transient=200.0, segment=256.0)
    wall = time.perf_counter() - start
    f = c.frequencies
    mean_only = pop.stability(net, variance_response=False)
    grid = jnp.asarray(f)
    S_mean_only = np.asarray(pop.power_spectra(net, grid, autocovariance="renewal", variance_response=False))
    S_theory_two_sided = np.asarray(pop.power_spectra(net, grid, autocovariance="renewal"))
    ratios = {f"{lo:.0f}-{hi:.0f} Hz": (np.mean(c.simulated[(f > lo) & (f <= hi)], 0)
                                        / np.mean(c.theory[(f > lo) & (f <= hi)], 0)).tolist() for lo, hi in BANDS}
    out = {
        "machine": machine(),
        "work": "mfjax.microcircuit('bos2016', synapses='shift'): mfjax.spiking.simulate at full scale "
        f"({int(np.sum(np.asarray(net.N)))} neurons, float32, dt 0.1 ms, {args.sim_ms / 1000:.0f} s after 0.2 s, "
        "256-ms segments) beside the linear-response spectra (renewal source, 1-ms bins) and roots",
        "names": list(net.names),
        "wall_s_with_compile_and_draws": wall,
        "resolution_hz": float(f[1] - f[0]),
        "rates_sim_hz": np.asarray(c.simulation.rates).tolist(),
        "rates_theory_hz": np.asarray(pop.solve_rates(net).rates).tolist(),
        "synchrony_chi_sim": np.asarray(c.simulation.synchrony).tolist(),
        "dominant_root_variance_channel (1/s)": [float(np.real(c.stability.dominant)), float(np.imag(c.stability.dominant))],
        "dominant_root_variance_channel_hz": float(c.stability.frequency),
        "dominant_root_mean_only (Bos 2016 / NNMT form) (1/s)": [float(np.real(mean_only.dominant)), float(np.imag(mean_only.dominant))],
        "dominant_root_mean_only_hz": float(mean_only.frequency),
        "gamma_peak_sim_hz (40-120)": peak(f, c.simulated, 40.0, 120.0),
        "gamma_peak_theory_hz (40-120)": peak(f, S_theory_two_sided, 40.0, 120.0),
        "gamma_peak_theory_mean_only_hz (40-120)": peak(f, S_mean_only, 40.0, 120.0),
        "fast_peak_sim_hz (200-450)": peak(f, c.simulated, 200.0, 450.0),
        "fast_peak_theory_hz (200-450)": peak(f, S_theory_two_sided, 200.0, 450.0),
        "fast_peak_theory_mean_only_hz (200-450)": peak(f, S_mean_only, 200.0, 450.0),
        "spectrum_ratio_sim_over_theory (renewal, variance channel)": ratios,
    }
    print(c.table())
    for k, v in out.items():
        if k not in ("machine", "work"):
            print(k, np.round(v, 3) if isinstance(v, list) and v and not isinstance(v[0], str) else v)
    write_json(args.out, out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
