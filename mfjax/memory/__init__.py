"""Memory networks: Hebbian (Hopfield) couplings and retrieval, the AGS capacity theory,
couplings learned for capacity with a margin (Gardner, Cover), and low-rank plus random
connectivity (outliers, rank-one mean field)."""

from ._ags import (
    AGSSolution,
    ags_capacity,
    ags_overlap,
    retrieval_temperature,
    spin_glass_temperature,
)
from ._hopfield import (
    Retrieval,
    hopfield_couplings,
    hopfield_retrieval,
    random_patterns,
    retrieve,
)
from ._learning import (
    LearnedCouplings,
    cover_probability,
    gardner_capacity,
    learn_couplings,
    stabilities,
)
from ._lowrank import (
    RankOneState,
    ei_bulk_radius,
    lowrank_outliers,
    rank_one_state,
    spectral_radius,
)

__all__ = [
    "AGSSolution",
    "Retrieval",
    "LearnedCouplings",
    "RankOneState",
    "random_patterns",
    "hopfield_couplings",
    "retrieve",
    "hopfield_retrieval",
    "ags_capacity",
    "ags_overlap",
    "spin_glass_temperature",
    "retrieval_temperature",
    "gardner_capacity",
    "cover_probability",
    "stabilities",
    "learn_couplings",
    "lowrank_outliers",
    "ei_bulk_radius",
    "spectral_radius",
    "rank_one_state",
]
