"""Spike-train power spectrum of the LIF neuron with white-noise input (a renewal process).

Between spikes the membrane of ``tau_m dV/dt = -V + mu + sigma sqrt(tau_m) xi(t)`` is an
Ornstein-Uhlenbeck process that restarts at ``v_reset`` after each spike and the refractory
period, so the spike train is a renewal process.  The Laplace transform of its inter-spike
interval density ``rho(t)`` is that of the first passage from reset to threshold (Darling &
Siegert 1953, Ann. Math. Stat. 24:624) after the dead time ``tau_ref``::

    F(lambda) = int rho(t) e^{-lambda t} dt = e^{-s tau_ref/tau_m} Psi_{-s}(x_r) / Psi_{-s}(x_th),

with ``s = lambda tau_m``, ``x = sqrt(2) (mu - V)/sigma`` and ``Psi_nu(x) = e^{x^2/4} D_nu(x)``
as in :mod:`._transfer` (Lindner, Schimansky-Geier & Longtin 2002, Phys. Rev. E 66:031916).
The two-sided power spectrum of a stationary renewal train of rate ``nu`` (Stratonovich 1967;
Cox & Lewis 1966) at ``lambda = 2 pi i f``::

    S(f) = nu Re[(1 + F) / (1 - F)] = nu (1 - |F|^2) / |1 - F|^2          (Hz)

tends to ``CV^2 nu`` as ``f -> 0`` (the long-window Fano factor of a renewal train is ``CV^2``)
and to ``nu`` (Poisson) as ``f -> inf``; regular neurons show peaks at ``nu`` and its harmonics.

In the Weber integrals of :mod:`._weber`, ``Psi_{-s} = I_s / Gamma(s)`` and ``s I_s = J_s``, so
``F = e^{-s tau_ref/tau_m} J_s(x_r) / J_s(x_th)`` and ``1 - F = s den(s) / J_s(x_th)`` with the
cancellation-free denominator ``den`` of the transfer function (whose poles are the zeros of
``1 - F``).  The part of the spectrum beyond Poisson is then computed without cancellation::

    S(f) - nu = 2 nu Re[e^{-s tau_ref/tau_m} J_s(x_r) / (s den(s))].

At ``f = 0`` the limit is taken from :func:`mfjax.lif_cv`; near it the real part of a quantity
``~ 1/s`` costs ``log10(1/|s|)`` digits (1e-12 relative at ``f tau_m = 1e-4``).

Colored noise (``tau_s > 0``, ``"shift"``): the white-noise spectrum with threshold and reset
shifted as for the rate, an approximation (the same as :func:`mfjax.lif_cv`'s; ``"taylor"`` and
``"none"`` leave them unshifted, as ``lif_cv`` does).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from ._lif import LIF, _lif_cv
from ._transfer import _boundaries, _broadcast_call, _check_transfer_call, _rate, _shift

__all__ = ["lif_spike_spectrum"]


@partial(jax.jit, static_argnames="correction")
def _spike_spectrum_parts(neuron, mu, sigma, frequency, correction):
    """``(S - nu, nu)`` (Hz) for a validated call, broadcast shape of the inputs."""
    cv = _lif_cv(neuron, mu, sigma, correction)
    mu, sigma, tau_m, tau_ref, v_th, v_reset, tau_s, lam = _broadcast_call(neuron, mu, sigma, frequency)
    _, delta = _shift(sigma, tau_m, tau_s)
    delta = delta if correction == "shift" else jnp.zeros_like(delta)
    nu = _rate(mu, sigma, tau_m, tau_ref, v_th, v_reset, delta)
    s = lam * tau_m
    zero = s == 0
    b = _boundaries(mu, sigma, tau_m, tau_ref, v_th, v_reset, jnp.where(zero, 1.0, s), delta)
    j_r = b.delay * b.cr * (b.x_r * b.i1_r + b.i2_r)
    excess = 2.0 * nu * jnp.real(b.over_den(j_r) / jnp.where(zero, 1.0, s))
    excess = jnp.where(zero, (jnp.broadcast_to(cv, nu.shape) ** 2 - 1.0) * nu, excess)
    return excess, nu


def _check_spectrum_call(neuron, mu, sigma, frequency, correction):
    conds = _check_transfer_call(neuron, mu, sigma, frequency, correction)
    conds.where("frequency: a power spectrum needs real frequencies", jnp.imag(frequency) != 0)
    return conds


def lif_spike_spectrum(neuron: LIF, mu, sigma, frequency, correction: str = "shift"):
    """Power spectrum ``S(f)`` (Hz; two-sided, ``S(-f) = S(f)``) of the spike train of a LIF
    neuron with Gaussian white-noise input of mean ``mu`` and std ``sigma`` (mV): the renewal
    spectrum ``nu Re[(1 + F)/(1 - F)]`` of its inter-spike-interval density (module docstring;
    Lindner, Schimansky-Geier & Longtin 2002).

    ``S(0) = CV^2 nu`` (:func:`mfjax.lif_cv`, :func:`mfjax.lif_rate`), ``S(inf) = nu``.  Exact
    (no approximation of the closed form): against ``mpmath`` parabolic cylinder functions to
    1e-9 (``tests/neurons/test_spike_spectrum.py``).  jit/vmap/grad like :func:`mfjax.lif_transfer`.

    Args:
        neuron: :class:`LIF`.  mu: mean input (mV).  sigma: input std (mV), > 0.
        frequency: Hz, real, any shape; broadcasts with the other inputs.
        correction: ``"shift"`` (default), ``"taylor"`` or ``"none"``: colored noise, as
            :func:`mfjax.lif_cv` (irrelevant for ``tau_s = 0``).

    Returns:
        Real array (Hz), the broadcast shape of the inputs.

    Example:
        >>> lif_spike_spectrum(LIF(20.0, 2.0, 20.0, 10.0), 19.0, 1.0, jnp.linspace(0.0, 200.0, 5))
    """
    conds = _check_spectrum_call(neuron, mu, sigma, frequency, correction)
    excess, nu = _spike_spectrum_parts(neuron, mu, sigma, frequency, correction)
    return conds.enforce(nu + excess)
