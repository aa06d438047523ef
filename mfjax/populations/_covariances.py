"""Spike-count covariances and correlations of a network from its linear response.

**Population level.**  The cross-spectra ``C(f)`` of the population-averaged rates
(:func:`mfjax.populations.cross_spectra`, Hz) give the covariance of the population-averaged
spike counts ``n_a = N_a^{-1} sum_i n_i`` in a window of length ``T`` (Wiener-Khinchin; Tetzlaff
et al. 2012, PLoS Comput. Biol. 8:e1002596, eq. 2)::

    Cov(n_a, n_b; T) = int df C_ab(f) [sin(pi f T) / (pi f)]^2           (counts^2)

which grows as ``T C_ab(0)`` once ``T`` exceeds the correlation times.  :func:`covariances`
reports ``Cov / T`` (Hz), so that the long-window limit is ``C(0)``, the mean pairwise
covariance of two different neurons and their mean count correlation coefficient.  In a
balanced network with in-degree ``K`` and ``N = K/epsilon`` neurons the mean correlation falls
as ``1/N`` (Helias, Tetzlaff & Diesmann 2014, PLoS Comput. Biol. 10:e1003428).

**Neuron level.**  For one realisation of the connectivity, every neuron is its own
"population" (``N = 1``) and the zero-frequency effective connectivity ``W = tau_m K [J
d nu/d mu + (J^2 + J_sd^2) d nu/d sigma^2]`` (Helias et al. 2013, New J. Phys. 15:023002, eq.
A.3) couples single neurons.  :func:`pairwise_covariances` follows Layer, Helias & Dahmen
("Beyond-mean-field theory for the statistics of neuronal coordination", arXiv:2308.00421, 2023,
eq. 9 and 11; NNMT's ``pairwise_covariances``): ``C = A diag(D) A^T``
with ``A = (I - W)^{-1}`` and the effective noise ``D = (A o A)^{-1} a`` chosen so that the
diagonal equals the autocovariances ``a_i = CV_i^2 nu_i`` of renewal spike trains (the
long-window Fano factor of a renewal process is ``CV^2``).

Units: windows ms, rates and covariance densities Hz.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_checked_array
from ..neurons._lif import _lif_cv
from ..neurons._transfer import LowPassFit
from ._network import SYNAPSE_MODELS, Network
from ._response import Theory, _check_autocovariance, _coupling, _lead, _neuron_sources, _prepare, _require_lif

__all__ = ["Covariances", "covariances", "PairwiseCovariances", "pairwise_covariances"]

# Frequency grid of the window integral (see _filon_grid): uniform to _UNIFORM_TO Hz, then
# geometric (spacing f / _LOG_DENSITY) up to _F_MAX Hz
_UNIFORM_TO, _LOG_DENSITY, _F_MAX = 1024.0, 512.0, 1.0e5


class Covariances(eqx.Module):
    """Count covariances of a network in a window (:func:`covariances`).

    Attributes:
        population: ``Cov(n_a, n_b; T) / T`` of the population-averaged spike counts (Hz),
            shape ``window.shape + (P, P)``; ``C(0)`` of :func:`cross_spectra` for long windows.
        pairwise: mean covariance density of the counts of two different neurons, one in ``a``
            and one in ``b`` (Hz): ``(population_aa - a_a/N_a) / (1 - 1/N_a)`` on the
            diagonal (the count variance ``a_a T`` of the neuron itself removed: ``a = nu``
            for Poisson autocovariances, ``CV^2 nu`` for renewal ones), ``population_ab`` off it.
        correlation: mean count correlation coefficient of such pairs,
            ``pairwise / sqrt(a_a a_b)``.
        rates: the working point (Hz), shape (P,).
        window: the counting window ``T`` (ms); ``inf`` for the long-window limit.
    """

    population: jax.Array
    pairwise: jax.Array
    correlation: jax.Array
    rates: jax.Array
    window: jax.Array


def _filon_grid(resolution: float) -> np.ndarray:
    """Panel edges (Hz) of the window integral: spacing ``resolution`` up to ``_UNIFORM_TO``,
    then growing as ``f / _LOG_DENSITY`` (but at least ``resolution``) up to ``_F_MAX``."""
    lo = max(_UNIFORM_TO, resolution * _LOG_DENSITY)
    count = int(np.ceil(np.log(_F_MAX / lo) * _LOG_DENSITY))
    return np.concatenate([np.arange(0.0, lo - 0.5 * resolution, resolution), lo * np.exp(np.arange(count + 1) / _LOG_DENSITY)])


def _cos_moments(theta):
    """``M_k = int_{-1}^{1} s^k e^{i theta s} ds``, k = 0, 1, 2 (series below theta = 1, where
    the closed forms cancel)."""
    small = theta < 1.0
    t = jnp.where(small, theta, 1.0)
    t2 = t * t
    m0s, m1s, m2s, term, odd = 0.0, 0.0, 0.0, 1.0, t
    for m in range(9):  # terms to theta^18 / 18!: < 1e-16 for theta < 1
        m0s = m0s + 2.0 * term / (2 * m + 1)
        m2s = m2s + 2.0 * term / (2 * m + 3)
        m1s = m1s + 2.0 * odd / (2 * m + 3)
        term = -term * t2 / ((2 * m + 1) * (2 * m + 2))
        odd = -odd * t2 / ((2 * m + 2) * (2 * m + 3))
    b = jnp.where(small, 1.0, theta)
    sin, cos = jnp.sin(b), jnp.cos(b)
    m0 = jnp.where(small, m0s, 2.0 * sin / b)
    m1 = jnp.where(small, m1s, 2.0 * (sin - b * cos) / b**2)  # M_1 = i m1
    m2 = jnp.where(small, m2s, 2.0 * ((b * b - 2.0) * sin + 2.0 * b * cos) / b**3)
    return m0, m1, m2


def _filon_weights(edges, omega):
    """Weights of composite Filon-Simpson quadrature (Filon 1928; Abramowitz & Stegun 25.4.47,
    here on panels of any width): ``int_{e_0}^{e_n} q(f) cos(omega f) df ~ sum_k w_k q(x_k)``,
    ``q`` quadratic on each panel pair ``[e_j, e_{j+1}]`` through its ends and midpoint, the
    cosine integrated exactly, so the grid has to resolve ``q`` only, whatever ``omega``.
    ``edges`` (numpy, n + 1), ``omega`` (rad s^-1 -> per Hz: ``2 pi T``), shape S; returns the
    nodes (2n + 1,) and the weights, shape S + (2n + 1,)."""
    a, b = edges[:-1], edges[1:]
    nodes = np.concatenate([np.stack([a, 0.5 * (a + b)], -1).ravel(), b[-1:]])
    omega = omega[..., None]
    h, mid = _lead(0.5 * (b - a), omega.ndim - 1), _lead(0.5 * (a + b), omega.ndim - 1)
    m0, m1, m2 = _cos_moments(omega * h)
    phi = omega * mid
    cos, sin = jnp.cos(phi), jnp.sin(phi)
    # Lagrange basis s(s-1)/2, 1 - s^2, s(s+1)/2 on s in [-1, 1]; Re[e^{i phi} (x + i y)]
    w0 = h * (0.5 * m2 * cos + 0.5 * m1 * sin)
    w1 = h * (m0 - m2) * cos
    w2 = h * (0.5 * m2 * cos - 0.5 * m1 * sin)
    n = len(a)
    weights = jnp.zeros(omega.shape[:-1] + (2 * n + 1,), w1.dtype)
    weights = weights.at[..., 0:2 * n:2].add(w0).at[..., 1:2 * n:2].add(w1).at[..., 2:2 * n + 1:2].add(w2)
    return nodes, weights


def _excess_spectra(W, source):
    """``C(f) - diag(source)`` without cancellation: with ``P = (I - W)^{-1} W``,
    ``C = (I + P) S (I + P)^H``, so ``C - S = P S + S P^H + P S P^H``; ``source`` of shape (P,)
    or ``W.shape[:-1]``."""
    eye = jnp.broadcast_to(jnp.eye(W.shape[-1], dtype=W.dtype), W.shape)
    P = jnp.linalg.solve(eye - W, W)
    s = jnp.broadcast_to(source.astype(W.dtype), W.shape[:-1])
    PS = P * s[..., None, :]
    return PS + jnp.conj(jnp.swapaxes(PS, -1, -2)) + jnp.einsum("...ac,...bc->...ab", PS, jnp.conj(P))


def _beyond_poisson(net, wp, f, W, autocovariance):
    """``(R, E)``: ``R = Re C(f) - diag(nu/N)`` (Hz), shape ``f.shape + (P, P)``, and the
    single-neuron ``E = S(f) - nu`` (Hz), shape ``f.shape + (P,)``, each without cancellation."""
    source, excess = _neuron_sources(net, wp, f, autocovariance)
    R = _excess_spectra(W, source) + _lead(jnp.eye(W.shape[-1], dtype=W.dtype), f.ndim) * (excess / _lead(net.N, f.ndim))[..., None, :]
    return jnp.real(R), excess


def covariances(net: Network, rates=None, *, window=None, autocovariance: str = "poisson", resolution: float = 0.25,
                transfer: LowPassFit | None = None, refractory_phase: bool = True,
                variance_response: bool = True) -> Covariances:
    """Spike-count covariances of the population-averaged counts, the mean pairwise covariance
    and the mean count correlation coefficient (module docstring, :class:`Covariances`).

    Args:
        net, rates, transfer, refractory_phase, variance_response: as
            :func:`mfjax.populations.effective_connectivity`.
        window: counting window ``T`` (ms), any shape, each > 0; ``None`` (default) for the
            long-window limit ``C(f = 0)`` (Tetzlaff et al. 2012; Helias et al. 2013).
        autocovariance: the spike-train spectrum ``S(f)`` of a single neuron that drives the
            network's fluctuations (:func:`mfjax.populations.cross_spectra`): ``"poisson"``
            (``nu``, Bos et al. 2016, Grytskyy et al. 2013, NNMT) or ``"renewal"``, the LIF's
            own renewal spectrum at the working point (:func:`mfjax.neurons.lif_spike_spectrum`;
            ``CV^2 nu`` at ``f = 0``, as in Layer et al. 2023, ``nu`` at high ``f``), the one to
            use when neurons fire regularly.  The pairwise covariances and correlations then
            remove and normalise by the single neuron's own count variance in the window,
            ``a(T) T`` (``a(inf) = CV^2 nu``, ``a(0) = nu``), instead of ``nu T``.
        resolution: frequency spacing (Hz) below 1024 Hz of the grid on which the spectra are
            integrated for finite windows (above, the spacing grows as ``f/512`` up to 100 kHz;
            about 13000 frequencies).  It must resolve the spectral peaks (their width is the
            decay rate of the dominant mode, or the ISI jitter of regular neurons); the window
            itself is integrated exactly (Filon's method), whatever ``T``.

    With ``q(f) = (R(f) - R(0)) / f^2``, ``R = Re C - diag(nu/N)`` (``Cov`` in counts^2,
    ``f`` in Hz, ``T`` in s)::

        Cov(T) / T = diag(nu/N) + R(0) + (1 / (pi^2 T)) int_0^inf q(f) (1 - cos 2 pi f T) df

    and the same for the single neuron's ``a(T)`` with ``S - nu`` in place of ``R``.  The part
    beyond 100 kHz is ``-R(0) / (pi^2 T F)`` plus at most ``max|R| / (pi^2 T F)`` (``F`` = 100
    kHz: 1e-3 relative at ``T = 1`` ms when ``|R|`` is as large as ``nu/N``).

    Returns:
        :class:`Covariances` with fields of shape ``window.shape + (P, P)``.

    Example:
        >>> cov = covariances(brunel_a(5.0, 2.0), window=jnp.array([10.0, 100.0, 1000.0]))
        >>> cov.correlation[..., 0, 0]  # mean E-E count correlation in 10, 100, 1000 ms
    """
    theory = Theory(bool(refractory_phase), bool(variance_response))
    _check_autocovariance(autocovariance, transfer, net)
    if window is not None:
        window = as_checked_array("window", window, positive=True)
        resolution = float(as_checked_array("resolution", resolution, positive=True))
    wp, f0, conds = _prepare(net, jnp.zeros(()), rates, transfer)
    base = wp.rates / net.N
    if window is None:
        R, E = _beyond_poisson(net, wp, f0, _coupling(net, wp, f0, transfer, theory), autocovariance)
        c, auto = jnp.diag(base) + R, wp.rates + E
        window = jnp.asarray(jnp.inf, net.K.dtype)
    else:
        conds.require("window (ms)", window, positive=True)
        window = jnp.asarray(window, net.K.dtype)
        T = window * 1e-3  # s
        edges = _filon_grid(resolution)
        nodes, simpson = _filon_weights(edges, jnp.zeros((), net.K.dtype))
        _, filon = _filon_weights(edges, 2.0 * math.pi * T)
        f = jnp.asarray(nodes, net.K.dtype)
        R, E = _beyond_poisson(net, wp, f, _coupling(net, wp, f, transfer, theory), autocovariance)  # (M, P, P), (M, P)
        weights = _lead(simpson, T.ndim) - filon

        def windowed(X):  # X(0) + (1/(pi^2 T)) int (X(f) - X(0))/f^2 (1 - cos 2 pi f T) df, per element
            trailing = X.ndim - 1
            q = (X[1:] - X[:1]) / jnp.reshape(f[1:] ** 2, (-1,) + (1,) * trailing)
            q = jnp.concatenate([(4.0 * q[:1] - q[1:2]) / 3.0, q])  # q(0) from q(h), q(2h): q even in f
            integral = jnp.tensordot(weights, q, axes=1) - _lead(X[0], T.ndim) / _F_MAX
            return _lead(X[0], T.ndim) + integral / (math.pi**2 * jnp.reshape(T, T.shape + (1,) * trailing))

        c = _lead(jnp.diag(base), T.ndim) + windowed(R)
        auto = _lead(wp.rates, T.ndim) + windowed(E)
    c = 0.5 * (c + jnp.swapaxes(c, -1, -2))
    n = net.N
    # within a population only N_a - 1 of the N_a partners are other neurons
    within = jnp.where(jnp.eye(len(n), dtype=bool), jnp.where(n > 1, 1 - 1 / n, 1.0)[:, None], 1.0)
    nd = window.ndim
    own = auto / _lead(n, nd)  # each neuron's own count variance, over N_a
    pair = (c - own[..., None, :] * _lead(jnp.eye(len(n), dtype=c.dtype), nd)) / _lead(within, nd)
    scale = jnp.sqrt(auto[..., :, None] * auto[..., None, :])
    corr = jnp.where(scale > 0, pair / jnp.where(scale > 0, scale, 1.0), 0.0)
    return conds.enforce(Covariances(population=c, pairwise=pair, correlation=corr, rates=wp.rates, window=window))


class PairwiseCovariances(eqx.Module):
    """Neuron-level covariances of one network realisation (:func:`pairwise_covariances`).

    Attributes:
        covariance: long-window count covariance densities ``C_ij`` (Hz), shape (N, N); the
            diagonal is ``CV_i^2 nu_i``.
        correlation: ``C_ij / sqrt(C_ii C_jj)`` (the diagonal is 1).
        effective_connectivity: the zero-frequency ``W_ij`` (dimensionless; rows receive).
        noise: the effective noise strengths ``D_i`` (Hz; Layer et al. 2023, eq. 11).
        rates: ``nu_i`` (Hz); cv: the ISI coefficients of variation used.
    """

    covariance: jax.Array
    correlation: jax.Array
    effective_connectivity: jax.Array
    noise: jax.Array
    rates: jax.Array
    cv: jax.Array


def pairwise_covariances(net: Network, rates=None, *, cv=None, variance_response: bool = True) -> PairwiseCovariances:
    """Covariances of every pair of neurons of a neuron-level network (Layer, Helias & Dahmen
    2023; NNMT's ``lif.exp.pairwise_covariances``; module docstring).

    Args:
        net: a network whose populations are single neurons (``N = 1`` everywhere), ``K[i, j]``
            the number of synapses from neuron ``j`` onto neuron ``i`` and ``J[i, j]`` their
            weight (mV); :func:`mfjax.spiking.neuron_network` builds one from a drawn
            :class:`mfjax.spiking.Connectivity`.  Current-based synapses.
        rates: the working point (``None``: solved for every neuron; a :class:`RateSolution`;
            rates in Hz).
        cv: ISI coefficients of variation, shape (N,) or scalar; ``None``: the LIF's own
            (:func:`mfjax.lif_cv` at each neuron's input).  1 gives Poisson autocovariances.
        variance_response: keep the ``J^2 d nu/d sigma^2`` term of the effective coupling
            (Helias et al. 2013, eq. A.3, as NNMT).

    Returns:
        :class:`PairwiseCovariances`.  Differentiable with respect to every array of ``net``.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be an mfjax Network, got {type(net).__name__}")
    if not bool(np.all(np.asarray(net.N) == 1)):
        raise ValueError("net must be a neuron-level network (N = 1 for every population): "
                         "build one with mfjax.spiking.neuron_network")
    if cv is None:
        _require_lif(net, "pairwise_covariances with cv=None (lif_cv); pass cv= (e.g. mfjax.isi_cv of each population)")
    wp, f, conds = _prepare(net, jnp.zeros(()), rates, None)
    W = jnp.real(_coupling(net, wp, f, None, Theory(True, bool(variance_response))))
    if cv is None:
        cv = _lif_cv(net.neuron, wp.mu, wp.sigma, SYNAPSE_MODELS[net.synapses])
    else:
        as_checked_array("cv", cv, nonnegative=True)
        if jnp.shape(cv) not in ((), (net.num_populations,)):
            raise ValueError(f"cv must be a scalar or have shape ({net.num_populations},), got {jnp.shape(cv)}")
        conds.require("cv", cv, nonnegative=True)
    cv = jnp.broadcast_to(jnp.asarray(cv, W.dtype), wp.rates.shape)
    auto = cv**2 * wp.rates
    A = jnp.linalg.inv(jnp.eye(W.shape[0], dtype=W.dtype) - W)
    D = jnp.linalg.solve(A * A, auto)
    C = (A * D[None, :]) @ A.T
    C = 0.5 * (C + C.T)
    d = jnp.sqrt(jnp.maximum(jnp.diagonal(C), 0.0))
    corr = C / jnp.where(d > 0, d, 1.0)[:, None] / jnp.where(d > 0, d, 1.0)[None, :]
    out = PairwiseCovariances(covariance=C, correlation=corr, effective_connectivity=W, noise=D, rates=wp.rates, cv=cv)
    return conds.enforce(out)
