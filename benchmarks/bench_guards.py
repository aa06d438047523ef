"""What the input guards of issue 17 cost: guarded public functions against their unguarded cores.

Usage::

    python benchmarks/bench_guards.py     # -> benchmarks/results/guards.json

The guards only add work for traced inputs (concrete ones are checked once in Python, before
compiling).  Measured here in the two places where traced inputs are the rule:

1. ``lif_rate`` inside a user's ``jit`` on 10^5 (mu, sigma) points: the public function (range
   conditions recorded and enforced by ``equinox.branched_error_if``) against the private core
   ``_lif_rate`` that it wraps.
2. The Brunel 200 x 200 (g, eta) sweep, whose points are traced by ``vmap``: ``solve_rates``
   with the network's conditions folded into ``converged`` (and brunel_a's poisoning of
   out-of-range g, eta) against the core solver with the status left as it was.

Both variants are compiled first and timed best-of-N in the same process, alternating.
"""

from __future__ import annotations

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from _peers import HERE, best_time, machine, write_json  # noqa: E402

import mfjax  # noqa: E402
from mfjax.neurons._lif import _lif_rate  # noqa: E402
from mfjax.populations._rates import _solve_rates  # noqa: E402


def siegert(repeat=50):
    rng = np.random.default_rng(0)
    mu = jnp.asarray(rng.uniform(-10, 30, 100_000))
    sigma = jnp.asarray(rng.uniform(0.5, 20, 100_000))
    neuron = mfjax.LIF(20.0, 2.0, 20.0, 10.0)
    guarded = jax.jit(lambda m, s: mfjax.lif_rate(neuron, m, s))
    bare = jax.jit(lambda m, s: _lif_rate(neuron, m, s, "shift"))
    block = jax.block_until_ready
    block(guarded(mu, sigma)), block(bare(mu, sigma))
    t_g, t_b = [], []
    for _ in range(3):  # alternate, so that drifts of a shared machine hit both
        t_g.append(best_time(lambda: guarded(mu, sigma), repeat)[0])
        t_b.append(best_time(lambda: bare(mu, sigma), repeat)[0])
    diff = float(jnp.max(jnp.abs(guarded(mu, sigma) - bare(mu, sigma))))
    return {"points": int(mu.size), "guarded_seconds": min(t_g), "unguarded_seconds": min(t_b),
            "overhead": min(t_g) / min(t_b) - 1.0, "max_abs_difference": diff}


def sweep(repeat=5):
    g = jnp.linspace(0.0, 8.0, 200)
    eta = jnp.linspace(0.0, 4.0, 200)
    G, E = [x.ravel() for x in jnp.meshgrid(g, eta, indexing="ij")]

    def guarded_point(g, e):
        return mfjax.solve_rates(mfjax.brunel_a(g, e), on_failure="return").rates[0]

    def bare_point(g, e):
        net = mfjax.brunel_a(g, e)
        return _solve_rates(net, jnp.zeros(2), None, 0.0, 300, jnp.asarray(True)).rates[0]

    guarded = jax.jit(jax.vmap(guarded_point))
    bare = jax.jit(jax.vmap(bare_point))
    jax.block_until_ready(guarded(G, E)), jax.block_until_ready(bare(G, E))
    t_g, t_b = [], []
    for _ in range(2):
        t_g.append(best_time(lambda: guarded(G, E), repeat)[0])
        t_b.append(best_time(lambda: bare(G, E), repeat)[0])
    same = bool(jnp.all(guarded(G, E) == bare(G, E)))
    return {"points": int(G.size), "guarded_seconds": min(t_g), "unguarded_seconds": min(t_b),
            "overhead": min(t_g) / min(t_b) - 1.0, "identical_rates": same}


def main():
    result = {"machine": machine(), "siegert_in_jit": siegert(), "brunel_sweep_200x200": sweep()}
    write_json(HERE / "results" / "guards.json", result)
    for name in ("siegert_in_jit", "brunel_sweep_200x200"):
        r = result[name]
        print(f"{name}: guarded {r['guarded_seconds'] * 1e3:.3f} ms, unguarded {r['unguarded_seconds'] * 1e3:.3f} ms, "
              f"overhead {100 * r['overhead']:+.1f}%")


if __name__ == "__main__":
    main()
