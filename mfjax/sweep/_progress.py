"""Progress of long jobs: a tqdm bar on a terminal, else one log line per unit of work.

Every job reports through :class:`Progress` (sweeps by chunk, fits by step, simulations by
chunk, benchmarks by task).  On an interactive terminal (and without ``quiet``) it draws a tqdm
bar with rate and ETA; otherwise (``--quiet``, a pipe, a batch job's log file) it writes one
line per update to stderr with the same figures, so a cluster log still shows how far a job got.
"""

from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


class Progress:
    """Progress of ``total`` units of work named ``unit`` (e.g. ``"chunk"``), labelled ``desc``.

    Call :meth:`update` with the units done so far (and optional figures for the log line,
    e.g. ``points=512`` or ``loss=1e-3``); :meth:`close` when finished.  ``total=None``: the
    first :meth:`update` gives it (a job that learns its size as it starts).
    """

    def __init__(self, total: int | None, *, desc: str, unit: str, quiet: bool = False, stream=None):
        self.total, self.desc, self.unit = total, desc, unit
        self.stream = sys.stderr if stream is None else stream
        self.t0 = time.perf_counter()
        self.done = 0
        self.bar = None
        self.draw = not quiet and hasattr(self.stream, "isatty") and self.stream.isatty()
        if total is not None:
            self._start(total)

    def _start(self, total: int) -> None:
        self.total = int(total)
        if self.draw:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.total, desc=self.desc, unit=self.unit, file=self.stream, dynamic_ncols=True)

    def update(self, done: int, total: int | None = None, **figures) -> None:
        if self.total is None:
            self._start(done if total is None else total)
        step, self.done = done - self.done, done
        if self.bar is not None:
            if figures:
                self.bar.set_postfix({k: _fmt(v) for k, v in figures.items()}, refresh=False)
            self.bar.update(step)
            return
        elapsed = time.perf_counter() - self.t0
        rate = done / elapsed if elapsed > 0 else float("inf")
        eta = (self.total - done) / rate if rate > 0 else float("inf")
        extra = "".join(f", {k} {_fmt(v)}" for k, v in figures.items())
        print(f"{self.desc}: {self.unit} {done}/{self.total} ({rate:.3g} {self.unit}/s, {elapsed:.1f} s elapsed, "
              f"ETA {eta:.1f} s{extra})", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
