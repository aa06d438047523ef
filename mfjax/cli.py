"""The ``mfjax`` command: config-driven jobs.

    mfjax                          the default job: Brunel (2000) model A rates over (g, eta)
    mfjax sweep CONFIG             any registered model over a grid (sharded, resumable)
    mfjax fit CONFIG               fit couplings or drive to target rates
    mfjax simulate CONFIG          a chunked, resumable spiking simulation
    mfjax bench [NAME ...]         the benchmark suite, task by task
    mfjax config show [NAME]       print an example config (the default job's without NAME)
    mfjax config check CONFIG      validate a config without running it

Configs are TOML files (read with the standard library's ``tomllib``), validated before anything
compiles: an unknown key, a wrong type or a missing field is an error naming the key.  ``--set
KEY=VALUE`` overrides one key (TOML syntax, e.g. ``--set sweep.axes.g.num=50``).  Every job
writes to an output folder with the config copied in, shows progress (a bar on a terminal,
else a log line per chunk), checkpoints its chunks and resumes after an interruption.
"""

from __future__ import annotations

import argparse
import copy
import sys
from importlib import resources

from .jobs._schema import ConfigError, describe, parse_toml, read_config, read_toml

EXAMPLES = ("default", "brunel_phases", "microcircuit", "ising", "dmft", "memory", "fit", "simulate")


def _example(name: str) -> str:
    if name == "default":
        from .jobs._sweep import DEFAULT_SWEEP

        return DEFAULT_SWEEP
    return resources.files("mfjax").joinpath("data", "configs", f"{name}.toml").read_text()


def _common(p: argparse.ArgumentParser, restart: bool = True) -> None:
    p.add_argument("--out", help="output folder (overrides [output].folder)")
    p.add_argument("--quiet", action="store_true", help="no progress bar (a log line per chunk still goes to stderr)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override one config key (dotted, TOML value), e.g. --set sweep.dtype='\"float32\"'")
    if restart:
        p.add_argument("--restart", action="store_true",
                       help="discard the checkpoint of an earlier, different job in the output folder")


def _schema_help(schema, extra: str = "") -> str:
    return "config keys:\n" + "\n".join(describe(schema)) + ("\n\n" + extra if extra else "")


def _parser() -> argparse.ArgumentParser:
    from .jobs import FIT_CONFIG, SIMULATE_CONFIG, SWEEP_CONFIG, SWEEP_MODELS
    from .jobs._bench import BENCHMARKS
    from .jobs._networks import describe_networks

    fmt = argparse.RawDescriptionHelpFormatter
    p = argparse.ArgumentParser(prog="mfjax", description=__doc__, formatter_class=fmt,
                                epilog="`mfjax sweep --help` lists every key of the default job's config.")
    _common(p)
    p.add_argument("--devices", help="default job: local devices per chunk, a number or 'all'")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    models = "models:\n" + "\n".join(
        f"  {m.name}: {m.doc}\n      parameters: " + ", ".join(
            f"{k}{'' if q.sweepable else ' (fixed)'}={q.default!r}{' ' + q.unit if q.unit else ''}" for k, q in m.parameters.items())
        + "\n      outputs: " + ", ".join(f"{k}{' (' + u + ')' if u else ''}" for k, u in m.outputs.items())
        for m in SWEEP_MODELS.values())
    scale = ("scale:\n  --devices all splits every chunk over the local devices (bit-identical results).\n"
             "  Several processes: start every one with --distributed (jax.distributed.initialize; on SLURM\n"
             "  under srun it finds its peers itself), or run independent shares with --share K/N (a SLURM\n"
             "  array job: --share $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT) and merge with the same\n"
             "  command without --share.  Killed processes resume from the checkpoint.")
    s = sub.add_parser("sweep", help="sweep a model over a grid", formatter_class=fmt,
                       description="Sweep a registered model over a grid of its parameters (mfjax.jobs._sweep).",
                       epilog=_schema_help(SWEEP_CONFIG, models + "\n\n" + scale))
    s.add_argument("config", help="TOML config ([sweep] table; `mfjax config show` prints one)")
    _common(s)
    s.add_argument("--devices", help="local devices per chunk: a number or 'all' (overrides sweep.devices)")
    s.add_argument("--share", metavar="K/N", help="compute only share K of N (array jobs; merge without --share)")
    s.add_argument("--distributed", action="store_true", help="join JAX's distributed runtime (one process per host/GPU)")
    s.add_argument("--coordinator", help="coordinator host:port for --distributed (default: auto-detected, e.g. SLURM)")
    s.add_argument("--num-processes", type=int, help="processes for --distributed")
    s.add_argument("--process-id", type=int, help="this process's index for --distributed")

    f = sub.add_parser("fit", help="fit a network to target rates", formatter_class=fmt,
                       description="Fit couplings or drive of a network preset to target rates (mfjax.fit.fit_rates).",
                       epilog=_schema_help(FIT_CONFIG, "networks:\n" + "\n".join(describe_networks())))
    f.add_argument("config", help="TOML config ([fit] table; `mfjax config show fit` prints one)")
    _common(f, restart=False)

    m = sub.add_parser("simulate", help="simulate a spiking network", formatter_class=fmt,
                       description="Simulate a network preset in resumable chunks (mfjax.spiking.run_chunks).",
                       epilog=_schema_help(SIMULATE_CONFIG, "networks:\n" + "\n".join(describe_networks())))
    m.add_argument("config", help="TOML config ([simulate] table; `mfjax config show simulate` prints one)")
    _common(m)

    b = sub.add_parser("bench", help="run the benchmark suite", formatter_class=fmt,
                       description="Run the benchmarks of a source checkout, each in its own process.",
                       epilog="benchmarks:\n" + "\n".join(
                           f"  {k}: {v.doc}" + (f" (peer: {v.peer}; needs --peers)" if v.peer else "") for k, v in BENCHMARKS.items()))
    b.add_argument("names", nargs="*", help="benchmarks to run (default: all that need no peer)")
    b.add_argument("--device", choices=("cpu", "gpu"), default="cpu", help="platform of the runs (JAX_PLATFORMS)")
    b.add_argument("--peers", action="store_true", help="also the benchmarks whose peer needs its own venv")
    b.add_argument("--quick", action="store_true", help="the scripts' shorter settings where they have them")
    b.add_argument("--out", default="mfjax-bench", help="output folder (default mfjax-bench)")
    b.add_argument("--quiet", action="store_true", help="no progress bar")

    c = sub.add_parser("config", help="print or check configs", formatter_class=fmt,
                       description="Print an example config, or validate one without running it.")
    csub = c.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = csub.add_parser("show", help="print an example config")
    show.add_argument("name", nargs="?", default="default", choices=EXAMPLES)
    check = csub.add_parser("check", help="validate a config")
    check.add_argument("config")
    check.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    return p


def _override(raw: dict, items) -> dict:
    """``raw`` with every ``KEY=VALUE`` of ``items`` applied (VALUE in TOML syntax, else a string)."""
    raw = copy.deepcopy(raw)
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
        try:
            value = parse_toml(f"v = {text}")["v"]
        except ConfigError:
            value = text
        node = raw
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {key}: {part!r} is not a table")
        node[parts[-1]] = value
    return raw


def _load(path: str, sets, job: str):
    raw, text = read_config(path)
    raw = _override(raw, sets)
    jobs = [k for k in ("sweep", "fit", "simulate") if k in raw]
    if job not in raw:
        found = f"it has [{jobs[0]}]: run `mfjax {jobs[0]} {path}`" if jobs else "it has none"
        raise ConfigError(f"{path}: `mfjax {job}` needs a [{job}] table ({found})")
    return raw, text


def _share(text: str):
    k, sep, n = text.partition("/")
    try:
        k, n = int(k), int(n)
    except ValueError:
        raise ConfigError(f"--share {text!r}: expected K/N with integers 0 <= K < N") from None
    if not sep or not 0 <= k < n:
        raise ConfigError(f"--share {text!r}: expected K/N with integers 0 <= K < N")
    return k, n


def _sweep(args, raw, text) -> int:
    from .jobs import run_sweep
    from .jobs._sweep import check_sweep

    if args.devices is not None:
        if args.devices != "all" and not args.devices.isdigit():
            raise ConfigError(f"--devices {args.devices!r}: expected a number or 'all'")
        raw = copy.deepcopy(raw)
        raw.setdefault("sweep", {})["devices"] = "all" if args.devices == "all" else int(args.devices)
    check_sweep(raw)  # every key checked before the runtime starts or anything compiles
    share = _share(args.share) if args.share else None
    if args.distributed:
        if share:
            raise ConfigError("--share and --distributed exclude each other (the runtime assigns the shares)")
        import jax

        kw = {k: v for k, v in (("coordinator_address", args.coordinator), ("num_processes", args.num_processes),
                                ("process_id", args.process_id)) if v is not None}
        jax.distributed.initialize(**kw)
    try:
        run_sweep(raw, text, out=args.out, quiet=args.quiet, restart=args.restart, share=share)
    finally:
        if args.distributed:
            import jax

            jax.distributed.shutdown()
    return 0


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except ConfigError as err:
        raise SystemExit(f"mfjax: {err}") from None
    except ValueError as err:  # e.g. a checkpoint of another job (grid, dtype, version) in the folder
        if "checkpoint" in str(err):
            raise SystemExit(f"mfjax: {err}\n(run with --restart to discard it, or choose another --out)") from None
        raise


def _dispatch(args) -> int:
    if args.command is None:  # the default job, from the embedded config
        from .jobs._sweep import DEFAULT_SWEEP

        args.config, args.share, args.distributed = "<default>", None, False
        raw = _override(parse_toml(DEFAULT_SWEEP), args.set)
        return _sweep(args, raw, DEFAULT_SWEEP)
    if args.command == "config":
        if args.action == "show":
            print(_example(args.name), end="")
            return 0
        raw = _override(read_toml(args.config), args.set)
        from .jobs import check_sweep
        from .jobs._fit import check_fit
        from .jobs._simulate import check_simulate

        jobs = [k for k in ("sweep", "fit", "simulate") if k in raw]
        if len(jobs) != 1:
            raise ConfigError(f"{args.config}: expected exactly one of [sweep], [fit], [simulate], got {jobs or 'none'}")
        {"sweep": check_sweep, "fit": check_fit, "simulate": check_simulate}[jobs[0]](raw)
        print(f"mfjax: {args.config} is a valid {jobs[0]} config")
        return 0
    if args.command == "bench":
        from .jobs import run_bench

        summary = run_bench(args.names, out=args.out, device=args.device, peers=args.peers, quick=args.quick,
                            quiet=args.quiet)
        return 0 if all(t["status"] == "ok" for t in summary["tasks"].values()) else 1
    raw, text = _load(args.config, args.set, args.command)
    if args.command == "sweep":
        return _sweep(args, raw, text)
    if args.command == "fit":
        from .jobs import run_fit

        summary = run_fit(raw, text, out=args.out, quiet=args.quiet)
        return 0 if summary["success"] else 2
    from .jobs import run_simulate

    run_simulate(raw, text, out=args.out, quiet=args.quiet, restart=args.restart)
    return 0


if __name__ == "__main__":
    sys.exit(main())
