"""Spiking LIF networks simulated from the same :class:`mfjax.Network` the mean field solves.

``simulate(network, duration, key=...)`` runs delta, exponential-current or conductance
synapses with delays (per block, or drawn per synapse with weights: ``delay_sd``, ``J_sd``)
and exact Poisson drive, event-driven, in one compiled ``lax.scan``, vmapped over trials and
parameters; ``compare`` and ``compare_spectra`` put the simulation next to the theory (rates,
CV, population-rate spectra).  ``simulate_qif_network`` runs the all-to-all QIF network of
Montbrio, Pazo & Roxin (2015) whose exact mean field is :func:`mfjax.mpr_fixed_points`.
"""

from ..populations import Conductance
from ._compare import (Comparison, CovarianceComparison, SpectrumComparison, binned_spectra, compare, compare_covariances,
                       compare_spectra)
from ._connectivity import CONNECTIVITY_RULES, Connectivity, build_connectivity, draw_delays_and_weights, neuron_network
from ._presets import brunel_a, coba
from ._chunks import run_chunks
from ._qif_network import QIFNetworkResult, lorentzian_quantiles, simulate_qif_network
from ._simulate import SimulationResult, SimulationState, connectivity_key, simulate
from ._statistics import count_correlation, fano_factor, isi_cv, power_spectrum, synchrony_chi

__all__ = [
    "simulate",
    "SimulationResult",
    "SimulationState",
    "run_chunks",
    "simulate_qif_network",
    "QIFNetworkResult",
    "lorentzian_quantiles",
    "Connectivity",
    "build_connectivity",
    "neuron_network",
    "connectivity_key",
    "draw_delays_and_weights",
    "CONNECTIVITY_RULES",
    "Conductance",
    "brunel_a",
    "coba",
    "compare",
    "Comparison",
    "compare_spectra",
    "SpectrumComparison",
    "binned_spectra",
    "compare_covariances",
    "CovarianceComparison",
    "isi_cv",
    "fano_factor",
    "count_correlation",
    "synchrony_chi",
    "power_spectrum",
]
