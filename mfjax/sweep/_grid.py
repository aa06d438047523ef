"""Parameter sweeps: jit + vmap a function over a grid, in chunks of bounded memory, resumable.

The grid is the Cartesian product of named 1-d axes.  Points are evaluated in chunks of
``chunk_size`` by one compiled ``vmap`` (the last chunk is padded so that nothing recompiles).
With ``checkpoint=DIR`` every finished chunk is written atomically to ``DIR/chunk_NNNNN.npz``
(numpy arrays only, never pickle) and a restarted sweep skips the chunks already on disk.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["SweepResult", "grid_sweep", "atomic_save_npz"]


def atomic_save_npz(path, **arrays) -> None:
    """Write ``arrays`` to ``path`` (.npz) atomically: temp file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


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


def _fingerprint(axes: dict, chunk_size: int, tag: str) -> str:
    h = hashlib.sha256(tag.encode())
    h.update(str(chunk_size).encode())
    for k, v in axes.items():
        h.update(k.encode())
        h.update(np.ascontiguousarray(v, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


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
        tag: label mixed into the checkpoint fingerprint (e.g. the model name), so a folder used
            for a different sweep is never silently reused.

    Returns:
        :class:`SweepResult` with outputs reshaped to the grid.
    """
    if not axes:
        raise ValueError("axes must name at least one parameter")
    axes = {k: np.asarray(v, dtype=float) for k, v in axes.items()}
    for k, v in axes.items():
        if v.ndim != 1 or v.size == 0:
            raise ValueError(f"axis {k!r} must be a non-empty 1-d array, got shape {v.shape}")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"axis {k!r} must be finite")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    shape = tuple(v.size for v in axes.values())
    mesh = np.meshgrid(*axes.values(), indexing="ij")
    flat = {k: m.ravel() for k, m in zip(axes, mesh)}
    total = int(np.prod(shape))
    chunk_size = min(chunk_size, total)
    n_chunks = -(-total // chunk_size)

    folder = None
    if checkpoint is not None:
        folder = Path(checkpoint)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {"fingerprint": _fingerprint(axes, chunk_size, tag), "n_chunks": n_chunks}
        meta_path = folder / "sweep.json"
        if meta_path.exists():
            old = json.loads(meta_path.read_text())
            if old != meta:
                raise ValueError(
                    f"checkpoint folder {folder} holds a different sweep ({old}); use another folder"
                )
        else:
            tmp = meta_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(meta))
            os.replace(tmp, meta_path)

    batched = _batched(fn)
    pieces = []
    for c in range(n_chunks):
        path = None if folder is None else folder / f"chunk_{c:05d}.npz"
        if path is not None and path.exists():
            with np.load(path, allow_pickle=False) as data:
                pieces.append({k: data[k] for k in data.files})
            continue
        lo, hi = c * chunk_size, min((c + 1) * chunk_size, total)
        idx = np.arange(lo, lo + chunk_size).clip(max=total - 1)  # pad with the last point
        out = batched({k: jnp.asarray(v[idx]) for k, v in flat.items()})
        out = {k: np.asarray(v)[: hi - lo] for k, v in out.items()}
        if path is not None:
            atomic_save_npz(path, **out)
        pieces.append(out)
    values = {
        k: np.concatenate([p[k] for p in pieces]).reshape(shape + pieces[0][k].shape[1:])
        for k in pieces[0]
    }
    return SweepResult(axes, values)
