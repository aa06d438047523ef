"""Dynamic mean-field theory (DMFT) of random rate networks: stationary autocorrelations,
Lyapunov exponents, the transition to chaos, the time-discretised self-consistency, networks of
several cell types (block-structured couplings), and the network simulator that checks them."""

from ._blocks import (
    BlockNetwork,
    BlockStatic,
    BlockStationary,
    block_chaos_onset,
    block_network,
    block_static,
    block_stationary,
)
from ._chaos import chaos_onset, local_stability
from ._nonlinearity import NONLINEARITIES
from ._simulate import NetworkStatistics, simulate, simulate_blocks
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
    "simulate_blocks",
    "time_discretised",
    "BlockNetwork",
    "BlockStatic",
    "BlockStationary",
    "block_network",
    "block_static",
    "block_stationary",
    "block_chaos_onset",
]
