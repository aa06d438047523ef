"""The compiled CPU kernels of the simulator's event loops (XLA FFI custom calls).

:func:`deliver` adds every synapse of the neurons that fired into an input array:

    x[table[i, k] (+ offset, mod modulus)] += weight (* factors[i, k])   for i in spikes[:count]

the same work as the ``jax.lax.fori_loop`` of scatter-adds in :mod:`._delivery`, which XLA:CPU
runs at ~1.5 ns per synaptic event; the C++ loop in ``kernels/events.cc`` (next row prefetched,
four increments per iteration) at ~0.7-0.8 ns (Brunel N = 12,500 on one core: 1.8 s per
biological second with the XLA loops, 0.96 s with both kernels; ``benchmarks/bench_spiking.py``).  Results are identical: the additions
happen in the same order.  :func:`emit` lists one population's spiking neurons in the spike
ring and updates the online spike statistics, in one pass that skips silent neurons eight at a
time (instead of :func:`._delivery.emit_bits` and :func:`._statistics.accumulate`, dense passes
over every neuron).

The kernel is compiled on first use with the system's C++ compiler (``$CXX``, else ``c++``)
against the XLA FFI headers that ship with jaxlib, and cached in ``$MFJAX_CACHE_DIR`` (default
``~/.cache/mfjax``; a per-user folder of the temporary directory where that is not writable)
under a name that hashes the source, jaxlib and compiler.  Where no compiler
is found or the build fails, :func:`available` is False (with one warning) and the simulator
keeps its pure-JAX loop; ``MFJAX_KERNELS=0`` turns the kernel off.  CPU only.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

_SOURCE = Path(__file__).with_name("kernels") / "events.cc"
_SUFFIX = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}
_SYMBOLS = {
    "mfjax_deliver_f32": "MfjaxDeliverF32",
    "mfjax_deliver_f64": "MfjaxDeliverF64",
    "mfjax_emit_f32": "MfjaxEmitF32",
    "mfjax_emit_f64": "MfjaxEmitF64",
}


def _cache_dirs() -> list[Path]:
    """Where the built kernel may live: ``$MFJAX_CACHE_DIR``, else ``$XDG_CACHE_HOME/mfjax`` or
    ``~/.cache/mfjax``; then a per-user folder in the temporary directory (read-only homes)."""
    if os.environ.get("MFJAX_CACHE_DIR"):
        first = Path(os.environ["MFJAX_CACHE_DIR"])
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        first = Path(base) / "mfjax"
    user = os.getuid() if hasattr(os, "getuid") else "user"
    return [first, Path(tempfile.gettempdir()) / f"mfjax-{user}"]


def _build() -> Path:
    """Compile the kernel (once per source, jaxlib and compiler) and return the library path;
    the library is written to a temporary name and renamed, so concurrent builds are safe."""
    compiler = shutil.which(os.environ.get("CXX", "c++"))
    if compiler is None:
        raise RuntimeError("no C++ compiler found (set $CXX)")
    source = _SOURCE.read_bytes()
    import jaxlib

    tag = hashlib.sha256(source + jaxlib.__version__.encode() + compiler.encode()).hexdigest()[:16]
    errors = []
    for folder in _cache_dirs():
        target = folder / f"events-{tag}.so"
        if target.exists():
            return target
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
        except OSError as err:  # not writable: try the next folder
            errors.append(f"{folder}: {err}")
            continue
        os.close(fd)
        try:
            cmd = [compiler, "-O3", "-std=c++17", "-shared", "-fPIC", "-w", f"-I{jax.ffi.include_dir()}", str(_SOURCE), "-o", tmp]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return target
    raise RuntimeError("no writable cache folder for the kernel (" + "; ".join(errors) + ")")


@functools.lru_cache(maxsize=1)
def available() -> bool:
    """Whether the compiled kernel can be used (built and registered with XLA, CPU backend)."""
    if os.environ.get("MFJAX_KERNELS", "1") == "0" or not hasattr(jax, "ffi"):
        return False
    try:
        lib = ctypes.cdll.LoadLibrary(str(_build()))
        for name, symbol in _SYMBOLS.items():
            jax.ffi.register_ffi_target(name, jax.ffi.pycapsule(getattr(lib, symbol)), platform="cpu")
    except (OSError, RuntimeError, AttributeError) as err:
        warnings.warn(f"mfjax.spiking: compiled delivery kernel unavailable ({err}); using the slower pure-JAX loop")
        return False
    return True


def deliver(table, spikes, count, x, weight, *, offset=0, modulus: int = 0, factors=None):
    """``x`` plus the input of the first ``count`` neurons in ``spikes`` through ``table``.

    Args:
        table: (rows, width) uint16 or int32 addresses into ``x`` (one row per source neuron).
        spikes: (L,) int32 row indices; count: number of valid entries (int32 scalar).
        x: (M,) float32/float64 input array (updated in place when XLA can donate it).
        weight: scalar added per synapse (times ``factors[i, k]`` when given, same shape as
            ``table``).
        offset, modulus: addresses are ``table + offset``, minus ``modulus`` when at or beyond
            it (a ring of future input); ``modulus = 0``: plain addresses.
    Addresses outside ``[0, M)`` are skipped.
    """
    dtype = np.dtype(x.dtype)
    factors = jnp.zeros((0,), dtype) if factors is None else factors.astype(dtype)
    call = jax.ffi.ffi_call(
        f"mfjax_deliver_{_SUFFIX[dtype]}",
        jax.ShapeDtypeStruct(x.shape, dtype),
        input_output_aliases={6: 0},
        vmap_method="sequential",
    )
    return call(
        table,
        spikes,
        jnp.asarray(count, jnp.int32),
        jnp.asarray(offset, jnp.int32),
        factors,
        jnp.asarray(weight, dtype),
        x,
        modulus=np.int64(modulus),
    )


def emit(spiked, t, slot, hist, hcount, acc, *, lo: int, hi: int, transient: int):
    """Record the spikes of neurons ``lo <= i < hi`` at step ``t``.

    Writes ``i - lo`` of every spiking neuron, ascending, into ``hist[slot]`` and their number
    into ``hcount[slot]``; updates ``acc`` (:class:`._statistics.Accumulators`) as
    :func:`._statistics.accumulate` does for those neurons.  Returns (hist, hcount, acc).
    """
    shapes = [jax.ShapeDtypeStruct(x.shape, x.dtype) for x in (hist, hcount, *acc)]
    call = jax.ffi.ffi_call(
        f"mfjax_emit_{_SUFFIX[np.dtype(acc.isi_sum.dtype)]}",
        shapes,
        input_output_aliases={3 + k: k for k in range(6)},
        vmap_method="sequential",
    )
    hist, hcount, *fields = call(
        spiked,
        jnp.asarray(t, jnp.int32),
        jnp.asarray(slot, jnp.int32),
        hist,
        hcount,
        *acc,
        lo=np.int64(lo),
        hi=np.int64(hi),
        transient=np.int64(transient),
    )
    return hist, hcount, type(acc)(*fields)
