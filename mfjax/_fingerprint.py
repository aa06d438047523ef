"""Fingerprints: short content hashes of what produced a result, for verified resumption.

A fingerprint is the BLAKE2b digest of a canonical byte stream of the inputs: numbers and arrays
by dtype, shape and bytes (so float32 and float64 inputs differ), strings and static values by
their text, pytrees (networks, neurons) leaf by leaf with their paths, functions by their
qualified name, code, constants and the values they close over.  Large arrays (connectivity
tables) can be sampled (:func:`sampled`).  Used by :mod:`mfjax.sweep` (checkpoint folders),
:mod:`mfjax.spiking` (states and chunk files) and the ``mfjax`` command.
"""

from __future__ import annotations

import hashlib
import re
import types
from functools import partial as functools_partial

import jax
import numpy as np

__all__ = ["fingerprint", "file_digest", "sampled"]


def _feed(h, x, depth=0) -> None:
    if depth > 20:
        h.update(b"<deep>")
        return
    if x is None or isinstance(x, (bool, str, int, float, complex, bytes)):
        h.update(f"{type(x).__name__}:{x!r};".encode())
    elif isinstance(x, (np.ndarray, np.generic, jax.Array)):
        if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            x = jax.random.key_data(x)
        a = np.asarray(x)
        h.update(f"array:{a.dtype.str}:{a.shape};".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    elif isinstance(x, (list, tuple)):
        h.update(f"{type(x).__name__}[{len(x)}](".encode())
        for item in x:
            _feed(h, item, depth + 1)
        h.update(b")")
    elif isinstance(x, dict):
        h.update(f"dict[{len(x)}](".encode())
        for k in sorted(x, key=repr):
            _feed(h, k, depth + 1)
            _feed(h, x[k], depth + 1)
        h.update(b")")
    elif isinstance(x, (types.FunctionType, types.MethodType)):
        _feed_function(h, x, depth)
    elif isinstance(x, types.CodeType):
        _feed_code(h, x, depth)
    elif isinstance(x, functools_partial):
        h.update(b"partial(")
        _feed(h, x.func, depth + 1)
        _feed(h, x.args, depth + 1)
        _feed(h, x.keywords, depth + 1)
        h.update(b")")
    else:
        leaves, treedef = jax.tree_util.tree_flatten(x)
        if len(leaves) == 1 and leaves[0] is x:  # an opaque object: its type and text
            text = _ADDRESS.sub("", repr(x))  # memory addresses differ from run to run
            h.update(f"{type(x).__module__}.{type(x).__qualname__}:{text};".encode())
            return
        h.update(f"tree:{treedef};".encode())
        for leaf in leaves:
            _feed(h, leaf, depth + 1)


def _feed_function(h, fn, depth) -> None:
    if isinstance(fn, types.MethodType):
        _feed(h, fn.__self__, depth + 1)
        fn = fn.__func__
    h.update(f"function:{fn.__module__}.{fn.__qualname__};".encode())
    _feed_code(h, fn.__code__, depth)
    for cell in fn.__closure__ or ():
        try:
            _feed(h, cell.cell_contents, depth + 1)
        except ValueError:  # an empty cell
            h.update(b"<empty>")
    _feed(h, fn.__defaults__, depth + 1)
    _feed(h, fn.__kwdefaults__, depth + 1)


def _feed_code(h, code, depth) -> None:
    """Bytecode, constants (nested functions' code included) and names of a code object."""
    h.update(b"code:")
    h.update(code.co_code)
    _feed(h, list(code.co_consts), depth + 1)
    _feed(h, list(code.co_names), depth + 1)


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def fingerprint(*parts, size: int = 16) -> str:
    """Hex digest (``2 * size`` characters) of ``parts`` (see the module docstring)."""
    h = hashlib.blake2b(digest_size=size)
    for part in parts:
        _feed(h, part)
    return h.hexdigest()


def sampled(a, samples: int = 65536) -> np.ndarray:
    """An evenly strided sample of at most ``samples`` entries of ``a`` (plus its shape), to
    fingerprint arrays of billions of entries in microseconds."""
    a = np.asarray(a)
    flat = a.reshape(-1)
    stride = max(1, flat.size // samples)
    return np.concatenate([np.asarray(a.shape, np.int64).view(np.uint8), np.ascontiguousarray(flat[::stride]).view(np.uint8)])


def file_digest(path) -> str:
    """BLAKE2b digest of a file's bytes (what a checkpoint manifest records per chunk)."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
