"""Stability of a network's working point: characteristic roots, the Nyquist count, eigenmodes.

A perturbation ``delta nu(t) = v e^{lambda t}`` of the stationary rates persists when
``v = W(lambda) v``: the characteristic equation (Brunel & Hakim 1999, Neural Comput. 11:1621;
Bos et al. 2016 eq. 14; Helias et al. 2013, New J. Phys. 15:023002, eq. 1)::

    det(I - W(lambda)) = 0,     W(lambda) the effective connectivity (:mod:`._response`)

at the complex frequency ``f = lambda/(2 pi i)``, every pathway with its own delay distribution.
``Re lambda`` (1/s) is the growth rate of the mode, ``Im lambda / 2 pi`` (Hz) its oscillation
frequency; the working point is stable when every root has ``Re lambda < 0``.

* :func:`characteristic_roots`: Newton's method on ``det(I - W(lambda))``, vmapped over starting
  points, each root with its residual ``|det(I - W)| / prod_a (1 + sum_b |W_ab|)`` (the
  determinant relative to the size of its terms; Hadamard's bound makes it <= 1) and status.
  Gradients of a root with respect to every network parameter by the implicit function theorem
  (``d lambda = -d_theta det / d_lambda det``), never through the iterations.
* :func:`stability`: the number of roots in the right half-plane by the argument principle
  (Nyquist criterion: ``-1/pi`` times the change of ``arg det(I - W(2 pi i f))`` from ``f = 0``
  to infinity, the tail past the grid taken from the eigenvalues of ``W`` at its top), and the
  dominant roots by the secant method from the minima of ``|det|`` on the axis and from ``lambda = 0``.

The eigenmodes of ``W(f)`` on the real axis (trajectories, sensitivity measure) are in
:mod:`._eigenmodes`.

Units: lambda in 1/s, frequency Hz, time ms.
"""

from __future__ import annotations

import math
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_int, is_concrete
from ..neurons._transfer import LowPassFit
from ._network import Network
from ._eigenmodes import after
from ._response import Theory, WorkingPoint, _check_frequency, _coupling, _prepare

__all__ = [
    "CharacteristicRoots",
    "characteristic_roots",
    "Stability",
    "stability",
]

_TWO_PI_I = 2j * math.pi
_DECAY_REACH = 0.97 * 3.0  # |Re lambda| tau_m below the reach of the LIF transfer function (3)
_GUESS_GROWTH = 50.0  # 1/s: Re of the secant starts at the minima of |det| on the axis


class CharacteristicRoots(eqx.Module):
    """Roots of ``det(I - W(lambda)) = 0``, one per starting point, shape (S,).

    Attributes:
        lam: the root (1/s, complex).
        growth_rate: ``Re lam`` (1/s); frequency: ``Im lam / 2 pi`` (Hz).
        residual: ``|det(I - W)| / prod_a (1 + sum_b |W_ab|)`` at the root.
        converged: Newton's step fell below the tolerance at a finite, valid point inside the
            reach of the transfer function (the status to check before using ``lam``).
        unique: converged and not a repeat of an earlier start's root.
        num_steps: Newton steps taken.
    """

    lam: jax.Array
    growth_rate: jax.Array
    frequency: jax.Array
    residual: jax.Array
    converged: jax.Array
    unique: jax.Array
    num_steps: jax.Array

    def dominant(self):
        """Index of the converged root with the largest growth rate (``-1`` if none converged;
        roots come in conjugate pairs, either may be the one found)."""
        score = jnp.where(self.converged, self.growth_rate, -jnp.inf)
        return jnp.where(jnp.any(self.converged), jnp.argmax(score), -1)


def _det(net, mu, sigma, transfer, theory, lam):
    """det(I - W(lambda)) and the size of its terms, prod_a (1 + sum_b |W_ab|)."""
    wp = WorkingPoint(rates=None, mu=mu, sigma=sigma, valid=True)
    W = _coupling(net, wp, lam / _TWO_PI_I, transfer, theory)
    eye = jnp.broadcast_to(jnp.eye(W.shape[-1], dtype=W.dtype), W.shape)
    scale = jnp.prod(1.0 + jnp.sum(jnp.abs(W), -1), -1)
    return jnp.linalg.det(eye - W), scale


def _lower_bound(net, transfer):
    """Smallest Re lambda (1/s) at which W can be evaluated (-inf for a low-pass model)."""
    if transfer is not None:
        lower = -jnp.inf
    else:
        lower = -_DECAY_REACH * 1000.0 / jnp.max(jnp.asarray(net.neuron_field("tau_m")))
    if net.delay_distribution == "lognormal":
        lower = jnp.maximum(lower, 0.0)
    return lower


@partial(jax.custom_jvp, nondiff_argnums=(0,))
def _implicit_root(theory, net, mu, sigma, transfer, lam):
    """``lam`` (a converged root), with the tangent of the implicit function theorem:
    ``d lam = -(d_theta det) / (d_lambda det)``."""
    return lam


@_implicit_root.defjvp
def _implicit_root_jvp(theory, primals, tangents):
    net, mu, sigma, transfer, lam = primals
    d_net, d_mu, d_sigma, d_transfer, _ = tangents

    def det(n, m, s, t, z):
        return _det(n, m, s, t, theory, z)[0]

    _, slope = jax.jvp(lambda z: det(net, mu, sigma, transfer, z), (lam,), (jnp.ones_like(lam),))
    # the second LU factorisation after the first (a dependency on primals only: the tangent
    # stays linear, so reverse mode can transpose it)
    at = after(lam, slope)
    _, d_theta = jax.jvp(lambda n, m, s, t: det(n, m, s, t, at), (net, mu, sigma, transfer), (d_net, d_mu, d_sigma, d_transfer))
    return lam, -d_theta / slope


def _search(net, wp, grid, guesses, n_slots, transfer, theory, max_steps, rtol, skip_stable=False):
    """``det(I - W)`` on the grid ``2 pi i f`` (for the argument principle; one vectorised
    evaluation), then secant iterations from ``guesses`` (``None``: lambda = 0 and the
    ``n_slots - 1`` deepest minima of ``|det|`` on the grid; ``skip_stable``: no search where
    the grid proves the working point stable), ``n_slots`` points per iteration.  Returns
    ((det on the grid, eigenvalues of W at its top), roots (n_slots,), residual, done, steps)."""
    real = net.K.dtype
    cplx = jnp.result_type(real, 1j)
    n_grid = grid.shape[0]
    lower = _lower_bound(net, transfer)
    net_sg, mu_sg, sigma_sg, transfer_sg = jax.lax.stop_gradient((net, wp.mu, wp.sigma, transfer))

    def evaluate(z):
        return _det(net_sg, mu_sg, sigma_sg, transfer_sg, theory, z)

    done = jnp.zeros((n_slots,), bool)
    if n_grid:
        axis = (_TWO_PI_I * grid).astype(cplx)
        wp_plain = WorkingPoint(rates=None, mu=mu_sg, sigma=sigma_sg, valid=True)
        W = _coupling(net_sg, wp_plain, grid.astype(cplx), transfer_sg, theory)
        dets = jnp.linalg.det(jnp.broadcast_to(jnp.eye(W.shape[-1], dtype=cplx), W.shape) - W)
        # (F, P): where the spectral radius is < 1 the phase needs no grid (after the LU above:
        # one LAPACK kernel at a time, see _eigenmodes.after)
        top = jnp.linalg.eigvals(after(W, dets))
        mag = jnp.abs(dets)
        interior = (mag[1:-1] < mag[:-2]) & (mag[1:-1] <= mag[2:])
        _, idx = jax.lax.top_k(jnp.where(interior, -mag[1:-1], -jnp.inf), n_slots - 1)
        if guesses is None:
            # from the minima, a little into the right half-plane (growing modes are the question)
            guesses = jnp.concatenate([jnp.zeros((1,), cplx), axis[1:-1][idx] + _GUESS_GROWTH])
        if skip_stable:
            count, _, resolved = _nyquist(dets, top)
            done = done | (resolved & (count == 0))
    else:
        dets, top = jnp.zeros((0,), cplx), jnp.zeros((0, 0), cplx)
    start = jax.lax.stop_gradient(guesses).astype(cplx)
    nudge = start + 1e-3 * (jnp.abs(start) + 10.0) * jnp.where(start.imag == 0, 1.0, 1.0 + 1j)

    def body(state):
        k, xa, da, xb, db, sb, done, steps = state
        denom = db - da
        step = -db * (xb - xa) / jnp.where(denom == 0, 1.0, denom)
        cap = 0.5 * jnp.abs(xb) + 50.0  # secant steps on a quasi-polynomial can jump far
        step = jnp.where(jnp.abs(step) > cap, step * cap / jnp.maximum(jnp.abs(step), 1e-300), step)
        nxt = xb + jnp.where(done, 0.0, step)
        nxt = jax.lax.complex(jnp.maximum(nxt.real, lower), nxt.imag)
        z = jnp.where(k == 0, start, jnp.where(k == 1, nudge, nxt))
        d, scale = evaluate(z)
        active = (k >= 2) & ~done
        new_done = done | (active & ((jnp.abs(z - xb) <= rtol * (jnp.abs(z) + 1.0)) | (d == 0)))
        steps = steps + active.astype(jnp.int32)
        # k = 0: a <- start; k = 1: b <- nudge; then (a, b) <- (b, z)
        xa, da = jnp.where(k == 0, z, jnp.where(active, xb, xa)), jnp.where(k == 0, d, jnp.where(active, db, da))
        take = (k == 1) | active
        xb, db, sb = jnp.where(take, z, xb), jnp.where(take, d, db), jnp.where(take, scale, sb)
        return k + 1, xa, da, xb, db, sb, new_done, steps

    def cond(state):
        k, *_, done, _ = state
        return (k < max_steps + 2) & ~jnp.all(done)

    zeros = jnp.zeros((n_slots,), cplx)
    init = (jnp.zeros((), jnp.int32), zeros, zeros, zeros, zeros, jnp.ones((n_slots,), real), done, jnp.zeros((n_slots,), jnp.int32))
    _, _, _, lam, d, scale, done, steps = jax.lax.while_loop(cond, body, init)
    return (dets, top), lam, jnp.abs(d) / scale, done, steps


def _roots(net, wp, grid, guesses, n_slots, transfer, theory, max_steps, rtol, skip_stable=False):
    dets, lam, residual, done, steps = _search(
        net, wp, grid, guesses, n_slots, transfer, theory, max_steps, rtol, skip_stable
    )
    lower = _lower_bound(net, transfer)
    inside = (lam.real > lower + 1e-9 * (1.0 + jnp.abs(lower))) if transfer is None else jnp.isfinite(lam.real)
    ok = done & jnp.isfinite(lam) & jnp.isfinite(residual) & inside & (residual < 1e-6) & wp.valid
    root = _implicit_root(theory, net, wp.mu, wp.sigma, transfer, jax.lax.stop_gradient(lam))
    # a root met again from another start is a repeat
    close = jnp.abs(root[:, None] - root[None, :]) <= 1e-7 * (jnp.abs(root[:, None]) + 1.0)
    earlier = jnp.tril(jnp.ones((root.size, root.size), bool), -1)
    repeat = jnp.any(close & earlier & ok[None, :], axis=1)
    root = jnp.where(ok, root, 0.0)
    roots = CharacteristicRoots(
        lam=root,
        growth_rate=root.real,
        frequency=root.imag / (2 * math.pi),
        residual=jnp.where(ok, residual, jnp.inf),
        converged=ok,
        unique=ok & ~repeat,
        num_steps=steps,
    )
    return dets, roots


def _default_rtol(net, transfer):
    """Secant tolerance: near the working precision for the closed forms; for EIF/QIF
    populations that of the Fokker-Planck engine (~1e-8 relative at default steps), whose
    residual error a tighter tolerance would chase without end."""
    if jnp.finfo(net.K.dtype).bits < 64:
        return 1e-5
    return 1e-11 if transfer is not None or net.is_lif else 1e-8


@partial(jax.jit, static_argnames=("theory", "max_steps"))
def _roots_jit(net, wp, guesses, transfer, theory, max_steps):
    empty = jnp.zeros((0,), net.K.dtype)
    rtol = _default_rtol(net, transfer)
    return _roots(net, wp, empty, guesses, guesses.shape[0], transfer, theory, max_steps, rtol)[1]


def characteristic_roots(
    net: Network,
    guesses,
    rates=None,
    *,
    transfer: LowPassFit | None = None,
    refractory_phase: bool = True,
    variance_response: bool = True,
    max_steps: int = 60,
) -> CharacteristicRoots:
    """Roots ``lambda`` (1/s) of ``det(I - W(lambda)) = 0`` by the secant method from each of
    ``guesses`` (complex, 1/s, shape (S,); e.g. ``2j * pi * 150`` for a 150 Hz oscillation).

    Steps are capped at half the distance from the origin (plus 50/s) and kept inside the
    reach of the transfer function (decay rates below ``2.9/tau_m``).  A start that does not
    converge is reported (``converged=False``), never dropped.  jit/vmap; gradients of ``lam``
    with respect to every array of ``net`` (and of ``transfer``) by the implicit function
    theorem.

    Args:
        net, rates, transfer, refractory_phase, variance_response: as :func:`effective_connectivity`.
        guesses: starting points (1/s).
        max_steps: secant steps per start.

    Returns:
        :class:`CharacteristicRoots` of shape (S,).

    Example:
        >>> roots = characteristic_roots(brunel_a(g=6.0, eta=4.0), 2j * jnp.pi * jnp.array([100.0, 300.0]))
    """
    max_steps = as_int("max_steps", max_steps, minimum=1)
    g = jnp.atleast_1d(jnp.asarray(guesses))
    if g.ndim != 1:
        raise ValueError(f"guesses must be a 1-d array of complex growth rates (1/s), got shape {jnp.shape(guesses)}")
    wp, _, conds = _prepare(net, jnp.zeros(()), rates, transfer)
    _check_frequency("guesses", g, conds)
    g = g.astype(jnp.result_type(net.K.dtype, 1j))
    wp = WorkingPoint(wp.rates, wp.mu, wp.sigma, wp.valid & conds.valid())
    return _roots_jit(net, wp, g, transfer, Theory(bool(refractory_phase), bool(variance_response)), max_steps)


class Stability(eqx.Module):
    """Stability of a working point (:func:`stability`).

    Attributes:
        stable: no root in the right half-plane (the count is resolved, the working point
            valid, and no root with a positive growth rate was found).
        unstable_roots: number of roots with ``Re lambda > 0`` (argument principle; conjugate
            pairs count twice); -1 where the count is not resolved.
        resolved: the frequency grid resolved the phase of ``det(I - W)`` (steps below pi/2
            up to the last frequency where the spectral radius of ``W`` reaches 1), the count
            came out whole and the radius at the top of the grid is below 1.
        roots: :class:`CharacteristicRoots` from the minima of ``|det|`` on the axis and 0.
        dominant: the root with the largest growth rate (``roots.lam[roots.dominant()]``, 1/s;
            0 where none converged); growth_rate and frequency (Hz) of it.
        kind: 0 stable; 1 rate instability (the dominant root is real with ``Re lambda > 0``);
            2 oscillatory instability (dominant root with ``Im lambda != 0``, ``Re lambda > 0``);
            3 unstable by the count, but no growing root located; -1 undetermined (count not
            resolved and no growing root found, or an invalid working point).  A root with a
            positive growth rate proves instability even where the count is not resolved
            (strongly mean-driven states, whose ``W`` decays slowly).
    """

    stable: jax.Array
    unstable_roots: jax.Array
    resolved: jax.Array
    roots: CharacteristicRoots
    dominant: jax.Array
    growth_rate: jax.Array
    frequency: jax.Array
    kind: jax.Array


#: default Nyquist grid: 0 Hz and 1023 frequencies log-spaced from 0.1 Hz to 10 kHz
def _default_grid(dtype):
    return jnp.concatenate([jnp.zeros((1,), dtype), jnp.geomspace(0.1, 1e4, 1023, dtype=dtype)])


def _nyquist(det, eig):
    """(count, winding, resolved) of the roots in the right half-plane from ``det(I - W)`` and
    the eigenvalues ``eig`` (F, P) of ``W`` on the grid ``2 pi i f``, f from 0 up: ``-1/pi``
    times the change of the phase of the determinant.

    Where the spectral radius of ``W`` is below 1 every factor ``1 - w_i`` of the determinant
    lies in the right half-plane, so its phase is the continuous ``S = sum_i arg(1 - w_i)``
    whatever the grid's spacing (delays rotate ``W`` quickly at high frequencies; with the
    variance response ``W`` does not decay).  The phase is summed step by step up to the last
    grid point with spectral radius >= 1, continued by ``S`` from there, and ends at 0 at
    infinity, assuming the radius stays below 1 past the grid (required at its top)."""
    steps = jnp.angle(det[1:] / det[:-1])
    radius = jnp.max(jnp.abs(eig), axis=-1)
    idx = jnp.arange(det.shape[0])
    last = jnp.max(jnp.where(radius >= 1.0, idx, -1))  # last grid point where |w| can reach 1
    first_inside = jnp.minimum(last + 1, det.shape[0] - 1)
    stepped = idx[:-1] < first_inside  # steps up to the first point of the tail
    tail = jnp.sum(jnp.angle(1.0 - eig[first_inside]))
    winding = -(jnp.sum(jnp.where(stepped, steps, 0.0)) - tail) / math.pi
    count = jnp.round(winding)
    resolved = (
        (jnp.max(jnp.where(stepped, jnp.abs(steps), 0.0)) < 0.5 * math.pi)
        & (jnp.abs(winding - count) < 0.05)
        & (radius[-1] < 0.999)
        & jnp.all(jnp.isfinite(det))
    )
    return count, winding, resolved


def _stability(net, wp, freqs, transfer, theory, n_guesses, max_steps, skip_stable=False):
    det, roots = _roots(
        net, wp, freqs, None, n_guesses, transfer, theory, max_steps, _default_rtol(net, transfer), skip_stable
    )
    count, _, resolved = _nyquist(*det)
    resolved = resolved & wp.valid
    i = roots.dominant()
    dominant = jnp.where(i >= 0, roots.lam[jnp.maximum(i, 0)], 0.0)
    dominant = jnp.where(dominant.imag < 0, jnp.conj(dominant), dominant)  # Im >= 0 of the pair
    # a root with a positive growth rate proves instability whatever the count
    grows = (i >= 0) & (dominant.real > 0)
    unstable = grows | (resolved & (count > 0))
    stable = resolved & (count == 0) & ~grows
    oscillatory = jnp.abs(dominant.imag) > 1e-6 * (1.0 + jnp.abs(dominant))
    kind = jnp.where(stable, 0, jnp.where(unstable, jnp.where(grows, jnp.where(oscillatory, 2, 1), 3), -1))
    return Stability(
        stable=stable,
        unstable_roots=jnp.where(resolved, count, -1).astype(jnp.int32),
        resolved=resolved,
        roots=roots,
        dominant=dominant,
        growth_rate=dominant.real,
        frequency=dominant.imag / (2 * math.pi),
        kind=kind.astype(jnp.int32),
    )


@partial(jax.jit, static_argnames=("theory", "n_guesses", "max_steps"))
def _stability_jit(net, wp, freqs, transfer, theory, n_guesses, max_steps):
    return _stability(net, wp, freqs, transfer, theory, n_guesses, max_steps)


def stability(
    net: Network,
    rates=None,
    *,
    frequencies=None,
    transfer: LowPassFit | None = None,
    refractory_phase: bool = True,
    variance_response: bool = True,
    n_guesses: int = 16,
    max_steps: int = 60,
) -> Stability:
    """Is the working point of ``net`` stable, and if not, how does it lose stability?

    Counts the roots of ``det(I - W(lambda)) = 0`` in the right half-plane by the argument
    principle along the imaginary axis (module docstring) and locates the dominant roots by
    :func:`characteristic_roots` from ``lambda = 0`` and the ``n_guesses - 1`` deepest minima of
    ``|det(I - W(2 pi i f))|``.  The count does not depend on Newton finding every root.

    Args:
        net, rates, transfer, refractory_phase, variance_response: as :func:`effective_connectivity`.
        frequencies: sorted real grid (Hz) starting at 0 for the count; default 0 and 1023
            log-spaced frequencies from 0.1 Hz to 10 kHz.  ``resolved=False`` in the result asks
            for a finer or longer one.
        n_guesses: Newton starts (>= 2).
        max_steps: Newton steps per start.

    Returns:
        :class:`Stability`.  jit/vmap (a phase diagram: :func:`mfjax.sweep.brunel_phase_diagram`).

    Example:
        >>> stability(brunel_a(g=3.0, eta=2.0)).kind  # 1: rate instability (Brunel 2000, SR)
    """
    n_guesses = as_int("n_guesses", n_guesses, minimum=2)
    max_steps = as_int("max_steps", max_steps, minimum=1)
    dtype = net.K.dtype if isinstance(net, Network) else float
    if frequencies is None:
        freqs = _default_grid(dtype)
    else:
        freqs = jnp.asarray(frequencies, dtype)
        if freqs.ndim != 1 or freqs.shape[0] < 3:
            raise ValueError(f"frequencies must be a 1-d grid of at least 3 frequencies, got shape {freqs.shape}")
        if is_concrete(freqs):
            a = np.asarray(freqs)
            if not np.all(np.isfinite(a)) or a[0] != 0 or np.any(np.diff(a) <= 0):
                raise ValueError("frequencies must be finite, increasing and start at 0 Hz")
    if n_guesses - 1 > freqs.shape[0] - 2:
        raise ValueError(f"n_guesses must be <= {freqs.shape[0] - 1} for {freqs.shape[0]} frequencies")
    wp, _, conds = _prepare(net, freqs, rates, transfer, name="frequencies")
    wp = WorkingPoint(wp.rates, wp.mu, wp.sigma, wp.valid & conds.valid())
    return _stability_jit(net, wp, freqs, transfer, Theory(bool(refractory_phase), bool(variance_response)), n_guesses, max_steps)
