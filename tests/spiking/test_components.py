"""Connectivity rules, the Poisson sampler and the spike statistics against exact references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import signal, stats

from mfjax import spiking
from mfjax.spiking._drive import (
    hashed_uniform24,
    poisson_cdf_table,
    poisson_from_uniform,
    poisson_table_bounds,
    uniform24,
)


def test_fixed_indegree_gives_every_neuron_exactly_K_inputs():
    K = np.array([[40.0, 10.0], [40.0, 10.0]])
    conn = spiking.build_connectivity(jax.random.key(0), (400, 100), K, "fixed_indegree")
    deg = conn.in_degrees()
    assert np.all(deg[:, 0] == 40) and np.all(deg[:, 1] == 10)
    # sources uniform: out-degrees of the E population are Binomial(500 * 40, 1/400)
    out = np.concatenate([np.sum(np.asarray(t[:-1]) < 500, axis=1) for t, (a, b) in zip(conn.tables, conn.blocks) if b == 0])
    assert out.sum() == 500 * 40


def test_fixed_probability_in_degrees_are_binomial():
    n, p = 2000, 0.05
    conn = spiking.build_connectivity(jax.random.key(1), (n,), np.array([[p * n]]), "fixed_probability")
    deg = conn.in_degrees()[:, 0]
    # Binomial(n, p): mean n p = 100, variance n p (1 - p) = 95
    assert deg.mean() == pytest.approx(n * p, abs=4 * np.sqrt(n * p * (1 - p) / n))
    assert deg.var() == pytest.approx(n * p * (1 - p), rel=0.12)
    # no pair appears twice (Bernoulli graph)
    table = np.asarray(conn.tables[0][:-1])
    for row in table[:50]:
        valid = row[row < n]
        assert len(np.unique(valid)) == len(valid)


def test_fixed_total_number_draws_round_NK_pairs():
    conn = spiking.build_connectivity(jax.random.key(2), (300, 80), np.array([[12.5, 0.0], [3.3, 2.0]]), "fixed_total_number")
    assert [int(x) for x in conn.num_synapses] == [round(300 * 12.5), round(80 * 3.3), round(80 * 2.0)]
    assert conn.in_degrees().sum() == sum(int(x) for x in conn.num_synapses)


@pytest.mark.parametrize("lam", [0.02, 2.0, 37.5])
@pytest.mark.parametrize("source", ["hash", "threefry"])
def test_poisson_counts_follow_the_poisson_law(lam, source):
    n = 200_000
    lo, hi = poisson_table_bounds(lam, lam)
    assert stats.poisson.cdf(lo - 1, lam) < 2**-26 and stats.poisson.sf(hi - 1, lam) < 2**-26
    key = jax.random.key(42)
    u = hashed_uniform24(key, n, jnp.float64) if source == "hash" else uniform24(key, (n,), jnp.float64)
    counts = np.asarray(poisson_from_uniform(u, poisson_cdf_table(jnp.asarray(lam), lo, hi), lo))
    assert counts.mean() == pytest.approx(lam, abs=5 * np.sqrt(lam / n))
    assert counts.var() == pytest.approx(lam, rel=5 * np.sqrt(2.0 / n) + 5e-3)
    # chi-square against the Poisson pmf over the well-populated counts
    k = np.arange(counts.max() + 1)
    expected = n * stats.poisson.pmf(k, lam)
    keep = expected > 20
    observed = np.bincount(counts, minlength=k.size)[keep]
    chi2 = np.sum((observed - expected[keep]) ** 2 / expected[keep])
    assert stats.chi2.sf(chi2, keep.sum() - 1) > 1e-4


def test_hashed_uniforms_are_uniform_and_uncorrelated_across_steps():
    u1 = np.asarray(hashed_uniform24(jax.random.key(3), 100_000, jnp.float64))
    u2 = np.asarray(hashed_uniform24(jax.random.fold_in(jax.random.key(3), 1), 100_000, jnp.float64))
    assert stats.kstest(u1, "uniform").pvalue > 1e-4
    assert abs(np.corrcoef(u1, u2)[0, 1]) < 5 / np.sqrt(100_000)
    assert abs(np.corrcoef(u1[:-1], u1[1:])[0, 1]) < 5 / np.sqrt(100_000)


def test_isi_cv_matches_numpy():
    rng = np.random.default_rng(0)
    isi = rng.gamma(4.0, 5.0, size=(30, 50))
    cv, ok = spiking.isi_cv(jnp.asarray(isi.sum(1)), jnp.asarray((isi**2).sum(1)), jnp.full(30, 50))
    np.testing.assert_allclose(cv, isi.std(1) / isi.mean(1), rtol=1e-10)
    assert bool(ok.all())


def test_fano_correlation_and_synchrony_against_numpy():
    rng = np.random.default_rng(1)
    counts = rng.poisson(3.0, size=(400, 20)).astype(float)
    fano = counts.var(0, ddof=1) / counts.mean(0)
    assert float(spiking.fano_factor(jnp.asarray(counts))) == pytest.approx(fano.mean(), rel=1e-12)
    shared = rng.poisson(2.0, size=(400, 1))
    mixed = counts + shared
    c = np.corrcoef(mixed.T)
    mean_pair = (c.sum() - np.trace(c)) / (20 * 19)
    assert float(spiking.count_correlation(jnp.asarray(mixed))) == pytest.approx(mean_pair, rel=1e-10)
    # Golomb chi: identical trains -> 1, independent Poisson -> ~1/sqrt(n)
    same = np.repeat(counts[:, :1], 20, axis=1)
    assert float(spiking.synchrony_chi(jnp.asarray(same))) == pytest.approx(1.0)
    assert float(spiking.synchrony_chi(jnp.asarray(counts))) == pytest.approx(1 / np.sqrt(20), rel=0.25)


def test_power_spectrum_is_bartletts_estimate():
    rng = np.random.default_rng(2)
    rate = rng.normal(10.0, 3.0, size=(1024, 2))
    freqs, psd = spiking.power_spectrum(jnp.asarray(rate), 1.0, 256)
    f_ref, p_ref = signal.welch(rate, fs=1000.0, window="boxcar", nperseg=256, noverlap=0, axis=0,
                                detrend="constant", average="mean")
    np.testing.assert_allclose(freqs, f_ref)
    np.testing.assert_allclose(psd, p_ref.T, rtol=1e-10, atol=1e-20)  # DC bin: rounding only


@pytest.mark.parametrize("address", ["uint16", "int32"])
@pytest.mark.parametrize("ring", [False, True])
def test_delivery_kernel_equals_numpy_add_at(address, ring):
    # the compiled delivery kernel (mfjax.spiking._kernel) against numpy's unbuffered np.add.at:
    # every synapse of the listed spikes (a repeated spike and an out-of-range row included)
    # adds its weight, optionally times a per-synapse factor into a ring of future input.
    from mfjax.spiking import _kernel

    if not _kernel.available():
        pytest.skip("no C++ compiler for the kernel")
    rng = np.random.default_rng(3)
    rows, width, size = 40, 13, 300
    table = rng.integers(0, size + 5, (rows, width)).astype(address)  # >= size: skipped
    spikes = np.array([3, 17, 3, 39, 0, 99, 5, 6], np.int32)
    count, weight = 6, 0.25
    x0 = rng.normal(size=size)
    expected = x0.copy()
    factors = rng.uniform(0.5, 1.5, (rows, width)) if ring else None
    offset, modulus = (250, size) if ring else (0, 0)
    for i in spikes[:count]:
        if i >= rows:
            continue
        addr = table[i].astype(np.int64) + offset
        addr = np.where(addr >= modulus, addr - modulus, addr) if ring else addr
        keep = (addr >= 0) & (addr < size)
        w = weight * (factors[i] if ring else np.ones(width))
        np.add.at(expected, addr[keep], w[keep])
    got = _kernel.deliver(jnp.asarray(table), jnp.asarray(spikes), count, jnp.asarray(x0), weight, offset=offset,
                          modulus=modulus, factors=None if factors is None else jnp.asarray(factors))
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-14, atol=1e-14)


def test_kernel_builds_in_the_temporary_folder_when_the_cache_is_not_writable(tmp_path, monkeypatch):
    # a cache folder that cannot be created (its parent is a file) falls back to $TMPDIR/mfjax-<uid>
    import shutil
    import tempfile

    from mfjax.spiking import _kernel

    if shutil.which("c++") is None:
        pytest.skip("no C++ compiler")
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("MFJAX_CACHE_DIR", str(blocker / "cache"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    built = _kernel._build()
    assert built.parent.parent == tmp_path and built.name.startswith("events-") and built.stat().st_size > 0
