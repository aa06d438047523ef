"""The LIF transfer function vmapped over working points vs the same evaluations as one
broadcast batch (mfjax._batching.flat_under_vmap), and float32 vs float64 windowed count
covariances.

Usage::

    python benchmarks/bench_flat_batching.py   # -> benchmarks/results/flat_batching.json

Work: 512 working points (mu 5-25 mV, sigma 2-8 mV) x 96 complex frequencies (0.5 Hz - 5 kHz,
growth 5%), white noise; best of 3 after compilation.  float32: Brunel model A at (8, 2),
``covariances(window=[1, 10, 100, 1000] ms, autocovariance="renewal")``.
"""

from __future__ import annotations

import subprocess
import sys
from functools import partial

import numpy as np
from _peers import HERE, best_time, machine, write_json

F32 = """
import jax, json, numpy as np
jax.config.update("jax_enable_x64", {x64})
from mfjax import populations as pop
cov = pop.covariances(pop.brunel_a(8.0, 2.0), window=np.array([1.0, 10.0, 100.0, 1000.0]), autocovariance="renewal")
print(json.dumps({{"population": np.asarray(cov.population, float).tolist(), "correlation": np.asarray(cov.correlation, float).tolist()}}))
"""


def main() -> None:
    import json

    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    import mfjax
    from mfjax._batching import flat_under_vmap
    from mfjax.neurons._transfer import _responses

    neuron = mfjax.LIF(20.0, 2.0, 20.0, 10.0)
    b, n_f = 512, 96
    mu, sigma = jnp.linspace(5.0, 25.0, b), jnp.linspace(2.0, 8.0, b)
    f = jnp.asarray(np.geomspace(0.5, 5000.0, n_f)) * (1 + 0.05j)
    plain = partial(_responses, correction="none", refractory_phase=True)
    runs = {}
    for name, fn in (("vmap", plain), ("flat", flat_under_vmap(plain))):
        call = jax.jit(jax.vmap(lambda m, s, fn=fn: fn(neuron, m[None], s[None], f[:, None])))
        jax.block_until_ready(call(mu, sigma))
        runs[name], out = best_time(lambda call=call: call(mu, sigma), 3)
        runs[name + "_out"] = out
    diff = max(float(jnp.max(jnp.abs(x - y))) for x, y in zip(runs["vmap_out"], runs["flat_out"]))
    f32 = {}
    for x64 in (True, False):
        text = subprocess.run([sys.executable, "-c", F32.format(x64=x64)], capture_output=True, text=True, check=True).stdout
        f32[x64] = json.loads(text.strip().splitlines()[-1])
    rel = lambda k: float(np.max(np.abs(np.array(f32[False][k]) - np.array(f32[True][k])) / np.abs(np.array(f32[True][k]))))  # noqa: E731
    out = {
        "machine": machine(),
        "work": "LIF transfer function at 512 working points x 96 complex frequencies, jax.vmap vs flat_under_vmap",
        "vmap_s": runs["vmap"], "flat_s": runs["flat"], "speedup": runs["vmap"] / runs["flat"],
        "vmap_us_per_evaluation": runs["vmap"] / (b * n_f) * 1e6, "flat_us_per_evaluation": runs["flat"] / (b * n_f) * 1e6,
        "max_abs_difference": diff,
        "float32_covariances_max_rel_error (Brunel A (8, 2), windows 1-1000 ms, renewal)": {
            "population": rel("population"), "correlation": rel("correlation")},
    }
    write_json(HERE / "results" / "flat_batching.json", out)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
