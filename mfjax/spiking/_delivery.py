"""Spike delivery and emission: the event-driven halves of one simulation step.

Each step, :func:`deliver` adds the synapses of the spikes emitted ``delay`` steps ago into the
input of their targets, :func:`deliver_spread` does the same for blocks whose synapses have
their own delays and weights (through a ring of future input), and :func:`emit_bits` /
:func:`emit` list the indices of this step's spiking neurons in the spike ring.  The work
follows the number of spikes, not of neurons or synapses.  Three interchangeable ways of
delivering (``plan.delivery``; results bit-identical on the CPU): the compiled C++ loop of
:mod:`._kernel`, XLA's ``fori_loop`` of scatter-adds, or chunked gathers and scatter-adds for
accelerators (:func:`scatter_chunks`).  ``plan`` is the simulator's static ``_Plan``.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from . import _kernel

SINKS = 64  # padding entries scatter into N .. N + 63, not all into one address


def deliver(plan, tables, hist, counts, t, n_total, dtype, scalars):
    """Synaptic input arriving at step ``t``.

    For each of the ``n`` spikes of a group's source population ``delay`` steps ago (read from
    the ring) the merged table row is read as one contiguous slice and its targets are
    incremented, so the work is the number of synapses of the neurons that fired: by a loop
    over the spikes (``plan.delivery`` ``"kernel"`` in C++ or ``"loop"``, XLA's loop; ~5x
    faster on the CPU than gathering all rows at once) or, for accelerators, ``"gather"``: a
    few wide operations per step (:func:`scatter_chunks`).  Groups
    whose weight is the same for every target (``scalars[g]`` not None) add that weight into
    one shared array (fewer arrays to keep in cache); the others count spikes in their own
    array, weighted per target afterwards.  Returns (shared array or None, per-group counts).
    """
    shared = None
    if any(w is not None for w in scalars):
        shared = jnp.zeros(n_total + SINKS, dtype)
    counts_out = []
    for g, (b, delay, _, _) in enumerate(plan.groups):
        slot = (t - delay) % plan.ring
        row = jax.lax.dynamic_index_in_dim(hist[b], slot, keepdims=False)
        value = 1.0 if scalars[g] is None else scalars[g]

        def body(j, x, row=row, table=tables[g], value=value):
            targets = jax.lax.dynamic_index_in_dim(table, row[j], keepdims=False)
            return x.at[targets].add(value, mode="promise_in_bounds")

        x0 = jnp.zeros(n_total + SINKS, dtype) if scalars[g] is None else shared
        if plan.delivery == "kernel":
            x = _kernel.deliver(tables[g], row, counts[b][slot], x0, value)
        elif plan.delivery == "gather":
            rows = partial(_rows, tables[g], value=value)
            x = scatter_chunks(x0, row, counts[b][slot], plan.emit_chunks[b], rows, n_total)
        else:
            x = jax.lax.fori_loop(jnp.int32(0), counts[b][slot], body, x0)
        if scalars[g] is None:
            counts_out.append(x[:n_total])
        else:
            shared = x
            counts_out.append(None)
    return (None if shared is None else shared[:n_total]), counts_out


def deliver_spread(plan, tables, hist, counts, arrive, t, weights):
    """Input arriving at step ``t`` through blocks with per-synapse delays and weights.

    The spikes of step ``t - 1`` are added into ``arrive`` (per channel, a flat ring of
    ``spread_ring`` rows of ``N + SINKS`` future inputs): a table entry holds
    ``delay_steps * row_length + target``, so one add of the spike's row offset (modulo the
    ring) gives each synapse's address.  Then row ``t`` is read and cleared.
    Returns (arriving input per channel, updated rings).
    """
    n_total = sum(plan.sizes)
    width = n_total + SINKS
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
            arrive[ch] = scatter_chunks(arrive[ch], row, counts[b][slot], plan.emit_chunks[b], rows, n_total)
        else:
            arrive[ch] = jax.lax.fori_loop(jnp.int32(0), counts[b][slot], body, arrive[ch])
    now = (t % plan.spread_ring) * width
    inputs = [jax.lax.dynamic_slice_in_dim(x, now, n_total) for x in arrive]
    arrive = [jax.lax.dynamic_update_slice_in_dim(x, jnp.zeros(n_total, x.dtype), now, 0) for x in arrive]
    return inputs, tuple(arrive)


def scatter_chunks(x, row, count, chunk: int, rows, n_total: int):
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
        sinks = n_total + jnp.arange(address.shape[-1], dtype=address.dtype) % SINKS
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


def emit(plan, spiked, hist, counts, t):
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


def emit_bits(plan, spiked, hist, counts, t):
    """:func:`emit` for the CPU: each population's spikes are packed into 32-bit words,
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


def choose_delivery(delivery, batch_mode) -> str:
    """How spikes are delivered: as asked; by default on the CPU the compiled kernel with
    members run one after another (``batch_mode="map"``) where it builds, else XLA's loop; on
    accelerators the chunked gather/scatter."""
    if delivery is not None:
        return delivery
    if jax.default_backend() != "cpu":
        return "gather"
    return "kernel" if batch_mode == "map" and _kernel.available() else "loop"
