"""Provenance: what produced a result, stored with it (versions, devices, processes, dtype, time)."""

from __future__ import annotations

import datetime
import platform

import jax
import numpy as np

__all__ = ["provenance"]


def provenance(*, devices=None, share=(0, 1), seconds=None, **extra) -> dict:
    """A JSON-serialisable record of the run: mfjax, jax, jaxlib, numpy and Python versions, the
    host, the devices used (``devices``, default the local ones) and the process ``share``
    ``(index, count)``, the float dtype in force, the UTC time, the wall time ``seconds`` and any
    ``extra`` fields (the job's config, its key, ...)."""
    from .. import __version__

    import jaxlib

    devices = jax.local_devices() if devices is None else devices
    record = {
        "mfjax_version": __version__,
        "jax_version": jax.__version__,
        "jaxlib_version": jaxlib.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "host": platform.node(),
        "platform": jax.default_backend(),
        "devices": [str(d) for d in devices],
        "process": {"index": int(share[0]), "count": int(share[1])},
        "dtype": "float64" if jax.config.jax_enable_x64 else "float32",
        "utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    if seconds is not None:
        record["wall_seconds"] = float(seconds)
    record.update(extra)
    return record
