"""Parameter sweeps: jit + vmap a function over a grid, in chunks of bounded memory, resumable.

The grid is the Cartesian product of named 1-d axes.  Points are evaluated in chunks of
``chunk_size`` by one compiled ``vmap`` (the last chunk is padded so that nothing recompiles).
With ``checkpoint=DIR`` every finished chunk is written atomically to ``DIR/chunk_NNNNN.npz``
(numpy arrays only, never pickle) and a restarted sweep skips the chunks already on disk.  The
folder's manifest records what produced it (the function and what it closes over, the axes,
chunking, dtype, mfjax version; :mod:`._checkpoint`) and the digest of every chunk: resuming a
different sweep is refused, and a damaged, swapped or foreign chunk is moved aside and
recomputed.
"""

from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_checked_array, as_int
from .._fingerprint import fingerprint
from ._checkpoint import Checkpoint, atomic_save_npz

__all__ = ["SweepResult", "grid_sweep", "atomic_save_npz"]


class SweepResult:
    """Labelled sweep output.

    Attributes:
        axes: dict axis name -> 1-d numpy array of values (grid order).
        values: dict output name -> numpy array of shape (len(axis_0), len(axis_1), ...) + trailing.
    """

    def __init__(self, axes: dict, values: dict):
        self.axes = axes
        self.values = values

    def __getitem__(self, name):
        return self.values[name]

    def masked(self, name: str, valid: str = "converged") -> np.ma.MaskedArray:
        """``values[name]`` as a masked array, masked where ``values[valid]`` is False."""
        data = self.values[name]
        ok = self.values[valid].astype(bool)
        ok = ok.reshape(ok.shape + (1,) * (data.ndim - ok.ndim))
        return np.ma.masked_array(data, mask=np.broadcast_to(~ok, data.shape))

    def save(self, path) -> None:
        """Atomic .npz with ``axis:NAME`` and ``value:NAME`` entries."""
        arrays = {f"axis:{k}": v for k, v in self.axes.items()}
        arrays.update({f"value:{k}": v for k, v in self.values.items()})
        atomic_save_npz(path, **arrays)

    @classmethod
    def load(cls, path) -> "SweepResult":
        with np.load(path, allow_pickle=False) as data:
            axes = {k[5:]: data[k] for k in data.files if k.startswith("axis:")}
            values = {k[6:]: data[k] for k in data.files if k.startswith("value:")}
        return cls(axes, values)


def _meta(fn, axes: dict, chunk_size: int, n_chunks: int, tag: str) -> dict:
    """What determines a sweep's chunks (recorded in, and verified against, the manifest, which
    adds dtype and version)."""
    return {
        "job": "grid_sweep",
        "tag": tag,
        "function": f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}",
        "function_digest": fingerprint(fn),
        "axes": {k: [int(v.size), fingerprint(v)] for k, v in axes.items()},
        "chunk_size": chunk_size,
        "n_chunks": n_chunks,
    }


@functools.lru_cache(maxsize=64)
def _batched(fn: Callable) -> Callable:
    """The compiled ``vmap`` of ``fn`` over a chunk, cached per function: a second sweep of the
    same ``fn`` with the same chunk size reuses the compiled program."""
    return jax.jit(jax.vmap(lambda kw: fn(**kw)))


def grid_sweep(
    fn: Callable[..., dict],
    axes: dict,
    *,
    chunk_size: int = 4096,
    checkpoint=None,
    tag: str = "",
) -> SweepResult:
    """Evaluate ``fn(**point)`` on the grid spanned by ``axes``.

    Args:
        fn: pure JAX function of one scalar keyword per axis, returning a dict of arrays.
        axes: dict name -> 1-d values; the grid is their Cartesian product (first axis slowest).
        chunk_size: points per compiled vmap call (bounds memory).
        checkpoint: folder for resumable chunk files (None: keep in memory only).
        tag: label recorded in the checkpoint manifest (e.g. the model name).  The function
            itself (code, constants, closed-over values) is fingerprinted too, so a folder
            written by another function is refused.

    Returns:
        :class:`SweepResult` with outputs reshaped to the grid.
    """
    if not axes:
        raise ValueError("axes must name at least one parameter")
    if not isinstance(axes, dict):
        raise ValueError(f"axes must be a dict name -> 1-d values, got {type(axes).__name__}")
    for k, v in axes.items():
        as_checked_array(f"axis {k!r}", v)
    axes = {k: np.asarray(v, dtype=float) for k, v in axes.items()}
    for k, v in axes.items():
        if v.ndim != 1 or v.size == 0:
            raise ValueError(f"axis {k!r} must be a non-empty 1-d array, got shape {v.shape}")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"axis {k!r} must be finite")
    chunk_size = as_int("chunk_size", chunk_size, minimum=1)
    if not isinstance(tag, str):
        raise ValueError(f"tag must be a string, got {tag!r}")
    shape = tuple(v.size for v in axes.values())
    mesh = np.meshgrid(*axes.values(), indexing="ij")
    flat = {k: m.ravel() for k, m in zip(axes, mesh)}
    total = int(np.prod(shape))
    chunk_size = min(chunk_size, total)
    n_chunks = -(-total // chunk_size)

    ckpt = None
    if checkpoint is not None:
        ckpt = Checkpoint(checkpoint, _meta(fn, axes, chunk_size, n_chunks, tag)).open()

    batched = _batched(fn)
    pieces = []
    for c in range(n_chunks):
        name = f"chunk_{c:05d}.npz"
        if ckpt is not None and (saved := ckpt.load(name)) is not None:
            pieces.append(saved)
            continue
        lo, hi = c * chunk_size, min((c + 1) * chunk_size, total)
        idx = np.arange(lo, lo + chunk_size).clip(max=total - 1)  # pad with the last point
        out = batched({k: jnp.asarray(v[idx]) for k, v in flat.items()})
        out = {k: np.asarray(v)[: hi - lo] for k, v in out.items()}
        if ckpt is not None:
            ckpt.save(name, out)
        pieces.append(out)
    values = {
        k: np.concatenate([p[k] for p in pieces]).reshape(shape + pieces[0][k].shape[1:])
        for k in pieces[0]
    }
    return SweepResult(axes, values)
