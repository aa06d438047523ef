"""Run the demo notebooks in a real Jupyter kernel (nbclient) and store them with their outputs.

    python notebooks/execute.py                  # every notebook, outputs written in place
    python notebooks/execute.py dmft.ipynb       # one
    python notebooks/execute.py --check          # run, write nothing (fails on any error)

Each notebook runs top to bottom in a fresh ``python3`` kernel started from this interpreter
(``ipykernel``), with matplotlib's inline backend, so its figures are embedded as PNG outputs and
show wherever the notebook is browsed.  The file is replaced atomically, only after a complete
run.  Timings per notebook are printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def execute(path: Path, *, timeout: int = 1200, write: bool = True) -> float:
    """Run ``path`` in a fresh kernel (cwd: the notebooks folder); store it with outputs if
    ``write``.  Returns the wall time (s).  Raises ``nbclient.exceptions.CellExecutionError``
    naming the cell on any error."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    _, nb = nbformat.validator.normalize(nb)  # cell ids (nbformat 4.5) where an older file lacks them
    nb = nbformat.from_dict(nb)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - t0
    if write:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            nbformat.write(nb, f)
        os.replace(tmp, path)
    return seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help="notebooks (default: all in notebooks/)")
    ap.add_argument("--check", action="store_true", help="run only, do not store the outputs")
    args = ap.parse_args()
    paths = [HERE / n for n in args.names] or sorted(HERE.glob("*.ipynb"))
    for path in paths:
        seconds = execute(path, write=not args.check)
        print(f"{path.name}: {seconds:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
