"""float32 against float64 for the Brunel A simulation (same key and graph), and the
trial-to-trial spread in float64: ``python benchmarks/spiking_precision.py`` ->
``results/spiking_precision.json``."""

import jax
import numpy as np
from _peers import HERE, machine, write_json

import mfjax
from mfjax import spiking


def main():
    net = mfjax.brunel_a(g=5.0, eta=2.0)
    conn = spiking.build_connectivity(jax.random.key(0), (10000, 2500), net.K)
    kw = dict(connectivity=conn, transient=100.0)
    r32 = spiking.simulate(net, 1000.0, key=jax.random.key(1), **kw)
    jax.config.update("jax_enable_x64", True)
    net64 = mfjax.brunel_a(g=5.0, eta=2.0)
    r64 = spiking.simulate(net64, 1000.0, key=jax.random.key(1), **kw)
    trials = spiking.simulate(net64, 1000.0, key=jax.random.split(jax.random.key(5), 4), **kw)
    out = {
        "machine": machine(),
        "float32": {"rates": np.asarray(r32.rates).tolist(), "cv": np.asarray(r32.cv).tolist()},
        "float64": {"rates": np.asarray(r64.rates).tolist(), "cv": np.asarray(r64.cv).tolist()},
        "float64_4_trials": {"rates_mean": np.asarray(trials.rates).mean(0).tolist(),
                             "rates_sd": np.asarray(trials.rates).std(0).tolist()},
    }
    write_json(HERE / "results" / "spiking_precision.json", out)
    print(out)


if __name__ == "__main__":
    main()
