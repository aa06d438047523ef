"""The output folder of a job: the config copied in, results written atomically, provenance."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..sweep import atomic_write_text
from ._schema import Field, Table

__all__ = ["OUTPUT", "prepare_output", "write_json", "pyplot", "save_figure"]

OUTPUT = Table({
    "folder": Field(str, "mfjax-output", "folder for results, figures and the copied config"),
    "name": Field(str, "", "file stem of the results (default: the job's own, e.g. 'brunel_sweep')"),
    "formats": Field(list, ["npz"], "result files: 'npz' (always readable), 'netcdf' (needs xarray)",
                     items=str, check=lambda v: next((f"unknown format {f!r}" for f in v if f not in ("npz", "netcdf")), None)),
    "figure": Field(bool, True, "draw the job's figure (PNG; needs matplotlib)"),
}, doc="where and how results are written")


def prepare_output(config: dict, text: str, folder_override=None) -> Path:
    """Create the output folder and copy the config in (``config.toml`` as given, and
    ``config.resolved.json`` with every default filled in)."""
    out = Path(folder_override or config["output"]["folder"])
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "config.toml", text)
    write_json(out / "config.resolved.json", config)
    return out


def write_json(path: Path, data) -> None:
    atomic_write_text(path, json.dumps(data, indent=1, default=str))


def pyplot():
    """matplotlib.pyplot on the Agg backend, or None (with a note) when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: skipping the PNG (pip install 'mfjax[plot]')", file=sys.stderr)
        return None
    return plt


def save_figure(plt, fig, path: Path) -> Path:
    """Write ``fig`` to ``path`` atomically (a temporary file, then a rename)."""
    import os

    fig.tight_layout()
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)
    return path
