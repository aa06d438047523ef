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

import jax
import numpy as np

from .._checks import as_key
from .._fingerprint import fingerprint
from ..populations import Network
from ..sweep._checkpoint import Checkpoint
from ._connectivity import CONNECTIVITY_RULES, Connectivity, build_connectivity
from ._simulate import SimulationState, connectivity_key, simulate

__all__ = ["run_chunks"]

_STATS = ("rates", "cv", "fano", "correlation", "synchrony", "population_rate", "spectrum", "frequencies")


def _meta(network, duration, key, chunk, transient, kwargs) -> dict:
    """What determines a chunked run (recorded in, and verified against, the manifest, which
    adds dtype and version)."""
    options = {}
    for name, value in sorted(kwargs.items()):
        if isinstance(value, Connectivity):
            options[name] = "Connectivity:" + value.digest()
        else:
            options[name] = fingerprint(value)
    return {
        "job": "spiking.run_chunks",
        "network": fingerprint(network),
        "network_names": list(network.names),
        "key": fingerprint(jax.random.key_data(key)),
        "duration_ms": float(duration),
        "chunk_ms": float(chunk),
        "transient_ms": float(transient),
        "options": options,
    }


def run_chunks(network: Network, duration: float, *, key, chunk: float, path, transient: float = 0.0,
               progress=None, **kwargs) -> dict:
    """Simulate ``duration`` ms in chunks of ``chunk`` ms, writing each to ``path``; resume.

    ``kwargs`` go to :func:`simulate` (``dt``, ``connectivity``, ``sample_size``, ...; one key,
    no batch).  ``transient`` is left out of the first chunk's statistics.  ``progress`` is
    called as ``progress(done, chunks, computed)`` after every chunk.  Returns the population
    rate over the whole run (Hz, (bins, P)), the per-chunk rates (chunks, P) and CV, their
    duration-weighted mean rates, the recorded spikes (``spike_times`` in ms from the start,
    ``spike_neurons``), and the number of chunks computed by this call.
    """
    if not (isinstance(chunk, (int, float)) and chunk > 0):
        raise ValueError(f"chunk must be a positive number of ms, got {chunk!r}")
    n_chunks = duration / chunk
    if abs(n_chunks - round(n_chunks)) > 1e-9 or round(n_chunks) < 1:
        raise ValueError(f"chunk = {chunk} ms must divide duration = {duration} ms")
    if transient >= chunk:
        raise ValueError(f"transient = {transient} ms must be shorter than one chunk ({chunk} ms)")
    n_chunks = int(round(n_chunks))
    key = as_key("key", key)
    if key.ndim != 0:
        raise ValueError("run_chunks takes one key (a single trial)")
    if "state" in kwargs:
        raise ValueError("run_chunks continues from its own files; it takes no state=")
    ckpt = Checkpoint(path, _meta(network, duration, key, chunk, transient, kwargs)).open()
    rule = kwargs.get("connectivity", network.connectivity)
    computed = 0
    previous = None  # the arrays of the chunk before (its state starts the next one)
    rates, cvs, pop_rate, weights, spike_times, spike_neurons = [], [], [], [], [], []
    for i in range(n_chunks):
        name = f"chunk_{i:05d}.npz"
        arrays = ckpt.load(name)  # None: missing or rejected, so recomputed
        if arrays is None:
            if isinstance(rule, str) and not isinstance(kwargs.get("connectivity"), Connectivity):
                if rule not in CONNECTIVITY_RULES:
                    raise ValueError(f"connectivity must be one of {CONNECTIVITY_RULES} or a Connectivity, got {rule!r}")
                # draw the graph once for all chunks, as one simulate call would
                sizes = tuple(int(n) for n in np.asarray(network.N).reshape(-1))
                kwargs["connectivity"] = build_connectivity(connectivity_key(key), sizes, network.K, rule)
            state = None
            if previous is not None:
                state = SimulationState.from_arrays({k[6:]: previous[k] for k in previous if k.startswith("state_")})
            res = simulate(network, chunk, key=key, state=state, transient=transient if i == 0 else 0.0, **kwargs)
            times, neurons = res.spike_times()
            t0 = i * chunk
            arrays = {stat: np.asarray(getattr(res, stat)) for stat in _STATS}
            arrays.update(spike_times=times + t0, spike_neurons=neurons, t0=np.asarray(t0))
            arrays.update({f"state_{k}": v for k, v in res.state.arrays().items()})
            ckpt.save(name, arrays)
            computed += 1
            if progress is not None:
                progress(i + 1, n_chunks, True)
        elif progress is not None:
            progress(i + 1, n_chunks, False)
        previous = arrays
        spike_times.append(arrays["spike_times"])
        spike_neurons.append(arrays["spike_neurons"])
        rates.append(arrays["rates"])
        cvs.append(arrays["cv"])
        pop_rate.append(arrays["population_rate"])
        weights.append(chunk - (transient if i == 0 else 0.0))
    rates = np.stack(rates)
    w = np.asarray(weights)[:, None]
    return {
        "rates": np.sum(rates * w, axis=0) / np.sum(w),
        "chunk_rates": rates,
        "chunk_cv": np.stack(cvs),
        "population_rate": np.concatenate(pop_rate),
        "spike_times": np.concatenate(spike_times),
        "spike_neurons": np.concatenate(spike_neurons),
        "chunks_computed": computed,
        "chunks": n_chunks,
    }
