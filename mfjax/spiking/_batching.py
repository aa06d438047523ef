"""Batches of simulations in one compiled program, and the resources they need.

A batch is a set of trials (a batch of keys), of parameter points (network arrays with a
leading axis, e.g. built by ``jax.vmap``) or both.  :func:`network_axes` finds the batched
leaves, :func:`batch_program` maps one run over the batch inside one program (``"map"``: a loop,
the CPU layout; ``"vmap"``: vectorized, for accelerators) and :func:`run_in_slices` runs equal
slices of a batch concurrently on the CPU cores.  :func:`check_memory` refuses, before
compiling, a run that could not fit.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import is_concrete
from ..populations import Network
from ._delivery import SINKS


def batch_program(fn, net_axes, key_axis, conn_axis, batch_mode: str = "map"):
    """``fn(tables, net, key, state)`` (one run) jitted over a batch whose leaves carry a leading
    axis where ``conn_axis``, ``net_axes`` (a pytree prefix of the network) and ``key_axis``
    say.  The members run either as a loop inside the one compiled program (``"map"``, the
    CPU default: the event-driven loops stay scalar-indexed; ``vmap`` turns them into batched
    gathers and scatters that run as long as the busiest member, 3x slower per trial on the
    CPU here) or vectorized (``"vmap"``, the default on accelerators, where one wide program
    fills the device)."""
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
        axis_leaves = treedef.flatten_up_to(broadcast_axes(axes, args))
        mapped = [x for x, a in zip(leaves, axis_leaves) if a is not None]

        def one(members):
            it = iter(members)
            full = [next(it) if a is not None else x for x, a in zip(leaves, axis_leaves)]
            return fn(*jax.tree_util.tree_unflatten(treedef, full))

        return jax.lax.map(one, mapped)

    return jax.jit(batched)


def broadcast_axes(axes, args):
    """Expand a vmap-style ``in_axes`` prefix (None / 0 / pytree) to the full tree of ``args``."""
    out = []
    for axis, arg in zip(axes, args):
        if axis is None or isinstance(axis, int):
            out.append(jax.tree_util.tree_map(lambda _, a=axis: a, arg))
        else:
            out.append(jax.tree_util.tree_map(lambda a, _: a, axis, arg, is_leaf=lambda x: x is None))
    return tuple(out)


_STRUCTURAL = ("N", "K", "delay", "delay_sd")
#: rank of each Network array without a batch axis
_RANK = {"N": 1, "K": 2, "K_ext": 1, "J": 2, "J_ext": 1, "nu_ext": 1, "I_ext": 1, "delay": 2, "J_sd": 2, "delay_sd": 2}


def unbatch_structure(net: Network):
    """A network built by ``jax.vmap`` carries a batch axis on every array, including the
    structural ones (``N``, ``K``, ``delay``); those must agree across the batch and are
    reduced to one copy (an error names the field that varies).  Returns the network and
    whether it was built that way (``N`` had a batch axis)."""
    fixed = {}
    for field in _STRUCTURAL:
        x = getattr(net, field)
        if jnp.ndim(x) == _RANK[field] + 1:
            x = concrete(f"network.{field}", x)
            if np.any(x != x[:1]):
                raise ValueError(f"network.{field} cannot vary across a batch (it fixes array shapes)")
            fixed[field] = jnp.asarray(x[0])
    vmapped = "N" in fixed
    if fixed:
        net = eqx.tree_at(lambda n: [getattr(n, f) for f in fixed], net, list(fixed.values()))
    return net, vmapped


def network_axes(net: Network, vmapped: bool = False):
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


def concrete(name, x):
    if not is_concrete(x):
        raise ValueError(f"{name} must be concrete: call simulate() outside jit (it is compiled inside)")
    return np.asarray(x, float)


def worker_count(workers, batch) -> int:
    """Number of concurrent slices of a batch: a divisor of the batch size, at most the CPU
    cores (1 on accelerators, where one program already fills the device)."""
    if batch is None or batch < 2:
        return 1
    if workers is None:
        if jax.default_backend() != "cpu":
            return 1
        workers = cores()
    workers = max(1, min(int(workers), batch))
    while batch % workers:
        workers -= 1
    return workers


def cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def batch_slice(args, axes, sl):
    """``args`` with every batched leaf (axis 0 in ``axes``) restricted to ``sl``."""
    leaves, treedef = jax.tree_util.tree_flatten(args)
    axis_leaves = treedef.flatten_up_to(broadcast_axes(axes, args))
    return jax.tree_util.tree_unflatten(treedef, [x[sl] if a is not None else x for x, a in zip(leaves, axis_leaves)])


def run_in_slices(fn, args, axes, batch: int, parts: int):
    """``fn(*args)`` for a batch of ``batch`` members (leading axis where ``axes`` say), split
    into ``parts`` equal slices that run concurrently from threads (XLA releases the GIL; one
    compiled program serves every slice), concatenated back in order."""
    if parts == 1:
        return fn(*args)
    size = batch // parts
    slices = [batch_slice(args, axes, slice(i * size, (i + 1) * size)) for i in range(parts)]
    with ThreadPoolExecutor(parts) as pool:
        results = list(pool.map(lambda a: jax.block_until_ready(fn(*a)), slices))
    return jax.tree_util.tree_map(lambda *xs: jnp.concatenate(xs), *results)


def memory_limit() -> int | None:
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


def check_memory(batch, steps, n_sample, n_v, sizes, K, limit_bytes=None, spread=(0, 0.0)):
    """Refuse, before compiling, a run whose records and state would not fit in memory.
    ``spread``: (future-input ring rows, all channels; synapses with drawn weight factors)."""
    n = sum(sizes)
    synapses = float(np.sum(np.asarray(K) * np.asarray(sizes)[:, None]))
    rows, factor_synapses = spread
    need = (batch * (steps * (n_sample + 4 * n_v + 4 * len(sizes)) + 40 * n + 4 * rows * (n + SINKS))
            + 4.6 * synapses + 8 * factor_synapses)
    if limit_bytes is None:
        limit_bytes = memory_limit()
        if limit_bytes is None:
            return
    if need > 0.8 * limit_bytes:
        raise MemoryError(
            f"this simulation needs about {need / 2**30:.1f} GiB ({batch} runs x {steps} steps, "
            f"{synapses:.3g} synapses) but {limit_bytes / 2**30:.1f} GiB are available here: "
            "shorten it, batch fewer runs, or record fewer neurons (sample_size, record_v)"
        )
