"""Checkpoint folders that know what produced them: a manifest, verified chunks, atomic writes.

A folder holds ``manifest.json`` and chunk files (``.npz``, numpy arrays only, never pickle).
The manifest records what produced the chunks (``meta``: the job, the function or network
digest, every input array's digest, the key, dtype, chunking, mfjax version) and, per chunk
file, the digest of its bytes; every chunk also carries the job's fingerprint and its own name.

Resuming (:meth:`Checkpoint.open`) compares every field of ``meta`` with the manifest and
refuses a mismatch with a ``ValueError`` naming the folder and the field.  Reading a chunk
(:meth:`Checkpoint.load`) verifies its digest against the manifest, its embedded fingerprint and
name: a chunk that is truncated, damaged, swapped with another, foreign, or was written just
before an interruption without reaching the manifest is moved aside (renamed
``NAME.rejected-K``), named in a warning, and reported missing, so that the caller recomputes
it: no point is ever lost, duplicated or reused from another run.  Files are written atomically
(temporary file in the same folder, then ``os.replace``), the chunk before its manifest entry.

Several processes may fill one folder at once (a multi-process sweep, a SLURM array job): each
is a *writer* with its own manifest (``manifest.json`` for a single process, ``manifest-K.json``
for writer K), so no process ever rewrites another's record.  Every manifest's ``meta`` must
agree; a chunk is verified against the union of the manifests' digests (the reader's own entry
first), and :meth:`Checkpoint.refresh` re-reads the others' manifests (for the merge once every
writer has finished).
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path

import jax
import numpy as np

from .._fingerprint import file_digest, fingerprint

__all__ = ["Checkpoint", "CheckpointWarning", "atomic_save_npz", "atomic_write_bytes", "atomic_write_text"]

MANIFEST = "manifest.json"


class CheckpointWarning(UserWarning):
    """A chunk file was rejected (damaged, foreign or unverified) and will be recomputed."""


def _atomic_write(path, mode: str, write) -> None:
    """Call ``write(file)`` on a temporary file in ``path``'s folder, flush it to disk, then
    rename it over ``path`` (readers see the old file or the new one, never a partial one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    _atomic_write(path, "w", lambda f: f.write(text))


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    _atomic_write(path, "wb", lambda f: f.write(data))


def atomic_save_npz(path, **arrays) -> None:
    """Write ``arrays`` to ``path`` (.npz) atomically: temp file in the same folder, then rename."""
    _atomic_write(path, "wb", lambda f: np.savez(f, **arrays))


class Checkpoint:
    """A verified checkpoint folder (module docstring).

    Args:
        folder: the folder (created if missing).
        meta: JSON-serialisable dict of everything that determines the chunks' content; the
            dtype in force (``jax_enable_x64``) and the mfjax version are added to it.
    """

    def __init__(self, folder, meta: dict, writer: int | None = None):
        from .. import __version__

        self.folder = Path(folder)
        meta = {**meta, "dtype": "float64" if jax.config.jax_enable_x64 else "float32", "mfjax_version": __version__}
        self.meta = json.loads(json.dumps(meta))  # canonical JSON types
        self.job = fingerprint(json.dumps(self.meta, sort_keys=True))
        self.path = self.folder / (MANIFEST if writer is None else f"manifest-{int(writer)}.json")
        self.chunks: dict[str, str] = {}  # this writer's own record
        self.others: dict[str, str] = {}  # the union of the other writers' records

    def _manifests(self) -> list[Path]:
        return sorted(self.folder.glob("manifest*.json"))

    def _read(self, path: Path) -> dict:
        """The chunk record of manifest ``path``, after checking its ``meta`` against this job's."""
        try:
            old = json.loads(path.read_text())
            old_meta, chunks = old["meta"], dict(old["chunks"])
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{path} is damaged ({err}); move the folder aside and start again") from err
        for field in sorted(set(old_meta) | set(self.meta)):
            if old_meta.get(field) != self.meta.get(field):
                raise ValueError(
                    f"checkpoint {self.folder} was written by another job: field {field!r} is "
                    f"{_short(old_meta.get(field))} there and {_short(self.meta.get(field))} now; "
                    "use another folder (or delete this one to start again)"
                )
        return chunks

    def refresh(self) -> "Checkpoint":
        """Re-read the other writers' manifests (e.g. after they have all finished)."""
        self.others = {}
        for path in self._manifests():
            if path != self.path:
                self.others.update(self._read(path))
        return self

    def open(self) -> "Checkpoint":
        """Create this writer's manifest, or verify every existing one against ``meta``
        (``ValueError`` naming the field that differs)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self._manifests() and any(self.folder.glob("*.npz")):
            raise ValueError(
                f"{self.folder} holds chunk files but no {MANIFEST}: it was not written by this "
                "version of mfjax (or the manifest was deleted); use another folder"
            )
        self.refresh()
        if self.path.exists():
            self.chunks = self._read(self.path)
        else:
            self._write_manifest()
        return self

    def _write_manifest(self) -> None:
        text = json.dumps({"meta": self.meta, "job": self.job, "chunks": self.chunks}, indent=1, sort_keys=True)
        atomic_write_text(self.path, text)

    def _reject(self, path: Path, why: str) -> None:
        k = 0
        while (target := path.with_name(f"{path.name}.rejected-{k}")).exists():
            k += 1
        os.replace(path, target)
        self.chunks.pop(path.name, None)
        self.others.pop(path.name, None)
        self._write_manifest()
        warnings.warn(f"{path}: {why}; moved aside to {target.name}, it will be recomputed", CheckpointWarning,
                      stacklevel=3)

    def load(self, name: str) -> dict | None:
        """The arrays of chunk ``name`` if it exists and verifies, else ``None`` (a damaged,
        foreign or unverified file is moved aside with a :class:`CheckpointWarning`)."""
        path = self.folder / name
        if not path.exists():
            return None
        recorded = self.chunks.get(name, self.others.get(name))
        if recorded is None:
            self._reject(path, "not in the manifest (written by another run, or interrupted before it was recorded)")
            return None
        if file_digest(path) != recorded:
            self._reject(path, "content does not match the digest in the manifest (damaged, truncated or swapped)")
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except Exception as err:  # noqa: BLE001  (any unreadable file is rejected, never used)
            self._reject(path, f"unreadable ({type(err).__name__}: {err})")
            return None
        if str(arrays.pop("_job", "")) != self.job or str(arrays.pop("_chunk", "")) != name:
            self._reject(path, "its embedded job fingerprint or name does not match")
            return None
        return arrays

    def save(self, name: str, arrays: dict) -> None:
        """Write chunk ``name`` atomically, then record its digest in the manifest."""
        path = self.folder / name
        atomic_save_npz(path, _job=np.asarray(self.job), _chunk=np.asarray(name), **arrays)
        self.chunks[name] = file_digest(path)
        self._write_manifest()


def _short(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."
