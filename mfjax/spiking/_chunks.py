"""Long simulations in chunks written to disk, resumable after an interruption.

Each chunk of ``chunk`` ms is simulated by :func:`mfjax.spiking.simulate` from the state the
previous chunk ended in, and written atomically (temporary file, then ``os.replace``) as
``chunk_00000.npz`` ... in ``path``: its statistics (rates, CV, Fano factor, correlations,
synchrony, population rate, spectrum), the spike times of the sampled neurons, and the state to
continue from.  A second call with the same arguments finds the chunks already written and
continues after the last one; since the continuation is exact, the result is the same as an
uninterrupted run.  numpy ``.npz`` only (``allow_pickle=False``).
"""

from __future__ import annotations

import os
from pathlib import Path

import jax
import numpy as np

from ..populations import Network
from ._connectivity import CONNECTIVITY_RULES, build_connectivity
from ._simulate import SimulationState, connectivity_key, simulate

__all__ = ["run_chunks"]

_STATS = ("rates", "cv", "fano", "correlation", "synchrony", "population_rate", "spectrum", "frequencies")


def _write(path: Path, arrays: dict) -> None:
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def run_chunks(network: Network, duration: float, *, key, chunk: float, path, transient: float = 0.0, **kwargs) -> dict:
    """Simulate ``duration`` ms in chunks of ``chunk`` ms, writing each to ``path``; resume.

    ``kwargs`` go to :func:`simulate` (``dt``, ``connectivity``, ``sample_size``, ...; one key,
    no batch).  ``transient`` is left out of the first chunk's statistics.  Returns the
    population rate over the whole run (Hz, (bins, P)), the per-chunk rates (chunks, P) and CV,
    their duration-weighted mean rates, and the number of chunks computed by this call.
    """
    if not (isinstance(chunk, (int, float)) and chunk > 0):
        raise ValueError(f"chunk must be a positive number of ms, got {chunk!r}")
    n_chunks = duration / chunk
    if abs(n_chunks - round(n_chunks)) > 1e-9 or round(n_chunks) < 1:
        raise ValueError(f"chunk = {chunk} ms must divide duration = {duration} ms")
    if transient >= chunk:
        raise ValueError(f"transient = {transient} ms must be shorter than one chunk ({chunk} ms)")
    n_chunks = int(round(n_chunks))
    if jax.numpy.ndim(key) != 0:
        raise ValueError("run_chunks takes one key (a single trial)")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    files = [path / f"chunk_{i:05d}.npz" for i in range(n_chunks)]
    done = 0
    while done < n_chunks and files[done].exists():
        done += 1
    state = None
    if done:
        with np.load(files[done - 1], allow_pickle=False) as f:
            state = SimulationState.from_arrays({k[6:]: f[k] for k in f.files if k.startswith("state_")})
    rule = kwargs.get("connectivity", "fixed_indegree")
    if done < n_chunks and isinstance(rule, str) and rule in CONNECTIVITY_RULES:  # draw the graph once, as simulate would
        sizes = tuple(int(n) for n in np.asarray(network.N).reshape(-1))
        kwargs["connectivity"] = build_connectivity(connectivity_key(key), sizes, network.K, rule)
    computed = 0
    for i in range(done, n_chunks):
        res = simulate(network, chunk, key=key, state=state, transient=transient if i == 0 else 0.0, **kwargs)
        times, neurons = res.spike_times()
        t0 = i * chunk
        arrays = {name: np.asarray(getattr(res, name)) for name in _STATS}
        arrays.update(spike_times=times + t0, spike_neurons=neurons, t0=np.asarray(t0))
        arrays.update({f"state_{k}": v for k, v in res.state.arrays().items()})
        _write(files[i], arrays)
        state = res.state
        computed += 1
    rates, cvs, pop_rate, weights = [], [], [], []
    for i, f in enumerate(files):
        with np.load(f, allow_pickle=False) as data:
            rates.append(data["rates"])
            cvs.append(data["cv"])
            pop_rate.append(data["population_rate"])
            weights.append(chunk - (transient if i == 0 else 0.0))
    rates = np.stack(rates)
    w = np.asarray(weights)[:, None]
    return {
        "rates": np.sum(rates * w, axis=0) / np.sum(w),
        "chunk_rates": rates,
        "chunk_cv": np.stack(cvs),
        "population_rate": np.concatenate(pop_rate),
        "chunks_computed": computed,
        "chunks": n_chunks,
    }
