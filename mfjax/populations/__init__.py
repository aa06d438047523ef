"""Multi-population LIF mean field: network description, inputs (mu, sigma), stationary rates,
delay distributions."""

from ._delays import DELAY_DISTRIBUTIONS, delay_characteristic, faddeeva
from ._network import SYNAPSE_MODELS, Conductance, Network
from ._presets import brunel_a, brunel_threshold_rate, microcircuit
from ._rates import (
    ConvergenceError,
    RateSolution,
    input_std,
    mean_input,
    solve_rates,
    transfer,
)

__all__ = [
    "Network",
    "SYNAPSE_MODELS",
    "Conductance",
    "brunel_a",
    "brunel_threshold_rate",
    "microcircuit",
    "RateSolution",
    "ConvergenceError",
    "mean_input",
    "input_std",
    "transfer",
    "solve_rates",
    "DELAY_DISTRIBUTIONS",
    "delay_characteristic",
    "faddeeva",
]
