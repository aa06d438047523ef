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

The step (:func:`_step`) calls small pieces, each in a module of its own: :mod:`._delivery`
(steps 1 and 4), :mod:`._drive` (2), :mod:`._dynamics` (3); the connection tables it reads
come from :mod:`._tables` and batches of runs are mapped by :mod:`._batching`.
Statistics are accumulated online (spike counts, inter-spike-interval moments) and a bounded
record is kept (population spike counts per step, the spike raster of a sample, a few membrane
traces); :mod:`._statistics` turns them into rates, CV, Fano factors, correlations, spectra.
"""

from __future__ import annotations

import dataclasses
import math
from functools import lru_cache, partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_checked_array, as_key
from .._fingerprint import fingerprint
from ..populations import Conductance, Network
from . import _kernel
from . import _statistics as stats
from ._batching import (batch_program, check_memory, concrete, cores, network_axes, run_in_slices, unbatch_structure,
                        worker_count)
from ._connectivity import CONNECTIVITY_RULES, Connectivity, build_connectivity
from ._delivery import SINKS, choose_delivery, deliver, deliver_spread, emit, emit_bits
from ._drive import hashed_uniform24, poisson_cdf_table, poisson_from_uniform, poisson_table_bounds, uniform24
from ._dynamics import membrane_update, model_kinds, neuron_leaf, per_neuron, propagators
from ._tables import plan_blocks, spread_ring_bound, tables_for, whole_steps

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
    emit_chunks: tuple  # per population: words per top_k (._delivery.emit_bits), spikes per gather (._delivery.scatter_chunks)
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
    delivery: str = "loop"  # "kernel" (compiled CPU kernel, ._kernel), "loop" or "gather" (see ._delivery.deliver)
    one_thread: bool = False  # keep each step's neuron update on one thread (see _unsplit)
    models: tuple = ()  # neuron model kind of each population ("lif", "eif", "qif"; ._dynamics)

    @property
    def channels(self) -> int:
        """Input channels: excitatory and inhibitory conductances, or one summed current."""
        return 2 if isinstance(self.synapse, Conductance) else 1

    @property
    def offsets(self):
        return tuple(int(x) for x in np.concatenate([[0], np.cumsum(self.sizes)]))



def _step(plan, tables, c, cdfs, key, carry, t):
    n_total = sum(plan.sizes)
    off = plan.offsets
    v, ref, syn, hist, counts, arrive, acc, pin = carry
    dtype = v.dtype
    main_tables, spread_tables = tables
    shared, spikes_in = deliver(plan, main_tables, hist, counts, t, n_total, dtype, c["scalar_weights"])
    arrivals = [0.0 if shared is None else shared, 0.0]
    for (_, _, exc, _), w, x in zip(plan.groups, c["weights"], spikes_in):
        if x is not None:
            arrivals[0 if exc else 1] = arrivals[0 if exc else 1] + w * x
    if not isinstance(plan.synapse, Conductance):
        arrivals = [arrivals[0] + arrivals[1]]
    if plan.spread:
        spread_in, arrive = deliver_spread(plan, spread_tables, hist, counts, arrive, t, c["spread_weights"])
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
        emit_spikes = emit_bits if plan.emission == "bits" else emit
        hist, counts = emit_spikes(plan, spiked, hist, counts, t)
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
    ring_size = plan.spread_ring * (n_total + SINKS)
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
    """The jitted simulation of ``plan`` over the batch the axes describe (:func:`._batching.batch_program`)."""
    return batch_program(partial(_run, plan), net_axes, key_axis, conn_axis, batch_mode)


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
    _check_options(duration=duration, dt=dt, rate_hint=rate_hint, bin_size=bin_size, count_window=count_window,
                   segment=segment, transient=transient, workers=workers, batch_mode=batch_mode, delivery=delivery,
                   rng=rng, sample_size=sample_size, record_v=record_v)
    duration, dt, transient = float(duration), float(dt), float(transient)
    steps = whole_steps("duration", duration, dt, minimum=1)
    transient_steps = whole_steps("transient", transient, dt)
    bin_steps = whole_steps("bin_size", bin_size, dt, minimum=1)
    window_steps = whole_steps("count_window", count_window, dt, minimum=1)

    network, vmapped = unbatch_structure(network)
    sizes_f = concrete("network.N", network.N)
    if np.any(sizes_f != np.round(sizes_f)) or np.any(sizes_f < 1):
        raise ValueError(f"network.N must hold positive integers for a simulation, got {sizes_f}")
    sizes = tuple(int(n) for n in sizes_f)
    p = len(sizes)
    batch, net_axes = network_axes(network, vmapped)
    if np.any(concrete("network.delay_sd", network.delay_sd) > 0) and network.delay_distribution != "truncated_gaussian":
        raise ValueError(
            f"network.delay_distribution={network.delay_distribution!r}: the simulator draws "
            "distributed delays from a Gaussian truncated below one time step (PD14's rule) only"
        )
    K = concrete("network.K", network.K)
    for x in np.unique(concrete("neuron.tau_ref", neuron_leaf(network, "tau_ref"))):
        whole_steps("neuron.tau_ref", float(x), dt)
    for leaf_name in ("J", "J_ext", "nu_ext", "I_ext", "J_sd"):
        as_checked_array(f"network.{leaf_name}", concrete(f"network.{leaf_name}", getattr(network, leaf_name)))
    synapse = _synapse_model(network)
    groups, uniform, spread, spread_params, ring = plan_blocks(network, synapse, K, dt)

    # a chunk (words per top_k of the CPU emission, spikes per gather) holds about twice the
    # typical number of spikes per step
    typical = [n * rate_hint * dt * 1e-3 for n in sizes]
    emit_chunks = tuple(int(min(n, max(16, math.ceil(2 * e)))) for n, e in zip(sizes, typical))
    lam = (concrete("network.K_ext", network.K_ext) * concrete("network.nu_ext", network.nu_ext)
           * dt * 1e-3).reshape((-1, p))
    table_range = tuple(poisson_table_bounds(float(lam[:, a].min()), float(lam[:, a].max())) for a in range(p))
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    sample = tuple(int(i) for a in range(p) for i in range(offsets[a], offsets[a] + min(sample_size, sizes[a])))
    rec_v = tuple(int(i) for a in range(p) for i in range(offsets[a], offsets[a] + min(record_v, sizes[a])))

    key, key_axis, batch = _trial_keys(key, batch)
    factor_synapses = sum(float(K[a, b] * sizes[a]) for (b, a, _, f) in spread if f)
    channels = 2 if isinstance(synapse, Conductance) else 1
    check_memory(batch or 1, steps, len(sample), len(rec_v), sizes, K,
                 spread=(spread_ring_bound(spread_params, dt) * channels, factor_synapses))

    k_conn = connectivity_key(key if key.ndim == 0 else key[0])
    if connectivity is None:
        connectivity = network.connectivity
    redrawn = redraw_connectivity and batch is not None
    members, conn_axis = _connectivity_members(connectivity, k_conn, sizes, K, batch if redrawn else None)
    tables, spread_ring = tables_for(connectivity, members, conn_axis, groups, sum(sizes), spread_params, dt, k_conn)
    del members
    if batch_mode is None:
        batch_mode = "map" if jax.default_backend() == "cpu" else "vmap"
    parts = worker_count(workers, batch)
    plan = _Plan(
        sizes=sizes, groups=groups, uniform=uniform, ring=ring, emit_chunks=emit_chunks, steps=steps, dt=dt,
        synapse=synapse, table_range=table_range, sample=sample, record_v=rec_v,
        transient_steps=transient_steps, bin_steps=bin_steps, window_steps=window_steps,
        segment_bins=max(2, int(round(segment / bin_size))), rng=rng, shared_drive=bool(np.all(lam == lam[:, :1])),
        spread=spread, spread_ring=spread_ring,
        emission="bits" if batch_mode == "map" else "compact",
        delivery=choose_delivery(delivery, batch_mode),
        one_thread=parts > 1 and parts >= cores(),  # every core runs a slice: no intra-op split
        models=model_kinds(network),
    )
    origin = _origin(plan, key, connectivity, k_conn, K, redrawn)
    if state is not None:
        state = _checked_state(state, origin, transient, (sum(sizes),) if batch is None else (batch, sum(sizes)))
    fn = _compiled(plan, net_axes, key_axis, conn_axis, batch_mode)
    result = run_in_slices(fn, (tables, network, key, state), (conn_axis, net_axes, key_axis, key_axis), batch, parts)
    return dataclasses.replace(result, state=dataclasses.replace(result.state, origin=jnp.asarray(origin)))


def _check_options(*, duration, dt, rate_hint, bin_size, count_window, segment, transient, workers, batch_mode,
                   delivery, rng, sample_size, record_v) -> None:
    """Clear errors for :func:`simulate`'s options, before anything is drawn or compiled."""
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


def _synapse_model(network: Network):
    """``"delta"``, ``"exp"`` (exponential currents: the ``"shift"`` / ``"taylor"`` mean-field
    corrections simulate the same network) or the :class:`Conductance` description."""
    if network.synapses == "delta":
        return "delta"
    if isinstance(network.synapses, Conductance):
        return network.synapses
    tau_s = concrete("neuron.tau_s", neuron_leaf(network, "tau_s"))
    if not np.all(tau_s > 0):
        raise ValueError("exponential synapses need neuron.tau_s > 0")
    return "exp"


def _trial_keys(key, batch):
    """(keys, their batch axis or None, batch size): one key per trial; a single key with a
    batched network is split into one per member; a key batch must match the network's."""
    key = as_key("key", key)
    if key.ndim > 1:
        raise ValueError(f"key must be one key or a 1-d batch of keys, got shape {key.shape}")
    if key.ndim == 1:
        if batch is not None and key.shape[0] != batch:
            raise ValueError(f"key batch ({key.shape[0]}) must match the network batch ({batch})")
        return key, 0, key.shape[0]
    if batch is not None:
        return jax.random.split(key, batch), 0, batch
    return key, None, None


def _connectivity_members(connectivity, k_conn, sizes, K, redraw: int | None):
    """The (connectivity, key) pairs of a run and their batch axis: a prebuilt
    :class:`Connectivity` (checked against the network), one drawn by the named rule, or one
    per batch member (``redraw`` members, ``redraw_connectivity``)."""
    if isinstance(connectivity, Connectivity):
        connectivity.check_matches(sizes, K)
        return [(connectivity, k_conn)], None
    if connectivity not in CONNECTIVITY_RULES:
        raise ValueError(f"connectivity must be one of {CONNECTIVITY_RULES} or a Connectivity, got {connectivity!r}")
    if redraw is not None:
        return [(build_connectivity(k, sizes, K, connectivity), k) for k in jax.random.split(k_conn, redraw)], 0
    return [(build_connectivity(k_conn, sizes, K, connectivity), k_conn)], None


def _checked_state(state, origin, transient, expected_shape):
    """``state`` ready to continue from: a :class:`SimulationState` of this network, key and
    connectivity (its origin record checked), with ``transient`` 0."""
    if not isinstance(state, SimulationState):
        raise TypeError(f"state must be a SimulationState (result.state), got {type(state).__name__}")
    if transient:
        raise ValueError("transient must be 0 when continuing from a state")
    if tuple(np.shape(state.v)) != expected_shape:
        raise ValueError(f"state.v has shape {np.shape(state.v)}; this network and key need {expected_shape}")
    _check_origin(state.origin, origin)
    return dataclasses.replace(state, origin=None)


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


def connectivity_key(key):
    """The key from which :func:`simulate` draws the connectivity for a run keyed ``key``."""
    return jax.random.fold_in(key, 0x5EED)

