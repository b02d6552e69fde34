"""The ``fastweights-np`` command line. Each subcommand lives in its own module here and
registers itself through ``add_parser(subparsers)``; its handler returns the exit status."""

from __future__ import annotations

import argparse
import sys

from fastweights_np import __version__
from fastweights_np.cli import evaluate, gradcheck, info, oracle, param_count, plot, reproduce, train

SUBCOMMANDS = (train, evaluate, plot, reproduce, gradcheck, oracle, info, param_count)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastweights-np",
        description="Reference fast-weights RNN (Ba et al. 2016) in NumPy, with hand-written BPTT.",
    )
    parser.add_argument("--version", action="version", version=f"fastweights_np {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: sys.argv[1:]), run the subcommand, return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.handler(args))
    except (ValueError, TypeError) as exc:  # bad input: say what, no traceback
        print(f"fastweights-np {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except FloatingPointError as exc:  # a computation overflowed (fastweights_np.finite.NonFiniteError)
        print(f"fastweights-np {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"fastweights-np {args.command}: interrupted", file=sys.stderr)
        return 130
