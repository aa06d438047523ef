"""Parameter sweeps: chunked jit+vmap over grids, labelled results, atomic resumable checkpoints."""

from ._brunel import brunel_point, brunel_rate_sweep
from ._grid import SweepResult, atomic_save_npz, grid_sweep

__all__ = ["SweepResult", "grid_sweep", "atomic_save_npz", "brunel_point", "brunel_rate_sweep"]
