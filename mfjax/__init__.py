"""mfjax: differentiable mean-field theory of neural networks in JAX.

Units everywhere: time ms, voltage mV, rates Hz, currents pA, capacitance pF.
"""

from . import dmft, dynamics, fit, ising, memory, neurons, populations, solvers, spiking, sweep
from .neurons import EIF, LIF, QIF, firing_rate, isi_cv, lif_cv, lif_rate, lif_shot_rate, lif_spike_spectrum, lif_transfer, lif_variance_transfer, membrane_density, rate_response
from .populations import Network, brunel_a, microcircuit, mpr_fixed_points, solve_rates

__version__ = "0.1.0"

__all__ = [
    "neurons",
    "populations",
    "solvers",
    "fit",
    "sweep",
    "ising",
    "dmft",
    "dynamics",
    "memory",
    "spiking",
    "LIF",
    "EIF",
    "QIF",
    "firing_rate",
    "rate_response",
    "isi_cv",
    "lif_rate",
    "lif_shot_rate",
    "lif_transfer",
    "lif_spike_spectrum",
    "lif_variance_transfer",
    "lif_cv",
    "membrane_density",
    "Network",
    "brunel_a",
    "microcircuit",
    "solve_rates",
    "mpr_fixed_points",
    "__version__",
]
