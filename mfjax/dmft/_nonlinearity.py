"""Transfer functions phi of rate units, their primitives Phi (Phi' = phi), and Gaussian
expectations by a trapezoid rule in the standard-normal variable.

The rule: nodes z_k = -10 .. 10 in steps of 0.1, weights h N(z_k; 0, 1).  For integrands
analytic in a strip |Im z| < d the error falls like exp(-2 pi d / h) (Trefethen & Weideman
2014), i.e. below 1e-13 for tanh(m + a z) up to a = 2.5, better than Gauss-Hermite of equal size
for functions with nearby complex poles; truncation at |z| = 10 costs < 1e-22.  For the
threshold-linear phi (a kink) the error is O(h^2) ~ 1e-3 (documented limitation).
"""

from __future__ import annotations

import math
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erf

__all__ = ["NONLINEARITIES", "resolve_phi", "phi_key", "gaussian_nodes"]

_H = 0.1
_Z = np.arange(-100, 101) * _H
_W = _H * np.exp(-0.5 * _Z**2) / math.sqrt(2 * math.pi)
_W = _W / _W.sum()


def gaussian_nodes(dtype, step: float = _H, cutoff: float = 10.0):
    """(nodes, weights) of the standard-normal trapezoid rule, as arrays of ``dtype``; the
    default rule (h = 0.1, |z| <= 10) or a coarser one (error ~exp(-2 pi d / step) for an
    integrand analytic in |Im z| < d, plus the mass beyond ``cutoff``)."""
    if step == _H and cutoff == 10.0:
        return jnp.asarray(_Z, dtype), jnp.asarray(_W, dtype)
    z = np.arange(-int(cutoff / step), int(cutoff / step) + 1) * step
    w = np.exp(-0.5 * z**2)
    return jnp.asarray(z, dtype), jnp.asarray(w / w.sum(), dtype)


def _log_cosh(x):
    ax = jnp.abs(x)
    return ax + jnp.log1p(jnp.exp(-2.0 * ax)) - math.log(2.0)


_C_ERF = math.sqrt(math.pi) / 2.0  # erf(c x) has slope 1 at 0


def _erf_phi(x):
    return erf(_C_ERF * x)


def _erf_primitive(x):
    return x * erf(_C_ERF * x) + jnp.exp(-((_C_ERF * x) ** 2)) / (_C_ERF * math.sqrt(math.pi))


def _relu(x):
    return jnp.maximum(x, 0.0)


def _relu_primitive(x):
    return 0.5 * jnp.maximum(x, 0.0) ** 2


#: name -> (phi, Phi, odd): the transfer function, its primitive, and whether phi is odd.
NONLINEARITIES: dict[str, tuple[Callable, Callable, bool]] = {
    "tanh": (jnp.tanh, _log_cosh, True),
    "erf": (_erf_phi, _erf_primitive, True),
    "relu": (_relu, _relu_primitive, False),
}


_CUSTOM: dict[str, tuple[Callable, Callable, bool]] = {}  # registered (phi, Phi) pairs, kept alive


def resolve_phi(phi):
    """``phi``: a name in :data:`NONLINEARITIES`, a key from :func:`phi_key`, or a pair
    ``(phi, Phi)`` of elementwise JAX functions with ``Phi' = phi`` (treated as not odd).
    Returns (phi, Phi, dphi, odd)."""
    if isinstance(phi, str):
        table = NONLINEARITIES if phi in NONLINEARITIES else _CUSTOM
        if phi not in table:
            raise ValueError(f"phi must be one of {tuple(NONLINEARITIES)} or a (phi, Phi) pair, got {phi!r}")
        f, prim, odd = table[phi]
    else:
        try:
            f, prim = phi
        except (TypeError, ValueError) as err:
            raise ValueError("phi must be a name or a pair (phi, Phi) of functions with Phi' = phi") from err
        if not (callable(f) and callable(prim)):
            raise ValueError("phi must be a name or a pair (phi, Phi) of callables")
        odd = False

    def dphi(x):
        return jax.jvp(f, (x,), (jnp.ones_like(x),))[1]

    return f, prim, dphi, odd


def phi_key(phi) -> str:
    """Validate ``phi`` and return a hashable key for the jitted cores (static arguments): the
    name itself, or a key under which a custom (phi, Phi) pair is registered."""
    f, prim, _, odd = resolve_phi(phi)
    if isinstance(phi, str):
        return phi
    key = f"custom-{id(f)}-{id(prim)}"
    _CUSTOM.setdefault(key, (f, prim, odd))
    return key
