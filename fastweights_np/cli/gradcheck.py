"""``fastweights-np gradcheck``: check the model's gradients against finite differences."""

from __future__ import annotations

import argparse

import numpy as np

from fastweights_np.cli.args import add_model_arguments, config_from_args, positive_float, positive_int
from fastweights_np.cli.gradcheck_cores import add_core_arguments, run_core_gradcheck
from fastweights_np.gradcheck import check_model
from fastweights_np.models.canonical import init_params
from fastweights_np.tasks.options import FW_ONLY

# The options that configure the fast-weights core only: train's (FW_ONLY) and the variants'
# switches gradcheck has besides. A baseline (--model irnn|lstm|alstm) refuses them when given.
FW_OPTIONS = (*FW_ONLY, "ln_preliminary", "timing", "activation")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "gradcheck",
        help="check every gradient of the model against central finite differences (float64)",
        description=(
            "Draws a random point near the paper's initialisation and random inputs, then compares "
            "the hand-written gradients of the loss with central finite differences, per entry and "
            "along random directions, for every parameter and for decay and fast_lr. Prints one "
            "table per form and exits 1 if any tensor's relative error exceeds --tol. "
            "--model irnn, lstm or alstm checks that baseline core instead (docs/baselines.md)."
        ),
    )
    add_model_arguments(p)
    p.add_argument("--steps", type=positive_int, default=5, help="T, time steps (default 5)")
    p.add_argument("--batch", type=positive_int, default=3, help="B, sequences (default 3)")
    p.add_argument("--form", choices=("matrix", "attention", "both"), default="both", help="default both")
    p.add_argument("--mode", choices=("entry", "direction", "both"), default="both", help="default both")
    p.add_argument("--tol", type=positive_float, default=1e-6, help="largest relative error that passes")
    p.add_argument("--seed", type=int, default=0, help="seed of parameters, inputs and directions")
    add_core_arguments(p)
    # None marks "not given", so that a baseline can refuse a fast-weights option given at its
    # default value too; fw_options_of puts the defaults back for the fw model.
    fw_defaults = {name: p.get_default(name) for name in FW_OPTIONS}
    p.set_defaults(handler=run, fw_defaults=fw_defaults, **dict.fromkeys(FW_OPTIONS))


def fw_options_of(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with the fast-weights options' defaults filled in for the fw model; for a
    baseline, ValueError (exit status 2) naming the first fast-weights option given, as
    ``fastweights-np train`` refuses them (``tasks.options.core_options``)."""
    given = [name for name in FW_OPTIONS if getattr(args, name) is not None]
    if args.model != "fw" and given:
        flag = "--" + given[0].replace("_", "-")
        raise ValueError(f"{flag} applies to the fw core only, not to {args.model}")
    return argparse.Namespace(**{**vars(args), **{name: args.fw_defaults[name] for name in FW_OPTIONS
                                                  if getattr(args, name) is None}})


def run(args: argparse.Namespace) -> int:
    args = fw_options_of(args)
    if args.model != "fw":
        return run_core_gradcheck(args)
    forms = ("matrix", "attention") if args.form == "both" else (args.form,)
    rng = np.random.default_rng(args.seed)
    all_passed = True
    for form in forms:
        cfg = config_from_args(args, form=form)
        params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in init_params(cfg, args.seed).items()}
        x = rng.standard_normal((args.batch, args.steps, args.input))
        y = rng.integers(0, args.output, args.batch)
        report = check_model(params, x, y, cfg, mode=args.mode, tol=args.tol, seed=args.seed)
        print(f"fast weights, form={form}: B={args.batch} T={args.steps} I={args.input} H={args.hidden} "
              f"O={args.output} S={args.inner_steps} layer_norm={cfg.layer_norm} "
              f"ln_preliminary={cfg.ln_preliminary} decay={cfg.decay} fast_lr={cfg.fast_lr} "
              f"timing={cfg.fast_weight_timing} activation={cfg.activation}")
        print(report)
        print()
        all_passed &= report.passed
    return 0 if all_passed else 1
