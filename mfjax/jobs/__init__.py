"""Jobs at scale behind the ``mfjax`` command: TOML configs validated before anything compiles,
sweeps of any registered model (sharded over devices and processes, resumable, labelled
results), fits, chunked simulations and the benchmark suite, each with progress and figures.
"""

from ._bench import BENCHMARKS, run_bench
from ._fit import FIT_CONFIG, run_fit
from ._models import SWEEP_MODELS, Parameter, SweepModel, point_function
from ._schema import ConfigError, Field, Table, parse_toml, read_toml, validate
from ._simulate import SIMULATE_CONFIG, run_simulate
from ._sweep import DEFAULT_SWEEP, SWEEP_CONFIG, check_sweep, phase_figure, run_sweep

__all__ = [
    "BENCHMARKS",
    "ConfigError",
    "DEFAULT_SWEEP",
    "FIT_CONFIG",
    "Field",
    "Parameter",
    "SIMULATE_CONFIG",
    "SWEEP_CONFIG",
    "SWEEP_MODELS",
    "SweepModel",
    "Table",
    "check_sweep",
    "parse_toml",
    "phase_figure",
    "point_function",
    "read_toml",
    "run_bench",
    "run_fit",
    "run_simulate",
    "run_sweep",
    "validate",
]
