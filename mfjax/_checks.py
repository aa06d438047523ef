"""Input validation: one set of conditions for concrete and for traced values.

Every check names the offending parameter so that the user can fix the call.

* Concrete values (plain numbers, numpy or JAX arrays outside a trace) are checked at the Python
  edge, before anything is compiled: a ``ValueError`` naming the parameter.
* Traced values (inside a user's ``jit``, ``vmap`` or ``grad``) cannot be inspected in Python;
  the same conditions are collected by :class:`Conditions` and either enforced as a runtime
  error (:meth:`Conditions.enforce`, ``equinox.branched_error_if``: the computation stops with
  the message of the first violated condition) where one result is asked for, or folded into a
  solver status (:meth:`Conditions.valid`) where a batch of results is (sweeps mask the
  invalid points instead of stopping).

A condition is never skipped: it is either checked now or carried into the compiled program.
"""

from __future__ import annotations

import numbers

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["is_concrete", "as_checked_array", "Conditions", "as_int", "as_key"]


def is_concrete(x) -> bool:
    """True when ``x`` holds actual numbers (not a JAX tracer)."""
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(x))


def _as_float_array(name, x):
    try:
        return np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numeric (a number or an array of numbers), got {x!r}") from err


def _describe(a) -> str:
    a = np.asarray(a)
    return repr(a.item()) if a.size == 1 else f"an array of shape {a.shape} ({a.ravel()[:4]}...)"


def as_checked_array(name: str, x, *, positive=False, nonnegative=False, shape=None, finite=True,
                     at_most=None):
    """Check a concrete ``x`` (finite, optionally > 0 / >= 0 / <= ``at_most``, of ``shape``).

    Raises ``ValueError`` naming ``name``.  Traced values pass through unchanged: functions
    that accept traced inputs collect their conditions with :class:`Conditions` instead.
    Returns ``x``.
    """
    if not is_concrete(x):
        return x
    if isinstance(x, (bool, np.bool_)):
        raise ValueError(f"{name} must be a number, got the boolean {x!r}")
    a = _as_float_array(name, x)
    if shape is not None and a.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {a.shape}")
    if np.any(_violation(a, False, False, finite, None, np)):
        raise ValueError(f"{name} {_requirement(False, False, finite, None)}, got {_describe(a)}")
    if np.any(_violation(a, positive, nonnegative, False, None, np)):
        raise ValueError(f"{name} must be {'> 0' if positive else '>= 0'}, got {_describe(a)}")
    if at_most is not None and np.any(_violation(a, False, False, False, at_most, np)):
        raise ValueError(f"{name} must be <= {at_most}, got {_describe(a)}")
    return x


def _requirement(positive, nonnegative, finite, at_most) -> str:
    parts = ["must be finite (no NaN or inf)"] if finite else ["must not be NaN"]
    if positive:
        parts.append("> 0")
    elif nonnegative:
        parts.append(">= 0")
    if at_most is not None:
        parts.append(f"<= {at_most}")
    return " and ".join(parts)


def _violation(a, positive, nonnegative, finite, at_most, xp):
    bad = ~xp.isfinite(a) if finite else xp.isnan(a)
    if positive:
        bad = bad | ~(a > 0)
    elif nonnegative:
        bad = bad | ~(a >= 0)
    if at_most is not None:
        bad = bad | ~(a <= at_most)
    return bad


class Conditions:
    """Validity conditions of one call, for concrete and traced values alike.

    ``require`` and ``less`` check concrete values at once (``ValueError`` naming the parameter)
    and record the condition for traced ones.  Then either ``out = conds.enforce(out)`` (a
    runtime error with the first violated condition's message when the compiled program runs)
    or ``conds.valid()`` (a traced bool: all conditions hold) for a status.  With no traced value
    both are free: ``enforce`` returns ``out`` untouched and ``valid`` is ``True``.

    :meth:`traced_only` gives a view that skips the concrete checks, for objects already
    validated when they were built (a :class:`mfjax.LIF` or :class:`mfjax.Network`), so that a
    call does not check their concrete fields again.
    """

    def __init__(self):
        self._messages: list[str] = []
        self._bad: list = []
        self._check_concrete = True

    def traced_only(self) -> "Conditions":
        """A view of these conditions that records traced values like this one but skips the
        checks of concrete values (what it records is recorded here too)."""
        view = Conditions()
        view._messages, view._bad, view._check_concrete = self._messages, self._bad, False
        return view

    def _record(self, message, bad):
        self._messages.append(message)
        self._bad.append(jnp.any(bad))

    def require(self, name: str, x, *, positive=False, nonnegative=False, finite=True, at_most=None):
        """``x`` finite (or at least not NaN), optionally > 0, >= 0, <= ``at_most``."""
        if is_concrete(x):
            if self._check_concrete:
                as_checked_array(name, x, positive=positive, nonnegative=nonnegative, finite=finite, at_most=at_most)
        else:
            message = f"{name} {_requirement(positive, nonnegative, finite, at_most)}"
            self._record(message, _violation(jnp.asarray(x), positive, nonnegative, finite, at_most, jnp))
        return self

    def less(self, name_a: str, a, name_b: str, b):
        """``a < b`` elementwise (broadcast)."""
        if is_concrete((a, b)):
            if not self._check_concrete:
                return self
            try:
                ok = np.asarray(a, float) < np.asarray(b, float)
            except ValueError as err:
                raise ValueError(f"{name_a} and {name_b} must have broadcastable shapes") from err
            if not np.all(ok):
                raise ValueError(f"{name_a} must be < {name_b} (got {name_a}={_describe(a)}, {name_b}={_describe(b)})")
        else:
            self._record(f"{name_a} must be < {name_b}", ~(jnp.asarray(a) < jnp.asarray(b)))
        return self

    def wants(self, x) -> bool:
        """Whether a condition on ``x`` would be checked or recorded (so that building its test
        can be skipped for concrete values under ``traced_only``)."""
        return self._check_concrete or not is_concrete(x)

    def where(self, message: str, bad):
        """A condition given directly as a (traced or concrete) array that is True where violated."""
        if is_concrete(bad):
            if self._check_concrete and np.any(np.asarray(bad)):
                raise ValueError(message)
        else:
            self._record(message, bad)
        return self

    def valid(self):
        """True (a traced bool where needed) when every recorded condition holds."""
        if not self._bad:
            return True
        return ~jnp.any(jnp.stack(self._bad))

    def poison(self, x):
        """``x`` with NaN where a recorded condition fails, so that a value built from invalid
        traced inputs (a preset inside a ``vmap`` sweep) is flagged by whoever consumes it."""
        if not self._bad:
            return x
        return jnp.where(self.valid(), x, jnp.nan)

    def enforce(self, out):
        """``out``, with a runtime error when the program runs with a violated condition."""
        if not self._bad:
            return out
        bad = jnp.stack(self._bad)
        return eqx.branched_error_if(out, jnp.any(bad), jnp.argmax(bad), self._messages)


def as_int(name: str, x, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """A Python ``int`` from an integer-valued number (``int``, ``numpy.int64``, ``100.0``).

    Raises ``ValueError`` naming ``name`` for booleans, non-integers, NaN, out-of-range values.
    """
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Real, np.ndarray, jax.Array)):
        raise ValueError(f"{name} must be an integer, got {x!r}")
    if not is_concrete(x):
        raise ValueError(f"{name} must be a concrete integer (it fixes array shapes), got a traced value")
    a = np.asarray(x)
    if a.ndim != 0 or not np.isfinite(a) or a != np.round(a):
        raise ValueError(f"{name} must be an integer, got {x!r}")
    n = int(a)
    if minimum is not None and n < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {n}")
    if maximum is not None and n > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {n}")
    return n


def as_key(name: str, key):
    """A typed PRNG key (or a batch of them) from a typed key or a legacy ``uint32`` key
    (``jax.random.PRNGKey(0)``, shape (..., 2)), as ``jax.random`` itself accepts both."""
    if key is None or isinstance(key, (str, bool)):
        raise ValueError(f"{name} must be a JAX random key (jax.random.key(seed) or jax.random.PRNGKey(seed)), got {key!r}")
    try:
        arr = jnp.asarray(key)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a JAX random key, got {key!r}") from err
    if jax.dtypes.issubdtype(arr.dtype, jax.dtypes.prng_key):
        return arr
    if arr.dtype == jnp.uint32 and arr.ndim >= 1:
        try:  # raw key data of the default implementation (threefry: shape (..., 2))
            return jax.random.wrap_key_data(arr)
        except (TypeError, ValueError):
            pass
    raise ValueError(
        f"{name} must be a JAX random key (jax.random.key(seed) or jax.random.PRNGKey(seed)), "
        f"got an array of dtype {arr.dtype} and shape {arr.shape}"
    )
