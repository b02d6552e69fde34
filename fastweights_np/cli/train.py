"""``fastweights-np train assoc``: train a model on associative retrieval (paper Sec. 4.1)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from fastweights_np.atomic import atomic_write_json
from fastweights_np.cli.args import nonneg_int, positive_float, positive_int, unit_interval
from fastweights_np.cores.registry import CORE_NAMES
from fastweights_np.optim.schedule import SCHEDULES
from fastweights_np.tasks.assoc_data import SPLIT_SIZES, make_assoc_splits
from fastweights_np.tasks.assoc_model import AssocModel, AssocModelConfig
from fastweights_np.train.loop import TrainConfig, train

# Every option, with its default. The parser's defaults are None so that a resumed run can tell
# which options were given on its command line (a resume may only extend --steps).
DEFAULTS = {
    "core": "fw",
    "hidden": 50,
    "steps": 30_000,
    "seed": 0,
    "lr": 1e-3,
    "lr_schedule": "constant",
    "batch_size": 128,
    "clip": None,
    "eval_every": 500,
    "checkpoint_every": 1000,
    "num_pairs": 4,
    "train_size": SPLIT_SIZES["train"],
    "val_size": SPLIT_SIZES["val"],
    "test_size": SPLIT_SIZES["test"],
    "data_seed": 0,
    "dtype": "float32",
    "decay": None,
    "fast_lr": None,
    "inner_steps": None,
    "form": None,
    "no_layer_norm": False,
    "backend": None,
}
# Backends the task model can train with (the CuPy path covers the canonical model only).
TRAIN_BACKENDS = ("numpy", "numba")
FW_ONLY = ("decay", "fast_lr", "inner_steps", "form")
# Cores with Numba kernels: --backend applies to them (the A-LSTM runs on the reference). It defaults to
# numba where the kernels are the faster (fw); the IRNN's and LSTM's kernels cost about what the reference
# does at the paper's sizes (benchmarks/bench_baselines.py, docs/performance.md), so they default to numpy.
NUMBA_CORES = ("fw", "irnn", "lstm")
NUMBA_DEFAULT_CORES = ("fw",)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a model on a task of the paper (assoc: associative retrieval, Table 1)",
        description=(
            "Train a model on associative retrieval: K key-value pairs, '??', a key; predict its digit "
            "(paper Sec. 4.1). The model is a 100-d embedding, one recurrent core of R units, 100 ReLU "
            "units and a softmax; Adam on mini-batches; the parameters with the best validation error "
            "are kept and their test error reported. The run directory gets run.json, metrics.jsonl "
            "(one line per evaluation), checkpoint.npz (atomic) and final.json. Ctrl-C saves and "
            "stops; --resume continues exactly where the run stopped."
        ),
    )
    p.add_argument("task", choices=("assoc",), help="the task")
    p.add_argument("--out", required=True, type=Path, help="run directory")
    p.add_argument("--resume", action="store_true", help="continue the run in --out (only --steps may change)")
    p.add_argument("--core", choices=CORE_NAMES, help=f"recurrent core (default {DEFAULTS['core']})")
    p.add_argument("--hidden", type=positive_int, help=f"R, recurrent units (default {DEFAULTS['hidden']})")
    p.add_argument("--steps", type=positive_int, help=f"Adam updates (default {DEFAULTS['steps']})")
    p.add_argument("--seed", type=int, help="seed of initialisation and batch order (default 0)")
    p.add_argument("--lr", type=positive_float, help=f"Adam learning rate (default {DEFAULTS['lr']})")
    p.add_argument("--lr-schedule", choices=SCHEDULES,
                   help="constant, or cosine: from --lr down to 0 over the --steps updates (default constant)")
    p.add_argument("--batch-size", type=positive_int, help="mini-batch size (default 128)")
    p.add_argument("--clip", type=positive_float, help="clip gradients to this global norm (default: none)")
    p.add_argument("--eval-every", type=positive_int, help="steps between evaluations (default 500)")
    p.add_argument("--checkpoint-every", type=positive_int, help="steps between checkpoints (default 1000)")
    p.add_argument("--num-pairs", type=positive_int, help="K, key-value pairs per sequence (default 4)")
    p.add_argument("--train-size", type=positive_int, help="training sequences (default 100000)")
    p.add_argument("--val-size", type=positive_int, help="validation sequences (default 10000)")
    p.add_argument("--test-size", type=positive_int, help="test sequences (default 20000)")
    p.add_argument("--data-seed", type=int, help="seed of the data set (default 0)")
    p.add_argument("--dtype", choices=("float32", "float64"), help="default float32")
    p.add_argument("--decay", type=unit_interval, help="fw: λ (default 0.9, the paper's for this task)")
    p.add_argument("--fast-lr", type=positive_float, help="fw: η (default 0.5)")
    p.add_argument("--inner-steps", type=nonneg_int, help="fw: S (default 1)")
    p.add_argument("--form", choices=("matrix", "attention"), help="fw: how A_t h is computed (default attention)")
    p.add_argument("--backend", choices=TRAIN_BACKENDS,
                   help="fw, irnn, lstm: the NumPy reference or the compiled Numba kernels (default: numba for fw, "
                        "where it is the faster; numpy for irnn and lstm, see docs/performance.md); alstm: numpy only")
    p.add_argument("--no-layer-norm", action="store_true", default=None, help="no layer norm in the core")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def _options(args: argparse.Namespace) -> dict:
    return {name: getattr(args, name) for name in DEFAULTS}


def build_run(options: dict) -> tuple[AssocModel, dict, TrainConfig, dict]:
    """(model, data splits, train config, run_info) from a complete options dict."""
    o = options
    if o["core"] != "fw":
        given = [name for name in FW_ONLY if o[name] is not None]
        if given:
            raise ValueError(f"--{given[0].replace('_', '-')} applies to the fw core only, not to {o['core']}")
    if o["backend"] == "numba" and o["core"] not in NUMBA_CORES:
        raise ValueError(
            f"--backend numba is available for the {', '.join(NUMBA_CORES)} cores only, not for {o['core']} "
            "(it runs on the NumPy reference): leave --backend out or pass --backend numpy"
        )
    core_options = {k: o[k] for k in (*FW_ONLY, "backend") if o[k] is not None}
    if o["no_layer_norm"]:
        core_options["layer_norm"] = False
    model_cfg = AssocModelConfig(core=o["core"], hidden_size=o["hidden"], dtype=o["dtype"], core_options=core_options)
    model = AssocModel(model_cfg)
    sizes = {"train": o["train_size"], "val": o["val_size"], "test": o["test_size"]}
    data = make_assoc_splits(seed=o["data_seed"], num_pairs=o["num_pairs"], sizes=sizes)
    train_cfg = TrainConfig(
        steps=o["steps"], batch_size=o["batch_size"], lr=o["lr"], lr_schedule=o["lr_schedule"], clip_norm=o["clip"],
        eval_every=o["eval_every"], checkpoint_every=o["checkpoint_every"], seed=o["seed"],
    )
    info = {"task": "assoc", "options": options, "model": model_cfg.to_dict(),
            "data": {"num_pairs": o["num_pairs"], "seed": o["data_seed"], "sizes": sizes}}
    return model, data, train_cfg, info


def resolve_options(args: argparse.Namespace) -> dict:
    """The run's options: run.json's on --resume (where only --steps may change), else the
    command line's with defaults filled in."""
    given = {k: v for k, v in _options(args).items() if v is not None}
    if not args.resume:
        options = dict(DEFAULTS, **given)
        if options["core"] == "fw":
            options["form"] = options["form"] or "attention"  # cheaper than the matrix form while T < R
        if options["core"] in NUMBA_DEFAULT_CORES:
            options["backend"] = options["backend"] or "numba"  # the compiled kernels, tested equal to the reference
        return options
    info_path = args.out / "run.json"
    if not info_path.exists():
        raise ValueError(f"cannot resume: {info_path} does not exist")
    options = json.loads(info_path.read_text())["options"]
    changed = sorted(k for k, v in given.items() if k != "steps" and v != options.get(k))
    if changed:
        raise ValueError(f"cannot change {', '.join('--' + k.replace('_', '-') for k in changed)} of an existing run")
    if "steps" in given and given["steps"] != options["steps"]:
        options["steps"] = given["steps"]
        _rewrite_steps(args.out, given["steps"])
    return options


def _rewrite_steps(run_dir: Path, steps: int) -> None:
    """A resume that extends --steps records the new budget in run.json."""
    info = json.loads((run_dir / "run.json").read_text())
    info["options"]["steps"] = steps
    info["train"]["steps"] = steps
    atomic_write_json(run_dir / "run.json", info)


def run(args: argparse.Namespace) -> int:
    options = resolve_options(args)
    model, data, train_cfg, info = build_run(options)
    print(
        f"associative retrieval K={options['num_pairs']}: {options['core']} R={options['hidden']}, "
        f"{model.param_count():,} parameters; {train_cfg.steps:,} steps of batch {train_cfg.batch_size}; "
        f"run directory {args.out}",
        file=sys.stderr,
    )
    blas = contextlib.nullcontext()
    if options["backend"] == "numba":  # keep BLAS off the cores Numba's threads spin on
        from fastweights_np.backends.numba.threads import one_blas_thread

        blas = one_blas_thread()
    with blas:
        result = train(model, data, train_cfg, args.out, run_info=info, resume=args.resume,
                       progress=not args.no_progress)
    if result.status == "interrupted":
        print(f"interrupted at step {result.step}; checkpoint saved. Continue with:\n"
              f"  fastweights-np train assoc --out {args.out} --resume", file=sys.stderr)
        return 130
    print(f"test error {result.test_error:.2%} (test loss {result.test_loss:.4f}) with the parameters of step "
          f"{result.best_step} (validation error {result.best_val_error:.2%}); {result.elapsed_s:.0f} s")
    return 0
