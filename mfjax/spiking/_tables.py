"""Connection tables of a simulation: the blocks of a :class:`mfjax.Network` grouped for
delivery, and the padded arrays the compiled step reads.

:func:`plan_blocks` groups the blocks (target a, source b) of the network by (source, delay,
sign) so that one read of a spike's merged row reaches all its targets, and sets apart the
blocks whose synapses have their own delays and weights (``delay_sd``, ``J_sd``).
:func:`build_tables` turns a drawn :class:`Connectivity` into those rows (addresses as uint16
where the network fits) plus, per spread block, future-input addresses and weight factors
(drawn by :func:`draw_delays_and_weights`); :func:`tables_for` caches them for a prebuilt
connectivity.
"""

from __future__ import annotations

import math
import weakref

import jax
import jax.numpy as jnp
import numpy as np

from ..populations import Conductance
from ._connectivity import Connectivity, draw_delays_and_weights
from ._batching import concrete
from ._delivery import SINKS

#: tables built for a prebuilt Connectivity (dropped with it), keyed by its id and the structure
_TABLES: dict = {}


def whole_steps(name, value, dt, *, minimum=0):
    """value / dt as an integer number of steps, or a clear error."""
    n = value / dt
    steps = int(round(n))
    if abs(n - steps) > 1e-6 * max(1.0, abs(n)):
        raise ValueError(f"dt = {dt} ms must divide {name} = {value} ms")
    if steps < minimum:
        raise ValueError(f"{name} = {value} ms must be at least {minimum} step(s) of dt = {dt} ms")
    return steps


def sinks(table, n):
    """Padding entries (index ``n``) spread over ``SINKS`` sink addresses ``n .. n + 63``:
    increments of a single address form a serial dependency chain that costs ~30% of the
    delivery time."""
    return jnp.where(table == n, n + jnp.arange(table.shape[-1], dtype=jnp.int32) % SINKS, table)


def group_tables(groups, n: int, conn: Connectivity, spread_draws) -> tuple:
    """The tables the compiled program reads, built eagerly so that XLA reads plain contiguous
    rows: one per group (the rows of its blocks side by side; uint16 addresses while the
    network has at most 65,472 neurons, else int32), and per block with distributed
    delays/weights its future-input addresses ``delay_steps * (N + SINKS) + target`` and its
    weight factors (or None).  ``groups``: ``_Plan.groups``; ``n``: number of neurons;
    ``spread_draws``: (block index, delay steps, factors) per entry of ``_Plan.spread``."""
    address = jnp.uint16 if n + SINKS <= 2**16 else jnp.int32  # half the memory traffic where it fits
    main = tuple(
        sinks(jnp.concatenate([conn.tables[i] for i in members], axis=-1), n).astype(address)
        for _, _, _, members in groups
    )
    spread = tuple(
        (jnp.asarray(steps) * (n + SINKS) + sinks(conn.tables[i], n), None if f is None else jnp.asarray(f))
        for i, steps, f in spread_draws
    )
    return main, spread


def build_tables(members, conn_axis, groups, n: int, spread_params, dt):
    """The tables of every batch member ((connectivity, key) pairs; stacked when each has its
    own, ``conn_axis`` 0) and the future-input ring length: every drawn delay (steps
    1 .. longest) besides the current step."""
    draws = [draw_spread(conn, k, spread_params, dt) for conn, k in members]
    longest = max([int(steps.max()) for draw in draws for _, steps, _ in draw], default=0)
    per_member = [group_tables(groups, n, conn, draw) for (conn, _), draw in zip(members, draws)]
    tables = per_member[0] if conn_axis is None else stack_tables(per_member, n)
    return tables, (1 + longest if spread_params else 0)


def stack_tables(per_member, n: int):
    """Stack the tables of per-member connectivities (for ``redraw_connectivity``), padding
    rows to the widest draw with a sink (arriving one step later) and factor 0."""
    def stack(arrays, fill):
        if arrays[0] is None:
            return None
        width = max(x.shape[-1] for x in arrays)
        return jnp.stack([jnp.pad(x, ((0, 0), (0, width - x.shape[-1])), constant_values=fill) for x in arrays])

    main = tuple(stack([m[0][g] for m in per_member], n) for g in range(len(per_member[0][0])))
    spread = tuple(
        (stack([m[1][g][0] for m in per_member], n + SINKS + n), stack([m[1][g][1] for m in per_member], 0.0))
        for g in range(len(per_member[0][1]))
    )
    return main, spread


def relative_spread(J, J_sd, where: str) -> float:
    """J_sd / |J| of one block, the same for every batch member (it fixes the drawn factors)."""
    if np.any((J == 0) & (J_sd > 0)):
        raise ValueError(f"J_sd{where} > 0 needs J{where} != 0 (weights keep the sign of J)")
    rel = np.where(J_sd > 0, J_sd / np.where(J == 0, 1.0, np.abs(J)), 0.0)
    if not np.allclose(rel, rel[0], rtol=1e-6, atol=0.0):
        raise ValueError(f"J_sd{where} / |J{where}| cannot vary across a batch (it fixes the drawn weights)")
    return float(rel[0])


def spread_ring_bound(spread_params, dt) -> int:
    """Upper bound on the future-input ring length (steps): drawn delays are cut at
    ``delay + 10 delay_sd`` (a normal exceeds that with probability < 1e-23 per synapse)."""
    if not spread_params:
        return 0
    longest = max(d + 10.0 * sd for _, d, sd, _ in spread_params)
    return int(math.floor(longest / dt + 0.5)) + 2


def draw_spread(conn, key, spread_params, dt):
    """Per-synapse delay steps and weight factors of every spread block (see
    :func:`draw_delays_and_weights`), keyed by ``key`` and the block index."""
    out = []
    limit = spread_ring_bound(spread_params, dt) - 1
    for i, d, sd, rel in spread_params:
        steps, factors = draw_delays_and_weights(
            jax.random.fold_in(key, 1 + i), conn.tables[i], dummy=sum(conn.sizes), dt=dt, delay=d, delay_sd=sd, rel_sd=rel
        )
        out.append((i, np.minimum(steps, limit), factors))
    return out


def plan_blocks(network, synapse, K, dt: float):
    """The delivery structure of a network's blocks (target a, source b with ``K[a, b] > 0``).

    Returns ``(groups, uniform, spread, spread_params, ring)``: ``groups`` the blocks with one
    delay per block, grouped by (source, delay steps, excitatory) as ``(b, steps, excitatory,
    block indices)``; ``uniform`` per group the target population whose ``J`` serves all its
    targets (current synapses whose weight is the same for every target and batch member:
    added directly), else -1; ``spread`` the blocks with per-synapse delays/weights as
    ``(b, a, excitatory, has weight factors)`` and ``spread_params`` their ``(block index,
    delay, delay_sd, J_sd / |J|)``; ``ring`` the length of the spike ring (longest delay + 1).
    Block indices count the non-empty blocks in row-major (a, b) order, as the connectivity
    does.  Conductance synapses take the channel from the sign of ``J``.
    """
    p = K.shape[0]
    delay = concrete("network.delay", network.delay)
    delay_sd = concrete("network.delay_sd", network.delay_sd)
    J = concrete("network.J", network.J).reshape((-1, p, p))
    J_sd = concrete("network.J_sd", network.J_sd).reshape((-1, p, p))
    conductance = isinstance(synapse, Conductance)
    groups, blocks, spread, spread_params = {}, [], [], []
    for a in range(p):
        for b in range(p):
            if K[a, b] == 0:
                continue
            excitatory = True
            if conductance:
                signs = np.sign(J[:, a, b])
                if np.any(signs != signs[0]):
                    raise ValueError(f"J[{a}, {b}] changes sign across the batch (conductance channel)")
                excitatory = bool(signs[0] >= 0)
            if delay_sd[a, b] > 0 or np.any(J_sd[:, a, b] > 0):
                rel = relative_spread(J[:, a, b], J_sd[:, a, b], f"[{a}, {b}]")
                if delay_sd[a, b] == 0:
                    whole_steps(f"delay[{a}, {b}]", float(delay[a, b]), dt, minimum=1)
                elif delay[a, b] <= 0:
                    raise ValueError(f"delay[{a}, {b}] must be positive when delay_sd[{a}, {b}] > 0")
                spread.append((b, a, excitatory, rel > 0))
                spread_params.append((len(blocks), float(delay[a, b]), float(delay_sd[a, b]), rel))
            else:
                d = whole_steps(f"delay[{a}, {b}]", float(delay[a, b]), dt, minimum=1)
                groups.setdefault((b, d, excitatory), []).append(len(blocks))
            blocks.append((a, b))
    groups = tuple((b, d, e, tuple(m)) for (b, d, e), m in groups.items())
    uniform = []
    for b, _, _, members in groups:
        targets = [blocks[i][0] for i in members]
        column = J[:, targets, b]
        same = not conductance and bool(np.all(column == column[:, :1]))
        uniform.append(targets[0] if same else -1)
    ring = max([d for _, d, _, _ in groups] + [1 if spread else 0]) + 1
    return groups, tuple(uniform), tuple(spread), tuple(spread_params), ring


def tables_for(connectivity, members, conn_axis, groups, n: int, spread_params, dt, k_conn):
    """:func:`build_tables` of ``members``; for a prebuilt :class:`Connectivity` reused with
    the same structure and key, the tables built the first time (dropped with it)."""
    if not isinstance(connectivity, Connectivity):
        return build_tables(members, conn_axis, groups, n, spread_params, dt)
    cache_key = (id(connectivity), groups, tuple(spread_params), dt, np.asarray(jax.random.key_data(k_conn)).tobytes())
    built = _TABLES.get(cache_key)
    if built is None:
        built = _TABLES[cache_key] = build_tables(members, conn_axis, groups, n, spread_params, dt)
        weakref.finalize(connectivity, _TABLES.pop, cache_key, None)
    return built
