"""The Potjans-Diesmann (2014) microcircuit at full scale (77,169 neurons, 3.0e8 synapses)
simulated with mfjax.spiking, next to its mean field.

Two delay models:

* ``"homogeneous"``: one delay per source type (1.5 ms E, 0.8 ms I: 0.75 ms rounded to the
  0.1 ms grid): the network falls into a synchronous population oscillation;
* ``"pd14"``: the published model, every synapse with its own delay (Normal(1.5, 0.75) ms E,
  Normal(0.75, 0.375) ms I, redrawn below dt) and weight (relative sd 0.1): the asynchronous
  low-rate state that the mean field describes.

Writes ``results/microcircuit_delays.json``: ``python benchmarks/microcircuit_delays.py``
(about 4 minutes on 2 cores, 10 GB of memory).
"""

import time

import jax
import numpy as np
from _peers import HERE, machine, write_json

import mfjax
from mfjax import spiking

DURATION, TRANSIENT = 1200.0, 200.0


def main():
    net = mfjax.microcircuit("pd14", synapses="shift", J_rel_sd=0.1)
    theory = np.asarray(mfjax.solve_rates(net).rates)
    out = {"machine": machine(), "names": list(net.names), "mean_field": theory.tolist(),
           "duration_ms": DURATION, "transient_ms": TRANSIENT, "dt_ms": 0.1, "dtype": "float32"}
    key = jax.random.key(0)
    sizes = tuple(int(n) for n in net.N)
    start = time.perf_counter()
    conn = spiking.build_connectivity(spiking.connectivity_key(key), sizes, net.K, "fixed_total_number")
    out["connectivity_seconds"] = time.perf_counter() - start
    out["synapses"] = float(np.sum(np.asarray(conn.num_synapses)))
    homogeneous = net.replace(delay=np.round(np.asarray(net.delay), 1), delay_sd=np.zeros((8, 8)))
    for label, model in (("homogeneous", homogeneous), ("pd14", net)):
        start = time.perf_counter()
        res = jax.block_until_ready(
            spiking.simulate(model, DURATION, key=key, transient=TRANSIENT, connectivity=conn, sample_size=100)
        )
        out[label] = {
            "seconds_with_compile_and_draws": time.perf_counter() - start,
            "rates": np.asarray(res.rates).tolist(),
            "cv": np.asarray(res.cv).tolist(),
            "synchrony_chi": np.asarray(res.synchrony).tolist(),
            "relative_error_vs_mean_field": (np.asarray(res.rates) / theory - 1).tolist(),
        }
        print(label, np.round(np.asarray(res.rates), 2), "chi", np.round(np.asarray(res.synchrony), 2),
              f"{out[label]['seconds_with_compile_and_draws']:.1f} s", flush=True)
    print("mean field", np.round(theory, 2))
    write_json(HERE / "results" / "microcircuit_delays.json", out)


if __name__ == "__main__":
    main()
