"""The conductance-based (COBA) mean field of ``mfjax.solve_rates`` against simulations of the same
networks with ``mfjax.spiking.simulate``.

Networks: the COBA benchmark (Brette et al. 2007 benchmark 1; ``spiking.coba()``, 4000 neurons,
80 synapses per neuron, jumps 6 / 67 nS) over a grid of drives (11-40 mV) and inhibitory jumps
(40, 67, 100 nS), and the same network with 10x more, 10x weaker synapses (p = 0.2) at a few
points.  Each simulation: 3 s after a 0.5 s transient, dt 0.1 ms, float64, one seed.  The
mean-field rate is the effective-time-constant reduction with the in-degree average
(:mod:`mfjax.populations._conductance`); the homogeneous rate (fixed in-degree, no average) and
the simulated CV are written beside it.

Writes ``results/coba_mean_field.json``: ``python benchmarks/coba_mean_field.py`` (about 2 minutes
on 2 cores).
"""

import jax
import numpy as np
from _peers import HERE, machine, write_json

import mfjax
from mfjax import spiking

jax.config.update("jax_enable_x64", True)

DURATION, TRANSIENT = 3000.0, 500.0
BENCHMARK_GRID = [(drive, g_in) for drive in (11.0, 15.0, 20.0, 30.0, 40.0) for g_in in (40.0, 67.0, 100.0)]
WEAK = [(0.6, 6.7, 20.0), (0.6, 6.7, 11.0), (0.6, 10.0, 20.0), (0.6, 4.0, 20.0), (0.3, 3.0, 20.0), (0.3, 3.0, 12.0)]


def _point(net, **label):
    res = spiking.simulate(net, DURATION, key=jax.random.key(1), transient=TRANSIENT)
    sim = float(np.mean(np.asarray(res.rates)))
    theory = float(mfjax.solve_rates(net).rates[0])
    homogeneous = float(mfjax.solve_rates(_fixed_indegree(net)).rates[0])
    row = dict(label, simulated_hz=sim, cv=float(np.mean(np.asarray(res.cv))), mean_field_hz=theory,
               relative_error=theory / sim - 1.0, homogeneous_mean_field_hz=homogeneous)
    print({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
    return row


def _fixed_indegree(net):
    """The same network for the mean field without the in-degree average."""
    return mfjax.Network(net.neuron, net.K, net.J, K_ext=net.K_ext, J_ext=net.J_ext, nu_ext=net.nu_ext, N=net.N,
                         I_ext=net.I_ext, delay=net.delay, names=net.names, synapses=net.synapses)


def main():
    out = {"machine": machine(), "duration_ms": DURATION, "transient_ms": TRANSIENT, "dt_ms": 0.1,
           "dtype": "float64", "benchmark": [], "weak_synapses": []}
    for drive, g_in in BENCHMARK_GRID:
        out["benchmark"].append(_point(spiking.coba(drive=drive, g_in=g_in), drive=drive, g_in=g_in))
    for g_ex, g_in, drive in WEAK:
        out["weak_synapses"].append(_point(spiking.coba(p=0.2, g_ex=g_ex, g_in=g_in, drive=drive),
                                           p=0.2, g_ex=g_ex, g_in=g_in, drive=drive))
    for key in ("benchmark", "weak_synapses"):
        err = np.array([r["relative_error"] for r in out[key]])
        out[f"{key}_error_range"] = [float(err.min()), float(err.max())]
    write_json(HERE / "results" / "coba_mean_field.json", out)


if __name__ == "__main__":
    main()
