"""``fastweights-np param-count``: each core's number of slow parameters at given sizes."""

from __future__ import annotations

import argparse

from fastweights_np.cli.args import positive_int
from fastweights_np.cores.registry import format_param_count_table


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "param-count",
        help="print each recurrent core's number of slow parameters at the given sizes",
        description=(
            "Prints a Markdown table: one row per core variant (fast weights, IRNN, LSTM and A-LSTM, "
            "with and without layer norm), one column per hidden size H, each cell the number of "
            "trained parameters of the recurrent core that can change its output (the readout and "
            "the fast weights' λ, η are not counted)."
        ),
    )
    p.add_argument("--input", type=positive_int, default=100, help="I, input size (default 100, the paper's embedding)")
    p.add_argument(
        "--hidden", type=positive_int, nargs="+", default=[20, 50, 100], help="hidden sizes H (default 20 50 100)"
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    print(f"Slow parameters of each recurrent core, input size I={args.input} (readout not included).\n")
    print(format_param_count_table(args.input, args.hidden))
    return 0
