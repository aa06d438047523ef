"""Count covariances in finite windows and neuron-level pairwise covariances.

References: the Ornstein-Uhlenbeck closed form of a delay-free low-pass rate network (its rate
covariance is a Lorentzian, whose windowed integral is elementary); ``scipy.integrate.quad`` of
the cross-spectra of a delayed two-population rate network written out in numpy; NNMT 1.3's
``_pairwise_effective_connectivity`` and ``_pairwise_covariances`` (Helias et al. 2013 eq. A.3,
Layer, Helias & Dahmen 2023 eq. 9 and 11), stored in ``tests/data/nnmt_pairwise.json`` by
``python benchmarks/bench_covariances.py --references``.
"""

import json
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import quad

import mfjax
from mfjax import populations as pop
from mfjax.neurons import LowPassFit

WINDOWS = np.array([0.5, 3.0, 20.0, 150.0, 1000.0, 8000.0])  # ms


def rate_network(delay, K, J, N, nu):
    neuron = mfjax.LIF(20.0, 2.0, 20.0, 10.0)
    p = len(N)
    return pop.Network(neuron, K=K, J=J, K_ext=np.zeros(p), J_ext=0.1, nu_ext=0.0, N=N, delay=delay), jnp.asarray(nu)


def test_window_covariance_ou_closed_form():
    # one population, W = w/(1 + i omega tau), no delay: R(f) = s (2w - w^2) / ((1-w)^2 + (omega tau)^2),
    # c_R(t) = s (2w - w^2) / (2 (1-w) tau) e^{-(1-w)|t|/tau}
    h0, tau = 2.0, 0.01  # Hz/mV, s
    net, nu = rate_network(0.0, [[100.0]], [[-0.4]], [500.0], [8.0])
    lp = LowPassFit(h0=jnp.array([h0]), tau=jnp.array([tau * 1e3]), rms_error=jnp.zeros(1))
    w = h0 * 0.02 * 100.0 * -0.4
    s = 8.0 / 500.0
    a = 1.0 - w
    amp, theta = s * (2 * w - w * w) / (2 * a * tau), tau / a
    T = WINDOWS * 1e-3
    expected = s + 2 * amp * theta * (T - theta * (1 - np.exp(-T / theta))) / T
    cov = pop.covariances(net, nu, window=WINDOWS, transfer=lp)
    np.testing.assert_allclose(np.asarray(cov.population)[:, 0, 0], expected, rtol=2e-6)
    long = pop.covariances(net, nu, transfer=lp)
    np.testing.assert_allclose(float(long.population[0, 0]), s / a**2, rtol=1e-12)
    assert np.asarray(cov.window).tolist() == WINDOWS.tolist() and float(long.window) == math.inf
    for bad in (np.array([10.0, -1.0]), np.nan, 0.0):
        with pytest.raises(ValueError, match="window"):
            pop.covariances(net, nu, window=bad, transfer=lp)
    with pytest.raises(ValueError, match="resolution"):
        pop.covariances(net, nu, window=10.0, resolution=-1.0, transfer=lp)
    # traced windows: a NaN window is a runtime error, not a number
    with pytest.raises(Exception, match="window"):
        jax.block_until_ready(jax.jit(lambda T: pop.covariances(net, nu, window=T, transfer=lp).population)(jnp.array([jnp.nan])))


def test_window_covariance_delayed_network_matches_quadrature():
    # E-I rate network with a delay: the cross-spectra written out in numpy, integrated by scipy
    K = np.array([[80.0, 20.0], [80.0, 20.0]])
    J = np.array([[0.2, -1.0], [0.2, -1.0]])
    N, nu = np.array([800.0, 200.0]), np.array([6.0, 9.0])
    net, nu_j = rate_network(2.0, K, J, N, nu)
    h0, tau = np.array([1.2, 1.5]), np.array([0.008, 0.005])
    lp = LowPassFit(h0=jnp.asarray(h0), tau=jnp.asarray(tau * 1e3), rms_error=jnp.zeros(2))

    def spectrum(f):
        W = (h0 * 0.02 / (1 + 2j * np.pi * f * tau))[:, None] * K * J * np.exp(-2j * np.pi * f * 2e-3)
        A = np.linalg.inv(np.eye(2) - W)
        return np.real(A @ np.diag(nu / N) @ A.conj().T)

    windows = WINDOWS[1:4:2]  # 3 and 150 ms
    got = np.asarray(pop.covariances(net, nu_j, window=windows, transfer=lp).population)
    for T_ms, c in zip(windows, got):
        T = T_ms * 1e-3
        for a, b in ((0, 0), (0, 1), (1, 1)):
            g = lambda f: (spectrum(f)[a, b] - (nu / N)[a] * (a == b)) * (np.sin(np.pi * f * T) / (np.pi * f)) ** 2
            edges = np.concatenate([np.linspace(0, 2000, 201), np.geomspace(2000, 1e6, 100)[1:]])
            total = sum(quad(g, lo, hi, limit=200)[0] for lo, hi in zip(edges[:-1], edges[1:]))
            ref = (nu / N)[a] * (a == b) + 2 * total / T
            np.testing.assert_allclose(c[a, b], ref, rtol=3e-5, atol=1e-6 * (nu / N).max())


@pytest.mark.slow
def test_window_covariances_of_the_lif_network():
    # Brunel's model A at (5, 2): long windows reach C(0); the windowed variance is positive
    net = pop.brunel_a(5.0, 2.0)
    sol = pop.solve_rates(net)
    cov = pop.covariances(net, sol, window=np.array([2.0, 1e5]))
    long = pop.covariances(net, sol)
    # Cov(T)/T = C(0) + O(tau_c / T): 1e-4 for correlation times tau_c of ~10 ms at T = 100 s
    np.testing.assert_allclose(np.asarray(cov.population)[1], np.asarray(long.population), rtol=5e-4)
    assert np.all(np.linalg.eigvalsh(np.asarray(cov.population)) > 0)


@pytest.mark.slow
def test_window_covariances_of_the_lif_network_match_a_fine_sum():
    # the same integral as a midpoint sum on a 0.02 Hz grid to 200 kHz (Brunel A, mean channel)
    net = pop.brunel_a(5.0, 2.0)
    sol = pop.solve_rates(net)
    windows = np.array([1.0, 10.0, 100.0])
    got = np.asarray(pop.covariances(net, sol, window=windows, variance_response=False).population)
    df = 0.02
    f = np.concatenate([np.arange(df / 2, 2000.0, df), np.arange(2000.0 + 1.0, 2e5, 2.0)])
    w = np.concatenate([np.full(int(round(2000 / df)), df), np.full(len(f) - int(round(2000 / df)), 2.0)])
    nuN = np.asarray(sol.rates / net.N)
    spectra = np.concatenate([np.real(np.asarray(pop.cross_spectra(net, jnp.asarray(chunk), sol, variance_response=False)))
                              for chunk in np.array_split(f, 40)])
    for T_ms, c in zip(windows, got):
        T = T_ms * 1e-3
        k = (np.sin(np.pi * f * T) / (np.pi * f)) ** 2
        ref = np.diag(nuN) + 2 * np.einsum("m,mab->ab", w * k, spectra - np.diag(nuN)) / T
        np.testing.assert_allclose(c, ref, rtol=1e-3)


PAIRWISE = json.loads((Path(__file__).parent.parent / "data" / "nnmt_pairwise.json").read_text())


def brunel_neurons(rule, n_e=48, k_e=8.0, eta=0.9, seed=3):
    """The neuron-level network of bench_covariances.pairwise_network (same draw)."""
    from mfjax import spiking

    base = pop.brunel_a(5.0, eta, N_E=n_e, epsilon=k_e / n_e, J=0.5)
    net = pop.Network(base.neuron, base.K, base.J, K_ext=base.K_ext, J_ext=base.J_ext, nu_ext=base.nu_ext, N=base.N,
                      delay=base.delay, connectivity=rule)
    conn = spiking.build_connectivity(jax.random.PRNGKey(seed), np.asarray(net.N).astype(int), np.asarray(net.K), rule=rule)
    return base, spiking.neuron_network(net, conn)


def test_pairwise_covariances_match_nnmt():
    _, neurons = brunel_neurons("fixed_probability")
    rates = np.asarray(PAIRWISE["inputs"]["rates"])  # the working point NNMT was given
    res = pop.pairwise_covariances(neurons, rates)
    np.testing.assert_allclose(np.asarray(res.cv), PAIRWISE["cv"], rtol=1e-9)
    scale = lambda x: np.max(np.abs(x))  # noqa: E731
    W = np.asarray(PAIRWISE["effective_connectivity"])
    np.testing.assert_allclose(np.asarray(res.effective_connectivity), W, atol=1e-9 * scale(W))
    C = np.asarray(PAIRWISE["covariance"])
    np.testing.assert_allclose(np.asarray(res.covariance), C, atol=1e-8 * scale(C))
    np.testing.assert_allclose(np.asarray(res.noise), PAIRWISE["noise"], rtol=1e-8)
    # the diagonal is the renewal autocovariance CV^2 nu; correlations are coefficients
    np.testing.assert_allclose(np.diag(np.asarray(res.covariance)), np.asarray(res.cv) ** 2 * rates, rtol=1e-10)
    np.testing.assert_allclose(np.diag(np.asarray(res.correlation)), 1.0, rtol=1e-12)


def test_pairwise_coupling_of_mean_driven_neurons_is_the_stable_closed_form():
    # eta = 1.5 drives some neurons far above threshold (y_r < -6): the Siegert derivatives
    # written with scipy's erfcx, exp(y^2)(1 + erf y) = erfcx(-y), stay exact there
    from scipy.special import erfcx

    _, neurons = brunel_neurons("fixed_probability", eta=1.5)
    res = pop.pairwise_covariances(neurons)
    sol = pop.solve_rates(neurons)
    nu, mu, sigma = (np.asarray(x) for x in (sol.rates, sol.mu, sol.sigma))
    y_th, y_r = (20.0 - mu) / sigma, (10.0 - mu) / sigma
    tau = 0.02
    d_mu = np.sqrt(np.pi) * (tau * nu) ** 2 / sigma * (erfcx(-y_th) - erfcx(-y_r))
    d_var = np.sqrt(np.pi) * (tau * nu) ** 2 / (2 * sigma**2) * (erfcx(-y_th) * y_th - erfcx(-y_r) * y_r)
    K, J = np.asarray(neurons.K), np.asarray(neurons.J)
    W = K * J * d_mu[:, None] + K * J**2 * d_var[:, None]
    assert y_r.min() < -6
    np.testing.assert_allclose(np.asarray(res.effective_connectivity), W, atol=1e-10 * np.max(np.abs(W)))


def test_neuron_network_of_a_fixed_indegree_graph_has_the_population_rates():
    # with fixed in-degrees every neuron of a population sees the same input
    base, neurons = brunel_neurons("fixed_indegree")
    assert neurons.num_populations == 60 and np.all(np.asarray(neurons.N) == 1)
    np.testing.assert_allclose(np.asarray(neurons.K).sum(axis=1)[:48], 10.0)  # 8 E + 2 I sources
    rates = np.asarray(pop.solve_rates(neurons).rates)
    np.testing.assert_allclose(rates, np.repeat(np.asarray(pop.solve_rates(base).rates), [48, 12]), rtol=1e-10)
    with pytest.raises(ValueError, match="neuron-level"):
        pop.pairwise_covariances(base)


@pytest.mark.slow  # 106 s on the 2-core CPU (the fine reference sum dominates)
def test_renewal_windowed_covariances_of_one_population_match_a_fine_sum():
    # one inhibitory LIF population with a delay, renewal sources: C(f) = (S(f)/N) / |1 - w(f)|^2
    # with the LIF spike-train spectrum S (mpmath-checked in tests/neurons) and w from the transfer
    # functions; Cov(T)/T = (2/T) int_0^inf C(f) [sin(pi f T)/(pi f)]^2 df as a midpoint sum, and
    # the single neuron's a(T) from S alike (Cox & Lewis: the count variance of a renewal train)
    neuron = mfjax.LIF(20.0, 2.0, 20.0, 10.0)
    n, K, J, d = 2000.0, 400.0, -0.2, 1.5
    net = pop.Network(neuron, K=[[K]], J=[[J]], K_ext=1000.0, J_ext=0.1, nu_ext=25.0, N=[n], delay=d)
    sol = pop.solve_rates(net)
    mu, sigma, nu = float(sol.mu[0]), float(sol.sigma[0]), float(sol.rates[0])
    windows = np.array([5.0, 50.0, 500.0])
    cov = pop.covariances(net, sol, window=windows, autocovariance="renewal", variance_response=False)
    df, edges = 0.01, np.geomspace(2000.0, 1e6, 31000)  # 0.01 Hz, then steps of f/5000 to 1 MHz
    f = np.concatenate([np.arange(df / 2, 2000.0, df), 0.5 * (edges[1:] + edges[:-1])])
    w = np.concatenate([np.full(int(round(2000 / df)), df), np.diff(edges)])
    fj = jnp.asarray(f)
    S = np.asarray(mfjax.lif_spike_spectrum(neuron, mu, sigma, fj))
    h = np.asarray(mfjax.lif_transfer(neuron, mu, sigma, fj))
    coupling = 0.02 * K * J * h * np.exp(-2j * np.pi * f * d * 1e-3)
    C = S / n / np.abs(1 - coupling) ** 2
    for T_ms, c, pair, corr in zip(windows, np.asarray(cov.population), np.asarray(cov.pairwise), np.asarray(cov.correlation)):
        T = T_ms * 1e-3
        k = (np.sin(np.pi * f * T) / (np.pi * f)) ** 2
        ref = nu / n + 2 * np.sum(w * k * (C - nu / n)) / T
        own = nu + 2 * np.sum(w * k * (S - nu)) / T
        np.testing.assert_allclose(c[0, 0], ref, rtol=3e-5)
        np.testing.assert_allclose(pair[0, 0], (ref - own / n) / (1 - 1 / n), rtol=2e-3)
        np.testing.assert_allclose(corr[0, 0], pair[0, 0] / own, rtol=1e-5)
    # long windows: a(T) -> CV^2 nu, and the spectra -> the renewal ones
    long = pop.covariances(net, sol, autocovariance="renewal", variance_response=False)
    cv = float(mfjax.lif_cv(neuron, mu, sigma))
    np.testing.assert_allclose(float(long.population[0, 0]), cv**2 * nu / n / abs(1 - 0.02 * K * J * float(np.real(h[0]))) ** 2,
                               rtol=1e-4)  # h at f = 0.005 Hz
    spectra = np.asarray(pop.power_spectra(net, jnp.asarray(f[::20000]), sol, autocovariance="renewal", variance_response=False))
    np.testing.assert_allclose(spectra[:, 0], C[::20000], rtol=1e-10)
    with pytest.raises(ValueError, match="LowPassFit"):
        pop.power_spectra(net, jnp.asarray([1.0]), sol, autocovariance="renewal",
                          transfer=LowPassFit(h0=jnp.ones(1), tau=jnp.ones(1), rms_error=jnp.zeros(1)))
