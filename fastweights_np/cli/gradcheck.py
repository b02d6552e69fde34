"""``fastweights-np gradcheck``: check the model's gradients against finite differences."""

from __future__ import annotations

import argparse

import numpy as np

from fastweights_np.cli.args import nonneg_float, nonneg_int, positive_float, positive_int, unit_interval
from fastweights_np.cli.gradcheck_cores import add_core_arguments, run_core_gradcheck
from fastweights_np.config import FastWeightsConfig
from fastweights_np.gradcheck import check_model
from fastweights_np.params import init_params


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
    p.add_argument("--hidden", type=positive_int, default=8, help="H, hidden units (default 8)")
    p.add_argument("--steps", type=positive_int, default=5, help="T, time steps (default 5)")
    p.add_argument("--inner-steps", type=nonneg_int, default=2, help="S, inner-loop iterations (default 2)")
    p.add_argument("--batch", type=positive_int, default=3, help="B, sequences (default 3)")
    p.add_argument("--input", type=positive_int, default=4, help="I, input size (default 4)")
    p.add_argument("--output", type=positive_int, default=3, help="O, classes (default 3)")
    p.add_argument("--form", choices=("matrix", "attention", "both"), default="both", help="default both")
    p.add_argument("--no-layer-norm", action="store_true", help="drop LN from the inner loop (Eq. 2)")
    p.add_argument("--ln-preliminary", action="store_true", help="apply LN to the preliminary vector too")
    p.add_argument("--decay", type=unit_interval, default=0.95, help="λ (default 0.95)")
    p.add_argument("--fast-lr", type=nonneg_float, default=0.5, help="η (default 0.5)")
    p.add_argument("--mode", choices=("entry", "direction", "both"), default="both", help="default both")
    p.add_argument("--tol", type=positive_float, default=1e-6, help="largest relative error that passes")
    p.add_argument("--seed", type=int, default=0, help="seed of parameters, inputs and directions")
    add_core_arguments(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.model != "fw":
        return run_core_gradcheck(args)
    forms = ("matrix", "attention") if args.form == "both" else (args.form,)
    rng = np.random.default_rng(args.seed)
    all_passed = True
    for form in forms:
        cfg = FastWeightsConfig(
            input_size=args.input,
            hidden_size=args.hidden,
            output_size=args.output,
            decay=args.decay,
            fast_lr=args.fast_lr,
            inner_steps=args.inner_steps,
            layer_norm=not args.no_layer_norm,
            ln_preliminary=args.ln_preliminary,
            form=form,
        )
        params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in init_params(cfg, args.seed).items()}
        x = rng.standard_normal((args.batch, args.steps, args.input))
        y = rng.integers(0, args.output, args.batch)
        report = check_model(params, x, y, cfg, mode=args.mode, tol=args.tol, seed=args.seed)
        print(f"fast weights, form={form}: B={args.batch} T={args.steps} I={args.input} H={args.hidden} "
              f"O={args.output} S={args.inner_steps} layer_norm={cfg.layer_norm} "
              f"ln_preliminary={cfg.ln_preliminary} decay={cfg.decay} fast_lr={cfg.fast_lr}")
        print(report)
        print()
        all_passed &= report.passed
    return 0 if all_passed else 1
