"""``fastweights-np oracle``: golden vectors for other implementations (export, compare, describe,
problem, diagnose)."""

from __future__ import annotations

import argparse
import json
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
from fastweights_np.oracle import (
    MANIFEST_KEY,
    array_meaning,
    compare,
    diagnose,
    golden_vectors,
    load_golden,
    manifest_problems,
    non_finite_arrays,
    problem_vectors,
    read_arrays,
    read_manifest,
    save_golden,
)
from fastweights_np.oracle.compare import unmatched_selections
from fastweights_np.oracle.export import PAPER_READOUT_HIDDEN, READOUTS
from fastweights_np.oracle.format import GOLDEN_EXPECTED


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
    e.add_argument("--zero-biases", action="store_true",
                   help="b = 0 and c = 0 exactly, for code without biases (the other arrays are drawn the same)")
    e.add_argument("--unit-gain", action="store_true",
                   help="layer norm's g = 1 and beta = 0 exactly, for code without LN parameters")
    e.add_argument("--adam-steps", type=nonneg_int, default=3, help="k, Adam steps on the batch (default 3)")
    e.add_argument("--adam-lr", type=positive_float, default=1e-3, help="Adam's learning rate (default 1e-3)")
    _add_export_options(e)
    e.add_argument("--out", required=True, help="the .npz to write (atomically)")
    e.set_defaults(handler=run_export)

    c = actions.add_parser(
        "compare",
        help="compare another implementation's .npz with a golden file, tensor by tensor",
        description="Prints per tensor the max absolute and relative error and the first mismatching "
        "index, hints (every gradient off by one factor, a transposed matrix) and a summary with the "
        "tolerances used. Exit status 0 when every tensor matches, 1 on any mismatch, missing or unexpected "
        "array or wrong shape, 2 when a file cannot be read or has another format version, or when a "
        "selection (--only, a group) matches no array.",
    )
    c.add_argument("golden", help="the golden .npz (from oracle export)")
    c.add_argument("theirs", help="the .npz to check, with the golden file's array names")
    c.add_argument("--rtol", type=nonneg_float, default=None, help="relative tolerance (default: by dtype)")
    c.add_argument("--atol", type=nonneg_float, default=None, help="absolute tolerance (default: by dtype)")
    c.add_argument("--only", action="append", metavar="PATTERN",
                   help="compare only these names or glob patterns (repeatable), e.g. --only hs --only 'grad.*'")
    c.add_argument("--outputs", dest="groups", action="append_const", const="outputs",
                   help="compare everything the reference computes (states, logits, loss, grad.*, adam.*), "
                        "not the echoes of the inputs and parameters (x, y, params.*)")
    c.add_argument("--grads", dest="groups", action="append_const", const="grads", help="compare grad.*")
    c.add_argument("--adam", dest="groups", action="append_const", const="adam", help="compare adam.*")
    c.add_argument("--json", action="store_true",
                   help="print the rows and the summary as one JSON object (for CI) instead of the table")
    c.set_defaults(handler=run_compare, groups=None)

    d = actions.add_parser(
        "describe",
        help="print a golden file's config and arrays with their meanings",
        description="Prints the manifest's config and settings, and every array stored in the file with its "
        "actual dtype and shape and its meaning, flagging each disagreement with the manifest (a shape or dtype "
        "it misstates, an array it lists but the file lacks or the file holds but it omits) and each non-finite "
        "array. Exit status 0 when the file is consistent, 2 when it is not (compare refuses such a file) or "
        "cannot be read.",
    )
    d.add_argument("golden", help="the golden .npz")
    d.set_defaults(handler=run_describe)

    q = actions.add_parser(
        "problem",
        help="write only the inputs and parameters of a problem (x, y, params.*), for diagnose",
        description="Draws the problem that export would draw with the same options and writes only its inputs and "
        "parameters (x, y, params.*) with the manifest (config, settings with problem_only=True, each array's "
        "meaning) to --out. Run your code on them, save its outputs under the golden names and run "
        "'fastweights-np oracle diagnose PROBLEM THEIRS'.",
    )
    add_model_arguments(q)
    q.add_argument("--form", choices=FORMS, default="matrix", help="default matrix (same numbers to rounding)")
    q.add_argument("--dtype", choices=DTYPES, default="float64", help="default float64")
    q.add_argument("--steps", type=positive_int, default=5, help="T, time steps (default 5)")
    q.add_argument("--batch", type=positive_int, default=3, help="B, sequences (default 3)")
    q.add_argument("--seed", type=int, default=0, help="seed of parameters, inputs and labels (default 0)")
    q.add_argument("--param-noise", type=nonneg_float, default=0.1,
                   help="std of the N(0,1) noise added to the paper's initialisation (default 0.1)")
    q.add_argument("--zero-biases", action="store_true", help="b = 0 and c = 0 exactly")
    q.add_argument("--unit-gain", action="store_true", help="layer norm's g = 1 and beta = 0 exactly")
    q.add_argument("--adam-steps", type=nonneg_int, default=3,
                   help="k, the Adam steps diagnose recomputes for adam.* (recorded; default 3)")
    q.add_argument("--adam-lr", type=positive_float, default=1e-3, help="Adam's learning rate (recorded; default 1e-3)")
    _add_export_options(q)
    q.add_argument("--out", required=True, help="the .npz to write (atomically)")
    q.set_defaults(handler=run_problem)

    g = actions.add_parser(
        "diagnose",
        help="which known variant of the recurrence another implementation's .npz computes",
        description="Recomputes the reference on the inputs and parameters of GOLDEN (a golden file from export or "
        "a problem file from problem) under the known variants (timing, preliminary layer norm, layer-norm axis, "
        "epsilon, parameter sharing, activation, inner steps, loss reduction, transposed weights: docs/variants.md) "
        "and prints the one that computes THEIRS, its per-tensor errors and in plain words how it differs; when none "
        "matches, the closest and where the first mismatch appears under it. Exit status 0 when a variant matches, "
        "1 when none does, 2 when a file cannot be used or THEIRS holds none of the computed arrays.",
    )
    g.add_argument("golden", help="the golden .npz (from oracle export) or problem .npz (from oracle problem)")
    g.add_argument("theirs", help="the .npz of their outputs: any of h_inner, hs, A_T, logits, loss, grad.*, adam.*")
    g.add_argument("--json", action="store_true", help="print the diagnosis as one JSON object instead of text")
    g.set_defaults(handler=run_diagnose)


def _add_export_options(p: argparse.ArgumentParser) -> None:
    """Export's options beyond the canonical model: trained λ/η, token inputs, the MLP readout."""
    p.add_argument("--train-scalars", action="store_true",
                   help="the Adam steps train decay (lambda) and fast_lr (eta) too, by their gradients "
                        "(adam.params.decay, adam.params.fast_lr; default: held fixed)")
    p.add_argument("--tokens", type=positive_int, default=None, metavar="V",
                   help="x as integer token ids (B, T) in [0, V) with an embedding params.E (V, I), x_t = E[id] "
                        "(grad.E exported; default: real-valued x)")
    p.add_argument("--readout", choices=READOUTS, default="linear",
                   help="logits = V h_T + c (linear, the default) or V ReLU(W1 h_T + b1) + c (mlp: paper Sec. 4.1)")
    p.add_argument("--readout-hidden", type=positive_int, default=PAPER_READOUT_HIDDEN, metavar="F",
                   help=f"F, the MLP readout's ReLU units (default {PAPER_READOUT_HIDDEN}, the paper's)")


def _export_options(args: argparse.Namespace) -> dict:
    return {"train_scalars": args.train_scalars, "tokens": args.tokens, "readout": args.readout,
            "readout_hidden": args.readout_hidden}


def _no_action(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _error(command: str, message: str) -> int:
    print(f"fastweights-np oracle {command}: error: {message}", file=sys.stderr)
    return 2


def run_export(args: argparse.Namespace) -> int:
    cfg = config_from_args(args, form=args.form, dtype=args.dtype)
    try:
        golden = golden_vectors(
            cfg, batch=args.batch, steps=args.steps, seed=args.seed, param_noise=args.param_noise,
            adam_steps=args.adam_steps, adam=AdamConfig(lr=args.adam_lr), backend=args.backend,
            zero_biases=args.zero_biases, unit_gain=args.unit_gain, **_export_options(args),
        )
    except FloatingPointError as exc:  # fastweights_np.finite.NonFiniteError: the problem overflows
        return _error("export", f"{exc} Nothing was written to {args.out}.")
    try:
        path = save_golden(args.out, golden)
    except OSError as exc:
        return _error("export", f"cannot write {args.out}: {exc}")
    n_arrays = len(golden) - 1
    print(f"wrote {path}: {n_arrays} arrays, loss {float(golden['loss']):.6f} "
          f"(H={cfg.hidden_size} T={args.steps} S={cfg.inner_steps} B={args.batch} form={cfg.form} "
          f"timing={cfg.fast_weight_timing} activation={cfg.activation} ln_eps={cfg.ln_eps:g} dtype={cfg.dtype}"
          f"{' zero-biases' if args.zero_biases else ''}{' unit-gain' if args.unit_gain else ''}"
          f"{' train-scalars' if args.train_scalars else ''}{f' tokens={args.tokens}' if args.tokens else ''}"
          f"{f' readout=mlp F={args.readout_hidden}' if args.readout == 'mlp' else ''})")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    golden = load_golden(args.golden)
    theirs = read_arrays(args.theirs)
    unmatched = unmatched_selections(golden, theirs, args.only, args.groups)
    if unmatched:
        shown = ", ".join(f"--only {p!r}" if p in (args.only or ()) else f"--{p}" for p in unmatched)
        names = ", ".join(dict.fromkeys(n for n in (*golden, *theirs) if n != MANIFEST_KEY))
        return _error("compare", f"{shown} matches no array of {args.golden} or {args.theirs}; "
                                 f"the arrays are: {names}")
    report = compare(golden, theirs, rtol=args.rtol, atol=args.atol, only=args.only, groups=args.groups,
                     golden_name=args.golden, their_name=args.theirs)
    print(json.dumps(report.to_dict(), allow_nan=False) if args.json else report)
    return 0 if report.passed else 1


def _meaning(name: str, entry: object) -> str:
    """The manifest's meaning of an array, else the one this version gives the name, else "?"."""
    if isinstance(entry, dict) and isinstance(entry.get("meaning"), str):
        return entry["meaning"]
    try:
        return array_meaning(name)
    except KeyError:
        return "?"


def run_describe(args: argparse.Namespace) -> int:
    """Print the manifest's config and settings and every stored array as it is (dtype, shape)
    with its meaning; flag each disagreement with the manifest and each non-finite array."""
    arrays = read_arrays(args.golden, GOLDEN_EXPECTED)
    manifest = read_manifest(arrays, args.golden)
    entries = manifest["arrays"] if isinstance(manifest.get("arrays"), dict) else {}
    flags: dict[str, list[str]] = {}
    found = {"MANIFEST": manifest_problems(arrays, manifest), "NON-FINITE": non_finite_arrays(arrays)}
    for label, problems in found.items():
        for name, problem in problems.items():
            flags.setdefault(name, []).append(f"{label}: {problem}")
    print(f"{args.golden}: {manifest['format']}, written by {manifest.get('created_by', '?')}")
    for part in ("config", "settings"):
        fields = manifest.get(part) if isinstance(manifest.get(part), dict) else {}
        print(f"{part + ':':<10}" + ", ".join(f"{k}={v}" for k, v in sorted(fields.items())))
    names = [name for name in arrays if name != MANIFEST_KEY] + [name for name in entries if name not in arrays]
    width = max([len(name) for name in names], default=0)
    for name in names:
        dtype, shape = (str(arrays[name].dtype), str(arrays[name].shape)) if name in arrays else ("-", "(absent)")
        flagged = "".join(f"  <- {flag}" for flag in flags.get(name, []))
        print(f"  {name:<{width}}  {dtype:<8} {shape:<16} {_meaning(name, entries.get(name))}{flagged}")
    for flag in flags.get(MANIFEST_KEY, []):
        print(f"  <- {flag}")
    if flags:
        return _error("describe", f"{args.golden}: {len(flags)} problem(s) flagged above ({', '.join(flags)}); "
                                  "compare and load_golden refuse this file")
    return 0


def run_problem(args: argparse.Namespace) -> int:
    """Write the inputs and parameters of the problem export would draw (no results)."""
    cfg = config_from_args(args, form=args.form, dtype=args.dtype)
    try:
        problem = problem_vectors(
            cfg, batch=args.batch, steps=args.steps, seed=args.seed, param_noise=args.param_noise,
            adam_steps=args.adam_steps, adam=AdamConfig(lr=args.adam_lr), zero_biases=args.zero_biases,
            unit_gain=args.unit_gain, **_export_options(args),
        )
    except FloatingPointError as exc:  # the reference's run on this problem overflows
        return _error("problem", f"{exc} Nothing was written to {args.out}.")
    try:
        path = save_golden(args.out, problem)
    except OSError as exc:
        return _error("problem", f"cannot write {args.out}: {exc}")
    names = ", ".join(name for name in problem if name != MANIFEST_KEY)
    print(f"wrote {path}: the problem only ({names}; H={cfg.hidden_size} I={cfg.input_size} O={cfg.output_size} "
          f"S={cfg.inner_steps} T={args.steps} B={args.batch}); run your code on it, then: "
          f"fastweights-np oracle diagnose {path} theirs.npz")
    return 0


def run_diagnose(args: argparse.Namespace) -> int:
    """Print which variant computes THEIRS; 0 when one matches, 1 when none does."""
    found = diagnose(args.golden, args.theirs)
    print(json.dumps(found.to_dict(), allow_nan=False) if args.json else found)
    return 0 if found.matched else 1
