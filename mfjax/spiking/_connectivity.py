"""Random connectivity as padded out-degree tables, one per (target, source) population block.

A block ``(a, b)`` stores, for every neuron of source population ``b``, the indices of its
targets in population ``a`` (global neuron indices, populations concatenated in order), padded
to a static width with the dummy index ``N`` (a sink that nobody reads).  A spike of source ``j``
is propagated by reading row ``j`` and scatter-adding into the targets: the work is proportional
to the number of synapses of the neurons that spiked, and no N x N matrix is ever formed.

Rules (``K[a, b]`` is the in-degree of the :class:`mfjax.Network`):

* ``"fixed_indegree"``: every neuron of ``a`` draws ``K[a, b]`` sources uniformly from ``b``
  (multapses and autapses allowed, as NEST's ``fixed_indegree``; Brunel 2000).
* ``"fixed_probability"``: every pair is connected independently with ``p = K[a, b] / N_b``
  (Bernoulli; Brian2's ``connect(p=...)``; COBA benchmark), drawn per source row by geometric
  skipping, which is exact.
* ``"fixed_total_number"``: ``N_a K[a, b]`` pairs drawn uniformly (NEST's
  ``fixed_total_number``; the Potjans-Diesmann microcircuit).

Every table is exactly as wide as its longest row, so no synapse is ever lost (the Bernoulli
rule draws with a margin of 8 standard deviations, checks that every row is complete and retries
wider otherwise).
"""

from __future__ import annotations

import math
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Connectivity", "build_connectivity", "neuron_network", "draw_delays_and_weights", "CONNECTIVITY_RULES"]

from .._fingerprint import fingerprint, sampled
from ..populations._network import CONNECTIVITY_RULES, Network


class Connectivity(eqx.Module):
    """Out-degree tables of a network.

    Attributes:
        tables: tuple over blocks of int32 arrays (N_b + 1, width); row ``N_b`` is all dummy.
        blocks: tuple of (target population, source population) per table (static).
        sizes: population sizes (static).
        num_synapses: number of synapses in each block, shape (len(blocks),).
        K: the in-degrees ``K[target, source]`` it was drawn with, as nested tuples (static;
            ``None`` for tables built by hand).
        rule: the connection rule it was drawn with (static; ``None`` for tables built by hand).
    """

    tables: tuple
    num_synapses: jax.Array
    blocks: tuple = eqx.field(static=True)
    sizes: tuple = eqx.field(static=True)
    K: tuple | None = eqx.field(static=True, default=None)
    rule: str | None = eqx.field(static=True, default=None)

    def digest(self, size: int = 16) -> str:
        """Fingerprint of the graph (sizes, blocks, synapse counts and a strided sample of every
        table: microseconds even for 3e8 synapses), for checkpoints and simulation states."""
        return fingerprint("tables", self.sizes, self.blocks, np.asarray(self.num_synapses),
                           [sampled(t) for t in self.tables], size=size)

    def check_matches(self, sizes, K) -> None:
        """Raise ``ValueError`` unless these tables describe a network with population
        ``sizes`` and in-degrees ``K`` (drawn with that ``K``, or, for tables built by hand,
        with block synapse counts within 8 standard deviations of ``N_a K_ab``)."""
        sizes = tuple(int(n) for n in sizes)
        K = np.asarray(K, float)
        if self.sizes != sizes:
            raise ValueError(f"connectivity sizes {self.sizes} do not match network.N {sizes}")
        blocks = tuple((a, b) for a in range(len(sizes)) for b in range(len(sizes)) if K[a, b] > 0)
        if tuple(self.blocks) != blocks:
            raise ValueError("connectivity blocks do not match the non-zero entries of network.K")
        if self.K is not None:
            drawn = np.asarray(self.K, float)
            if drawn.shape != K.shape or not np.allclose(drawn, K, rtol=1e-12, atol=0.0):
                raise ValueError(f"connectivity was drawn with K = {drawn.tolist()}, but network.K = {K.tolist()}")
            return
        counts = np.asarray(self.num_synapses, float)
        for (a, b), n in zip(self.blocks, counts):
            mean = sizes[a] * K[a, b]
            if abs(n - mean) > 8.0 * np.sqrt(mean) + 1.0:
                raise ValueError(
                    f"connectivity block ({a}, {b}) has {int(n)} synapses; network.K[{a}, {b}] = {K[a, b]} "
                    f"with N[{a}] = {sizes[a]} needs about {mean:.0f}"
                )

    def in_degrees(self) -> np.ndarray:
        """Number of synapses onto every neuron from every source population, shape (N, P)."""
        n, p = sum(self.sizes), len(self.sizes)
        out = np.zeros((n + 1, p), np.int64)
        for (_, b), table in zip(self.blocks, self.tables):
            np.add.at(out[:, b], np.asarray(table[:-1]).ravel(), 1)
        return out[:n]

    def counts(self) -> np.ndarray:
        """Dense synapse counts ``A[i, j]``: the number of synapses from neuron ``j`` onto neuron
        ``i`` (global indices, populations concatenated; multapses counted), float64, shape
        (N, N).  For networks small enough to hold N^2 numbers (N = 5000: 200 MB)."""
        n = sum(self.sizes)
        offsets = np.concatenate([[0], np.cumsum(self.sizes)])
        out = np.zeros((n + 1, n), np.float64)
        for (_, b), table in zip(self.blocks, self.tables):
            targets = np.asarray(table[:-1])
            sources = offsets[b] + np.repeat(np.arange(targets.shape[0]), targets.shape[1])
            np.add.at(out, (targets.ravel(), sources), 1.0)
        return out[:n]


def neuron_network(net, connectivity: Connectivity):
    """The neuron-level :class:`mfjax.Network` of one drawn graph: every neuron is a population
    of size 1, ``K[i, j]`` the synapse count :meth:`Connectivity.counts` and ``J[i, j]``,
    ``J_sd``, delays, the neuron and its external drive those of the populations of ``i`` and
    ``j`` in ``net``.  Its mean field gives the rate of every neuron of this realisation, and
    :func:`mfjax.populations.pairwise_covariances` the covariance of every pair."""
    if not isinstance(net, Network):
        raise TypeError(f"net must be an mfjax Network, got {type(net).__name__}")
    if not isinstance(connectivity, Connectivity):
        raise TypeError(f"connectivity must be a Connectivity, got {type(connectivity).__name__}")
    connectivity.check_matches(np.asarray(net.N).round().astype(int), np.asarray(net.K))
    p = net.num_populations
    pop = np.repeat(np.arange(p), connectivity.sizes)
    per_neuron = lambda x: jnp.broadcast_to(jnp.asarray(x), (p,))[pop]  # noqa: E731
    pair = lambda x: jnp.broadcast_to(jnp.asarray(x), (p, p))[pop][:, pop]  # noqa: E731
    neuron = jax.tree_util.tree_map(per_neuron, net.neuron)
    return Network(
        neuron, connectivity.counts(), pair(net.J), K_ext=per_neuron(net.K_ext), J_ext=per_neuron(net.J_ext),
        nu_ext=per_neuron(net.nu_ext), I_ext=per_neuron(net.I_ext), delay=pair(net.delay), J_sd=pair(net.J_sd),
        delay_sd=pair(net.delay_sd), synapses=net.synapses, connectivity=net.connectivity,
        delay_distribution=net.delay_distribution, input_model=net.input_model,
    )


def _width(mean: float) -> int:
    """Static row width covering a binomial/Poisson out-degree of this mean with margin."""
    return int(math.ceil(mean + 8.0 * math.sqrt(mean) + 8.0))


def _numpy_rng(key) -> np.random.Generator:
    """A numpy generator seeded by a JAX key (128 bits), so that draws follow the user's key."""
    return np.random.default_rng(np.asarray(jax.random.bits(key, (4,), jnp.uint32)))


def _group_by_source(src, n_src: int):
    """Stable order of the pairs by source index (LSD radix sort on 16-bit digits: O(M))."""
    order = np.argsort((src & 0xFFFF).astype(np.uint16), kind="stable")
    if n_src > 0xFFFF:
        order = order[np.argsort((src[order] >> 16).astype(np.uint16), kind="stable")]
    return order


def _sorted_block(key, *, rule, n_tgt, n_src, k, offset, dummy):
    """Fixed in-degree / fixed total number: draw pairs, group them by source into a table
    exactly as wide as the longest row."""
    rng = _numpy_rng(key)
    m = int(round(n_tgt * k))
    src = rng.integers(0, n_src, m, dtype=np.int32)
    order = _group_by_source(src, n_src)
    if rule == "fixed_indegree":
        tgt = (order // k).astype(np.int32)  # pairs were laid out target by target
    else:
        tgt = rng.integers(0, n_tgt, m, dtype=np.int32)[order]
    src = src[order]
    counts = np.bincount(src, minlength=n_src)
    width = max(1, int(counts.max()) if m else 0)
    table = np.full((n_src + 1, width), dummy, np.int32)
    start = np.cumsum(counts) - counts
    flat = np.arange(m, dtype=np.int64) + (src.astype(np.int64) * width - start[src])
    table.reshape(-1)[flat] = tgt + offset
    return jnp.asarray(table), m


@partial(jax.jit, static_argnames=("n_tgt", "n_src", "p", "width", "offset", "dummy"))
def _bernoulli_block(key, *, n_tgt, n_src, p, width, offset, dummy):
    """Fixed probability: per source row, successive targets by geometric skipping (exact)."""
    u = jax.random.uniform(key, (n_src, width), minval=jnp.finfo(jnp.float32).tiny)
    if p < 1:
        # gaps >= 1 between successive targets: P(gap = m) = (1 - p)^(m - 1) p
        failures = jnp.minimum(jnp.floor(jnp.log(u) / math.log1p(-p)), n_tgt + 1)
        gaps = failures.astype(jnp.int32) + 1
    else:
        gaps = jnp.ones((n_src, width), jnp.int32)
    pos = jnp.cumsum(gaps, axis=1) - 1
    valid = pos < n_tgt
    table = jnp.where(valid, pos + offset, dummy).astype(jnp.int32)
    table = jnp.concatenate([table, jnp.full((1, width), dummy, jnp.int32)])
    # a row is complete only if its last drawn position already lies beyond the block
    return table, jnp.sum(valid), jnp.any(valid[:, -1]), jnp.max(jnp.sum(valid, axis=1))


def build_connectivity(key, sizes, K, rule: str = "fixed_indegree") -> Connectivity:
    """Draw a random network: ``sizes`` (P,) ints, ``K`` (P, P) in-degrees ``K[target, source]``.

    Works on concrete values (it runs at the Python edge, before the simulation compiles); the
    pairs of the sorted rules are drawn and grouped with numpy (radix sort, O(synapses)),
    seeded from ``key``.
    """
    if rule not in CONNECTIVITY_RULES:
        raise ValueError(f"connectivity must be one of {CONNECTIVITY_RULES}, got {rule!r}")
    sizes = tuple(int(n) for n in sizes)
    K = np.asarray(K, float)
    n_total = sum(sizes)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    blocks, tables, counts = [], [], []
    keys = jax.random.split(key, K.size)
    for a in range(len(sizes)):
        for b in range(len(sizes)):
            k = K[a, b]
            if k == 0:
                continue
            if rule == "fixed_probability":
                if k > sizes[b]:
                    raise ValueError(f"K[{a}, {b}] = {k} exceeds N[{b}] = {sizes[b]} for fixed_probability")
                kk = float(k)
                mean = sizes[a] * kk / sizes[b]
            elif rule == "fixed_indegree":
                if k != round(k):
                    raise ValueError(f"K[{a}, {b}] = {k} must be an integer for fixed_indegree")
                kk = int(round(k))
            else:
                kk = float(k)  # fixed_total_number draws round(N_a K) pairs
            key_ab = keys[a * len(sizes) + b]
            common = dict(n_tgt=sizes[a], n_src=sizes[b], offset=int(offsets[a]), dummy=n_total)
            if rule == "fixed_probability":
                width = _width(mean)
                while True:
                    table, num, overflow, longest = _bernoulli_block(key_ab, p=kk / sizes[b], width=width, **common)
                    if not bool(overflow):
                        break
                    width *= 2
                table = table[:, : max(1, int(longest))]  # valid targets form a prefix of each row
            else:
                table, num = _sorted_block(key_ab, rule=rule, k=kk, **common)
            blocks.append((a, b))
            tables.append(table)
            counts.append(num)
    return Connectivity(tuple(tables), jnp.asarray(counts), tuple(blocks), sizes,
                        tuple(tuple(float(k) for k in row) for row in K), rule)


def _redrawn_normal(rng, shape, mean, sd, minimum):
    """Normal(mean, sd) samples (float32), each redrawn until it is >= ``minimum`` (NEST's
    ``redraw``; a truncated normal)."""
    x = (mean + sd * rng.standard_normal(shape, dtype=np.float32)).astype(np.float32)
    low = np.flatnonzero(x < minimum)
    while low.size:
        x.reshape(-1)[low] = mean + sd * rng.standard_normal(low.size, dtype=np.float32)
        low = low[x.reshape(-1)[low] < minimum]
    return x


def draw_delays_and_weights(key, table, *, dummy, dt, delay, delay_sd, rel_sd):
    """Per-synapse delays and weight factors of one block (numpy, at the Python edge).

    As in the Potjans-Diesmann (2014) microcircuit (NEST's ``redraw``): each synapse's delay is
    drawn from Normal(``delay``, ``delay_sd``) (ms), redrawn until it is at least ``dt``, and
    rounded to the ``dt`` grid; its weight is ``J * m`` with ``m`` drawn from Normal(1, ``rel_sd``)
    redrawn until ``m >= 0`` (a weight keeps the sign of ``J``).

    Args:
        key: JAX key (seeds numpy).
        table: the block's out-degree table (dummy entries get delay 1 step and factor 0).
        dt, delay, delay_sd: ms; rel_sd: relative weight spread ``J_sd / |J|``.

    Returns:
        (delay steps, int32 array shaped like ``table``; weight factors, float32 array, or None
        when ``rel_sd`` is 0).
    """
    rng = _numpy_rng(key)
    table = np.asarray(table)
    pad = table == dummy
    if delay_sd > 0:
        steps = np.rint(_redrawn_normal(rng, table.shape, delay, delay_sd, dt) / dt).astype(np.int32)
        steps[pad] = 1
    else:
        steps = np.full(table.shape, max(1, int(round(delay / dt))), np.int32)
    factors = None
    if rel_sd > 0:
        factors = _redrawn_normal(rng, table.shape, 1.0, rel_sd, 0.0)
        factors[pad] = 0.0
    return steps, factors
