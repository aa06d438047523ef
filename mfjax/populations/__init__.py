"""Multi-population LIF mean field: network description, inputs (mu, sigma), stationary rates,
delay distributions, linear response (effective connectivity, spectra, covariances) and
stability (characteristic roots, eigenmodes)."""

from ._delays import DELAY_DISTRIBUTIONS, delay_characteristic, faddeeva
from ._network import INPUT_MODELS, SYNAPSE_MODELS, Conductance, Network
from ._presets import brunel_a, brunel_threshold_rate, microcircuit
from ._response import (
    LinearResponse,
    WorkingPoint,
    cross_spectra,
    effective_connectivity,
    linear_response,
    population_transfer,
    power_spectra,
    propagator,
    sensitivity_measure,
    sensitivity_measure_all_eigenmodes,
    working_point,
)
from ._conductance import ConductanceInput, coba_rate, conductance_input
from ._covariances import Covariances, PairwiseCovariances, covariances, pairwise_covariances
from ._eigenmodes import SensitivityMeasure, eigenvalue_trajectories
from ._mpr import MPRFixedPoints, mpr_cusp, mpr_fixed_points, mpr_fold, mpr_trajectory
from ._stability import CharacteristicRoots, Stability, characteristic_roots, stability
from ._rates import (
    ConvergenceError,
    RateSolution,
    ShotInput,
    input_std,
    mean_input,
    shot_input,
    solve_rates,
    transfer,
)

__all__ = [
    "MPRFixedPoints", "mpr_fixed_points", "mpr_fold", "mpr_cusp", "mpr_trajectory",
    "Network",
    "SYNAPSE_MODELS",
    "INPUT_MODELS",
    "Conductance",
    "brunel_a",
    "brunel_threshold_rate",
    "microcircuit",
    "RateSolution",
    "ConvergenceError",
    "mean_input",
    "input_std",
    "shot_input",
    "ShotInput",
    "ConductanceInput",
    "conductance_input",
    "coba_rate",
    "transfer",
    "solve_rates",
    "DELAY_DISTRIBUTIONS",
    "delay_characteristic",
    "faddeeva",
    "WorkingPoint",
    "working_point",
    "population_transfer",
    "effective_connectivity",
    "propagator",
    "cross_spectra",
    "power_spectra",
    "Covariances",
    "covariances",
    "PairwiseCovariances",
    "pairwise_covariances",
    "LinearResponse",
    "linear_response",
    "CharacteristicRoots",
    "characteristic_roots",
    "Stability",
    "stability",
    "eigenvalue_trajectories",
    "SensitivityMeasure",
    "sensitivity_measure",
    "sensitivity_measure_all_eigenmodes",
]
