"""Network linear response with EIF and QIF populations (alone and mixed with LIF), against
independent references:

* the effective connectivity ``W_ab(f) = tau_m K_ab J_ab h_a(f) D_ab(f)`` with ``h_a`` the rate
  response shot by scipy ``solve_ivp`` (tests/fokker_planck_scipy.py), the delay's phase in
  closed form, at real and complex frequencies;
* a characteristic root ``det(I - W(lambda)) = 0`` against the root of the same determinant
  built from the scipy responses (secant iterations in numpy);
* the population-rate spectra of a recurrent EIF network simulated by ``mfjax.spiking``
  (slow test).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from fokker_planck_scipy import scipy_response

import mfjax
from mfjax import EIF, LIF, QIF, Network
from mfjax.populations import characteristic_roots, effective_connectivity, pairwise_covariances, power_spectra, stability

EIF_ = EIF(tau_m=20.0, tau_ref=2.0, v_th=30.0, v_reset=10.0, delta_t=2.0, v_t=20.0)
QIF_ = QIF(tau_m=20.0, tau_ref=2.0, v_th=60.0, v_reset=0.0, v_t=20.0)
LIF_ = LIF(20.0, 2.0, 20.0, 10.0)


def _brunel(neuron, **kwargs):
    base = mfjax.brunel_a(**{"g": 5.0, "eta": 2.0, "N_E": 4000, **kwargs})
    return Network(neuron, base.K, base.J, K_ext=base.K_ext, J_ext=base.J_ext, nu_ext=base.nu_ext, N=base.N,
                   delay=base.delay)


@pytest.mark.parametrize("neuron", [(EIF_, QIF_), pytest.param((QIF_, LIF_), marks=pytest.mark.slow)],
                         ids=["EIF-QIF", "QIF-LIF"])
def test_effective_connectivity_equals_the_scipy_response(neuron):
    """Mean channel only (``variance_response=False``), f = -40 (h(-f) = conj h(f)), 20 and
    150 Hz, and the complex frequencies 90 - 15i (a mode growing at 2 pi 15/s) and 60 + 10i
    (decaying); the LIF population of a mixed network takes the closed form (lif_transfer)."""
    net = _brunel(neuron)
    sol = mfjax.solve_rates(net)
    f = np.array([-40.0, 20.0, 150.0, 90.0 - 15.0j, 60.0 + 10.0j])
    W = np.asarray(effective_connectivity(net, jnp.asarray(f), sol, variance_response=False))
    for a, model in enumerate(neuron):
        mu, sigma = float(sol.mu[a]), float(sol.sigma[a])
        if isinstance(model, LIF):
            h = np.asarray(mfjax.lif_transfer(model, mu, sigma, jnp.asarray(f), synaptic_filter=False))
        else:
            h = np.array([scipy_response(model, mu, sigma, x) for x in f])
        for b in range(2):
            D = np.exp(-2j * np.pi * f * float(net.delay[a, b]) * 1e-3)
            ref = 20e-3 * float(net.K[a, b] * net.J[a, b]) * h * D
            np.testing.assert_allclose(W[:, a, b], ref, rtol=2e-6)


def test_the_variance_channel_is_the_engines_variance_response():
    """The J^2 term: ``tau_m K J^2 d nu/d sigma^2``, with the variance response checked against the
    derivative of a scipy-shot rate at f = 0."""
    from fokker_planck_scipy import scipy_rate

    net = _brunel(EIF_)
    sol = mfjax.solve_rates(net)
    both = np.asarray(effective_connectivity(net, jnp.zeros(1), sol))[0]
    mean = np.asarray(effective_connectivity(net, jnp.zeros(1), sol, variance_response=False))[0]
    mu, sigma = float(sol.mu[0]), float(sol.sigma[0])
    ds = 1e-3
    dnu_dvar = (scipy_rate(EIF_, mu, np.sqrt(sigma**2 + ds)) - scipy_rate(EIF_, mu, np.sqrt(sigma**2 - ds))) / (2 * ds)
    ref = 20e-3 * np.asarray(net.K * net.J**2)[0] * dnu_dvar
    np.testing.assert_allclose((both - mean)[0].real, ref, rtol=1e-5)


def test_what_has_no_theory_is_refused_by_name():
    net = _brunel(EIF_)
    with pytest.raises(ValueError, match="decay rate"):
        effective_connectivity(net, jnp.array([10.0 + 30.0j]))  # 2 pi 30 Hz tau_m > 3
    with pytest.raises(ValueError, match="renewal.* needs LIF populations"):
        power_spectra(net, jnp.array([10.0]), autocovariance="renewal")
    with pytest.raises(ValueError, match="cv=None.* needs LIF populations"):
        pairwise_covariances(net.replace(N=jnp.ones(2)))  # two neurons


def _scipy_root(net, sol, start):
    """Secant iterations in numpy on det(I - W(lambda)) with W from scipy-shot responses (mean
    channel; both populations of these networks share mu and sigma)."""
    model = net.neuron if not isinstance(net.neuron, tuple) else net.neuron[0]
    mu, sigma = float(sol.mu[0]), float(sol.sigma[0])
    kj, d = np.asarray(net.K * net.J), np.asarray(net.delay)

    def det(lam):
        h = scipy_response(model, mu, sigma, lam / (2j * np.pi))
        return np.linalg.det(np.eye(2) - 20e-3 * kj * h * np.exp(-lam * d * 1e-3))

    x0, x1 = start, start * (1 + 1e-2)
    d0, d1 = det(x0), det(x1)
    for _ in range(30):
        x0, x1, d0 = x1, x1 - d1 * (x1 - x0) / (d1 - d0), d1
        d1 = det(x1)
        if abs(x1 - x0) < 1e-11 * abs(x1):
            break
    return x1


EIF_ROOT_NET = dict(g=3.0, eta=2.0)  # rates 107 Hz; a damped 93 Hz mode


def test_characteristic_root_equals_the_scipy_root():
    """All-EIF Brunel network (g 3, eta 2): the secant root of mfjax's det(I - W) from a guess
    away from it equals the root of the scipy-built determinant (measured 5e-10 relative)."""
    net = _brunel(EIF_, **EIF_ROOT_NET)
    sol = mfjax.solve_rates(net)
    roots = characteristic_roots(net, jnp.array([-70.0 + 2j * np.pi * 90.0]), sol, variance_response=False)
    assert bool(roots.converged[0])
    ref = _scipy_root(net, sol, -75.0 + 2j * np.pi * 95.0)
    assert abs(complex(roots.lam[0]) - ref) < 1e-7 * abs(ref), (roots.lam, ref)


@pytest.mark.slow
def test_eif_network_spectrum_matches_simulation():
    """All-EIF Brunel network (g 5, eta 2, C_E 1000, N_E 4000; dt 0.05 ms, 8 s): measured rates
    30.19/30.34 Hz vs 30.12 Hz; median simulated/theory 1.05/1.07 (40-100 Hz), 1.30/1.17
    (100-200 Hz), 1.43/1.09 (200-300 Hz), 1.19/1.15 (300-500 Hz), E/I; mean z-score 1.7 (E) and
    0.8 (I) over 50-300 Hz; below 40 Hz the simulation is 0.91/0.98 of the Poisson-autocovariance
    theory.  The E excess at 100-300 Hz is not the time step (dt 0.02 ms: 1.44, 1.51) and is
    not explained yet."""
    net = _brunel(EIF_, epsilon=0.25)
    c = mfjax.spiking.compare_spectra(net, 8000.0, key=jax.random.key(4), segment=128.0, dt=0.05)
    assert bool(c.stability.stable)
    band = (c.frequencies > 50) & (c.frequencies < 300)
    z = (c.simulated[band] - c.theory[band]) / c.standard_error[band]
    assert np.all(np.abs(np.mean(z, axis=0)) < 3.0), np.mean(z, axis=0)
    ratio = c.simulated[band] / c.theory[band]
    assert np.all(np.abs(np.median(ratio, axis=0) - 1) < 0.5), np.median(ratio, axis=0)


@pytest.mark.slow
def test_stability_of_an_eif_network_finds_the_scipy_root_and_its_gradient():
    """stability() of the network above: stable (Nyquist count 0, resolved), its dominant root the
    scipy root; d lambda/d eta (implicit function theorem through the engine) against a central
    difference of roots."""
    net = _brunel(EIF_, **EIF_ROOT_NET)
    sol = mfjax.solve_rates(net)
    st = stability(net, sol, variance_response=False)
    assert bool(st.resolved) and bool(st.stable) and int(st.unstable_roots) == 0
    ref = _scipy_root(net, sol, -75.0 + 2j * np.pi * 95.0)
    assert abs(complex(st.dominant) - ref) < 1e-7 * abs(ref), (st.dominant, ref)

    def root(nu_ext):
        n = net.replace(nu_ext=nu_ext)
        return characteristic_roots(n, jnp.array([ref]), mfjax.solve_rates(n), variance_response=False).lam[0]

    nu = jnp.asarray(net.nu_ext)
    tangent = jax.jvp(root, (nu,), (jnp.ones_like(nu),))[1]
    eps = 1e-3 * float(nu.reshape(-1)[0])
    fd = (root(nu + eps) - root(nu - eps)) / (2 * eps)
    assert abs(complex(tangent) - complex(fd)) < 1e-5 * abs(complex(fd)), (tangent, fd)
