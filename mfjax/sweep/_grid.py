"""Parameter sweeps: jit + vmap a function over a grid, in chunks of bounded memory, resumable,
spread over devices and processes.

The grid is the Cartesian product of named 1-d axes.  Points are evaluated in chunks of
``chunk_size`` by one compiled ``vmap`` (the last chunk is padded so that nothing recompiles).
With ``checkpoint=DIR`` every finished chunk is written atomically to ``DIR/chunk_NNNNN.npz``
(numpy arrays only, never pickle) and a restarted sweep skips the chunks already on disk.  The
folder's manifest records what produced it (the function and what it closes over, the axes,
chunking, dtype, mfjax version; :mod:`._checkpoint`) and the digest of every chunk: resuming a
different sweep is refused, and a damaged, swapped or foreign chunk is moved aside and
recomputed.

Scale (issue 24):

* ``devices``: each chunk is split over several local devices (a 1-d ``jax.sharding.Mesh``
  named ``"points"``, the chunk's point axis sharded).  Every point is computed by the same
  program on one device, so the result is bit-identical to one device; the chunk layout (and so
  the checkpoint) does not depend on the number of devices.
* ``share=(index, count)``: this process computes chunks ``index, index + count, ...`` only,
  recording them in its own manifest (:class:`Checkpoint` writers).  Under JAX's distributed
  runtime (``jax.distributed.initialize``, one process per host or GPU) the share defaults to
  ``(jax.process_index(), jax.process_count())``; every process then waits at a barrier and
  assembles the whole grid from the folder.  Without the runtime (a SLURM array job) a share
  returns ``None`` after writing its chunks, and the merge is one later call without a share,
  which reads every chunk and computes only those still missing.
"""

from __future__ import annotations

import functools
import json
import time
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_checked_array, as_int
from .._fingerprint import fingerprint
from ._checkpoint import Checkpoint, atomic_save_npz
from ._provenance import provenance

__all__ = ["SweepResult", "grid_sweep", "atomic_save_npz", "local_devices"]


class SweepResult:
    """Labelled sweep output.

    Attributes:
        axes: dict axis name -> 1-d numpy array of values (grid order).
        values: dict output name -> numpy array of shape (len(axis_0), len(axis_1), ...) + trailing.
        units: dict name (axis or output) -> unit string (``""``: dimensionless; absent: unknown).
        dims: dict output name -> names of its trailing dimensions (e.g. ``("population",)``).
        coords: dict trailing dimension name -> its labels (e.g. population names).
        provenance: what produced the result (:func:`mfjax.sweep.provenance`: config, versions,
            devices, processes, dtype, wall time).
    """

    def __init__(self, axes: dict, values: dict, *, units=None, dims=None, coords=None, provenance=None):
        self.axes = axes
        self.values = values
        self.units = dict(units or {})
        self.dims = {k: tuple(v) for k, v in (dims or {}).items()}
        self.coords = {k: np.asarray(v) for k, v in (coords or {}).items()}
        self.provenance = dict(provenance or {})

    def __getitem__(self, name):
        return self.values[name]

    def masked(self, name: str, valid: str = "converged") -> np.ma.MaskedArray:
        """``values[name]`` as a masked array, masked where ``values[valid]`` is False."""
        data = self.values[name]
        ok = self.values[valid].astype(bool)
        ok = ok.reshape(ok.shape + (1,) * (data.ndim - ok.ndim))
        return np.ma.masked_array(data, mask=np.broadcast_to(~ok, data.shape))

    def _labels(self) -> dict:
        return {"units": self.units, "dims": {k: list(v) for k, v in self.dims.items()},
                "provenance": self.provenance}

    def save(self, path) -> None:
        """Atomic .npz with ``axis:NAME``, ``value:NAME`` and ``coord:NAME`` entries and the
        labels (units, dims, provenance) as one JSON string ``meta:labels`` (no pickle)."""
        arrays = {f"axis:{k}": v for k, v in self.axes.items()}
        arrays.update({f"value:{k}": v for k, v in self.values.items()})
        arrays.update({f"coord:{k}": v for k, v in self.coords.items()})
        arrays["meta:labels"] = np.asarray(json.dumps(self._labels(), default=str))
        atomic_save_npz(path, **arrays)

    @classmethod
    def load(cls, path) -> "SweepResult":
        with np.load(path, allow_pickle=False) as data:
            axes = {k[5:]: data[k] for k in data.files if k.startswith("axis:")}
            values = {k[6:]: data[k] for k in data.files if k.startswith("value:")}
            coords = {k[6:]: data[k] for k in data.files if k.startswith("coord:")}
            labels = json.loads(str(data["meta:labels"])) if "meta:labels" in data.files else {}
        return cls(axes, values, coords=coords, **labels)

    def _trailing_dims(self, name: str) -> tuple:
        extra = self.values[name].ndim - len(self.axes)
        dims = self.dims.get(name, ())
        if len(dims) != extra:
            dims = tuple(f"{name}_dim_{i}" for i in range(extra))
        return dims

    def to_xarray(self):
        """The result as an ``xarray.Dataset``: one data variable per output over the named grid
        axes (and its trailing dimensions), the axis values as coordinates, ``units`` attributes,
        and the provenance (JSON) in the dataset's attributes.  Needs ``pip install xarray``."""
        try:
            import xarray as xr
        except ImportError as err:
            raise ImportError("SweepResult.to_xarray needs xarray (pip install 'mfjax[xarray]')") from err
        grid = tuple(self.axes)
        data_vars = {}
        for name, v in self.values.items():
            attrs = {"units": self.units[name]} if name in self.units else {}
            data_vars[name] = (grid + self._trailing_dims(name), np.asarray(v), attrs)
        coords = {k: (k, v, {"units": self.units[k]} if k in self.units else {}) for k, v in self.axes.items()}
        coords.update({k: (k, v) for k, v in self.coords.items()})
        attrs = {"provenance": json.dumps(self.provenance, default=str), "producer": "mfjax.sweep.grid_sweep"}
        return xr.Dataset(data_vars, coords=coords, attrs=attrs)

    def to_netcdf(self, path) -> None:
        """Write :meth:`to_xarray` to a netCDF file atomically (scipy's or netCDF4's writer)."""
        from ._checkpoint import atomic_write_bytes

        ds = self.to_xarray()
        # netCDF has no boolean type: flags are stored as 0/1 bytes
        ds = ds.assign({k: v.astype(np.int8) for k, v in ds.data_vars.items() if v.dtype == bool})
        atomic_write_bytes(path, ds.to_netcdf())


def _function_name(fn) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def _meta(fn, axes: dict, chunk_size: int, n_chunks: int, tag: str) -> dict:
    """What determines a sweep's chunks (recorded in, and verified against, the manifest, which
    adds dtype and version)."""
    return {
        "job": "grid_sweep",
        "tag": tag,
        "function": _function_name(fn),
        "function_digest": fingerprint(fn),
        "axes": {k: [int(v.size), fingerprint(v)] for k, v in axes.items()},
        "chunk_size": chunk_size,
        "n_chunks": n_chunks,
    }


def local_devices(devices=None) -> list:
    """The local devices a sweep spreads over: ``None`` or ``1`` -> the default device,
    ``"all"`` -> every local device, an int n -> the first n, or a list of devices."""
    local = jax.local_devices()
    if devices is None:
        return local[:1]
    if isinstance(devices, str):
        if devices != "all":
            raise ValueError(f"devices must be 'all', a number or a list of devices, got {devices!r}")
        return local
    if isinstance(devices, (list, tuple)):
        if not devices or not all(isinstance(d, jax.Device) for d in devices):
            raise ValueError("devices must be a non-empty list of jax devices")
        return list(devices)
    n = as_int("devices", devices, minimum=1, maximum=len(local))
    return local[:n]


@functools.lru_cache(maxsize=64)
def _batched(fn: Callable) -> Callable:
    """The compiled ``vmap`` of ``fn`` over a chunk, cached per function: a second sweep of the
    same ``fn`` with the same chunk size reuses the compiled program."""
    return jax.jit(jax.vmap(lambda kw: fn(**kw)))


def _placer(devices: list):
    """Put a chunk's inputs on ``devices``: one device as is, several as a 1-d mesh with the
    point axis sharded (the jitted program then runs one slice per device)."""
    if len(devices) == 1:
        return lambda x: jax.device_put(x, devices[0])
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    sharding = NamedSharding(Mesh(np.asarray(devices), ("points",)), PartitionSpec("points"))
    return lambda x: jax.device_put(x, sharding)


def _resolve_share(share):
    """``(index, count)`` of this process, and whether JAX's distributed runtime links them."""
    distributed = jax.process_count() > 1
    if share is None:
        return (jax.process_index(), jax.process_count()) if distributed else (0, 1), distributed
    if not (isinstance(share, (tuple, list)) and len(share) == 2):
        raise ValueError(f"share must be (index, count), got {share!r}")
    count = as_int("share count", share[1], minimum=1)
    index = as_int("share index", share[0], minimum=0, maximum=count - 1)
    if distributed and (index, count) != (jax.process_index(), jax.process_count()):
        raise ValueError(
            f"share={share!r} differs from the distributed runtime's process "
            f"{jax.process_index()} of {jax.process_count()}; leave share unset under jax.distributed"
        )
    return (index, count), distributed


def _barrier(name: str) -> None:
    from jax.experimental import multihost_utils

    multihost_utils.sync_global_devices(name)


def grid_sweep(
    fn: Callable[..., dict],
    axes: dict,
    *,
    chunk_size: int = 4096,
    checkpoint=None,
    tag: str = "",
    devices=None,
    share=None,
    progress: Callable | None = None,
    units: dict | None = None,
    dims: dict | None = None,
    coords: dict | None = None,
) -> SweepResult | None:
    """Evaluate ``fn(**point)`` on the grid spanned by ``axes``.

    Args:
        fn: pure JAX function of one scalar keyword per axis, returning a dict of arrays.
        axes: dict name -> 1-d values; the grid is their Cartesian product (first axis slowest).
        chunk_size: points per compiled vmap call (bounds memory).
        checkpoint: folder for resumable chunk files (None: keep in memory only).
        tag: label recorded in the checkpoint manifest (e.g. the model name).  The function
            itself (code, constants, closed-over values) is fingerprinted too, so a folder
            written by another function is refused.
        devices: local devices each chunk is split over (:func:`local_devices`: ``None`` the
            default device, ``"all"``, a number, or a list); results are bit-identical.
        share: ``(index, count)``: compute only this process's chunks (module docstring);
            needs ``checkpoint``.  Default: the distributed runtime's process, else everything.
        progress: called as ``progress(done, total, points)`` after every chunk of this
            process's share (``points``: points computed, 0 for a chunk read back).
        units, dims, coords: labels for :class:`SweepResult` (units per axis/output, trailing
            dimension names per output, labels per trailing dimension).

    Returns:
        :class:`SweepResult` with outputs reshaped to the grid, or ``None`` for a share of an
        array job (no distributed runtime): its chunks are in ``checkpoint``.
    """
    t_start = time.perf_counter()
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
    if progress is not None and not callable(progress):
        raise ValueError("progress must be callable(done, total, points)")
    devs = local_devices(devices)
    (index, count), distributed = _resolve_share(share)
    if count > 1 and checkpoint is None:
        raise ValueError("a sweep shared between processes needs checkpoint= (a folder every process can reach)")
    shape = tuple(v.size for v in axes.values())
    mesh = np.meshgrid(*axes.values(), indexing="ij")
    flat = {k: m.ravel() for k, m in zip(axes, mesh)}
    total = int(np.prod(shape))
    chunk_size = min(chunk_size, total)
    n_chunks = -(-total // chunk_size)
    padded = -(-chunk_size // len(devs)) * len(devs)  # a whole number of points per device

    ckpt = None
    if checkpoint is not None:
        writer = None if count == 1 else index
        ckpt = Checkpoint(checkpoint, _meta(fn, axes, chunk_size, n_chunks, tag), writer=writer).open()

    batched = _batched(fn)
    place = _placer(devs)
    pieces = {}
    mine = range(index, n_chunks, count)
    done = 0

    def finish(c, lo, hi, launched):
        nonlocal done
        out = {k: np.asarray(v)[: hi - lo] for k, v in launched.items()}
        if ckpt is not None:
            ckpt.save(f"chunk_{c:05d}.npz", out)
        pieces[c] = out
        done += 1
        if progress is not None:
            progress(done, len(mine), hi - lo)

    # one chunk in flight: chunk c+1 is dispatched (JAX runs it asynchronously) before chunk c
    # is copied back and written, so the checkpoint's file I/O overlaps the computation
    pending = None
    for c in mine:
        if ckpt is not None and (saved := ckpt.load(f"chunk_{c:05d}.npz")) is not None:
            pieces[c] = saved
            done += 1
            if progress is not None:
                progress(done, len(mine), 0)
            continue
        lo, hi = c * chunk_size, min((c + 1) * chunk_size, total)
        idx = np.arange(lo, lo + padded).clip(max=total - 1)  # pad with the last point
        launched = batched(place({k: jnp.asarray(v[idx]) for k, v in flat.items()}))
        if pending is not None:
            finish(*pending)
        pending = (c, lo, hi, launched)
    if pending is not None:
        finish(*pending)
    if count > 1:
        if not distributed:
            return None
        _barrier(f"mfjax grid_sweep {ckpt.job}")
        ckpt.refresh()
        for c in range(n_chunks):
            if c not in pieces:
                saved = ckpt.load(f"chunk_{c:05d}.npz")
                if saved is None:
                    raise RuntimeError(f"{checkpoint}: chunk {c} is missing after every process finished")
                pieces[c] = saved
    first = pieces[0]
    values = {
        k: np.concatenate([pieces[c][k] for c in range(n_chunks)]).reshape(shape + first[k].shape[1:])
        for k in first
    }
    prov = provenance(devices=devs, share=(index, count), seconds=time.perf_counter() - t_start,
                      function=_function_name(fn), tag=tag)
    return SweepResult(axes, values, units=units, dims=dims, coords=coords, provenance=prov)
