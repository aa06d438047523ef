"""Dynamics of population models: the Wilson-Cowan E-I model, limit cycles, phase response and
entrainment; avalanches and criticality with power-law fits (continuation itself is in
:mod:`mfjax.solvers`)."""

from ._avalanches import Avalanches, borel_pmf, branching_avalanches, branching_duration_cdf, branching_ratio, network_avalanches
from ._entrainment import AdlerTongue, TongueEdges, adler_tongue, input_prc, rotation_numbers, tongue_edges
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
