"""Event-driven simulation of LIF, EIF and QIF networks described by :class:`mfjax.Network`.

One time step of length ``dt`` (ms), for every neuron (NEST's ``iaf_psc_delta`` /
``iaf_psc_exp`` order of updates; Rotter & Diesmann 1999 exact integration where linear):

1. spikes emitted ``d_ab = delay[a, b] / dt`` steps ago by population ``b`` are delivered to
   their targets in ``a`` (padded out-degree tables, scatter-add; only spiking neurons' rows are
   read).  Blocks with distributed delays or weights (``network.delay_sd``, ``network.J_sd``;
   drawn per synapse by :func:`._connectivity.draw_delays_and_weights`) instead add each
   spike's weights, one step after it was emitted, into a ring of future input indexed by
   (arrival step, target);
2. the external Poisson count ``n ~ Poisson(K_ext nu_ext dt)`` is drawn (:mod:`._drive`);
3. the membrane is propagated over ``dt`` (:mod:`._dynamics`: exactly for the LIF with delta or
   exponential current synapses, by exponential Euler with the conductances and the EIF/QIF
   nonlinearity held over the step otherwise);
   neurons in their refractory period are clamped at ``V_reset`` and ignore their input;
4. ``V >= V_th`` emits a spike, resets ``V`` to ``V_reset`` and starts ``tau_ref / dt``
   refractory steps; the indices of all spiking neurons of each population are stored in a
   ring of the last ``max(d_ab) + 1`` steps (on the CPU by a loop over the set bits of 32-neuron
   words, elsewhere by stream compaction).

Statistics are accumulated online (spike counts, inter-spike-interval moments) and a bounded
record is kept (population spike counts per step, the spike raster of a sample, a few membrane
traces); :mod:`._statistics` turns them into rates, CV, Fano factors, correlations, spectra.
"""

from __future__ import annotations

import dataclasses
import math
import os
import weakref
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache, partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_checked_array, as_key, is_concrete
from .._fingerprint import fingerprint
from ..populations import Conductance, Network
from . import _kernel
from . import _statistics as stats
from ._dynamics import membrane_update, model_kinds, neuron_leaf, per_neuron, propagators
from ._connectivity import CONNECTIVITY_RULES, Connectivity, build_connectivity, draw_delays_and_weights
from ._drive import hashed_uniform24, poisson_cdf_table, poisson_from_uniform, poisson_table_bounds, uniform24

__all__ = ["simulate", "SimulationResult"]


class SimulationState(eqx.Module):
    """Everything needed to continue a simulation where it stopped (leading batch axis when
    batched): membrane potentials, refractory counters, synaptic state, the ring of recent
    spikes and the absolute step.  Continue with ``simulate(..., state=res.state)`` and the same
    key: the continuation is identical to an uninterrupted run."""

    v: jax.Array
    ref: jax.Array
    syn: tuple
    hist: tuple
    counts: tuple
    step: jax.Array
    arrive: tuple = ()
    origin: jax.Array | None = None

    def arrays(self) -> dict:
        """Named numpy arrays (for ``numpy.savez``; no pickling)."""
        out = {"v": self.v, "ref": self.ref, "step": self.step}
        if self.origin is not None:
            out["origin"] = self.origin
        for name in ("syn", "hist", "counts", "arrive"):
            for i, x in enumerate(getattr(self, name)):
                out[f"{name}_{i}"] = x
        return {k: np.asarray(x) for k, x in out.items()}

    @classmethod
    def from_arrays(cls, arrays) -> "SimulationState":
        def group(name):
            keys = sorted((k for k in arrays if k.startswith(name + "_")), key=lambda k: int(k.split("_")[1]))
            return tuple(jnp.asarray(arrays[k]) for k in keys)

        origin = arrays.get("origin")
        return cls(jnp.asarray(arrays["v"]), jnp.asarray(arrays["ref"]), group("syn"), group("hist"),
                   group("counts"), jnp.asarray(arrays["step"]), group("arrive"),
                   None if origin is None else np.asarray(origin))


class SimulationResult(eqx.Module):
    """Measured statistics of a spiking simulation (leading batch axis when batched).

    Attributes:
        rates: mean firing rate of each population (Hz), shape (..., P).
        cv: mean coefficient of variation of the inter-spike intervals (neurons with >= 2
            intervals), shape (..., P).
        fano: mean Fano factor of spike counts in ``count_window`` of the sampled neurons.
        correlation: mean pairwise Pearson correlation of those counts within each population.
        synchrony: Golomb's chi of the sampled neurons' spike counts in ``bin_size`` bins.
        population_rate: population rate histogram (Hz), shape (..., n_bins, P).
        frequencies, spectrum: power spectrum of the population rate (Hz^2/Hz), (F,), (..., P, F).
        neuron_rates: rate of every neuron (Hz), shape (..., N).
        raster: spikes of the sampled neurons per step (bool), shape (..., steps, n_sample).
        sample: global indices of the sampled neurons, shape (n_sample,).
        v: membrane traces (mV) of ``record_v`` neurons, shape (..., steps, n_v).
        state: :class:`SimulationState` at the end (pass it as ``state=`` to continue).
        dt, duration, transient: ms (static).
    """

    rates: jax.Array
    cv: jax.Array
    fano: jax.Array
    correlation: jax.Array
    synchrony: jax.Array
    population_rate: jax.Array
    frequencies: jax.Array
    spectrum: jax.Array
    neuron_rates: jax.Array
    raster: jax.Array
    sample: jax.Array
    v: jax.Array
    state: SimulationState
    dt: float = eqx.field(static=True)
    duration: float = eqx.field(static=True)
    transient: float = eqx.field(static=True)

    def spike_times(self, trial: int | None = None):
        """(times in ms, neuron indices) of the sampled neurons' spikes (numpy)."""
        raster = np.asarray(self.raster if trial is None else self.raster[trial])
        if raster.ndim != 2:
            raise ValueError("batched result: pass trial=")
        steps, cols = np.nonzero(raster)
        sample = np.asarray(self.sample).reshape((-1, raster.shape[1]))[0]
        return (steps + 1) * self.dt, sample[cols]


@dataclasses.dataclass(frozen=True)
class _Plan:
    """Static structure of one simulation (hashable: keys the compiled program)."""

    sizes: tuple
    groups: tuple  # (source population, delay steps, excitatory, block indices)
    uniform: tuple  # per group: a target population whose J applies to all its targets, or -1
    ring: int
    emit_chunks: tuple  # per population: words per top_k (_emit_bits), spikes per gather (_scatter_chunks)
    steps: int
    dt: float
    synapse: object  # "delta" | "exp" | Conductance
    table_range: tuple  # per population (k_lo, k_hi)
    sample: tuple
    record_v: tuple
    transient_steps: int
    bin_steps: int
    window_steps: int
    segment_bins: int
    rng: str
    shared_drive: bool  # every population has the same external Poisson mean
    spread: tuple = ()  # blocks with per-synapse delays/weights: (source, target, excitatory, factors)
    spread_ring: int = 0  # future-input ring length (steps) of those blocks
    emission: str = "bits"  # "bits" (loop over spiking neurons; CPU) or "compact" (vectorized)
    delivery: str = "loop"  # "kernel" (compiled CPU kernel, ._kernel), "loop" or "gather" (see _deliver)
    one_thread: bool = False  # keep each step's neuron update on one thread (see _unsplit)
    models: tuple = ()  # neuron model kind of each population ("lif", "eif", "qif"; ._dynamics)

    @property
    def channels(self) -> int:
        """Input channels: excitatory and inhibitory conductances, or one summed current."""
        return 2 if isinstance(self.synapse, Conductance) else 1

    @property
    def offsets(self):
        return tuple(int(x) for x in np.concatenate([[0], np.cumsum(self.sizes)]))


def _deliver(plan, tables, hist, counts, t, n_total, dtype, scalars):
    """Synaptic input arriving at step ``t``.

    For each of the ``n`` spikes of a group's source population ``delay`` steps ago (read from
    the ring) the merged table row is read as one contiguous slice and its targets are
    incremented, so the work is the number of synapses of the neurons that fired: by a loop
    over the spikes (``plan.delivery`` ``"kernel"`` in C++ or ``"loop"``, XLA's loop; ~5x
    faster on the CPU than gathering all rows at once) or, for accelerators, ``"gather"``: a
    few wide operations per step (:func:`_scatter_chunks`).  Groups
    whose weight is the same for every target (``scalars[g]`` not None) add that weight into
    one shared array (fewer arrays to keep in cache); the others count spikes in their own
    array, weighted per target afterwards.  Returns (shared array or None, per-group counts).
    """
    shared = None
    if any(w is not None for w in scalars):
        shared = jnp.zeros(n_total + _SINKS, dtype)
    counts_out = []
    for g, (b, delay, _, _) in enumerate(plan.groups):
        slot = (t - delay) % plan.ring
        row = jax.lax.dynamic_index_in_dim(hist[b], slot, keepdims=False)
        value = 1.0 if scalars[g] is None else scalars[g]

        def body(j, x, row=row, table=tables[g], value=value):
            targets = jax.lax.dynamic_index_in_dim(table, row[j], keepdims=False)
            return x.at[targets].add(value, mode="promise_in_bounds")

        x0 = jnp.zeros(n_total + _SINKS, dtype) if scalars[g] is None else shared
        if plan.delivery == "kernel":
            x = _kernel.deliver(tables[g], row, counts[b][slot], x0, value)
        elif plan.delivery == "gather":
            rows = partial(_rows, tables[g], value=value)
            x = _scatter_chunks(x0, row, counts[b][slot], plan.emit_chunks[b], rows, n_total)
        else:
            x = jax.lax.fori_loop(jnp.int32(0), counts[b][slot], body, x0)
        if scalars[g] is None:
            counts_out.append(x[:n_total])
        else:
            shared = x
            counts_out.append(None)
    return (None if shared is None else shared[:n_total]), counts_out


def _deliver_spread(plan, tables, hist, counts, arrive, t, weights):
    """Input arriving at step ``t`` through blocks with per-synapse delays and weights.

    The spikes of step ``t - 1`` are added into ``arrive`` (per channel, a flat ring of
    ``spread_ring`` rows of ``N + _SINKS`` future inputs): a table entry holds
    ``delay_steps * row_length + target``, so one add of the spike's row offset (modulo the
    ring) gives each synapse's address.  Then row ``t`` is read and cleared.
    Returns (arriving input per channel, updated rings).
    """
    n_total = sum(plan.sizes)
    width = n_total + _SINKS
    size = plan.spread_ring * width
    base = ((t - 1) % plan.spread_ring) * width
    slot = (t - 1) % plan.ring
    arrive = list(arrive)
    for (b, _, exc, _), (index, factors), w in zip(plan.spread, tables, weights):
        row = jax.lax.dynamic_index_in_dim(hist[b], slot, keepdims=False)

        def body(j, x, row=row, index=index, factors=factors, w=w):
            i = row[j]
            addr = jax.lax.dynamic_index_in_dim(index, i, keepdims=False) + base
            addr = jnp.where(addr >= size, addr - size, addr)
            value = w if factors is None else w * jax.lax.dynamic_index_in_dim(factors, i, keepdims=False)
            return x.at[addr].add(value, mode="promise_in_bounds")

        ch = 0 if exc or plan.channels == 1 else 1
        if plan.delivery == "kernel":
            arrive[ch] = _kernel.deliver(
                index, row, counts[b][slot], arrive[ch], w, offset=base, modulus=size, factors=factors
            )
        elif plan.delivery == "gather":
            rows = partial(_ring_rows, index, factors, value=w, base=base, size=size)
            arrive[ch] = _scatter_chunks(arrive[ch], row, counts[b][slot], plan.emit_chunks[b], rows, n_total)
        else:
            arrive[ch] = jax.lax.fori_loop(jnp.int32(0), counts[b][slot], body, arrive[ch])
    now = (t % plan.spread_ring) * width
    inputs = [jax.lax.dynamic_slice_in_dim(x, now, n_total) for x in arrive]
    arrive = [jax.lax.dynamic_update_slice_in_dim(x, jnp.zeros(n_total, x.dtype), now, 0) for x in arrive]
    return inputs, tuple(arrive)


def _scatter_chunks(x, row, count, chunk: int, rows, n_total: int):
    """Add the synapses of the ``count`` spikes listed in ``row`` into ``x``, ``chunk`` spikes at
    a time: each chunk is one gather of the spikes' table rows and one scatter-add of all their
    synapses, and one chunk holds a typical step's spikes (``rate_hint``), so a step costs a few
    wide operations instead of a loop over its spikes (the layout for accelerators; a burst
    takes more chunks, so no spike is ever dropped).  ``rows(sources)`` gives the addresses
    (chunk, K) and values (scalar or (chunk, K)) of the given source neurons' synapses.  Entries
    of the last chunk past ``count`` add 0 into the sink entries ``n_total ..`` (never read).
    Adds happen in the order of the loop over spikes, so on the CPU the sums are bit-identical.
    """
    lane = jnp.arange(chunk, dtype=jnp.int32)

    def one(c, x):
        listed = jax.lax.dynamic_slice_in_dim(row, c * chunk, chunk)
        valid = c * chunk + lane < count
        address, value = rows(jnp.where(valid, listed, 0))
        sinks = n_total + jnp.arange(address.shape[-1], dtype=address.dtype) % _SINKS
        address = jnp.where(valid[:, None], address, sinks)
        value = jnp.where(valid[:, None], value, jnp.zeros((), x.dtype))
        return x.at[address].add(value.astype(x.dtype), mode="promise_in_bounds")

    return jax.lax.fori_loop(jnp.int32(0), (count + chunk - 1) // chunk, one, x)


def _rows(table, sources, *, value):
    """Targets of ``sources`` (table rows) and their common weight."""
    return table[sources].astype(jnp.int32), value


def _ring_rows(index, factors, sources, *, value, base, size):
    """Future-input addresses of ``sources``' synapses in the ring (offset to this step's row,
    modulo its ``size``) and their weights ``value * factor``."""
    address = index[sources] + base
    address = jnp.where(address >= size, address - size, address)
    return address, value if factors is None else value * factors[sources]


def _emit(plan, spiked, hist, counts, t):
    """Store the indices of this step's spikes of every population in the ring by stream
    compaction: a spiking neuron's place in the row is the number of spiking neurons before it
    (a prefix sum), so one scan and one scatter list every spike in index order, however many
    fired (no loop: the layout for accelerators and ``batch_mode="vmap"``)."""
    off = plan.offsets
    slot = t % plan.ring
    new_hist, new_counts = [], []
    for b, n_b in enumerate(plan.sizes):
        s_b = spiked[off[b] : off[b + 1]]
        place = jnp.cumsum(s_b, dtype=jnp.int32)
        width = hist[b].shape[-1]
        row = jnp.full(width, n_b, jnp.int32).at[jnp.where(s_b, place - 1, width)].set(
            jnp.arange(n_b, dtype=jnp.int32), mode="drop"
        )
        new_hist.append(jax.lax.dynamic_update_index_in_dim(hist[b], row, slot, 0))
        new_counts.append(counts[b].at[slot].set(place[-1]))
    return tuple(new_hist), tuple(new_counts)


_BIT = np.arange(32, dtype=np.uint32).reshape((1, 32))


def _emit_bits(plan, spiked, hist, counts, t):
    """:func:`_emit` for the CPU: each population's spikes are packed into 32-bit words,
    ``top_k`` picks the non-zero words (in index order; further chunks in a loop) and a loop
    over their set bits writes every spiking neuron's index into the ring (the work follows
    the number of spikes, as the compiled kernel's does; a serial loop per spike, so not for
    GPUs)."""
    off = plan.offsets
    slot = t % plan.ring
    new_hist, new_counts = [], []
    for b, n_b in enumerate(plan.sizes):
        n_words = -(-n_b // 32)
        s_b = spiked[off[b] : off[b + 1]]
        if n_words * 32 != n_b:
            s_b = jnp.pad(s_b, (0, n_words * 32 - n_b))
        words = jnp.sum(s_b.reshape((n_words, 32)).astype(jnp.uint32) << _BIT, axis=1, dtype=jnp.uint32)
        count = jnp.sum(jax.lax.population_count(words), dtype=jnp.int32)
        word_index = jnp.arange(n_words, dtype=jnp.int32)
        k = min(plan.emit_chunks[b], n_words)

        def bit(state, w):
            bits, h, written = state
            lowest = bits & (jnp.uint32(0) - bits)
            i = w * 32 + jax.lax.population_count(lowest - jnp.uint32(1)).astype(jnp.int32)
            h = h.at[slot, written].set(i, mode="promise_in_bounds")
            return bits & (bits - jnp.uint32(1)), h, written + 1

        def word(m, state, widx, words):
            h, written = state
            w = widx[m]
            _, h, written = jax.lax.while_loop(lambda st: st[0] != 0, lambda st: bit(st, w), (words[w], h, written))
            return h, written

        def chunk(state, words=words, word_index=word_index, k=k):
            h, written, after = state
            v, widx = jax.lax.top_k(((words != 0) & (word_index > after)).astype(jnp.float32), k)
            taken = jnp.sum(v > 0, dtype=jnp.int32)
            h, written = jax.lax.fori_loop(jnp.int32(0), taken, partial(word, widx=widx, words=words), (h, written))
            return h, written, widx[jnp.maximum(taken - 1, 0)]

        h, _, _ = jax.lax.while_loop(lambda st, count=count: st[1] < count, chunk, (hist[b], jnp.int32(0), jnp.int32(-1)))
        new_hist.append(h)
        new_counts.append(counts[b].at[slot].set(count))
    return tuple(new_hist), tuple(new_counts)


def _step(plan, tables, c, cdfs, key, carry, t):
    n_total = sum(plan.sizes)
    off = plan.offsets
    v, ref, syn, hist, counts, arrive, acc, pin = carry
    dtype = v.dtype
    main_tables, spread_tables = tables
    shared, spikes_in = _deliver(plan, main_tables, hist, counts, t, n_total, dtype, c["scalar_weights"])
    arrivals = [0.0 if shared is None else shared, 0.0]
    for (_, _, exc, _), w, x in zip(plan.groups, c["weights"], spikes_in):
        if x is not None:
            arrivals[0 if exc else 1] = arrivals[0 if exc else 1] + w * x
    if not isinstance(plan.synapse, Conductance):
        arrivals = [arrivals[0] + arrivals[1]]
    if plan.spread:
        spread_in, arrive = _deliver_spread(plan, spread_tables, hist, counts, arrive, t, c["spread_weights"])
        arrivals = [x + y for x, y in zip(arrivals, spread_in)]
    step_key = jax.random.fold_in(key, t)
    if plan.rng == "hash":
        u = hashed_uniform24(step_key, n_total, dtype)
    else:
        u = uniform24(step_key, (n_total,), dtype)
    if plan.shared_drive:  # one Poisson mean for every population: one table, no slicing
        n_ext = poisson_from_uniform(u, cdfs[0], plan.table_range[0][0]).astype(dtype)
    else:
        n_ext = jnp.concatenate(
            [
                poisson_from_uniform(u[off[a] : off[a + 1]], cdfs[a], plan.table_range[a][0])
                for a in range(len(plan.sizes))
            ]
        ).astype(dtype)
    ext = c["j_ext"] * n_ext
    refractory = ref > 0
    v_free, syn = membrane_update(plan, c, v, syn, arrivals, ext)
    v = jnp.where(refractory, c["v_reset"], v_free)
    if plan.one_thread:
        pin, v = _unsplit(pin, v, t)
    ref = jnp.where(refractory, ref - 1, 0)
    spiked = v >= c["v_th"]
    v = jnp.where(spiked, c["v_reset"], v)
    ref = jnp.where(spiked, c["ref_steps"], ref)

    if plan.delivery == "kernel":
        hist, counts = list(hist), list(counts)
        for b in range(len(plan.sizes)):
            hist[b], counts[b], acc = _kernel.emit(
                spiked, t, t % plan.ring, hist[b], counts[b], acc,
                lo=off[b], hi=off[b + 1], transient=plan.transient_steps,
            )
        hist, counts = tuple(hist), tuple(counts)
    else:
        emit = _emit_bits if plan.emission == "bits" else _emit
        hist, counts = emit(plan, spiked, hist, counts, t)
        acc = stats.accumulate(acc, spiked, t, plan.transient_steps)
    record = (
        jnp.stack([c_b[t % plan.ring] for c_b in counts]),
        spiked[np.asarray(plan.sample, dtype=np.int32)],
        v[np.asarray(plan.record_v, dtype=np.int32)],
    )
    return (v, ref, syn, hist, counts, arrive, acc, pin), record


def _unsplit(buffer, x, t):
    """``x`` written into ``buffer`` (one element longer, carried from step to step) in place
    and read back: the same numbers, computed by a fusion that XLA:CPU runs on one thread.

    XLA:CPU splits a compute-bound loop fusion over its intra-op threads when its estimated cost
    exceeds ~100k cycles per thread (``ParallelTaskAssigner``); the neuron update of a step,
    with the hash and the Poisson table lookup fused in, qualifies from N ~ 10^4.  When every
    core already runs its own slice of a batch, that split only passes half of each update to
    the other slice's thread: ~10% slower per trial on 2 cores.  A fusion whose root may be an
    in-place dynamic-update-slice is never split; the offset ``min(t, 0)`` is 0 at every step
    (``t >= 0``) but not a constant XLA could fold away.
    """
    buffer = jax.lax.dynamic_update_slice(buffer, x, (jnp.minimum(t, 0),))
    return buffer, buffer[: x.shape[0]]


_SINKS = 64  # padding entries scatter into N .. N + 63, not all into one address
#: tables built for a prebuilt Connectivity (dropped with it), keyed by its id and the structure
_TABLES: dict = {}


def _sinks(table, n):
    """Padding entries (index ``n``) spread over ``_SINKS`` sink addresses ``n .. n + 63``:
    increments of a single address form a serial dependency chain that costs ~30% of the
    delivery time."""
    return jnp.where(table == n, n + jnp.arange(table.shape[-1], dtype=jnp.int32) % _SINKS, table)


def _group_tables(groups, n: int, conn: Connectivity, spread_draws) -> tuple:
    """The tables the compiled program reads, built eagerly so that XLA reads plain contiguous
    rows: one per group (the rows of its blocks side by side; uint16 addresses while the
    network has at most 65,472 neurons, else int32), and per block with distributed
    delays/weights its future-input addresses ``delay_steps * (N + _SINKS) + target`` and its
    weight factors (or None).  ``groups``: ``_Plan.groups``; ``n``: number of neurons;
    ``spread_draws``: (block index, delay steps, factors) per entry of ``_Plan.spread``."""
    address = jnp.uint16 if n + _SINKS <= 2**16 else jnp.int32  # half the memory traffic where it fits
    main = tuple(
        _sinks(jnp.concatenate([conn.tables[i] for i in members], axis=-1), n).astype(address)
        for _, _, _, members in groups
    )
    spread = tuple(
        (jnp.asarray(steps) * (n + _SINKS) + _sinks(conn.tables[i], n), None if f is None else jnp.asarray(f))
        for i, steps, f in spread_draws
    )
    return main, spread


def _tables(members, conn_axis, groups, n: int, spread_params, dt):
    """The tables of every batch member ((connectivity, key) pairs; stacked when each has its
    own, ``conn_axis`` 0) and the future-input ring length: every drawn delay (steps
    1 .. longest) besides the current step."""
    draws = [_draw_spread(conn, k, spread_params, dt) for conn, k in members]
    longest = max([int(steps.max()) for draw in draws for _, steps, _ in draw], default=0)
    per_member = [_group_tables(groups, n, conn, draw) for (conn, _), draw in zip(members, draws)]
    tables = per_member[0] if conn_axis is None else _stack_tables(per_member, n)
    return tables, (1 + longest if spread_params else 0)


def _stack_tables(per_member, n: int):
    """Stack the tables of per-member connectivities (for ``redraw_connectivity``), padding
    rows to the widest draw with a sink (arriving one step later) and factor 0."""
    def stack(arrays, fill):
        if arrays[0] is None:
            return None
        width = max(x.shape[-1] for x in arrays)
        return jnp.stack([jnp.pad(x, ((0, 0), (0, width - x.shape[-1])), constant_values=fill) for x in arrays])

    main = tuple(stack([m[0][g] for m in per_member], n) for g in range(len(per_member[0][0])))
    spread = tuple(
        (stack([m[1][g][0] for m in per_member], n + _SINKS + n), stack([m[1][g][1] for m in per_member], 0.0))
        for g in range(len(per_member[0][1]))
    )
    return main, spread


def _run(plan: _Plan, tables: tuple, net: Network, key, state=None):
    """The whole simulation of one network and one trial (mapped over a batch by :func:`simulate`),
    from a fresh start or from ``state``."""
    n_total = sum(plan.sizes)
    dtype = jnp.result_type(net.J.dtype, float)
    c = propagators(plan, net)
    if isinstance(plan.synapse, Conductance):
        c["weights"] = [per_neuron(plan, jnp.abs(net.J[:, b])) / c["g_leak"] for b, _, _, _ in plan.groups]
    else:
        c["weights"] = [per_neuron(plan, net.J[:, b]) for b, _, _, _ in plan.groups]
    c["scalar_weights"] = [None if a < 0 else net.J[a, g[0]] for a, g in zip(plan.uniform, plan.groups)]
    if isinstance(plan.synapse, Conductance):
        g_leak = jnp.broadcast_to(neuron_leaf(net, "c_m") / neuron_leaf(net, "tau_m"), (len(plan.sizes),))
        c["spread_weights"] = [jnp.abs(net.J[a, b]) / g_leak[a] for b, a, _, _ in plan.spread]
    else:
        c["spread_weights"] = [net.J[a, b] for b, a, _, _ in plan.spread]
    lam = net.K_ext * net.nu_ext * plan.dt * 1e-3
    cdfs = [poisson_cdf_table(lam[a], lo, hi).astype(dtype) for a, (lo, hi) in enumerate(plan.table_range)]
    k_init, k_run = jax.random.split(key)
    v0 = c["v_reset"] + jax.random.uniform(k_init, (n_total,), dtype) * (c["v_th"] - c["v_reset"])
    ref0 = jnp.zeros(n_total, jnp.int32)
    n_syn = {"delta": 0, "exp": 1}.get(plan.synapse, 2) if isinstance(plan.synapse, str) else 2
    syn0 = tuple(jnp.zeros(n_total, dtype) for _ in range(n_syn))
    # ring rows are long enough for every neuron to spike plus one chunk of padding
    hist0 = tuple(
        jnp.full((plan.ring, (n // s + 2) * s), n, jnp.int32) for s, n in zip(plan.emit_chunks, plan.sizes)
    )
    counts0 = tuple(jnp.zeros(plan.ring, jnp.int32) for _ in plan.sizes)
    ring_size = plan.spread_ring * (n_total + _SINKS)
    arrive0 = tuple(jnp.zeros(ring_size, dtype) for _ in range(plan.channels if plan.spread else 0))
    t0 = jnp.zeros((), jnp.int32)
    if state is not None:
        v0, ref0, syn0, hist0, counts0, t0 = state.v, state.ref, state.syn, state.hist, state.counts, state.step
        arrive0 = state.arrive
    acc0 = stats.init_accumulators(n_total, dtype)
    step = partial(_step, plan, tables, c, cdfs, k_run)
    pin0 = jnp.zeros(n_total + 1, dtype) if plan.one_thread else None
    (v, ref, syn, hist, counts, arrive, acc, _), (pop_counts, raster, v_trace) = jax.lax.scan(
        step, (v0, ref0, syn0, hist0, counts0, arrive0, acc0, pin0), t0 + jnp.arange(plan.steps, dtype=jnp.int32)
    )
    final = SimulationState(v, ref, syn, hist, counts, t0 + plan.steps, arrive)
    return stats.summarize(plan, acc, pop_counts, raster, v_trace, dtype, final)


@lru_cache(maxsize=32)
def _compiled(plan: _Plan, net_axes, key_axis, conn_axis, batch_mode: str = "map"):
    """The jitted simulation.  A batch (trials and/or parameter points) runs either as a loop
    over its members inside the one compiled program (``"map"``, the CPU default: the
    event-driven loops stay scalar-indexed; ``vmap`` turns them into batched gathers and
    scatters that run as long as the busiest member, 3x slower per trial on the CPU here) or
    vectorized (``"vmap"``, the default on accelerators, where one wide program fills the
    device)."""
    fn = partial(_run, plan)
    if net_axes is None and key_axis is None and conn_axis is None:
        return jax.jit(fn)
    if batch_mode == "vmap":

        def vectorized(conn, net, key, state=None):
            axes = (conn_axis, net_axes, key_axis, None if state is None else key_axis)
            return jax.vmap(fn, in_axes=axes)(conn, net, key, state)

        return jax.jit(vectorized)

    def batched(conn, net, key, state=None):
        args, axes = (conn, net, key, state), (conn_axis, net_axes, key_axis, key_axis)
        leaves, treedef = jax.tree_util.tree_flatten(args)
        axis_leaves = treedef.flatten_up_to(_broadcast_axes(axes, args))
        mapped = [x for x, a in zip(leaves, axis_leaves) if a is not None]

        def one(members):
            it = iter(members)
            full = [next(it) if a is not None else x for x, a in zip(leaves, axis_leaves)]
            return fn(*jax.tree_util.tree_unflatten(treedef, full))

        return jax.lax.map(one, mapped)

    return jax.jit(batched)


def _broadcast_axes(axes, args):
    """Expand a vmap-style ``in_axes`` prefix (None / 0 / pytree) to the full tree of ``args``."""
    out = []
    for axis, arg in zip(axes, args):
        if axis is None or isinstance(axis, int):
            out.append(jax.tree_util.tree_map(lambda _, a=axis: a, arg))
        else:
            out.append(jax.tree_util.tree_map(lambda a, _: a, axis, arg, is_leaf=lambda x: x is None))
    return tuple(out)


def _steps(name, value, dt, *, minimum=0):
    """value / dt as an integer number of steps, or a clear error."""
    n = value / dt
    steps = int(round(n))
    if abs(n - steps) > 1e-6 * max(1.0, abs(n)):
        raise ValueError(f"dt = {dt} ms must divide {name} = {value} ms")
    if steps < minimum:
        raise ValueError(f"{name} = {value} ms must be at least {minimum} step(s) of dt = {dt} ms")
    return steps


_STRUCTURAL = ("N", "K", "delay", "delay_sd")
#: rank of each Network array without a batch axis
_RANK = {"N": 1, "K": 2, "K_ext": 1, "J": 2, "J_ext": 1, "nu_ext": 1, "I_ext": 1, "delay": 2, "J_sd": 2, "delay_sd": 2}


def _unbatch_structure(net: Network):
    """A network built by ``jax.vmap`` carries a batch axis on every array, including the
    structural ones (``N``, ``K``, ``delay``); those must agree across the batch and are
    reduced to one copy (an error names the field that varies).  Returns the network and
    whether it was built that way (``N`` had a batch axis)."""
    fixed = {}
    for field in _STRUCTURAL:
        x = getattr(net, field)
        if jnp.ndim(x) == _RANK[field] + 1:
            x = _concrete(f"network.{field}", x)
            if np.any(x != x[:1]):
                raise ValueError(f"network.{field} cannot vary across a batch (it fixes array shapes)")
            fixed[field] = jnp.asarray(x[0])
    vmapped = "N" in fixed
    if fixed:
        net = eqx.tree_at(lambda n: [getattr(n, f) for f in fixed], net, list(fixed.values()))
    return net, vmapped


def _network_axes(net: Network, vmapped: bool = False):
    """Batch size and vmap axes of a network whose arrays may carry a leading batch axis.

    Unbatched ranks: ``N``, ``K_ext``, ``J_ext``, ``nu_ext``, ``I_ext`` (P,); ``K``, ``J``,
    ``delay`` (P, P); neuron fields scalar or (P,), batched as (B, P).  A network built by
    ``jax.vmap`` (``vmapped``) has the batch axis on every non-structural array.
    """
    p = net.num_populations
    leaves, treedef = jax.tree_util.tree_flatten_with_path(net)
    sizes, axes = set(), []
    for path, leaf in leaves:
        name = ".".join(str(getattr(k, "name", k)) for k in path)
        field = name.split(".")[-1]
        shape = jnp.shape(leaf)
        if vmapped:
            batched = field not in _STRUCTURAL
        elif name.startswith("neuron."):  # (P,) per model, or scalars for one model per population
            batched = len(shape) == (1 if isinstance(net.neuron, tuple) else 2)
        else:
            batched = len(shape) == _RANK[field] + 1
        if not name.startswith("neuron.") and len(shape) not in (_RANK[field], _RANK[field] + 1):
            raise ValueError(f"network.{field} has shape {shape}; expected {(p,) * _RANK[field]}")
        if batched and field in _STRUCTURAL:
            raise ValueError(f"network.{field} cannot vary across a batch (it fixes array shapes)")
        if batched:
            sizes.add(shape[0])
        axes.append(0 if batched else None)
    if len(sizes) > 1:
        raise ValueError(f"batched network arrays disagree on the batch size: {sorted(sizes)}")
    if not sizes:
        return None, None
    return sizes.pop(), jax.tree_util.tree_unflatten(treedef, axes)


def _concrete(name, x):
    if not is_concrete(x):
        raise ValueError(f"{name} must be concrete: call simulate() outside jit (it is compiled inside)")
    return np.asarray(x, float)


def simulate(
    network: Network,
    duration: float,
    *,
    key,
    dt: float = 0.1,
    connectivity: str | Connectivity | None = None,
    redraw_connectivity: bool = False,
    transient: float = 0.0,
    rate_hint: float = 50.0,
    bin_size: float = 1.0,
    count_window: float = 50.0,
    sample_size: int = 100,
    record_v: int = 1,
    segment: float = 256.0,
    rng: str = "hash",
    workers: int | None = None,
    state: SimulationState | None = None,
    batch_mode: str | None = None,
    delivery: str | None = None,
) -> SimulationResult:
    """Simulate the spiking network that ``network`` describes for ``duration`` ms.

    The network is the one :func:`mfjax.solve_rates` solves: population sizes ``N``, in-degrees
    ``K``, PSP jumps ``J`` (mV; conductance jumps in nS for :class:`Conductance` synapses),
    ``K_ext`` external Poisson inputs of rate ``nu_ext`` (Hz) and jump ``J_ext`` each, DC
    current ``I_ext`` (pA), transmission delays ``delay`` (ms), LIF neuron parameters.  Blocks
    with ``delay_sd > 0`` or ``J_sd > 0`` give every synapse its own delay and weight (drawn
    from the run's key as in the Potjans-Diesmann microcircuit: normal, redrawn below ``dt`` /
    across the sign of ``J``; see :func:`draw_delays_and_weights`).  The whole run is one
    ``jax.lax.scan`` compiled once per structure and reused.

    Batching, in one compiled program: ``key`` of shape (B,) (typed keys from
    ``jax.random.split``) runs B trials; a network whose ``J``, ``J_ext``, ``nu_ext``,
    ``I_ext`` or neuron fields carry a leading axis of length B (e.g. built by
    ``jax.vmap(lambda g: brunel_a(g=g))(gs)``) runs B parameter points.  The connectivity is
    drawn once and shared, or drawn per batch member with ``redraw_connectivity=True``.

    Args:
        network: :class:`mfjax.Network` (``synapses`` ``"delta"``, ``"shift"``/``"taylor"``
            (exponential currents with ``neuron.tau_s``) or :class:`Conductance`).
        duration: simulated time (ms), a multiple of ``dt``.
        key: ``jax.random.key`` or a legacy ``jax.random.PRNGKey`` (or a batch of either).
        dt: time step (ms); must divide every delay, ``tau_ref``, ``bin_size`` and ``count_window``.
        connectivity: ``"fixed_indegree"``, ``"fixed_probability"``, ``"fixed_total_number"``
            or a prebuilt :class:`Connectivity` (its sizes and in-degrees must match the
            network's); default: the network's own rule (``network.connectivity``).
        transient: initial time (ms) left out of every statistic.
        rate_hint: typical population rate (Hz); sizes the chunks in which each step's spikes
            are extracted (speed only: every spike is always delivered).
        bin_size: population-rate histogram bin (ms); count_window: window of the Fano factor
            and count correlations (ms); segment: spectrum segment length (ms).
        sample_size: neurons per population whose spikes are recorded (raster, Fano, correlations).
        record_v: number of neurons per population whose membrane potential is recorded.
        rng: uniforms of the Poisson drive: ``"hash"`` (counter-based, default, fast) or
            ``"threefry"`` (``jax.random.bits`` for every neuron and step); see :mod:`._drive`.
        state: continue from ``result.state`` of an earlier call on the same network with the
            same ``key`` (so the same connectivity is drawn, or pass the same ``connectivity``);
            ``transient`` must then be 0.  Chunks continued this way reproduce an uninterrupted
            run exactly; statistics cover the current chunk only.
        batch_mode: ``"map"`` (members one after another inside the program; CPU default) or
            ``"vmap"`` (vectorized; default on GPU/TPU).  Results do not depend on it.
        delivery: how spikes reach their targets: ``"kernel"`` (a compiled C++ loop called
            from XLA, :mod:`._kernel`; CPU only, built on first use with the system's C++
            compiler), ``"loop"`` (a ``jax.lax.fori_loop`` of scatter-adds over the spikes) or
            ``"gather"`` (per step one gather of the spiking neurons' rows and one scatter-add
            per chunk of ``rate_hint``-typical size: few wide operations, for accelerators).
            Default: the kernel on the CPU where it builds, else the loop; the gather on
            accelerators.  Results do not depend on it (bit-identical on the CPU).
        workers: a batch is split into this many equal slices that run concurrently (default:
            the CPU cores available, a divisor of the batch; 1 on a GPU).  When every core
            runs a slice, each step's neuron update stays on its slice's thread.  Results do
            not depend on it.

    Returns:
        :class:`SimulationResult`.

    Example:
        >>> res = simulate(brunel_a(g=5.0, eta=2.0), 1000.0, key=jax.random.key(0))
        >>> res.rates, res.cv   # ~[37.5, 37.5] Hz, ~0.42 (mean field: 37.95 Hz)
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be an mfjax Network, got {type(network).__name__}")
    for name, value in (("duration", duration), ("dt", dt), ("rate_hint", rate_hint),
                        ("bin_size", bin_size), ("count_window", count_window), ("segment", segment)):
        as_checked_array(name, value, positive=True)
        if np.ndim(value) != 0:
            raise ValueError(f"{name} must be a scalar, got shape {np.shape(value)}")
    as_checked_array("transient", transient, nonnegative=True)
    if workers is not None and (not isinstance(workers, (int, np.integer)) or workers < 1):
        raise ValueError(f"workers must be a positive integer or None, got {workers!r}")
    if batch_mode not in (None, "map", "vmap"):
        raise ValueError(f"batch_mode must be 'map' or 'vmap', got {batch_mode!r}")
    if delivery not in (None, "kernel", "loop", "gather"):
        raise ValueError(f"delivery must be 'kernel', 'loop' or 'gather', got {delivery!r}")
    if delivery == "kernel" and (jax.default_backend() != "cpu" or not _kernel.available()):
        raise ValueError("delivery='kernel' needs the CPU backend and a C++ compiler (see mfjax.spiking._kernel)")
    if rng not in ("hash", "threefry"):
        raise ValueError(f"rng must be 'hash' or 'threefry', got {rng!r}")
    if not transient < duration:
        raise ValueError(f"transient = {transient} ms must be shorter than duration = {duration} ms")
    for name, value in (("sample_size", sample_size), ("record_v", record_v)):
        if not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    duration, dt, transient = float(duration), float(dt), float(transient)
    steps = _steps("duration", duration, dt, minimum=1)
    transient_steps = _steps("transient", transient, dt)
    bin_steps = _steps("bin_size", bin_size, dt, minimum=1)
    window_steps = _steps("count_window", count_window, dt, minimum=1)

    network, vmapped = _unbatch_structure(network)
    sizes_f = _concrete("network.N", network.N)
    if np.any(sizes_f != np.round(sizes_f)) or np.any(sizes_f < 1):
        raise ValueError(f"network.N must hold positive integers for a simulation, got {sizes_f}")
    sizes = tuple(int(n) for n in sizes_f)
    p = len(sizes)
    batch, net_axes = _network_axes(network, vmapped)
    delay = _concrete("network.delay", network.delay)
    delay_sd = _concrete("network.delay_sd", network.delay_sd)
    if np.any(delay_sd > 0) and network.delay_distribution != "truncated_gaussian":
        raise ValueError(
            f"network.delay_distribution={network.delay_distribution!r}: the simulator draws "
            "distributed delays from a Gaussian truncated below one time step (PD14's rule) only"
        )
    K = _concrete("network.K", network.K)
    tau_ref = _concrete("neuron.tau_ref", neuron_leaf(network, "tau_ref"))
    for x in np.unique(tau_ref):
        _steps("neuron.tau_ref", float(x), dt)
    for leaf_name in ("J", "J_ext", "nu_ext", "I_ext", "J_sd"):
        as_checked_array(f"network.{leaf_name}", _concrete(f"network.{leaf_name}", getattr(network, leaf_name)))

    if network.synapses == "delta":
        synapse = "delta"
    elif isinstance(network.synapses, Conductance):
        synapse = network.synapses
    else:
        synapse = "exp"
        tau_s = _concrete("neuron.tau_s", neuron_leaf(network, "tau_s"))
        if not np.all(tau_s > 0):
            raise ValueError("exponential synapses need neuron.tau_s > 0")

    groups = {}  # (source, delay, excitatory) -> block indices, in connectivity order
    blocks = []
    spread = []  # blocks with per-synapse delays/weights: (source, target, excitatory, factors)
    spread_params = []  # (block index, delay, delay_sd, relative weight sd)
    J = _concrete("network.J", network.J).reshape((-1, p, p))
    J_sd = _concrete("network.J_sd", network.J_sd).reshape((-1, p, p))
    for a in range(p):
        for b in range(p):
            if K[a, b] == 0:
                continue
            excitatory = True
            if isinstance(synapse, Conductance):
                signs = np.sign(J[:, a, b])
                if np.any(signs != signs[0]):
                    raise ValueError(f"J[{a}, {b}] changes sign across the batch (conductance channel)")
                excitatory = bool(signs[0] >= 0)
            if delay_sd[a, b] > 0 or np.any(J_sd[:, a, b] > 0):
                rel = _relative_spread(J[:, a, b], J_sd[:, a, b], f"[{a}, {b}]")
                if delay_sd[a, b] == 0:
                    _steps(f"delay[{a}, {b}]", float(delay[a, b]), dt, minimum=1)
                elif delay[a, b] <= 0:
                    raise ValueError(f"delay[{a}, {b}] must be positive when delay_sd[{a}, {b}] > 0")
                spread.append((b, a, excitatory, rel > 0))
                spread_params.append((len(blocks), float(delay[a, b]), float(delay_sd[a, b]), rel))
            else:
                d = _steps(f"delay[{a}, {b}]", float(delay[a, b]), dt, minimum=1)
                groups.setdefault((b, d, excitatory), []).append(len(blocks))
            blocks.append((a, b))
    groups = tuple((b, d, e, tuple(m)) for (b, d, e), m in groups.items())
    # current-based groups whose weight is the same for every target population (and batch
    # member) add that weight directly
    uniform = []
    for b, _, _, members in groups:
        targets = [blocks[i][0] for i in members]
        column = J[:, targets, b]
        same = not isinstance(synapse, Conductance) and bool(np.all(column == column[:, :1]))
        uniform.append(targets[0] if same else -1)
    ring = max([d for _, d, _, _ in groups] + [1 if spread else 0]) + 1

    # a chunk (words per top_k of the CPU emission, spikes per gather) holds about twice the
    # typical number of spikes per step
    typical = [n * rate_hint * dt * 1e-3 for n in sizes]
    emit_chunks = tuple(int(min(n, max(16, math.ceil(2 * e)))) for n, e in zip(sizes, typical))

    lam = (_concrete("network.K_ext", network.K_ext) * _concrete("network.nu_ext", network.nu_ext)
           * dt * 1e-3).reshape((-1, p))
    table_range = tuple(poisson_table_bounds(float(lam[:, a].min()), float(lam[:, a].max())) for a in range(p))
    shared_drive = bool(np.all(lam == lam[:, :1]))

    offsets = np.concatenate([[0], np.cumsum(sizes)])
    sample = tuple(int(i) for a in range(p) for i in range(offsets[a], offsets[a] + min(sample_size, sizes[a])))
    rec_v = tuple(int(i) for a in range(p) for i in range(offsets[a], offsets[a] + min(record_v, sizes[a])))
    segment_bins = max(2, int(round(segment / bin_size)))

    # keys: one per trial; network batch and key batch must agree
    key = as_key("key", key)
    if key.ndim > 1:
        raise ValueError(f"key must be one key or a 1-d batch of keys, got shape {key.shape}")
    if key.ndim == 1:
        if batch is not None and key.shape[0] != batch:
            raise ValueError(f"key batch ({key.shape[0]}) must match the network batch ({batch})")
        batch = key.shape[0]
    key_axis = 0 if key.ndim == 1 else None
    if batch is not None and key.ndim == 0:
        key = jax.random.split(key, batch)
        key_axis = 0
    factor_synapses = sum(float(K[a, b] * sizes[a]) for (b, a, _, f) in spread if f)
    channels = 2 if isinstance(synapse, Conductance) else 1
    _check_memory(batch or 1, steps, len(sample), len(rec_v), sizes, K,
                  spread=(_spread_ring_bound(spread_params, dt) * channels, factor_synapses))

    k_conn = connectivity_key(key if key.ndim == 0 else key[0])
    if connectivity is None:
        connectivity = network.connectivity
    if isinstance(connectivity, Connectivity):
        connectivity.check_matches(sizes, K)
        members, conn_axis = [(connectivity, k_conn)], None
    elif connectivity in CONNECTIVITY_RULES:
        if redraw_connectivity and batch is not None:
            keys = jax.random.split(k_conn, batch)
            members, conn_axis = [(build_connectivity(k, sizes, K, connectivity), k) for k in keys], 0
        else:
            members, conn_axis = [(build_connectivity(k_conn, sizes, K, connectivity), k_conn)], None
    else:
        raise ValueError(f"connectivity must be one of {CONNECTIVITY_RULES} or a Connectivity, got {connectivity!r}")

    # a prebuilt connectivity reused with the same structure: its tables are already built
    built = None
    if isinstance(connectivity, Connectivity):
        cache_key = (id(connectivity), groups, tuple(spread_params), dt, np.asarray(jax.random.key_data(k_conn)).tobytes())
        built = _TABLES.get(cache_key)
    if built is None:
        built = _tables(members, conn_axis, groups, sum(sizes), spread_params, dt)
        if isinstance(connectivity, Connectivity):
            _TABLES[cache_key] = built
            weakref.finalize(connectivity, _TABLES.pop, cache_key, None)
    tables, spread_ring = built
    del members, built
    if batch_mode is None:
        batch_mode = "map" if jax.default_backend() == "cpu" else "vmap"
    parts = _worker_count(workers, batch)
    plan = _Plan(
        sizes=sizes, groups=groups, uniform=tuple(uniform), ring=ring, emit_chunks=emit_chunks, steps=steps, dt=dt,
        synapse=synapse, table_range=table_range, sample=sample, record_v=rec_v,
        transient_steps=transient_steps, bin_steps=bin_steps, window_steps=window_steps,
        segment_bins=segment_bins, rng=rng, shared_drive=shared_drive, spread=tuple(spread), spread_ring=spread_ring,
        emission="bits" if batch_mode == "map" else "compact",
        delivery=_delivery(delivery, batch_mode),
        one_thread=parts > 1 and parts >= _cores(),  # every core runs a slice: no intra-op split
        models=model_kinds(network),
    )
    origin = _origin(plan, key, connectivity, k_conn, K, redraw_connectivity and batch is not None)
    if state is not None:
        if not isinstance(state, SimulationState):
            raise TypeError(f"state must be a SimulationState (result.state), got {type(state).__name__}")
        if transient:
            raise ValueError("transient must be 0 when continuing from a state")
        expected = (sum(sizes),) if batch is None else (batch, sum(sizes))
        if tuple(np.shape(state.v)) != expected:
            raise ValueError(f"state.v has shape {np.shape(state.v)}; this network and key need {expected}")
        _check_origin(state.origin, origin)
        state = dataclasses.replace(state, origin=None)
    fn = _compiled(plan, net_axes, key_axis, conn_axis, batch_mode)
    args = (tables, network, key, state)
    axes = (conn_axis, net_axes, key_axis, key_axis)
    if parts == 1:
        return _with_origin(fn(*args), origin)
    # a batch on a multi-core CPU: equal slices run concurrently from threads (XLA releases
    # the GIL; one compiled program serves every slice)
    size = batch // parts
    slices = [_batch_slice(args, axes, slice(i * size, (i + 1) * size)) for i in range(parts)]
    with ThreadPoolExecutor(parts) as pool:
        results = list(pool.map(lambda a: jax.block_until_ready(fn(*a)), slices))
    result = jax.tree_util.tree_map(lambda *xs: jnp.concatenate(xs), *results)
    return _with_origin(result, origin)


_ORIGIN_PARTS = ("key", "connectivity", "structure (sizes, delay ring, synapse model, dt, rate_hint)")


def _origin(plan: _Plan, key, connectivity, k_conn, K, redrawn: bool) -> np.ndarray:
    """uint32 words (..., 3): 32-bit digests of each trial's key, of the connectivity and of the
    state layout (see :class:`SimulationState`)."""
    if isinstance(connectivity, Connectivity):
        conn = connectivity.digest(size=4)
    else:
        conn = fingerprint("rule", connectivity, jax.random.key_data(k_conn), K, redrawn, size=4)
    layout = fingerprint(plan.sizes, plan.ring, plan.emit_chunks, plan.spread_ring, plan.spread, plan.groups,
                         repr(plan.synapse), plan.dt, size=4)
    data = np.asarray(jax.random.key_data(key))
    trials = data.reshape((-1, data.shape[-1]))
    out = np.array([[int(fingerprint(k, size=4), 16), int(conn, 16), int(layout, 16)] for k in trials], np.uint32)
    return out[0] if key.ndim == 0 else out


def _check_origin(found, expected: np.ndarray) -> None:
    if found is None:
        raise ValueError("state has no origin record (it was not returned by simulate); cannot verify it")
    found = np.asarray(found)
    if found.shape != expected.shape:
        raise ValueError(f"state.origin has shape {found.shape}; this run needs {expected.shape} (another batch)")
    for i, part in enumerate(_ORIGIN_PARTS):
        if np.any(found[..., i] != expected[..., i]):
            raise ValueError(f"state comes from a run with another {part}: continue with the same key, "
                             "connectivity and network structure as the run that produced it")


def _with_origin(result: SimulationResult, origin: np.ndarray) -> SimulationResult:
    return dataclasses.replace(result, state=dataclasses.replace(result.state, origin=jnp.asarray(origin)))


def _delivery(delivery, batch_mode) -> str:
    """How spikes are delivered: as asked; by default on the CPU the compiled kernel with
    members run one after another (``batch_mode="map"``) where it builds, else XLA's loop; on
    accelerators the chunked gather/scatter."""
    if delivery is not None:
        return delivery
    if jax.default_backend() != "cpu":
        return "gather"
    return "kernel" if batch_mode == "map" and _kernel.available() else "loop"


def _worker_count(workers, batch) -> int:
    """Number of concurrent slices of a batch: a divisor of the batch size, at most the CPU
    cores (1 on accelerators, where one program already fills the device)."""
    if batch is None or batch < 2:
        return 1
    if workers is None:
        if jax.default_backend() != "cpu":
            return 1
        workers = _cores()
    workers = max(1, min(int(workers), batch))
    while batch % workers:
        workers -= 1
    return workers


def _cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _batch_slice(args, axes, sl):
    """``args`` with every batched leaf (axis 0 in ``axes``) restricted to ``sl``."""
    leaves, treedef = jax.tree_util.tree_flatten(args)
    axis_leaves = treedef.flatten_up_to(_broadcast_axes(axes, args))
    return jax.tree_util.tree_unflatten(treedef, [x[sl] if a is not None else x for x, a in zip(leaves, axis_leaves)])


def connectivity_key(key):
    """The key from which :func:`simulate` draws the connectivity for a run keyed ``key``."""
    return jax.random.fold_in(key, 0x5EED)


def _relative_spread(J, J_sd, where: str) -> float:
    """J_sd / |J| of one block, the same for every batch member (it fixes the drawn factors)."""
    if np.any((J == 0) & (J_sd > 0)):
        raise ValueError(f"J_sd{where} > 0 needs J{where} != 0 (weights keep the sign of J)")
    rel = np.where(J_sd > 0, J_sd / np.where(J == 0, 1.0, np.abs(J)), 0.0)
    if not np.allclose(rel, rel[0], rtol=1e-6, atol=0.0):
        raise ValueError(f"J_sd{where} / |J{where}| cannot vary across a batch (it fixes the drawn weights)")
    return float(rel[0])


def _spread_ring_bound(spread_params, dt) -> int:
    """Upper bound on the future-input ring length (steps): drawn delays are cut at
    ``delay + 10 delay_sd`` (a normal exceeds that with probability < 1e-23 per synapse)."""
    if not spread_params:
        return 0
    longest = max(d + 10.0 * sd for _, d, sd, _ in spread_params)
    return int(math.floor(longest / dt + 0.5)) + 2


def _draw_spread(conn, key, spread_params, dt):
    """Per-synapse delay steps and weight factors of every spread block (see
    :func:`draw_delays_and_weights`), keyed by ``key`` and the block index."""
    out = []
    limit = _spread_ring_bound(spread_params, dt) - 1
    for i, d, sd, rel in spread_params:
        steps, factors = draw_delays_and_weights(
            jax.random.fold_in(key, 1 + i), conn.tables[i], dummy=sum(conn.sizes), dt=dt, delay=d, delay_sd=sd, rel_sd=rel
        )
        out.append((i, np.minimum(steps, limit), factors))
    return out


def _memory_limit() -> int | None:
    """Bytes a run may use: the accelerator's memory (the limit of JAX's allocator there), else
    the host's physical memory; None where neither can be read."""
    device = jax.devices()[0]
    if device.platform != "cpu":
        stats = device.memory_stats() or {}
        if "bytes_limit" in stats:
            return int(stats["bytes_limit"])
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _check_memory(batch, steps, n_sample, n_v, sizes, K, limit_bytes=None, spread=(0, 0.0)):
    """Refuse, before compiling, a run whose records and state would not fit in memory.
    ``spread``: (future-input ring rows, all channels; synapses with drawn weight factors)."""
    n = sum(sizes)
    synapses = float(np.sum(np.asarray(K) * np.asarray(sizes)[:, None]))
    rows, factor_synapses = spread
    need = (batch * (steps * (n_sample + 4 * n_v + 4 * len(sizes)) + 40 * n + 4 * rows * (n + _SINKS))
            + 4.6 * synapses + 8 * factor_synapses)
    if limit_bytes is None:
        limit_bytes = _memory_limit()
        if limit_bytes is None:
            return
    if need > 0.8 * limit_bytes:
        raise MemoryError(
            f"this simulation needs about {need / 2**30:.1f} GiB ({batch} runs x {steps} steps, "
            f"{synapses:.3g} synapses) but {limit_bytes / 2**30:.1f} GiB are available here: "
            "shorten it, batch fewer runs, or record fewer neurons (sample_size, record_v)"
        )
