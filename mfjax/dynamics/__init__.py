"""Dynamics of population models: the Wilson-Cowan E-I model, limit cycles, phase response and
entrainment; avalanches and criticality with power-law fits; linear(ised) networks near an instability;
rate branches of LIF networks and the onset of persistent activity; the ring attractor and the
line attractor of a rank-one network; the balanced state (continuation itself is in
:mod:`mfjax.solvers`)."""

from ._balanced import BalancedLimit, BalancedNetwork, BinaryParameters, balanced_limit, binary_balanced_limit
from ._avalanches import Avalanches, borel_pmf, branching_avalanches, branching_duration_cdf, branching_ratio, network_avalanches
from ._entrainment import AdlerTongue, TongueEdges, adler_tongue, input_prc, locking_ratios, rotation_numbers, tongue_edges
from ._linear import (
    LinearNetwork,
    autocorrelation_time,
    fisher_information_estimate,
    linear_fisher_information,
    linear_network,
    lyapunov_covariance,
    simulate_linear_network,
)
from ._orbits import PeriodicOrbit, cycle_guess, periodic_orbit, phase_response, rk4_trajectory
from ._persistent import PersistentActivity, RateBranch, persistent_activity, rate_branch
from ._ring import RingBump, RingNetwork, bump_diffusion, bump_position, ring_bump, ring_steady_state, ring_weights, simulate_ring
from ._line import RankOneLine, amplitude_density, amplitude_drift, rank_one_line, simulate_rank_one
from ._powerlaw import PowerLawFit, fit_power_law, power_law_cdf
from ._wilson_cowan import (
    BifurcationCurves,
    WilsonCowan,
    WilsonCowanFixedPoints,
    wilson_cowan_curves,
    wilson_cowan_field,
    wilson_cowan_fixed_points,
    wilson_cowan_jacobian,
)

__all__ = [
    "RateBranch",
    "rate_branch",
    "PersistentActivity",
    "persistent_activity",
    "RingNetwork",
    "RingBump",
    "ring_bump",
    "ring_weights",
    "ring_steady_state",
    "bump_position",
    "bump_diffusion",
    "simulate_ring",
    "RankOneLine",
    "rank_one_line",
    "amplitude_drift",
    "amplitude_density",
    "simulate_rank_one",
    "BalancedNetwork",
    "BalancedLimit",
    "BinaryParameters",
    "balanced_limit",
    "binary_balanced_limit",
    "WilsonCowan",
    "wilson_cowan_field",
    "wilson_cowan_jacobian",
    "WilsonCowanFixedPoints",
    "wilson_cowan_fixed_points",
    "BifurcationCurves",
    "wilson_cowan_curves",
    "rk4_trajectory",
    "PeriodicOrbit",
    "periodic_orbit",
    "cycle_guess",
    "phase_response",
    "input_prc",
    "AdlerTongue",
    "adler_tongue",
    "TongueEdges",
    "tongue_edges",
    "rotation_numbers",
    "locking_ratios",
    "Avalanches",
    "branching_avalanches",
    "network_avalanches",
    "branching_ratio",
    "borel_pmf",
    "branching_duration_cdf",
    "PowerLawFit",
    "fit_power_law",
    "power_law_cdf",
    "LinearNetwork",
    "linear_network",
    "lyapunov_covariance",
    "autocorrelation_time",
    "linear_fisher_information",
    "simulate_linear_network",
    "fisher_information_estimate",
]
