"""The ring attractor (Ben-Yishai, Bar-Or & Sompolinsky 1995): the marginal bump against scipy
quadrature of its self-consistency, the n-unit network's stationary state against the bump, the
J2 = 2 instability of the homogeneous state, the bump's diffusion under noise against
simulation (Burak & Fiete 2012), gradients against finite differences, refusals."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq

from mfjax.dynamics import RingNetwork, bump_diffusion, bump_position, ring_bump, ring_steady_state, simulate_ring

RING = RingNetwork(J0=2.0, J2=6.0, I0=1.0)


def _moments_scipy(tc):
    """(f0, f2): int dtheta/pi of [cos 2theta - cos 2tc]_+ times 1 and cos 2theta, by quad."""
    f0 = quad(lambda t: np.cos(2 * t) - np.cos(2 * tc), -tc, tc, epsabs=1e-15, epsrel=1e-13)[0] / np.pi
    f2 = quad(lambda t: (np.cos(2 * t) - np.cos(2 * tc)) * np.cos(2 * t), -tc, tc, epsabs=1e-15, epsrel=1e-13)[0] / np.pi
    return f0, f2


def test_marginal_bump_against_quadrature():
    b = ring_bump(RING)
    assert bool(b.valid)
    tc = brentq(lambda t: 6.0 * _moments_scipy(t)[1] - 1.0, 1e-6, np.pi / 2, xtol=1e-15)
    f0, f2 = _moments_scipy(tc)
    h2 = 1.0 / (2.0 * f0 - np.cos(2 * tc))  # h0 = I0 - J0 r0 = -h2 cos 2tc
    assert float(b.width) == pytest.approx(tc, rel=1e-12)
    assert float(b.h2) == pytest.approx(h2, rel=1e-11)
    assert float(b.r0) == pytest.approx(h2 * f0, rel=1e-11)
    assert float(b.r2) == pytest.approx(h2 * f2, rel=1e-11)
    assert float(b.peak) == pytest.approx(h2 * (1 - np.cos(2 * tc)), rel=1e-11)
    # self-consistency of the input field: h0 = I0 - J0 r0, h2 = J2 r2
    assert float(b.h0) == pytest.approx(1.0 - 2.0 * float(b.r0), rel=1e-12)
    assert float(b.h2) == pytest.approx(6.0 * float(b.r2), rel=1e-12)


def test_network_steady_state_tends_to_the_bump():
    b = ring_bump(RING)
    n = 512
    sol = ring_steady_state(RING, n)
    assert bool(sol.converged)
    theta = -np.pi / 2 + np.pi * (np.arange(n) + 0.5) / n
    psi = float(bump_position(sol.value))
    assert abs(psi) < 1e-12
    assert np.max(np.abs(np.asarray(sol.value) - np.asarray(b.rates(theta, psi)))) < 1e-4 * float(b.peak)
    assert float(jnp.mean(sol.value)) == pytest.approx(float(b.r0), rel=1e-5)


def test_no_bump_below_the_instability_and_a_pinned_one_with_tuned_input():
    weak = RingNetwork(J0=2.0, J2=1.5, I0=1.0)
    assert not bool(ring_bump(weak).valid) and np.isnan(float(ring_bump(weak).width))
    sol = ring_steady_state(weak, 64)
    np.testing.assert_allclose(sol.value, 1.0 / 3.0, rtol=1e-12)  # I0 / (1 + J0)
    # a tuned input pins the bump at theta0; the marginal closed form does not apply
    site = -np.pi / 2 + np.pi * (83 + 0.5) / 128  # a unit's preferred angle (0.49 rad)
    tuned = RingNetwork(J0=2.0, J2=6.0, I0=1.0, I2=0.2, theta0=site)
    assert not bool(ring_bump(tuned).valid)
    pinned = ring_steady_state(tuned, 128, psi=-0.5)
    assert bool(pinned.converged)
    assert float(bump_position(pinned.value)) == pytest.approx(site, abs=1e-9)
    assert np.isnan(float(bump_diffusion(tuned, 64, 0.1)))


def test_bump_width_gradient():
    # J2 f2(tc) = 1: d tc / d J2 = -f2 / (J2 f2'(tc)) with f2' = (1 - cos 4 tc) / pi
    width = lambda j2: ring_bump(RingNetwork(J0=2.0, J2=j2, I0=1.0)).width  # noqa: E731
    tc = float(width(6.0))
    g = float(jax.grad(width)(6.0))
    assert g == pytest.approx(-(1 / 6.0) / (6.0 * (1 - np.cos(4 * tc)) / np.pi), rel=1e-10)
    fd = (float(width(6.0 + 1e-5)) - float(width(6.0 - 1e-5))) / 2e-5
    assert g == pytest.approx(fd, rel=1e-7)


def test_bump_diffusion_against_simulation():
    n, noise, trials = 64, 0.3, 400
    D = float(bump_diffusion(RING, n, noise))
    times, rates = simulate_ring(jax.random.PRNGKey(1), RING, n, 1000.0, dt=0.5, noise=noise, trials=trials, keep=100)
    psi = np.asarray(bump_position(rates))
    shift = np.unwrap(2 * psi, axis=1) / 2  # started at psi = 0
    final = shift[:, -1] ** 2 / (2 * float(times[-1]))
    error = final.std() / np.sqrt(trials)
    # measured: 5.19e-6 +- 0.22e-6 (1000 trials) vs theory 4.97e-6 at n = 64; -8 % at n = 128 (the
    # lattice pins the bump weakly; edge units switch in and out of the active set with noise)
    assert abs(final.mean() - D) < 4 * error + 0.05 * D
    # D scales as 1/n (independent noise per unit; 12 % off between n = 64 and 128, where the
    # bump sits differently on the lattice) and exactly as noise^2
    assert float(bump_diffusion(RING, 2 * n, noise)) == pytest.approx(D / 2, rel=0.15)
    assert float(bump_diffusion(RING, n, 2 * noise)) == pytest.approx(4 * D, rel=1e-9)


def test_ring_refusals():
    with pytest.raises(ValueError, match="tau"):
        RingNetwork(J0=2.0, J2=6.0, I0=1.0, tau=-1.0)
    with pytest.raises(ValueError, match="I0"):
        RingNetwork(J0=2.0, J2=6.0, I0=0.0)
    with pytest.raises(ValueError, match="J2"):
        RingNetwork(J0=2.0, J2=np.nan, I0=1.0)
    with pytest.raises(ValueError, match="dt must be well below tau"):
        simulate_ring(jax.random.PRNGKey(0), RING, 32, 100.0, dt=5.0)
    with pytest.raises(ValueError, match="noise"):
        bump_diffusion(RING, 32, -0.1)
    traced = jax.jit(lambda j2: ring_bump(RingNetwork(J0=2.0, J2=j2, I0=1.0)).valid)(jnp.nan)
    assert not bool(traced)
