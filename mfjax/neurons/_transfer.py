"""Dynamic transfer function of the LIF neuron: the linear rate response to modulated input.

A LIF neuron ``tau_m dV/dt = -V + mu(t) + sigma sqrt(tau_m) xi(t)`` with threshold ``v_th``,
reset ``v_reset`` and refractory period ``tau_ref`` fires at the Siegert rate ``nu0``.  A small
modulation ``mu(t) = mu + eps e^{lambda t}`` (``lambda = 2 pi i f``; complex ``f`` for growing
or decaying modes) modulates the rate by ``eps h(f) e^{lambda t}``.  Solving the linearised
Fokker-Planck equation (Brunel & Hakim 1999, Neural Comput. 11:1621; Lindner &
Schimansky-Geier 2001, Phys. Rev. Lett. 86:2934, with the reset delayed by ``tau_ref``)::

    h(f) = nu0 sqrt(2)/sigma  s/(1 + s)
           [Psi_{-1-s}(x_th) - Psi_{-1-s}(x_r)] / [Psi_{-s}(x_th) - e^{-s tau_ref/tau_m} Psi_{-s}(x_r)],

with ``s = lambda tau_m``, ``x = sqrt(2) (mu - V)/sigma`` at threshold and reset and
``Psi_nu(x) = e^{x^2/4} D_nu(x)`` (parabolic cylinder functions; NNMT's ``_Psi(z, -x)`` with
``z = -1/2 + s``).  In the integrals ``I_sigma(x)`` of :mod:`._weber` every Gamma function
cancels::

    h(f) = nu0 sqrt(2)/sigma  1/(1 + s)  [I_{s+1}(x_th) - I_{s+1}(x_r)] / den(s),
    den(s) = [J_s(x_th) - e^{-s tau_ref/tau_m} J_s(x_r)]/s
           = (tau_ref/tau_m) exprel(-s tau_ref/tau_m) + E_s(x_th) - e^{-s tau_ref/tau_m} E_s(x_r),

the second form free of cancellation as ``s -> 0``, where ``den -> 1/(nu0 tau_m)`` and
``h -> d nu0/d mu`` exactly.

The response to a modulation of the input *variance* ``sigma^2(t) = sigma^2 + eps e^{lambda t}``
(Lindner & Schimansky-Geier 2001; noise intensity ``D = sigma^2/2``)::

    h_var(f) = nu0/sigma^2  1/(2 + s)  [I_{s+2}(x_th) - I_{s+2}(x_r)] / den(s),

which tends to ``d nu0/d sigma^2`` as ``f -> 0``.

Colored noise (``tau_s > 0``), as for the stationary rate (:func:`mfjax.lif_rate`):

* ``"shift"`` (Schuecker, Diesmann & Helias 2015, Phys. Rev. E 92:052119; NNMT's
  ``_transfer_function_shift``): the white-noise response with threshold and reset shifted by
  ``delta = sigma |zeta(1/2)|/sqrt(2) sqrt(tau_s/tau_m)``.  ``delta`` grows with ``sigma``, so
  the variance response also carries ``-(d delta/d sigma^2) h``;
* ``"taylor"`` (Schuecker et al. 2015; NNMT's ``_transfer_function_taylor``): the first-order
  expansion of the shifted response in ``sqrt(tau_s/tau_m)`` (computed as a JVP);
* ``"none"``: white noise.

``synaptic_filter=True`` multiplies the mean-input response by the synaptic low pass
``1/(1 + lambda tau_s)``: the response to a modulation of the input *current* (NNMT's
convention).  Units: mu, sigma mV; tau ms; f Hz; h Hz/mV, h_var Hz/mV^2.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Callable, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import Conditions, as_checked_array, is_concrete
from ._lif import _SHIFT_FACTOR, LIF, _check_call, _log_mfpt, _log_rate_times_tau, _safe_sqrt_ratio
from ._weber import MAX_SHIFT, exprel, weber_integrals

__all__ = ["lif_transfer", "lif_variance_transfer", "fit_low_pass", "LowPassFit"]

_SQRT2 = math.sqrt(2.0)
_SMALL = 1.0  # |s| below which den(s) is taken in its E form


def _check_transfer_call(neuron, mu, sigma, frequency, correction) -> Conditions:
    conds = _check_call(neuron, mu, sigma, correction, sigma_positive=True)
    if isinstance(frequency, (bool, np.bool_)) or np.asarray(getattr(frequency, "dtype", None) == bool).any():
        raise ValueError("frequency must be numeric (Hz), got a boolean")
    return check_complex_frequency(frequency, neuron.tau_m, conds)


def check_complex_frequency(frequency, tau_m, conds: Conditions) -> Conditions:
    """Finite real and imaginary parts, and the decay rate 2 pi Im f below MAX_SHIFT/tau_m:
    the reach of the integrals (see _weber), kept for the Fokker-Planck engine too."""
    f_im = jnp.imag(frequency)
    conds.require("frequency (real part)", jnp.real(frequency))
    conds.require("frequency (imaginary part)", f_im)
    f_im, tau_m = jnp.broadcast_arrays(f_im, jnp.asarray(tau_m))
    decay = 2.0 * math.pi * f_im * tau_m / 1000.0
    conds.where(
        f"frequency: the decay rate 2 pi Im(f) of a complex frequency must stay below "
        f"{MAX_SHIFT}/tau_m, i.e. Im(f) < {MAX_SHIFT}/(2 pi tau_m)",
        ~(decay < MAX_SHIFT - 1e-9),
    )
    return conds


def _rate(mu, sigma, tau_m, tau_ref, v_th, v_reset, delta):
    """Siegert rate (Hz) with threshold and reset raised by ``delta`` (mV)."""
    log_r = _log_mfpt((v_th + delta - mu) / sigma, (v_reset + delta - mu) / sigma)
    return 1000.0 * jnp.exp(_log_rate_times_tau(log_r, tau_ref / tau_m)) / tau_m


class _Boundaries(NamedTuple):
    """The Weber integrals at threshold (``_t``) and reset (``_r``) on a common scale ``e^c``
    (``ct``, ``cr``: each point's share of it), the reset's phase factor ``e^{-s tau_ref/tau_m}``
    and the denominator ``den(s)`` of the module docstring, held as ``over_den``: ``q -> q/den``
    for any ``q`` on the scale ``e^c``."""

    x_th: jax.Array
    x_r: jax.Array
    i1_t: jax.Array
    i2_t: jax.Array
    i1_r: jax.Array
    i2_r: jax.Array
    ct: jax.Array
    cr: jax.Array
    delay: jax.Array
    over_den: Callable


def _boundaries(mu, sigma, tau_m, ref_phase, v_th, v_reset, s, delta) -> _Boundaries:
    """Threshold and reset raised by ``delta`` (mV), in one evaluation of the integrals (one
    compiled copy, one pass)."""
    x_th = _SQRT2 * (mu - v_th - delta) / sigma
    x_r = _SQRT2 * (mu - v_reset - delta) / sigma
    both = weber_integrals(jnp.stack([s, s]), jnp.stack([x_th, x_r]))
    (c_t, i1_t, i2_t, e_t), (c_r, i1_r, i2_r, e_r) = zip(*((v[0], v[1]) for v in both))
    ref = ref_phase / tau_m
    delay = jnp.exp(-s * ref)
    small = jnp.abs(s) < _SMALL
    # everything on the scale e^c of the larger integrals
    c = jnp.maximum(c_t, c_r)
    ct = jnp.exp(c_t - c)
    cr = jnp.exp(c_r - c)
    s_big = jnp.where(small, 1.0, s)
    den_j = (ct * (x_th * i1_t + i2_t) - delay * cr * (x_r * i1_r + i2_r)) / s_big
    # the E form carries the constant term: put it all on the scale e^{max(c, 0)}
    c0 = jnp.maximum(c, 0.0)
    rescale = jnp.exp(c - c0)
    den_e = ref * exprel(-s * ref) * jnp.exp(-jnp.where(small, c0, 0.0)) + rescale * (ct * e_t - delay * cr * e_r)
    den_e = jnp.where(small, den_e, 1.0)  # unused there, and 0 for tau_ref = 0 at large |s|

    def over_den(q):
        return jnp.where(small, q * rescale / den_e, q / den_j)

    return _Boundaries(x_th, x_r, i1_t, i2_t, i1_r, i2_r, ct, cr, delay, over_den)


def _response(mu, sigma, tau_m, tau_ref, ref_phase, v_th, v_reset, s, delta):
    """White-noise ``(h, h_var)`` with threshold and reset raised by ``delta`` (mV), and their
    derivatives with respect to ``delta`` (for the first-order colored-noise expansion).

    ``tau_ref`` enters the rate, ``ref_phase`` the reset's phase (equal, but for NNMT's form).
    The derivatives need no further integrals: ``dI_{s+k}/dx = -I_{s+k+1}``,
    ``dE_s/dx = -I_{s+1}``, ``I_{s+3} = (s+1) I_{s+1} - x I_{s+2}``, ``dx/d delta = -sqrt2/sigma``.
    """
    nu0, dnu0 = jax.jvp(lambda d: _rate(mu, sigma, tau_m, tau_ref, v_th, v_reset, d), (delta,), (jnp.ones_like(delta),))
    b = _boundaries(mu, sigma, tau_m, ref_phase, v_th, v_reset, s, delta)
    ct, cr = b.ct, b.cr
    num1 = ct * b.i1_t - cr * b.i1_r
    num2 = ct * b.i2_t - cr * b.i2_r
    num3 = ct * ((s + 1) * b.i1_t - b.x_th * b.i2_t) - cr * ((s + 1) * b.i1_r - b.x_r * b.i2_r)
    dden = ct * b.i1_t - b.delay * cr * b.i1_r  # d den/d delta, over sqrt2/sigma
    r1, r2, r3, rd = (b.over_den(q) for q in (num1, num2, num3, dden))
    g = _SQRT2 / sigma
    h = nu0 * g * r1 / (1 + s)
    h_var = nu0 / (sigma * sigma) * r2 / (2 + s)
    dh = g / (1 + s) * (dnu0 * r1 + nu0 * g * (r2 - r1 * rd))
    dh_var = 1 / (sigma * sigma * (2 + s)) * (dnu0 * r2 + nu0 * g * (r3 - r2 * rd))
    return h, h_var, dh, dh_var


def _broadcast_call(neuron, mu, sigma, frequency):
    """``(mu, sigma, tau_m, tau_ref, v_th, v_reset, tau_s, lambda)`` broadcast together, real
    fields in the common float type and ``lambda = 2 pi i f`` (1/ms) complex."""
    fields = [neuron.tau_m, neuron.tau_ref, neuron.v_th, neuron.v_reset, neuron.tau_s]
    real = jnp.result_type(float, mu, sigma, *fields)
    cplx = jnp.result_type(real, 1j)
    lam = 2j * math.pi * jnp.asarray(frequency, cplx) / 1000.0  # 1/ms
    shape = jnp.broadcast_shapes(jnp.shape(mu), jnp.shape(sigma), lam.shape, *(jnp.shape(v) for v in fields))
    values = (jnp.broadcast_to(jnp.asarray(v, real), shape) for v in [mu, sigma, *fields])
    return (*values, jnp.broadcast_to(lam, shape))


def _shift(sigma, tau_m, tau_s):
    """``(delta / sigma, delta)``: the colored-noise shift of threshold and reset (mV) of the
    ``"shift"`` correction (:func:`mfjax.lif_rate`)."""
    kk = _safe_sqrt_ratio(tau_s, tau_m) * _SHIFT_FACTOR
    return kk, sigma * kk


def _corrected(neuron, mu, sigma, frequency, correction, refractory_phase):
    """(h, h_var, lambda tau_s) for a validated call."""
    mu, sigma, tau_m, tau_ref, v_th, v_reset, tau_s, lam = _broadcast_call(neuron, mu, sigma, frequency)
    s = lam * tau_m
    ref_phase = tau_ref if refractory_phase else jnp.zeros_like(tau_ref)
    kk, delta = _shift(sigma, tau_m, tau_s)
    delta = delta if correction == "shift" else jnp.zeros_like(kk)
    h, h_var, dh, dh_var = _response(mu, sigma, tau_m, tau_ref, ref_phase, v_th, v_reset, s, delta)
    if correction == "taylor":  # first order in sqrt(tau_s/tau_m)
        h, h_var = h + sigma * kk * dh, h_var + sigma * kk * dh_var
    if correction != "none":  # delta = sigma kk moves with sigma: d delta/d sigma^2 = kk/(2 sigma)
        h_var = h_var - kk / (2 * sigma) * (h if correction == "shift" else h - sigma * kk * dh)
    return h, h_var, lam * tau_s


@partial(jax.jit, static_argnames=("correction", "refractory_phase"))
def _responses(neuron, mu, sigma, frequency, correction, refractory_phase):
    """One compiled program for both responses (lif_transfer and lif_variance_transfer share it)."""
    return _corrected(neuron, mu, sigma, frequency, correction, refractory_phase)


def lif_transfer(
    neuron: LIF,
    mu,
    sigma,
    frequency,
    correction: str = "shift",
    synaptic_filter: bool = True,
    refractory_phase: bool = True,
):
    """Dynamic transfer function ``h(f)`` (Hz/mV): the complex linear response of the firing
    rate to a modulation ``e^{2 pi i f t}`` of the mean input (see the module docstring for the
    equations and sources).

    Exact (no approximation of the closed form): relative error below 1e-9 against ``mpmath``
    parabolic cylinder functions from 0.01 Hz to 10 kHz, mean-driven to deep sub-threshold, for
    complex frequencies of either growth sign (``tests/neurons/test_transfer.py``).  ``f = 0``
    gives ``d nu/d mu`` of :func:`mfjax.lif_rate` with the same correction (times the synaptic
    filter's 1).  jit/vmap/grad with respect to mu, sigma, every LIF field and ``f``.

    Args:
        neuron: :class:`LIF` (fields broadcast with the other inputs).
        mu: mean input (mV).
        sigma: input standard deviation (mV), > 0.
        frequency: Hz, real or complex (``f = f_r + i f_i`` is the mode ``e^{2 pi i f_r t}``
            growing at the rate ``-2 pi f_i``; any growth rate, decay rates ``2 pi f_i`` below
            ``3/tau_m``).
            Broadcasts: ``frequency[:, None]`` with 8 populations gives shape ``(F, 8)``.
        correction: ``"shift"`` (default), ``"taylor"`` or ``"none"`` (colored-noise
            treatment; irrelevant for ``tau_s = 0``).
        synaptic_filter: multiply by ``1/(1 + 2 pi i f tau_s)`` (response to the input current,
            as NNMT does).
        refractory_phase: keep the factor ``e^{-2 pi i f tau_ref}`` of the delayed reset
            (Lindner & Schimansky-Geier 2001).  ``False`` reproduces NNMT 1.3, which leaves it
            out (and so misses d nu/d mu at small f by several percent when tau_ref > 0).

    Returns:
        Complex array, the broadcast shape of the inputs.

    Example:
        >>> lif_transfer(LIF(20.0, 2.0, 20.0, 10.0), 15.0, 5.0, jnp.array([1.0, 10.0, 100.0]))
    """
    conds = _check_transfer_call(neuron, mu, sigma, frequency, correction)
    h, _, lam_tau_s = _responses(neuron, mu, sigma, frequency, correction, bool(refractory_phase))
    if synaptic_filter:
        h = h / (1 + lam_tau_s)
    return conds.enforce(h)


def lif_variance_transfer(neuron: LIF, mu, sigma, frequency, correction: str = "shift", refractory_phase: bool = True):
    """Response of the rate to a modulation of the input variance: ``d nu/d sigma^2`` at
    frequency ``f`` (Hz/mV^2; Lindner & Schimansky-Geier 2001), needed for the pairwise
    effective connectivity (Helias et al. 2013) and noise-coded signals.  ``f = 0`` gives
    ``d nu/d sigma^2`` of :func:`mfjax.lif_rate`.  Arguments as :func:`lif_transfer` (no
    synaptic filter: ``sigma^2`` is the variance as it enters the membrane equation)."""
    conds = _check_transfer_call(neuron, mu, sigma, frequency, correction)
    return conds.enforce(_responses(neuron, mu, sigma, frequency, correction, bool(refractory_phase))[1])


class LowPassFit(eqx.Module):
    """Low-pass fit ``h(f) ~ h0/(1 + 2 pi i f tau)`` per population (:func:`fit_low_pass`).

    Attributes:
        h0: gain (Hz/mV), shape ``(P,)``.
        tau: time constant ``tau_rate`` (ms), shape ``(P,)``.
        rms_error: root-mean-square misfit of ``|h|`` (Hz/mV), shape ``(P,)``.
    """

    h0: jax.Array
    tau: jax.Array
    rms_error: jax.Array

    def __call__(self, frequency):
        """The fitted transfer function at ``frequency`` (Hz, real or complex, any shape):
        shape ``frequency.shape + (P,)``."""
        f = jnp.asarray(frequency)
        lead = (1,) * f.ndim + self.h0.shape
        lam = 2j * math.pi * f[..., None] / 1000.0
        return jnp.reshape(self.h0, lead) / (1 + lam * jnp.reshape(self.tau, lead))

    def rate_weights(self, net):
        """Weights of the equivalent rate model, ``W[a, b] = h0[a] tau_m[a] K[a, b] J[a, b]``
        (dimensionless; Senk et al. 2020, Sec. F), with the gain of the receiving population
        ``a``.  (NNMT 1.3 broadcasts ``h0 * tau_m * J * K`` over the last axis, i.e. it uses
        the sending population's gain.)"""
        p = net.J.shape[-1]
        tau_m = jnp.broadcast_to(jnp.asarray(net.neuron.tau_m), (p,)) / 1000.0  # s
        return (self.h0 * tau_m)[:, None] * net.K * net.J


def fit_low_pass(frequency, h) -> LowPassFit:
    """Fit ``|h0/(1 + 2 pi i f tau)|`` to ``|h(f)|`` by least squares, per population (the
    rate-model reduction of Senk et al. 2020, Sec. F; NNMT's ``fit_transfer_function``, which
    fails on numpy >= 2).

    For a given ``tau`` the best gain is linear, ``h0 = sum a|h| / sum a^2`` with
    ``a = 1/sqrt(1 + (2 pi f tau)^2)``; ``log tau`` is then found by a golden-section search over
    ``[1e-3, 1e4]`` ms (80 steps: below 1e-12 relative) and polished by three Newton steps on the
    misfit's derivative, which also carry gradients.

    Args:
        frequency: real frequencies (Hz), shape ``(F,)``.
        h: transfer function (Hz/mV), shape ``(F, P)`` (e.g. from :func:`lif_transfer`).

    Returns:
        :class:`LowPassFit` with ``h0`` (Hz/mV), ``tau`` (ms) and the misfit.
    """
    f = as_checked_array("frequency", frequency, nonnegative=True)
    if f.ndim != 1 or f.shape[0] < 2:
        raise ValueError(f"frequency must be a 1-D array of at least 2 frequencies, got shape {f.shape}")
    h_arr = jnp.asarray(h)
    if h_arr.ndim == 1:
        h_arr = h_arr[:, None]
    if h_arr.ndim != 2 or h_arr.shape[0] != f.shape[0]:
        raise ValueError(f"h must have shape (F, P) with F = {f.shape[0]} frequencies, got {jnp.shape(h)}")
    if is_concrete(h_arr) and not np.all(np.isfinite(np.asarray(h_arr))):
        raise ValueError("h must be finite")
    return _fit_low_pass(jnp.asarray(f), jnp.abs(h_arr))


@jax.jit
def _fit_low_pass(f, mag):
    omega = 2 * math.pi * f / 1000.0  # 1/ms

    def gain_and_misfit(log_tau):
        a = 1.0 / jnp.sqrt(1.0 + (omega[:, None] * jnp.exp(log_tau)[None, :]) ** 2)
        h0 = jnp.sum(a * mag, 0) / jnp.sum(a * a, 0)
        return h0, jnp.mean((h0[None, :] * a - mag) ** 2, 0)

    misfit = lambda lt: gain_and_misfit(lt)[1]  # noqa: E731
    golden = (math.sqrt(5.0) - 1.0) / 2.0
    p = mag.shape[1]
    lo, hi = jnp.full((p,), math.log(1e-3)), jnp.full((p,), math.log(1e4))

    def section(_, bounds):
        lo, hi = bounds
        x1, x2 = hi - golden * (hi - lo), lo + golden * (hi - lo)
        left = misfit(x1) < misfit(x2)
        return jnp.where(left, lo, x1), jnp.where(left, x2, hi)

    lo, hi = jax.lax.fori_loop(0, 80, section, (jax.lax.stop_gradient(lo), jax.lax.stop_gradient(hi)))
    log_tau = jax.lax.stop_gradient(0.5 * (lo + hi))
    d1 = jax.grad(lambda lt: jnp.sum(misfit(lt)))
    d2 = jax.grad(lambda lt: jnp.sum(d1(lt)))
    for _ in range(3):
        curv = d2(log_tau)
        log_tau = log_tau - jnp.where(curv > 0, d1(log_tau) / jnp.where(curv > 0, curv, 1.0), 0.0)
    h0, err = gain_and_misfit(log_tau)
    return LowPassFit(h0=h0, tau=jnp.exp(log_tau), rms_error=jnp.sqrt(err))
