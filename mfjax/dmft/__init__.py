"""Dynamic mean-field theory (DMFT) of random rate networks: stationary autocorrelations,
Lyapunov exponents, the transition to chaos, the time-discretised self-consistency, and the
network simulator that checks them."""

from ._chaos import chaos_onset, local_stability
from ._nonlinearity import NONLINEARITIES
from ._simulate import NetworkStatistics, simulate
from ._stationary import (
    OrderParameters,
    Stationary,
    lyapunov_from_potential,
    order_parameters,
    stationary,
)
from ._time_discrete import TimeDMFT, time_discretised

__all__ = [
    "NONLINEARITIES",
    "OrderParameters",
    "Stationary",
    "NetworkStatistics",
    "TimeDMFT",
    "order_parameters",
    "stationary",
    "lyapunov_from_potential",
    "chaos_onset",
    "local_stability",
    "simulate",
    "time_discretised",
]
