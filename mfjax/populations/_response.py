"""Linear response of a multi-population LIF network around its working point.

A small perturbation of the population rates ``delta nu_b(t) = e^{lambda t}`` (``lambda = 2 pi
i f``) reaches population ``a`` through ``K_ab`` synapses of strength ``J_ab`` after the delays
of the pathway, and modulates its rate through the dynamic transfer function ``h_a(f)``
(:func:`mfjax.lif_transfer`).  The effective connectivity (Bos, Diesmann & Helias 2016, PLoS
Comput. Biol. 12:e1005132, eq. 12-13; NNMT's ``lif.exp.effective_connectivity``)::

    W_ab(f) = tau_m,a K_ab J_ab h_a(f) D_ab(f)                   (dimensionless)

with the *receiving* population's transfer function (in Hz/mV, with the synaptic low pass for
exponential synapses) and membrane time constant (in s), and ``D_ab`` the characteristic
function of the pathway's delay distribution (:meth:`Network.delay_characteristic`).  Rows are
targets, columns sources, as ``K`` and ``J``.

The rates modulate the input variance as well, ``d sigma_a^2 = tau_m K_ab (J_ab^2 + J_sd,ab^2)
d nu_b`` (:mod:`._rates`), to which the neuron responds with ``h_var`` (:func:`mfjax.lif_variance_transfer`;
Brunel & Hakim 1999, Brunel 2000, who keep this term)::

    W_ab(f) = tau_m,a K_ab [J_ab h_a(f) + (J_ab^2 + J_sd,ab^2) h_var,a(f)] D_ab(f)

(``variance_response=True``, the default).  Bos et al. (2016) and NNMT drop the second term
(``variance_response=False``).  It is small where ``|J| << |sum_b K_ab J_ab| / sum_b K_ab J_ab^2``
but not in balanced networks, where the mean inputs cancel and the variances add: in Brunel's
model A at (g, eta) = (5, 2) it moves the spectral peak from 248 Hz to 126 Hz, where the
simulated network has it (129 Hz; ``benchmarks/results/linear_response.json``).  With
exponential synapses the variance channel is low-pass filtered with ``tau_s/2`` (the time
constant of the squared synaptic kernel), an approximation of the colored-noise response.

The population-averaged spike trains of finite populations fluctuate around the working point.
Treating each neuron's own spike train as Poisson (its spectrum is ``nu_a``) and propagating
these fluctuations through the network linearly (Bos et al. 2016, eq. 18; Grytskyy et al. 2013,
Front. Comput. Neurosci. 7:131)::

    C(f) = (I - W(f))^{-1} diag(nu / N) (I - W(f))^{-H}          (Hz)

the cross-spectral density of the population rates ``r_a(t) = N_a^{-1} sum_i s_i(t)``: a
two-sided density, ``C_ab(f) = int dtau e^{-2 pi i f tau} <delta r_a(t + tau) delta r_b(t)>``,
in Hz^2/Hz = Hz.  Its diagonal is the power spectrum of each population (NNMT's
``power_spectra``, which labels it hertz**2).

Everything is valid only around a *stable* working point (no root of ``det(I - W) = 0`` with a
positive growth rate: :func:`mfjax.populations.stability`).

Units: time ms, frequency Hz, rates Hz, voltage mV.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._batching import flat_under_vmap
from .._checks import Conditions, as_checked_array, as_int, is_concrete
from ..neurons._spectrum import _spike_spectrum_parts
from ..neurons._lif import LIF
from ..neurons._threshold import _DEFAULT_STEPS, _engine_responses
from ..neurons._transfer import LowPassFit, _check_transfer_call, _responses
from ._delays import characteristic, delay_conditions
from ._eigenmodes import SensitivityMeasure, after, all_mode_sensitivities, eigenvalue_trajectories, mode_sensitivity
from ._network import SYNAPSE_MODELS, Network
from ._rates import RateSolution, input_std, mean_input, solve_rates

__all__ = [
    "WorkingPoint",
    "working_point",
    "population_transfer",
    "effective_connectivity",
    "propagator",
    "cross_spectra",
    "power_spectra",
    "LinearResponse",
    "linear_response",
    "sensitivity_measure",
    "sensitivity_measure_all_eigenmodes",
]


class WorkingPoint(eqx.Module):
    """Rates (Hz) and inputs mu, sigma (mV) of every population, shape (P,), with ``valid``:
    the working point converged and every parameter is valid (a traced bool inside ``jit``)."""

    rates: jax.Array
    mu: jax.Array
    sigma: jax.Array
    valid: jax.Array


def _checked_network(net) -> Network:
    if not isinstance(net, Network):
        raise TypeError(f"net must be an mfjax Network, got {type(net).__name__}")
    if net.synapses not in SYNAPSE_MODELS:
        raise ValueError(
            "the linear response has no theory for conductance-based synapses "
            f"(net.synapses={net.synapses!r})"
        )
    if net.input_model != "diffusion":
        raise ValueError(
            "the linear response is the diffusion theory's (lif_transfer); it has none for "
            f"net.input_model={net.input_model!r}: use input_model='diffusion'"
        )
    return net


def _require_lif(net: Network, what: str) -> None:
    """Refuse what has a closed form for LIF populations only (the spike-train spectrum, the
    CV of :func:`mfjax.neurons.lif_cv`)."""
    if not net.is_lif:
        raise ValueError(f"{what} needs LIF populations (closed forms); this network has EIF or QIF "
                         "populations (net.neuron), for which mfjax has no spike-train spectrum")


def working_point(net: Network, rates=None, conds: Conditions | None = None, *, need_sigma: bool = True) -> WorkingPoint:
    """The working point the response is taken around.

    ``rates``: ``None`` (solve it: :func:`solve_rates`, which raises when it does not converge),
    a :class:`RateSolution` (its ``converged`` must hold) or an array of rates (Hz, shape (P,)).
    Conditions on traced values are added to ``conds`` (and folded into ``valid``);
    ``need_sigma``: the input std must be > 0 (the LIF transfer function needs it; a low-pass
    rate model does not).
    """
    net = _checked_network(net)
    conds = Conditions() if conds is None else conds
    Network.conditions(net, conds.traced_only())
    p = net.num_populations
    if rates is None:
        rates = solve_rates(net, on_failure="raise" if is_concrete(net) else "return")
    if isinstance(rates, RateSolution):
        conds.where("rates: the working point (RateSolution) did not converge", ~jnp.asarray(rates.converged))
        rates = rates.rates
    else:
        as_checked_array("rates", rates, nonnegative=True)
        if jnp.shape(rates) != (p,):
            raise ValueError(f"rates must have shape ({p},), got {jnp.shape(rates)}")
        conds.require("rates", rates, nonnegative=True)
    rates = jnp.asarray(rates, net.K.dtype)
    mu, sigma = mean_input(net, rates), input_std(net, rates)
    if need_sigma:
        conds.require("sigma (input std at the working point, mV)", sigma, positive=True)
    return WorkingPoint(rates=rates, mu=mu, sigma=sigma, valid=conds.valid())


def _check_frequency(name, frequency, conds: Conditions):
    if isinstance(frequency, (bool, np.bool_)):
        raise ValueError(f"{name} must be numeric (Hz), got a boolean")
    f = jnp.asarray(frequency)
    if f.dtype == bool:
        raise ValueError(f"{name} must be numeric (Hz), got a boolean array")
    conds.require(f"{name} (real part)", jnp.real(f)).require(f"{name} (imaginary part)", jnp.imag(f))
    return f


class Theory(NamedTuple):
    """Static choices of the linear-response theory (hashable: a compile-time constant)."""

    refractory_phase: bool = True  # the reset's phase e^{-2 pi i f tau_ref} (False: NNMT 1.3)
    variance: bool = True  # the rates modulate the input variance too (False: Bos 2016, NNMT)
    shared: bool = False  # every population has the same neuron and input (Brunel's model A):
    #                       one transfer function serves all (half the work for model A)
    flat: bool = False  # under vmap, evaluate the transfer function as one broadcast batch
    #                     (mfjax._batching: 4-7x faster; forward only, for sweeps without gradients)


@functools.lru_cache(maxsize=8)
def _flat_responses(correction: str, refractory_phase: bool):
    """:func:`_responses` with the flat vmap rule of :func:`mfjax._batching.flat_under_vmap`."""
    return flat_under_vmap(functools.partial(_responses, correction=correction, refractory_phase=refractory_phase))


def _transfer(net: Network, wp: WorkingPoint, f, transfer, theory: Theory):
    """``(h, h_var)``: responses (Hz/mV, Hz/mV^2) to the mean and the variance of the input,
    shape ``f.shape + (P,)``, with the synaptic filters; ``h_var`` is None when the theory
    leaves it out (and for a low-pass rate model).  No checks."""
    if transfer is not None:
        return transfer(f), None
    if not net.is_lif:
        h, h_var = _model_responses(net, wp, f)
        return h, (h_var if theory.variance else None)
    neuron, mu, sigma = net.neuron, wp.mu, wp.sigma
    if theory.shared:
        neuron = jax.tree_util.tree_map(lambda v: jnp.reshape(v, (-1,))[:1], neuron)
        mu, sigma = mu[:1], sigma[:1]
    correction = SYNAPSE_MODELS[net.synapses]
    if theory.flat:
        h, h_var, lam_tau_s = _flat_responses(correction, theory.refractory_phase)(neuron, mu, sigma, f[..., None])
    else:
        h, h_var, lam_tau_s = _responses(neuron, mu, sigma, f[..., None], correction, theory.refractory_phase)
    if theory.shared:
        shape = f.shape + (net.num_populations,)
        h, h_var, lam_tau_s = (jnp.broadcast_to(x, shape) for x in (h, h_var, lam_tau_s))
    if net.synapses != "delta":
        # the synaptic current's mean follows the rates through the synapse's low pass, its
        # variance (a sum of squared exponentials, time constant tau_s/2) through a faster one
        h = h / (1 + lam_tau_s)
        h_var = h_var / (1 + 0.5 * lam_tau_s)
    return h, (h_var if theory.variance else None)


def _model_responses(net: Network, wp: WorkingPoint, f):
    """``(h, h_var)`` of networks with EIF or QIF populations (delta synapses, white noise):
    each population's :func:`mfjax.rate_response` to the mean and to the variance (the
    threshold-integration engine, which includes the reset's phase, at real or complex ``f``:
    the engine integrates the modulated Fokker-Planck equation with ``a = 2 pi i f`` as it
    stands, so a complex ``f`` gives the analytic continuation that the characteristic equation
    needs); LIF populations of a mixed network take the same closed forms as an all-LIF network."""

    def one(neuron, mu, sigma, freq):
        if isinstance(neuron, LIF):
            h, h_var, _ = _responses(neuron, mu, sigma, freq, SYNAPSE_MODELS["delta"], True)
            return h, h_var
        return _engine_responses(neuron, mu, sigma, freq, _DEFAULT_STEPS)

    if isinstance(net.neuron, tuple):
        parts = [one(m, wp.mu[a], wp.sigma[a], f) for a, m in enumerate(net.neuron)]
        return tuple(jnp.stack([part[k] for part in parts], axis=-1) for k in (0, 1))
    return one(net.neuron, wp.mu, wp.sigma, f[..., None])


def _lead(x, nd: int):
    """``x`` with ``nd`` leading axes of length 1 (explicit broadcasting against a grid)."""
    return jnp.reshape(x, (1,) * nd + jnp.shape(x))


def _weights(net: Network, f, responses):
    """``W_ab(f) = tau_m,a [K_ab J_ab h_a(f) + K_ab (J_ab^2 + J_sd,ab^2) h_var,a(f)] D_ab(f)``
    from :func:`_transfer`'s responses (the derivatives of mu and sigma^2 with respect to the
    rates, :mod:`._rates`, times the responses to each)."""
    h, h_var = responses
    p, nd = net.num_populations, jnp.ndim(f)
    tau_m = _lead(jnp.asarray(net.neuron_field("tau_m"), net.K.dtype) * 1e-3, nd)  # s
    fb = jnp.broadcast_to(f[..., None, None], f.shape + (p, p))
    D = characteristic(fb, _lead(net.delay, nd), _lead(net.delay_sd, nd), net.delay_distribution)
    W = (tau_m * h)[..., :, None] * _lead(net.K * net.J, nd)
    if h_var is not None:
        W = W + (tau_m * h_var)[..., :, None] * _lead(net.K * (net.J**2 + net.J_sd**2), nd)
    return W * D


def _coupling(net: Network, wp: WorkingPoint, f, transfer, theory):
    """W(f), shape ``f.shape + (P, P)``; no checks."""
    return _weights(net, f, _transfer(net, wp, f, transfer, theory))


def _prepare(net, frequency, rates, transfer, name="frequency"):
    """Validated (working point, frequency, conditions) of a public call."""
    if transfer is not None and not isinstance(transfer, LowPassFit):
        raise TypeError(f"transfer must be None (the LIF transfer function) or a LowPassFit, got {type(transfer).__name__}")
    conds = Conditions()
    f = _check_frequency(name, frequency, conds)
    wp = working_point(net, rates, conds, need_sigma=transfer is None)
    if transfer is None:
        if net.is_lif:
            _check_transfer_call(net.neuron, wp.mu, wp.sigma, f[..., None], SYNAPSE_MODELS[net.synapses])
        # traced conditions of that call: the same as ``conds`` holds plus the decay-rate bound
        # (for EIF/QIF populations the same bound: the reach in which the engine is verified)
        tau_m = jnp.asarray(net.neuron_field("tau_m"))
        conds.where(
            f"{name}: the decay rate 2 pi Im(f) must stay below 3/tau_m (reach of the transfer function)",
            ~(2 * math.pi * jnp.imag(f)[..., None] * _lead(tau_m, f.ndim) / 1000.0 < 3.0 - 1e-9),
        )
    else:
        if transfer.h0.shape != (net.num_populations,):
            raise ValueError(f"transfer must fit {net.num_populations} populations, got h0 of shape {transfer.h0.shape}")
    delay_conditions(conds, net.delay, net.delay_sd, net.delay_distribution, jnp.reshape(f, (-1,))[:, None, None])
    return wp, f, conds


def population_transfer(net: Network, frequency, rates=None, *, transfer: LowPassFit | None = None, refractory_phase: bool = True):
    """Transfer function ``h_a(f)`` of every population at its working point (Hz/mV), shape
    ``frequency.shape + (P,)``: :func:`mfjax.lif_transfer` with the network's synapse model
    (``"delta"``: white noise, no filter; ``"shift"``/``"taylor"``: colored-noise correction and
    the synaptic low pass ``1/(1 + 2 pi i f tau_s)``), or the low-pass fit ``transfer``."""
    wp, f, conds = _prepare(net, frequency, rates, transfer)
    return conds.enforce(_transfer(net, wp, f, transfer, Theory(bool(refractory_phase), False))[0])


def effective_connectivity(net: Network, frequency, rates=None, *, transfer: LowPassFit | None = None, refractory_phase: bool = True, variance_response: bool = True):
    """Effective connectivity ``W_ab(f) = tau_m,a K_ab J_ab h_a(f) D_ab(f)`` (dimensionless;
    Bos et al. 2016 eq. 12-13, the convention of NNMT: rows receive, the receiving population's
    ``h`` and ``tau_m``; module docstring).

    Args:
        net: the network (current-based synapses).
        frequency: Hz, any shape, real or complex (``f = f_r + i f_i``: the mode ``e^{2 pi i f t}``
            growing at the rate ``-2 pi f_i``); decay rates ``2 pi f_i`` below ``3/tau_m``.
        rates: the working point: ``None`` (solved), a :class:`RateSolution` or rates (Hz).
        transfer: ``None`` for the LIF transfer function, or a :class:`mfjax.neurons.LowPassFit`
            (the rate-model reduction ``h0/(1 + 2 pi i f tau)``).
        refractory_phase: see :func:`mfjax.lif_transfer` (``False`` reproduces NNMT 1.3).
        variance_response: include the modulation of the input *variance* by the rates
            (``tau_m K (J^2 + J_sd^2)`` times :func:`mfjax.lif_variance_transfer`; Brunel &
            Hakim 1999, Brunel 2000).  ``False`` is the mean-input-only form of Bos et al. 2016
            and NNMT 1.3.

    Returns:
        Complex array of shape ``frequency.shape + (P, P)``.  jit/vmap/grad with respect to every
        array of ``net`` (the working point by implicit differentiation) and ``frequency``.

    Example:
        >>> W = effective_connectivity(microcircuit("bos2016"), jnp.linspace(1.0, 400.0, 400))
    """
    wp, f, conds = _prepare(net, frequency, rates, transfer)
    return conds.enforce(_coupling(net, wp, f, transfer, Theory(bool(refractory_phase), bool(variance_response))))


def _propagate(W):
    """(I - W)^{-1} and (I - W)^{-1} W, batched over leading axes."""
    eye = jnp.broadcast_to(jnp.eye(W.shape[-1], dtype=W.dtype), W.shape)
    inv = jnp.linalg.solve(eye - W, eye)
    return inv, inv - eye  # (I - W)^{-1} W = (I - W)^{-1} - I


def propagator(net: Network, frequency, rates=None, *, transfer: LowPassFit | None = None, refractory_phase: bool = True, variance_response: bool = True):
    """Propagator ``P(f) = (I - W(f))^{-1} W(f)`` (Bos et al. 2016, eq. 16; NNMT's ``propagator``):
    the linear response of the population rates to a perturbation of their inputs, all paths
    through the network summed.  Arguments and shape as :func:`effective_connectivity`."""
    wp, f, conds = _prepare(net, frequency, rates, transfer)
    return conds.enforce(_propagate(_coupling(net, wp, f, transfer, Theory(bool(refractory_phase), bool(variance_response))))[1])


def _spectra_of(W, source):
    """(cross-spectra (I - W)^{-1} diag(source) (I - W)^{-H}, propagator) from W; ``source``
    of shape (P,) or ``W.shape[:-1]``."""
    inv, prop = _propagate(W)
    source = source.astype(inv.dtype)
    return jnp.einsum("...ac,...c,...bc->...ab", inv, source, jnp.conj(inv)), prop


AUTOCOVARIANCES = ("poisson", "renewal")


def _check_autocovariance(autocovariance, transfer, net):
    if autocovariance not in AUTOCOVARIANCES:
        raise ValueError(f"autocovariance must be one of {AUTOCOVARIANCES}, got {autocovariance!r}")
    if autocovariance == "renewal" and transfer is not None:
        raise ValueError("autocovariance='renewal' needs the LIF working point (its spike-train spectrum), not a LowPassFit transfer")
    if autocovariance == "renewal" and isinstance(net, Network):
        _require_lif(net, "autocovariance='renewal' (the LIF spike-train spectrum)")


def _renewal_excess(net: Network, wp: WorkingPoint, f, autocovariance: str):
    """``S_a(f) - nu_a`` (Hz), shape ``f.shape + (P,)``: how far each population's single-neuron
    spike-train spectrum departs from Poisson (:func:`mfjax.neurons.lif_spike_spectrum` for
    ``"renewal"``, zero for ``"poisson"``); no checks."""
    if autocovariance == "poisson":
        return jnp.zeros(f.shape + wp.rates.shape, wp.rates.dtype)
    return _spike_spectrum_parts(net.neuron, wp.mu, wp.sigma, jnp.real(f)[..., None], SYNAPSE_MODELS[net.synapses])[0]


def _neuron_sources(net: Network, wp: WorkingPoint, f, autocovariance: str):
    """``(S(f)/N, S(f) - nu)``: the source of the population fluctuations (Hz) and the single
    neuron's departure from Poisson (:func:`_renewal_excess`), shape ``f.shape + (P,)`` each."""
    excess = _renewal_excess(net, wp, f, autocovariance)
    return (_lead(wp.rates, f.ndim) + excess) / _lead(net.N, f.ndim), excess


def _cross_spectra(net, wp, f, transfer, theory, autocovariance="poisson"):
    return _spectra_of(_coupling(net, wp, f, transfer, theory), _neuron_sources(net, wp, f, autocovariance)[0])[0]


def cross_spectra(net: Network, frequency, rates=None, *, autocovariance: str = "poisson", transfer: LowPassFit | None = None,
                  refractory_phase: bool = True, variance_response: bool = True):
    """Cross-spectral densities ``C(f) = (I - W)^{-1} diag(S(f)/N) (I - W)^{-H}`` of the
    population-averaged rates (Hz, two-sided; module docstring), shape
    ``frequency.shape + (P, P)``, Hermitian; ``C_ab(-f) = conj(C_ab(f))`` for real ``f``.

    ``autocovariance``: the single-neuron spike-train spectrum ``S_a(f)`` that drives the
    fluctuations: ``"poisson"`` (``nu_a``; Bos et al. 2016, NNMT) or ``"renewal"`` (the LIF's own,
    :func:`mfjax.neurons.lif_spike_spectrum` at the working point: ``CV^2 nu`` at low
    frequencies, peaks at the rate for regular neurons; the renewal-source linear response of
    Lindner, Doiron & Longtin 2005, Phys. Rev. E 72:061919, and Trousdale et al. 2012, PLoS
    Comput. Biol. 8:e1002408).  Other arguments as :func:`effective_connectivity` (real
    frequencies)."""
    _check_autocovariance(autocovariance, transfer, net)
    wp, f, conds = _prepare(net, frequency, rates, transfer)
    conds.where("frequency: spectra need real frequencies", jnp.imag(f) != 0)
    theory = Theory(bool(refractory_phase), bool(variance_response))
    return conds.enforce(_cross_spectra(net, wp, f, transfer, theory, autocovariance))


def power_spectra(net: Network, frequency, rates=None, *, autocovariance: str = "poisson", transfer: LowPassFit | None = None,
                  refractory_phase: bool = True, variance_response: bool = True):
    """Power spectra of the population-averaged rates (Bos et al. 2016, eq. 18; NNMT's
    ``power_spectra``): the diagonal of :func:`cross_spectra`, real, shape
    ``frequency.shape + (P,)``, in Hz (Hz^2 per Hz).  At high frequencies each tends to
    ``nu_a / N_a``, the spectrum of ``N_a`` independent Poisson trains.

    Example:
        >>> S = power_spectra(microcircuit("bos2016"), jnp.arange(1.0, 401.0))  # (400, 8) Hz
    """
    c = cross_spectra(net, frequency, rates, autocovariance=autocovariance, transfer=transfer,
                      refractory_phase=refractory_phase, variance_response=variance_response)
    return jnp.real(jnp.diagonal(c, axis1=-2, axis2=-1))


class LinearResponse(eqx.Module):
    """Everything :func:`linear_response` computes from one effective connectivity.

    Attributes:
        frequency: the grid (Hz), shape (F,).
        rates: the working point (Hz), shape (P,).
        transfer: ``h_a(f)`` (Hz/mV), shape (F, P).
        effective_connectivity: ``W(f)``, shape (F, P, P).
        propagator: ``(I - W)^{-1} W``, shape (F, P, P).
        cross_spectra: ``C(f)`` (Hz), shape (F, P, P); power_spectra: its diagonal, (F, P).
        eigenvalues: eigenvalues of ``W(f)`` followed across the grid, (F, P)
            (:func:`mfjax.populations.eigenvalue_trajectories`); eigenvalue_order: their index
            into ``jnp.linalg.eigvals(W[k])``.
        sensitivity: :class:`SensitivityMeasure` of every trajectory where it passes closest
            to 1 (fields with a leading axis P).
    """

    frequency: jax.Array
    rates: jax.Array
    transfer: jax.Array
    effective_connectivity: jax.Array
    propagator: jax.Array
    cross_spectra: jax.Array
    power_spectra: jax.Array
    eigenvalues: jax.Array
    eigenvalue_order: jax.Array
    sensitivity: SensitivityMeasure


def linear_response(net: Network, frequency, rates=None, *, transfer: LowPassFit | None = None, refractory_phase: bool = True, variance_response: bool = True) -> LinearResponse:
    """The linear-response analysis of Bos et al. (2016) in one pass over a sorted real grid
    ``frequency`` (Hz, shape (F,)): transfer functions, effective connectivity, propagator,
    cross- and power spectra, the eigenvalue trajectories of ``W(f)`` and the sensitivity
    measure of every mode, all from one evaluation of the transfer function (the functions of
    the same names compute one each).  Arguments as :func:`effective_connectivity`.

    Example:
        >>> lr = linear_response(microcircuit("bos2016"), jnp.arange(1, 3142) / (2 * jnp.pi))
        >>> lr.power_spectra.shape  # (3141, 8), Hz
    """
    wp, f, conds = _prepare(net, frequency, rates, transfer)
    if f.ndim != 1 or f.shape[0] < 2:
        raise ValueError(f"frequency must be a 1-d grid of at least 2 frequencies, got shape {f.shape}")
    conds.where("frequency: the analysis needs real frequencies", jnp.imag(f) != 0)
    f = jnp.real(f).astype(net.K.dtype)
    responses = _transfer(net, wp, f, transfer, Theory(bool(refractory_phase), bool(variance_response)))
    W = _weights(net, f, responses)
    h = responses[0]
    C, prop = _spectra_of(W, wp.rates / net.N)
    ev, order = eigenvalue_trajectories(after(W, C))  # one LAPACK kernel at a time (see after)
    W_modes = after(W, ev)
    out = LinearResponse(
        frequency=f, rates=wp.rates, transfer=h, effective_connectivity=W, propagator=prop, cross_spectra=C,
        power_spectra=jnp.real(jnp.diagonal(C, axis1=-2, axis2=-1)), eigenvalues=ev, eigenvalue_order=order,
        sensitivity=all_mode_sensitivities(W_modes, f),
    )
    return conds.enforce(out)


def sensitivity_measure(net: Network, frequency, rates=None, *, mode=None, transfer: LowPassFit | None = None, refractory_phase: bool = True, variance_response: bool = True) -> SensitivityMeasure:
    """Sensitivity measure of Bos et al. (2016, eq. 7; NNMT's ``sensitivity_measure``) at one
    real ``frequency`` (Hz) for the eigenmode ``mode`` (an index into
    ``jnp.linalg.eigvals(W(f))``; default: the eigenvalue closest to 1, the mode that shapes
    the spectrum there).  Other arguments as :func:`effective_connectivity`."""
    wp, f, conds = _prepare(net, frequency, rates, transfer)
    if f.ndim != 0:
        raise ValueError(f"frequency must be a scalar (Hz), got shape {f.shape}")
    conds.where("frequency must be real", jnp.imag(f) != 0)
    W = _coupling(net, wp, f.astype(jnp.result_type(net.K.dtype, 1j)), transfer, Theory(bool(refractory_phase), bool(variance_response)))
    if mode is None:
        index = jnp.argmin(jnp.abs(jnp.linalg.eigvals(W) - 1.0))
        W = after(W, index)
    else:
        index = as_int("mode", mode, minimum=0, maximum=net.num_populations - 1)
    return conds.enforce(mode_sensitivity(W, index, jnp.real(f)))


def sensitivity_measure_all_eigenmodes(net: Network, frequencies, rates=None, *, transfer: LowPassFit | None = None, refractory_phase: bool = True, variance_response: bool = True) -> SensitivityMeasure:
    """The sensitivity measure of every eigenmode (NNMT's ``sensitivity_measure_all_eigenmodes``):
    the eigenvalues of ``W(f)`` are followed across the sorted grid ``frequencies`` (Hz,
    :func:`eigenvalue_trajectories`) and each trajectory is evaluated at the frequency where it
    passes closest to 1.  Returns a :class:`SensitivityMeasure` whose fields have a leading
    axis of length P (the trajectories, in the order of ``eigenvalue_trajectories``)."""
    wp, f, conds = _prepare(net, frequencies, rates, transfer, name="frequencies")
    if f.ndim != 1 or f.shape[0] < 2:
        raise ValueError(f"frequencies must be a 1-d grid of at least 2 frequencies, got shape {f.shape}")
    conds.where("frequencies must be real", jnp.imag(f) != 0)
    W = _coupling(net, wp, f.astype(jnp.result_type(net.K.dtype, 1j)), transfer, Theory(bool(refractory_phase), bool(variance_response)))
    return conds.enforce(all_mode_sensitivities(W, jnp.real(f)))
