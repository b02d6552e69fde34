"""argparse value types that reject bad values with a message naming what is allowed, and the
arguments of declared options (fastweights_np.tasks.options)."""

from __future__ import annotations

import argparse

from fastweights_np.cores.fast_weights.config import (
    ACTIVATIONS,
    LN_AXES,
    LN_PARAMS,
    LOSS_REDUCTIONS,
    TIMINGS,
    FastWeightsConfig,
)
from fastweights_np.tasks import options as values


def argparse_type(parse):
    """An argparse ``type`` from a value parser that raises ValueError with a message
    (fastweights_np.tasks.options): argparse then prints that message."""

    def convert(text: str):
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = parse.__name__
    return convert


integer = argparse_type(values.integer)
positive_int = argparse_type(values.positive_int)
nonneg_int = argparse_type(values.nonneg_int)
positive_float = argparse_type(values.positive_float)
nonneg_float = argparse_type(values.nonneg_float)
unit_interval = argparse_type(values.unit_interval)


def add_options(p, options, defaults: dict | None = None, *, parser_defaults: bool = False) -> None:
    """One argument per declared option (fastweights_np.tasks.options.Option), its declared
    default (or ``defaults[name]``) named in the help. The parser's defaults are None unless
    ``parser_defaults``, so that a resume can tell which options its command line gave."""
    for o in options:
        default = (defaults or {}).get(o.name, o.default)
        shown = default if o.name in (defaults or {}) or o.default_text is None else o.default_text
        if isinstance(shown, list | tuple):
            shown = " ".join(map(str, shown))
        if o.switch:
            p.add_argument(o.flag, action="store_true", default=bool(default) if parser_defaults else None,
                           help=o.help)
            continue
        kwargs = {"type": None if o.parse is None else argparse_type(o.parse), "choices": o.choices,
                  "help": o.help + ("" if shown is None else f" (default {shown})")}
        if o.many:
            kwargs["nargs"] = "+"
        if parser_defaults:
            kwargs["default"] = default
        p.add_argument(o.flag, **kwargs)


def _config_default(name: str):
    """The default of FastWeightsConfig's field ``name``: the one place the model's defaults live."""
    return FastWeightsConfig.__dataclass_fields__[name].default


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """The options of the model's config shared by subcommands (everything but form, dtype and backend),
    with FastWeightsConfig's defaults."""
    p.add_argument("--hidden", type=positive_int, default=8, help="H, hidden units (default 8)")
    p.add_argument("--input", type=positive_int, default=4, help="I, input size (default 4)")
    p.add_argument("--output", type=positive_int, default=3, help="O, classes (default 3)")
    p.add_argument("--inner-steps", type=nonneg_int, default=_config_default("inner_steps"),
                   help=f"S, inner-loop iterations (default {_config_default('inner_steps')}, the config's; S >= 2 "
                        "tells the inner steps apart in h_inner)")
    p.add_argument("--no-layer-norm", action="store_true", help="drop LN from the inner loop (Eq. 2)")
    p.add_argument("--ln-preliminary", action="store_true", help="apply LN to the preliminary vector too")
    p.add_argument("--ln-eps", type=nonneg_float, default=_config_default("ln_eps"), metavar="EPS",
                   help="ε in LN's sqrt(var + ε), >= 0: match the code you compare with (0 is common, TensorFlow's "
                        f"default is 1e-12; default {_config_default('ln_eps'):g})")
    p.add_argument("--decay", type=unit_interval, default=_config_default("decay"),
                   help=f"λ (default {_config_default('decay')})")
    p.add_argument("--fast-lr", type=nonneg_float, default=_config_default("fast_lr"),
                   help=f"η (default {_config_default('fast_lr')})")
    p.add_argument("--timing", choices=TIMINGS, default="paper",
                   help="fast_weight_timing variant (docs/variants.md; default paper)")
    p.add_argument("--activation", choices=ACTIVATIONS, default="relu", help="the nonlinearity f (default relu)")
    p.add_argument("--ln-axis", choices=LN_AXES, default="example",
                   help="axis of layer norm's statistics: example (the paper's: the H units of one example) or batch "
                        "(each unit over the batch: batch normalisation, a bug of some public code; docs/variants.md; "
                        "default example)")
    p.add_argument("--ln-params", choices=LN_PARAMS, default="shared",
                   help="layer norm's g, beta: shared by the preliminary vector and the inner loop, separate (g0, "
                        "beta0 for the preliminary vector; needs --ln-preliminary) or scalar (shape (1,)) (default "
                        "shared)")
    p.add_argument("--loss-reduction", choices=LOSS_REDUCTIONS, default="mean",
                   help="reduce the per-example losses over the batch by their mean or their sum (default mean)")
    p.add_argument("--no-inner-loop", action="store_true",
                   help="h_t = f(LN(W h_{t-1} + C x_t + b + A_t h_{t-1})): no preliminary vector, one application "
                        "(needs --inner-steps 1; docs/variants.md)")


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
        ln_eps=args.ln_eps,
        fast_weight_timing=args.timing,
        activation=args.activation,
        ln_axis=getattr(args, "ln_axis", "example"),
        ln_params=getattr(args, "ln_params", "shared"),
        loss_reduction=getattr(args, "loss_reduction", "mean"),
        no_inner_loop=getattr(args, "no_inner_loop", False),
        **fields,
    )
