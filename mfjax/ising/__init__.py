"""Ising and binary-network mean-field theory: naive, TAP, Bethe, free energies, linear
response, lattice fluctuations, exact enumeration, Monte Carlo, the inverse problem, and
binary (0/1) threshold networks."""

from ._binary import BinaryActivity, binary_rates, simulate_binary
from ._enumeration import ExactAverages, exact
from ._inverse import INVERSE_METHODS, infer
from ._mean_field import (
    METHODS,
    MagnetizationSolution,
    bethe_free_energy,
    critical_temperature,
    gibbs_free_energy,
    lattice_magnetization,
    magnetization,
    onsager_magnetization,
    variational_free_energy,
)
from ._models import (
    curie_weiss_couplings,
    random_tree_couplings,
    sk_couplings,
    square_lattice_couplings,
)
from ._monte_carlo import (
    DenseSamples,
    LatticeSamples,
    binder_crossing,
    monte_carlo,
    monte_carlo_lattice,
)
from ._response import (
    correlation_length,
    correlations,
    ginzburg_criterion,
    lattice_susceptibility,
    stability,
    susceptibility,
)

__all__ = [
    "METHODS",
    "INVERSE_METHODS",
    "MagnetizationSolution",
    "ExactAverages",
    "LatticeSamples",
    "DenseSamples",
    "BinaryActivity",
    "magnetization",
    "gibbs_free_energy",
    "variational_free_energy",
    "bethe_free_energy",
    "critical_temperature",
    "lattice_magnetization",
    "onsager_magnetization",
    "susceptibility",
    "correlations",
    "stability",
    "lattice_susceptibility",
    "correlation_length",
    "ginzburg_criterion",
    "exact",
    "monte_carlo",
    "monte_carlo_lattice",
    "binder_crossing",
    "infer",
    "binary_rates",
    "simulate_binary",
    "curie_weiss_couplings",
    "sk_couplings",
    "square_lattice_couplings",
    "random_tree_couplings",
]
