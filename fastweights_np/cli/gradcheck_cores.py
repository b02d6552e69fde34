"""``fastweights-np gradcheck --model irnn|lstm|alstm``: check a baseline core's gradients.

The core runs under the canonical readout (``core_readout.py``) from a random initial state, with
and without layer norm; every parameter, V, c and each part of the initial state gets a row.
"""

from __future__ import annotations

import argparse

import numpy as np

from fastweights_np.cli.args import positive_int
from fastweights_np.core_gradcheck import check_core
from fastweights_np.cores.registry import CORE_NAMES, get_core
from fastweights_np.models import core_readout


def add_core_arguments(p: argparse.ArgumentParser) -> None:
    """--model, and the A-LSTM's --copies and --heads."""
    p.add_argument(
        "--model",
        choices=CORE_NAMES,
        default="fw",
        help=(
            "the recurrent core (default fw, the canonical fast-weights model). irnn, lstm and alstm are "
            "checked without and with layer norm (only without with --no-layer-norm), from a random "
            "initial state; a fast-weights option given with them is an error (exit status 2)"
        ),
    )
    p.add_argument("--copies", type=positive_int, default=4, help="alstm: memory copies (default 4)")
    p.add_argument("--heads", type=positive_int, default=3, help="alstm: read/write heads (default 3)")


def run_core_gradcheck(args: argparse.Namespace) -> int:
    """Print one table per layer-norm setting; 0 if every tensor passes, else 1."""
    core = get_core(args.model)
    rng = np.random.default_rng(args.seed)
    all_passed = True
    for layer_norm in (False,) if args.no_layer_norm else (False, True):
        options = {"layer_norm": layer_norm}
        if core.name == "alstm":
            options.update(n_copies=args.copies, n_heads=args.heads)
        cfg = core.make_config(args.input, args.hidden, args.output, **options)
        params = core_readout.init_model_params(core, cfg, args.output, args.seed)
        params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}
        zero = core.zero_state(cfg, args.batch, cfg.np_dtype)
        state0 = core.state_class(*(0.5 * rng.standard_normal(part.shape) for part in zero))
        x = rng.standard_normal((args.batch, args.steps, args.input))
        y = rng.integers(0, args.output, args.batch)
        report = check_core(core, params, x, y, cfg, state0, mode=args.mode, tol=args.tol, seed=args.seed)
        shown = ", ".join(f"{k}={v}" for k, v in options.items())
        print(f"{core.description}: B={args.batch} T={args.steps} I={args.input} H={args.hidden} "
              f"O={args.output} {shown}, random initial state")
        print(report)
        print()
        all_passed &= report.passed
    return 0 if all_passed else 1
