"""Spike-train statistics: online accumulators during a simulation and the summary after it.

Definitions (the usual ones of the balanced-network literature, e.g. Brunel 2000; Kumar et al.
2008; Renart et al. 2010; Golomb 2007):

* rate of a neuron: spikes after the transient / time after the transient (Hz);
* CV: ``std(ISI) / mean(ISI)`` per neuron over the intervals that end after the transient and
  start after it (``ddof = 0``), averaged over the neurons with at least 2 intervals;
* Fano factor: ``var(n) / mean(n)`` of a neuron's spike counts ``n`` in consecutive windows
  (``ddof = 1``), averaged over sampled neurons that fired;
* correlation: Pearson correlation of two neurons' window counts, averaged over all pairs of
  sampled neurons of a population with non-zero variance;
* synchrony: Golomb's ``chi = sqrt(var_t(mean_i s_i) / mean_i var_t(s_i))`` of the sampled
  neurons' spike counts ``s_i`` in ``bin_size`` bins (0: asynchronous, 1: fully synchronous);
* spectrum: one-sided power spectral density (Hz^2/Hz) of the population rate in ``bin_size``
  bins, Bartlett's method (mean periodogram of consecutive segments, mean removed).

Undefined statistics (no neuron with enough spikes) are NaN: a masked value, never a number.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "isi_cv",
    "fano_factor",
    "count_correlation",
    "synchrony_chi",
    "power_spectrum",
]


class Accumulators(NamedTuple):
    counts: jax.Array  # spikes after the transient, (N,)
    last: jax.Array  # step of the last spike, -1 if none, (N,)
    isi_sum: jax.Array  # sum of intervals (steps), (N,)
    isi_sq: jax.Array  # sum of squared intervals (steps^2), (N,); intervals: max(counts - 1, 0)


def init_accumulators(n: int, dtype) -> Accumulators:
    z = jnp.zeros(n, jnp.int32)
    return Accumulators(z, z - 1, jnp.zeros(n, dtype), jnp.zeros(n, dtype))


def accumulate(acc: Accumulators, spiked, t, transient_steps: int) -> Accumulators:
    """Update the per-neuron spike counts and interval moments with the spikes of step ``t``."""
    after = t >= transient_steps
    counted = spiked & after
    interval = counted & (acc.last >= transient_steps)
    isi = jnp.where(interval, t - acc.last, 0).astype(acc.isi_sum.dtype)
    return acc._replace(
        counts=acc.counts + counted,
        last=jnp.where(spiked, t, acc.last),
        isi_sum=acc.isi_sum + isi,
        isi_sq=acc.isi_sq + isi * isi,
    )


def _masked_mean(x, mask):
    n = jnp.sum(mask, axis=-1)
    total = jnp.sum(jnp.where(mask, x, 0.0), axis=-1)
    return jnp.where(n > 0, total / jnp.maximum(n, 1), jnp.nan)


def isi_cv(isi_sum, isi_sq, n_isi):
    """Per-neuron CV from interval moments, and whether it is defined (>= 2 intervals)."""
    n = jnp.maximum(n_isi, 1).astype(isi_sum.dtype)
    mean = isi_sum / n
    var = jnp.maximum(isi_sq / n - mean * mean, 0.0)
    ok = (n_isi >= 2) & (mean > 0)
    return jnp.where(ok, jnp.sqrt(var) / jnp.where(ok, mean, 1.0), 0.0), ok


def fano_factor(counts):
    """Mean Fano factor of window counts ``counts`` (windows, neurons); NaN if none fired."""
    mean = jnp.mean(counts, axis=0)
    var = jnp.var(counts, axis=0, ddof=1)
    ok = mean > 0
    return _masked_mean(var / jnp.where(ok, mean, 1.0), ok)


def count_correlation(counts):
    """Mean pairwise Pearson correlation of the columns of ``counts`` (windows, neurons)."""
    x = counts - jnp.mean(counts, axis=0, keepdims=True)
    cov = x.T @ x
    var = jnp.diagonal(cov)
    ok = var > 0
    scale = jnp.sqrt(jnp.where(ok, var, 1.0))
    corr = cov / scale[:, None] / scale[None, :]
    pair = ok[:, None] & ok[None, :] & ~jnp.eye(counts.shape[1], dtype=bool)
    n = jnp.sum(pair)
    return jnp.where(n > 0, jnp.sum(jnp.where(pair, corr, 0.0)) / jnp.maximum(n, 1), jnp.nan)


def synchrony_chi(counts):
    """Golomb's chi of binned spike counts (bins, neurons); NaN if no neuron varies."""
    single = jnp.mean(jnp.var(counts, axis=0))
    pooled = jnp.var(jnp.mean(counts, axis=1))
    return jnp.where(single > 0, jnp.sqrt(pooled / jnp.where(single > 0, single, 1.0)), jnp.nan)


def power_spectrum(rate, bin_ms: float, segment_bins: int):
    """Bartlett PSD (Hz^2/Hz) of ``rate`` (bins, P) in Hz: frequencies (F,), spectrum (P, F)."""
    n_seg = rate.shape[0] // segment_bins
    seg = rate[: n_seg * segment_bins].reshape((n_seg, segment_bins, rate.shape[1]))
    seg = seg - jnp.mean(seg, axis=1, keepdims=True)
    fs = 1e3 / bin_ms
    power = jnp.abs(jnp.fft.rfft(seg, axis=1)) ** 2 / (fs * segment_bins)
    power = power.at[:, 1:].multiply(2.0)
    if segment_bins % 2 == 0:
        power = power.at[:, -1].multiply(0.5)
    freqs = np.fft.rfftfreq(segment_bins, d=1.0 / fs)
    return jnp.asarray(freqs), jnp.mean(power, axis=0).T


def _windows(x, steps: int):
    """Sum consecutive blocks of ``steps`` rows of ``x`` (T, n) -> (T // steps, n)."""
    n = x.shape[0] // steps
    return jnp.sum(x[: n * steps].reshape((n, steps) + x.shape[1:]), axis=1)


def summarize(plan, acc: Accumulators, pop_counts, raster, v_trace, dtype, state):
    """The :class:`SimulationResult` of one run from its accumulators and records."""
    from ._simulate import SimulationResult

    off = plan.offsets
    p = len(plan.sizes)
    seconds = (plan.steps - plan.transient_steps) * plan.dt * 1e-3
    neuron_rates = acc.counts.astype(dtype) / seconds
    cv_n, cv_ok = isi_cv(acc.isi_sum, acc.isi_sq, jnp.maximum(acc.counts - 1, 0))
    rates, cv = [], []
    for a in range(p):
        rates.append(jnp.mean(neuron_rates[off[a] : off[a + 1]]))
        cv.append(_masked_mean(cv_n[off[a] : off[a + 1]], cv_ok[off[a] : off[a + 1]]))

    after = slice(plan.transient_steps, None)
    bins = _windows(pop_counts[after].astype(dtype), plan.bin_steps)
    sizes = jnp.asarray(np.asarray(plan.sizes, float), dtype)
    pop_rate = bins / (sizes[None, :] * plan.bin_steps * plan.dt * 1e-3)
    segment = min(plan.segment_bins, max(2, pop_rate.shape[0]))
    freqs, spectrum = power_spectrum(pop_rate, plan.bin_steps * plan.dt, segment)

    sample = np.asarray(plan.sample, dtype=np.int64)
    spikes = raster[after].astype(dtype)
    windows = _windows(spikes, plan.window_steps)
    binned = _windows(spikes, plan.bin_steps)
    fano, corr, chi = [], [], []
    for a in range(p):
        cols = np.nonzero((sample >= off[a]) & (sample < off[a + 1]))[0]
        if cols.size == 0 or windows.shape[0] < 2:
            fano.append(jnp.asarray(jnp.nan, dtype))
            corr.append(jnp.asarray(jnp.nan, dtype))
            chi.append(jnp.asarray(jnp.nan, dtype))
            continue
        fano.append(fano_factor(windows[:, cols]))
        corr.append(count_correlation(windows[:, cols]))
        chi.append(synchrony_chi(binned[:, cols]))
    return SimulationResult(
        rates=jnp.stack(rates),
        cv=jnp.stack(cv),
        fano=jnp.stack(fano),
        correlation=jnp.stack(corr),
        synchrony=jnp.stack(chi),
        population_rate=pop_rate,
        frequencies=freqs,
        spectrum=spectrum,
        neuron_rates=neuron_rates,
        raster=raster,
        sample=jnp.asarray(sample, jnp.int32),
        v=v_trace,
        state=state,
        dt=plan.dt,
        duration=plan.steps * plan.dt,
        transient=plan.transient_steps * plan.dt,
    )
