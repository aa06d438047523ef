"""Input validation at the Python edge, before anything is traced or compiled.

Every check names the offending parameter so that the user can fix the call. Checks are skipped
for traced values (inside ``jit``/``vmap``/``grad`` the values are not known yet); the edge
functions validate before tracing.
"""

from __future__ import annotations

import jax
import numpy as np


def is_concrete(x) -> bool:
    """True when ``x`` holds actual numbers (not a JAX tracer)."""
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(x))


def as_checked_array(name: str, x, *, positive=False, nonnegative=False, shape=None):
    """Return ``np.asarray(x)`` after checking it is finite (and optionally signed / shaped).

    Raises ``ValueError`` naming ``name``.  Traced values pass through unchanged.
    """
    if not is_concrete(x):
        return x
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numeric, got {x!r}") from err
    if shape is not None and a.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN or inf), got {x!r}")
    if positive and not np.all(a > 0):
        raise ValueError(f"{name} must be > 0, got {x!r}")
    if nonnegative and not np.all(a >= 0):
        raise ValueError(f"{name} must be >= 0, got {x!r}")
    return x
