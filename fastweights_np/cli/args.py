"""argparse value types that reject bad values with a message naming what is allowed."""

from __future__ import annotations

import argparse

from fastweights_np.config import ACTIVATIONS, TIMINGS, FastWeightsConfig


def _number(kind, text: str, ok, allowed: str):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {allowed}, got {text!r}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"expected {allowed}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    return _number(int, text, lambda v: v >= 1, "a positive integer")


def nonneg_int(text: str) -> int:
    return _number(int, text, lambda v: v >= 0, "a non-negative integer")


def positive_float(text: str) -> float:
    return _number(float, text, lambda v: v > 0, "a positive number")


def nonneg_float(text: str) -> float:
    return _number(float, text, lambda v: v >= 0, "a non-negative number")


def unit_interval(text: str) -> float:
    return _number(float, text, lambda v: 0 <= v <= 1, "a number in [0, 1]")


def add_model_arguments(p: argparse.ArgumentParser, *, inner_steps: int = 2) -> None:
    """The options of the model's config shared by subcommands (everything but form, dtype and backend)."""
    p.add_argument("--hidden", type=positive_int, default=8, help="H, hidden units (default 8)")
    p.add_argument("--input", type=positive_int, default=4, help="I, input size (default 4)")
    p.add_argument("--output", type=positive_int, default=3, help="O, classes (default 3)")
    p.add_argument("--inner-steps", type=nonneg_int, default=inner_steps,
                   help=f"S, inner-loop iterations (default {inner_steps})")
    p.add_argument("--no-layer-norm", action="store_true", help="drop LN from the inner loop (Eq. 2)")
    p.add_argument("--ln-preliminary", action="store_true", help="apply LN to the preliminary vector too")
    p.add_argument("--decay", type=unit_interval, default=0.95, help="λ (default 0.95)")
    p.add_argument("--fast-lr", type=nonneg_float, default=0.5, help="η (default 0.5)")
    p.add_argument("--timing", choices=TIMINGS, default="paper",
                   help="fast_weight_timing variant (docs/variants.md; default paper)")
    p.add_argument("--activation", choices=ACTIVATIONS, default="relu", help="the nonlinearity f (default relu)")


def config_from_args(args: argparse.Namespace, **fields) -> FastWeightsConfig:
    """The FastWeightsConfig named by :func:`add_model_arguments`' options, plus ``fields``."""
    return FastWeightsConfig(
        input_size=args.input,
        hidden_size=args.hidden,
        output_size=args.output,
        decay=args.decay,
        fast_lr=args.fast_lr,
        inner_steps=args.inner_steps,
        layer_norm=not args.no_layer_norm,
        ln_preliminary=args.ln_preliminary,
        fast_weight_timing=args.timing,
        activation=args.activation,
        **fields,
    )
