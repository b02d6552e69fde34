"""``fastweights-np oracle``: golden vectors for other implementations (export, compare, describe)."""

from __future__ import annotations

import argparse
import sys

from fastweights_np.cli.args import (
    add_model_arguments,
    config_from_args,
    nonneg_float,
    nonneg_int,
    positive_float,
    positive_int,
)
from fastweights_np.cores.fast_weights.config import DTYPES, FORMS
from fastweights_np.optim import AdamConfig
from fastweights_np.oracle import compare, golden_vectors, load_golden, read_arrays, read_manifest, save_golden


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "oracle",
        help="golden vectors of the reference, and comparison of another implementation against them",
        description="Export the reference's golden vectors for a small problem, or compare another "
        "implementation's arrays with them (docs/oracle.md).",
    )
    p.set_defaults(handler=lambda args: _no_action(p))
    actions = p.add_subparsers(dest="oracle_command", metavar="ACTION")

    e = actions.add_parser(
        "export",
        help="write golden vectors to a self-describing .npz",
        description="Draws parameters near the paper's initialisation, inputs and labels from --seed, runs "
        "the reference forward and backward and --adam-steps Adam steps, and writes every array with a "
        "JSON manifest (format, config, each array's shape, dtype and meaning) to --out.",
    )
    add_model_arguments(e)
    e.add_argument("--form", choices=FORMS, default="matrix", help="default matrix (same numbers to rounding)")
    e.add_argument("--dtype", choices=DTYPES, default="float64", help="default float64")
    e.add_argument("--backend", choices=("numpy", "cupy"), default="numpy",
                   help="where the reference's code runs: numpy, or cupy on a GPU (default numpy; the file does not "
                        "record it)")
    e.add_argument("--steps", type=positive_int, default=5, help="T, time steps (default 5)")
    e.add_argument("--batch", type=positive_int, default=3, help="B, sequences (default 3)")
    e.add_argument("--seed", type=int, default=0, help="seed of parameters, inputs and labels (default 0)")
    e.add_argument("--param-noise", type=nonneg_float, default=0.1,
                   help="std of the N(0,1) noise added to the paper's initialisation (default 0.1)")
    e.add_argument("--adam-steps", type=nonneg_int, default=3, help="k, Adam steps on the batch (default 3)")
    e.add_argument("--adam-lr", type=positive_float, default=1e-3, help="Adam's learning rate (default 1e-3)")
    e.add_argument("--out", required=True, help="the .npz to write (atomically)")
    e.set_defaults(handler=run_export)

    c = actions.add_parser(
        "compare",
        help="compare another implementation's .npz with a golden file, tensor by tensor",
        description="Prints per tensor the max absolute and relative error and the first mismatching "
        "index. Exit status 0 when every tensor matches, 1 on any mismatch, missing or unexpected "
        "array or wrong shape, 2 when a file cannot be read or has another format version.",
    )
    c.add_argument("golden", help="the golden .npz (from oracle export)")
    c.add_argument("theirs", help="the .npz to check, with the golden file's array names")
    c.add_argument("--rtol", type=nonneg_float, default=None, help="relative tolerance (default: by dtype)")
    c.add_argument("--atol", type=nonneg_float, default=None, help="absolute tolerance (default: by dtype)")
    c.add_argument("--only", action="append", metavar="PATTERN",
                   help="compare only these names or glob patterns (repeatable), e.g. --only hs --only 'grad.*'")
    c.set_defaults(handler=run_compare)

    d = actions.add_parser("describe", help="print a golden file's config and arrays with their meanings")
    d.add_argument("golden", help="the golden .npz")
    d.set_defaults(handler=run_describe)


def _no_action(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def run_export(args: argparse.Namespace) -> int:
    cfg = config_from_args(args, form=args.form, dtype=args.dtype)
    golden = golden_vectors(
        cfg, batch=args.batch, steps=args.steps, seed=args.seed, param_noise=args.param_noise,
        adam_steps=args.adam_steps, adam=AdamConfig(lr=args.adam_lr), backend=args.backend,
    )
    try:
        path = save_golden(args.out, golden)
    except OSError as exc:
        print(f"fastweights-np oracle export: error: cannot write {args.out}: {exc}", file=sys.stderr)
        return 2
    n_arrays = len(golden) - 1
    print(f"wrote {path}: {n_arrays} arrays, loss {float(golden['loss']):.6f} "
          f"(H={cfg.hidden_size} T={args.steps} S={cfg.inner_steps} B={args.batch} form={cfg.form} "
          f"timing={cfg.fast_weight_timing} activation={cfg.activation} dtype={cfg.dtype})")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    golden = load_golden(args.golden)
    theirs = read_arrays(args.theirs)
    report = compare(golden, theirs, rtol=args.rtol, atol=args.atol, only=args.only,
                     golden_name=args.golden, their_name=args.theirs)
    print(report)
    return 0 if report.passed else 1


def run_describe(args: argparse.Namespace) -> int:
    golden = load_golden(args.golden)
    manifest = read_manifest(golden, args.golden)
    print(f"{args.golden}: {manifest['format']}, written by {manifest.get('created_by', '?')}")
    print("config:   " + ", ".join(f"{k}={v}" for k, v in sorted(manifest["config"].items())))
    print("settings: " + ", ".join(f"{k}={v}" for k, v in sorted(manifest["settings"].items())))
    width = max(len(name) for name in manifest["arrays"])
    for name, entry in manifest["arrays"].items():
        print(f"  {name:<{width}}  {entry['dtype']:<8} {str(tuple(entry['shape'])):<16} {entry['meaning']}")
    return 0
