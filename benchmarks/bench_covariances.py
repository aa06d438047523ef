"""Count covariances: neuron-level pairwise covariances against NNMT 1.3, and the mean count
correlation of Brunel's model A against the spiking simulation of the same network for several
in-degrees K (Helias et al. 2014: the correlations of balanced networks fall as 1/N).

Usage::

    python benchmarks/bench_covariances.py               # -> benchmarks/results/covariances.json
    python benchmarks/bench_covariances.py --references  # regenerate tests/data/nnmt_pairwise.json

Pairwise: a 60-neuron Brunel-type network (48 E, 12 I, Bernoulli connections so that every
synapse count is 0 or 1, which is what NNMT's ``J**2`` term assumes), mfjax's neuron-level
working point, then NNMT's CVs, effective connectivity and covariances from the same rates and
inputs.  The drive (eta = 0.9) keeps every neuron fluctuation driven: NNMT evaluates
``exp(y^2) (1 + erf(y))`` directly, which cancels to 0 for y < -6 (mean-driven neurons; at
eta = 1.5 its effective coupling of such a neuron is 2.2 times too large), where mfjax uses the
scaled complementary error function.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from _peers import HERE, ROOT, best_time, machine, peer_python, run_worker, write_json


def _jax():
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax


def pairwise_network(n_e: int, k_e: float, seed: int, g: float = 5.0, eta: float = 0.9):
    """A neuron-level Brunel-type network (Bernoulli connectivity, p = k_e / n_e)."""
    jax = _jax()
    from mfjax import populations as pop
    from mfjax import spiking

    net = pop.brunel_a(g, eta, N_E=n_e, epsilon=k_e / n_e, J=0.5)
    net = pop.Network(net.neuron, net.K, net.J, K_ext=net.K_ext, J_ext=net.J_ext, nu_ext=net.nu_ext, N=net.N,
                      delay=net.delay, connectivity="fixed_probability")
    conn = spiking.build_connectivity(jax.random.PRNGKey(seed), np.asarray(net.N).astype(int), np.asarray(net.K),
                                      rule="fixed_probability")
    return spiking.neuron_network(net, conn)


def pairwise_task(neurons) -> dict:
    from mfjax import populations as pop

    sol = pop.solve_rates(neurons)
    n = neurons.neuron
    scalar = lambda v: float(np.asarray(v).ravel()[0])  # noqa: E731
    return {"kind": "pairwise", "rates": np.asarray(sol.rates).tolist(), "mu": np.asarray(sol.mu).tolist(),
            "sigma": np.asarray(sol.sigma).tolist(), "J": np.asarray(neurons.K * neurons.J).tolist(),
            "v_reset": scalar(n.v_reset), "v_th": scalar(n.v_th), "tau_m": scalar(n.tau_m), "tau_s": scalar(n.tau_s)}


def references() -> None:
    neurons = pairwise_network(48, 8.0, seed=3)
    task = pairwise_task(neurons)
    res = run_worker(peer_python("nnmt", [["nnmt==1.3.0"]]), "nnmt_worker.py", {"pw": task})["pw"]
    if "error" in res:
        raise RuntimeError(res["error"])
    out = {
        "source": "NNMT 1.3.0 (pip install nnmt==1.3.0): lif.exp._cvs, _pairwise_effective_connectivity, "
        "_pairwise_covariances (return_noise_strength) at the mfjax working point of "
        "bench_covariances.pairwise_network(48, 8.0, seed=3, eta=0.9) (60 neurons, delta synapses); "
        "command: python benchmarks/bench_covariances.py --references",
        "network": {"n_e": 48, "k_e": 8.0, "seed": 3},
        "inputs": {k: task[k] for k in ("rates", "mu", "sigma")},
        **res,
    }
    path = ROOT / "tests" / "data" / "nnmt_pairwise.json"
    path.write_text(json.dumps(out))
    print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--references", action="store_true", help="write tests/data/nnmt_pairwise.json and stop")
    args = ap.parse_args()
    if args.references:
        return references()


if __name__ == "__main__":
    main()
