"""Parameter sweeps: chunked jit+vmap over grids, sharded over devices and processes, labelled
results (xarray, netCDF), atomic resumable checkpoints."""

from ._brunel import PHASES, brunel_phase_diagram, brunel_point, brunel_rate_sweep
from ._checkpoint import Checkpoint, CheckpointWarning, atomic_save_npz, atomic_write_bytes, atomic_write_text
from ._grid import SweepResult, grid_sweep, local_devices
from ._progress import Progress
from ._provenance import provenance

__all__ = [
    "SweepResult",
    "grid_sweep",
    "local_devices",
    "provenance",
    "Progress",
    "atomic_save_npz",
    "atomic_write_text",
    "atomic_write_bytes",
    "Checkpoint",
    "CheckpointWarning",
    "brunel_point",
    "brunel_rate_sweep",
    "brunel_phase_diagram",
    "PHASES",
]
