"""The Potjans-Diesmann (2014) microcircuit simulated with mfjax.spiking: homogeneous delays
against a spread of delays, next to the mean field.

With one delay per source type (1.5 ms E, 0.8 ms I) the network falls into a synchronous
population oscillation; giving each population three equal sub-populations whose outgoing
delays are 0.6x, 1x and 1.4x the mean (a crude stand-in for PD14's normally distributed delays)
restores the asynchronous low-rate state that the mean field describes.  Writes
``results/microcircuit_delays.json``:  ``python benchmarks/microcircuit_delays.py``.
"""

import jax
import numpy as np
from _peers import HERE, machine, write_json

import mfjax
from mfjax import spiking
from mfjax.populations import Network


def split(net, factors):
    """Each population -> len(factors) equal sub-populations with scaled outgoing delays."""
    s, p = len(factors), net.num_populations
    rep = lambda x: np.repeat(np.asarray(x), s)  # noqa: E731
    grow = lambda m: np.repeat(np.repeat(np.asarray(m), s, axis=0), s, axis=1)  # noqa: E731
    base = np.where(np.arange(p) % 2 == 0, 1.5, 0.8)  # E, I source populations alternate
    delay = np.round(np.repeat(base, s) * np.tile(factors, p), 1)
    return Network(net.neuron, K=grow(net.K) / s, J=grow(net.J), K_ext=rep(net.K_ext), J_ext=rep(net.J_ext),
                   nu_ext=rep(net.nu_ext), N=np.round(rep(net.N) / s), delay=np.tile(delay, (p * s, 1)),
                   synapses=net.synapses, names=tuple(f"{n}.{i}" for n in net.names for i in range(s)))


def main():
    net = mfjax.microcircuit("pd14", synapses="shift")
    theory = np.asarray(mfjax.solve_rates(net).rates)
    out = {"machine": machine(), "mean_field": theory.tolist(), "names": list(net.names)}
    for label, factors in (("homogeneous", [1.0]), ("spread_0.6_1_1.4", [0.6, 1.0, 1.4])):
        big = split(net, np.asarray(factors))
        res = spiking.simulate(big, 500.0, key=jax.random.key(0), transient=200.0,
                               connectivity="fixed_total_number", sample_size=30)
        s = len(factors)
        rates = np.asarray(res.rates).reshape(-1, s).mean(1)
        chi = np.asarray(res.synchrony).reshape(-1, s).mean(1)
        out[label] = {"rates": rates.tolist(), "synchrony_chi": chi.tolist()}
        print(label, np.round(rates, 2), "chi", np.round(chi, 2))
    print("mean field", np.round(theory, 2))
    write_json(HERE / "results" / "microcircuit_delays.json", out)


if __name__ == "__main__":
    main()
