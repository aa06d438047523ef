"""Theory next to simulation: mean-field rates, CV, population-rate spectra and spike-count
covariances against the spiking network."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..neurons import lif_cv
from ..populations import (Covariances, Network, Stability, covariances, input_std, mean_input, power_spectra, solve_rates,
                           stability, working_point)
from ._simulate import SimulationResult, simulate

__all__ = ["compare", "Comparison", "compare_spectra", "SpectrumComparison", "binned_spectra", "compare_covariances",
           "CovarianceComparison"]


class Comparison(eqx.Module):
    """Mean-field prediction and simulation of the same network, side by side.

    Attributes:
        names: population labels.
        theory_rates, simulated_rates: Hz, shape (P,).
        rate_error: (simulated - theory) / theory, shape (P,).
        theory_cv, simulated_cv: CV of the inter-spike intervals (theory: first-passage moments
            of the LIF under white noise, :func:`mfjax.lif_cv`).
        simulation: the full :class:`SimulationResult`.
    """

    names: tuple = eqx.field(static=True)
    theory_rates: np.ndarray
    simulated_rates: np.ndarray
    rate_error: np.ndarray
    theory_cv: np.ndarray
    simulated_cv: np.ndarray
    simulation: SimulationResult

    def table(self) -> str:
        """Plain-text table: population, rates (theory, simulation, error), CV (both)."""
        lines = [f"{'pop':>6} {'nu MF (Hz)':>11} {'nu sim (Hz)':>12} {'error':>8} {'CV MF':>7} {'CV sim':>7}"]
        for i, name in enumerate(self.names):
            lines.append(
                f"{name:>6} {self.theory_rates[i]:11.3f} {self.simulated_rates[i]:12.3f} "
                f"{100 * self.rate_error[i]:7.2f}% {self.theory_cv[i]:7.3f} {self.simulated_cv[i]:7.3f}"
            )
        return "\n".join(lines)


def compare(network: Network, duration: float = 1000.0, *, key=None, transient: float = 100.0, **kwargs) -> Comparison:
    """Solve the mean field of ``network`` and simulate it; report both with relative errors.

    ``kwargs`` go to :func:`mfjax.spiking.simulate` (``dt``, ``connectivity``, ...).  The
    theory is :func:`mfjax.solve_rates` (Siegert with the network's synapse correction); the CV
    is that of the LIF driven by white noise with the self-consistent ``mu``, ``sigma``.
    """
    if key is None:
        key = jax.random.key(0)
    theory = solve_rates(network)
    sim = simulate(network, duration, key=key, transient=transient, **kwargs)
    nu = np.asarray(theory.rates)
    cv = np.asarray(lif_cv(network.neuron, mean_input(network, theory.rates), input_std(network, theory.rates)))
    nu_sim = np.asarray(sim.rates)
    return Comparison(
        names=network.names,
        theory_rates=nu,
        simulated_rates=nu_sim,
        rate_error=(nu_sim - nu) / np.where(nu > 0, nu, np.nan),
        theory_cv=cv,
        simulated_cv=np.asarray(sim.cv),
        simulation=sim,
    )


def binned_spectra(net: Network, frequency, bin_size: float, rates=None, *, aliases: int = 8,
                   autocovariance: str = "poisson"):
    """The theory's spectrum as the simulator measures it: one-sided power spectral density
    (Hz^2/Hz) of the population rate counted in bins of ``bin_size`` ms, shape (F, P);
    ``autocovariance`` as :func:`mfjax.populations.cross_spectra`.

    Counting in bins multiplies the two-sided spectrum ``S`` (:func:`mfjax.populations.power_spectra`)
    by ``sinc^2(pi f b)`` and folds the frequencies above the Nyquist frequency ``f_s/2``
    (``f_s = 1/b``) back: ``S_b(f) = sum_k S(f + k f_s) sinc^2(pi (f + k f_s) b)``, taken over
    ``|k| <= aliases`` and closed by the white tail ``nu/N`` (``sum_k sinc^2 = 1``); one-sided: times 2.
    """
    f = jnp.asarray(frequency)
    fs = 1e3 / bin_size
    k = jnp.arange(-aliases, aliases + 1, dtype=f.dtype)
    shifted = jnp.abs(f[:, None] + k[None, :] * fs)  # S(-f) = S(f)
    weight = jnp.sinc(shifted * bin_size * 1e-3) ** 2  # jnp.sinc(x) = sin(pi x)/(pi x)
    nu = working_point(net, rates).rates  # solved (and checked) once, for both terms
    S = power_spectra(net, shifted, nu, autocovariance=autocovariance)  # (F, 2K+1, P)
    white = nu / net.N
    tail = (1.0 - jnp.sum(weight, axis=1))[:, None] * white[None, :]
    return 2.0 * (jnp.sum(S * weight[..., None], axis=1) + tail)


class SpectrumComparison(eqx.Module):
    """Predicted and simulated population-rate spectra of one network (:func:`compare_spectra`).

    Attributes:
        names: population labels.
        frequencies: Hz, shape (F,) (the simulation's, without 0).
        theory: one-sided spectrum of the binned population rate (Hz^2/Hz), (F, P)
            (:func:`binned_spectra`); meaningful where ``stability.stable``.
        simulated: the simulation's Bartlett estimate, (F, P); standard_error: its standard
            error ``simulated / sqrt(segments)``.
        theory_peak, simulated_peak: frequency of the largest spectral value above ``f_min`` (Hz), (P,).
        stability: :class:`mfjax.populations.Stability` of the working point: past an
            instability the predicted oscillation is ``stability.frequency``.
        simulation: the full :class:`SimulationResult`.
    """

    names: tuple = eqx.field(static=True)
    frequencies: np.ndarray
    theory: np.ndarray
    simulated: np.ndarray
    standard_error: np.ndarray
    theory_peak: np.ndarray
    simulated_peak: np.ndarray
    stability: Stability
    simulation: SimulationResult

    def table(self) -> str:
        """Per population: the peaks, and the mean of (simulated - theory)/standard error."""
        z = np.mean((self.simulated - self.theory) / self.standard_error, axis=0)
        lines = [f"{'pop':>6} {'peak MF (Hz)':>13} {'peak sim (Hz)':>14} {'mean z':>8}"]
        for i, name in enumerate(self.names):
            lines.append(f"{name:>6} {self.theory_peak[i]:13.1f} {self.simulated_peak[i]:14.1f} {z[i]:8.2f}")
        st = self.stability
        verdict = "stable" if bool(st.stable) else f"unstable: predicted oscillation {float(st.frequency):.1f} Hz"
        return "\n".join(lines + [f"working point {verdict}"])


def compare_spectra(network: Network, duration: float = 10000.0, *, key=None, transient: float = 200.0,
                    bin_size: float = 1.0, segment: float = 256.0, f_min: float = 10.0, autocovariance: str | None = None,
                    **kwargs) -> SpectrumComparison:
    """Simulate ``network`` and put the linear-response prediction of its population-rate
    spectra beside the measured ones (Bos et al. 2016 eq. 18, binned as the simulator bins,
    :func:`binned_spectra`), with the stability of the working point
    (:func:`mfjax.populations.stability`) for the states past an instability.

    ``autocovariance`` defaults to ``"renewal"`` for LIF networks: the theory is driven by the LIF's
    own spike-train spectrum (:func:`mfjax.neurons.lif_spike_spectrum`); ``"poisson"`` (the default
    with EIF or QIF populations, whose spike-train spectrum mfjax does not compute) is Bos et al.'s
    form, whose low-frequency power is too large by about ``1/CV^2`` for neurons firing regularly.

    ``kwargs`` go to :func:`mfjax.spiking.simulate`.  The spectrum's resolution is
    ``1000/segment`` Hz; its relative standard error ``1/sqrt(segments)``.
    """
    if key is None:
        key = jax.random.key(0)
    if autocovariance is None:
        autocovariance = "renewal" if network.is_lif else "poisson"
    theory = solve_rates(network)
    st = stability(network, theory)
    sim = simulate(network, duration, key=key, transient=transient, bin_size=bin_size, segment=segment, **kwargs)
    freqs = np.asarray(sim.frequencies)
    keep = freqs > 0
    f = freqs[keep]
    predicted = np.asarray(binned_spectra(network, jnp.asarray(f), bin_size, theory, autocovariance=autocovariance))
    measured = np.asarray(sim.spectrum).T[keep]
    n_bins = np.asarray(sim.population_rate).shape[0]
    seg_bins = int(round(segment / bin_size))
    segments = max(1, n_bins // min(seg_bins, max(2, n_bins)))
    above = f >= f_min
    peak = lambda s: f[above][np.argmax(s[above], axis=0)] if above.any() else np.full(s.shape[1], np.nan)  # noqa: E731
    return SpectrumComparison(
        names=network.names,
        frequencies=f,
        theory=predicted,
        simulated=measured,
        standard_error=measured / math.sqrt(segments),
        theory_peak=peak(predicted),
        simulated_peak=peak(measured),
        stability=st,
        simulation=sim,
    )


class CovarianceComparison(eqx.Module):
    """Predicted and simulated spike-count covariances of one network in one counting window
    (:func:`compare_covariances`).  Covariances are ``Cov / T`` (Hz) as in
    :class:`mfjax.populations.Covariances`.

    Attributes:
        window: the counting window (ms); windows: how many the simulation was cut into.
        theory: :class:`mfjax.populations.Covariances` at the mean-field working point.
        population: simulated ``Cov(n_a, n_b; T) / T`` of the population-averaged counts, (P, P);
            standard_error: its standard error, ``sqrt((S_aa S_bb + S_ab^2) / (M - 1))``
            for ``M`` windows (Gaussian counts).
        pairwise: simulated mean covariance of two different neurons (Hz): the population
            covariance with the single-neuron count variance ``F_a nu_a / N_a`` removed on the
            diagonal (``F_a`` the measured Fano factor), as the theory's ``pairwise``;
            pairwise_error: its standard error (that of ``population``, scaled alike).
        correlation: simulated mean count correlation coefficient ``pairwise / sqrt(F_a nu_a
            F_b nu_b)``.
        simulation: the full :class:`SimulationResult` (rates, Fano factors, CV, ...).
    """

    window: float
    windows: int
    theory: Covariances
    population: np.ndarray
    standard_error: np.ndarray
    pairwise: np.ndarray
    pairwise_error: np.ndarray
    correlation: np.ndarray
    simulation: SimulationResult

    def table(self) -> str:
        """Per population pair: theory and simulation of the population and pairwise covariances."""
        lines = [f"{'pair':>6} {'pop. MF (Hz)':>13} {'pop. sim':>13} {'z':>6} {'pairwise MF':>12} {'pairwise sim':>13}"]
        th = self.theory
        p = self.population.shape[0]
        for a in range(p):
            for b in range(a, p):
                z = (self.population[a, b] - float(th.population[a, b])) / self.standard_error[a, b]
                label = f"{a},{b}"
                lines.append(f"{label:>6} {float(th.population[a, b]):13.4g} {self.population[a, b]:13.4g} {z:6.2f} "
                             f"{float(th.pairwise[a, b]):12.4g} {self.pairwise[a, b]:13.4g}")
        return "\n".join(lines)


def compare_covariances(network: Network, window: float = 50.0, duration: float = 20000.0, *, key=None,
                        transient: float = 200.0, bin_size: float = 1.0, autocovariance: str = "renewal",
                        **kwargs) -> CovarianceComparison:
    """Simulate ``network`` and put the linear-response prediction of its spike-count
    covariances in windows of ``window`` ms (:func:`mfjax.populations.covariances`) beside the
    measured ones (population-averaged counts from the binned population rate, cut into
    ``duration / window`` windows).  ``kwargs`` go to :func:`mfjax.spiking.simulate`.
    The prediction holds around a stable working point (:func:`mfjax.populations.stability`).
    ``autocovariance`` (see :func:`mfjax.populations.covariances`) defaults to ``"renewal"``:
    the neurons of a simulated network are not Poisson, and with ``"poisson"`` the predicted
    covariances are too large by about the inverse Fano factor (measured: Brunel's model A at
    (g, eta) = (8, 2), N_E = 8000, Fano 0.62: 0.039 vs 0.025 Hz, renewal: 0.024).
    """
    if key is None:
        key = jax.random.key(0)
    steps = window / bin_size
    if abs(steps - round(steps)) > 1e-9 or steps < 1:
        raise ValueError(f"window ({window} ms) must be a whole number of bin_size ({bin_size} ms) bins")
    steps = int(round(steps))
    theory_rates = solve_rates(network)
    theory = covariances(network, theory_rates, window=window, autocovariance=autocovariance)
    sim = simulate(network, duration, key=key, transient=transient, bin_size=bin_size, count_window=window, **kwargs)
    rate = np.asarray(sim.population_rate, float)
    if rate.ndim != 2:
        raise ValueError("compare_covariances takes one trial (a key of shape ())")
    m = rate.shape[0] // steps
    if m < 3:
        raise ValueError(f"duration - transient holds {m} windows of {window} ms; at least 3 are needed")
    counts = rate[: m * steps].reshape(m, steps, -1).sum(axis=1) * bin_size / 1000.0  # spikes per neuron
    S = np.cov(counts, rowvar=False, ddof=1).reshape(counts.shape[1], counts.shape[1])
    se = np.sqrt((np.outer(np.diag(S), np.diag(S)) + S**2) / (m - 1))
    T = window / 1000.0
    n = np.asarray(network.N, float)
    nu = np.asarray(sim.rates, float)
    fano = np.broadcast_to(np.asarray(sim.fano, float), nu.shape)
    within = np.where(np.eye(len(n), dtype=bool), np.where(n > 1, 1 - 1 / n, 1.0)[:, None], 1.0)
    pair = (S / T - np.diag(fano * nu / n)) / within
    scale = np.sqrt(np.outer(fano * nu, fano * nu))
    return CovarianceComparison(
        window=float(window), windows=int(m), theory=theory, population=S / T, standard_error=se / T, pairwise=pair,
        pairwise_error=se / T / within, correlation=np.where(scale > 0, pair / np.where(scale > 0, scale, 1.0), 0.0),
        simulation=sim,
    )
