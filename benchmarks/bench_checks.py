"""What the input and non-finite checks cost on the paths users run, measured side by side.

    PYTHONPATH=$PWD python benchmarks/bench_checks.py [--rounds 15] [--threads 1]

Rows, each timed with and without the checks in alternating rounds (so that the machine's load
drifts over both alike; which of the two goes first alternates too: the first call after another
row's pays for waking Numba's threads), the median over the rounds:

- the associative-retrieval task's training step as ``fastweights-np train assoc`` runs it
  (``task.build`` from the options ``train`` resolves, R = 50, B = 128, float32: the loss and
  every gradient, then Adam), with the task model's core the checked record of
  ``backends.get_core`` or the unchecked one (the reference record, or the Numba backend's
  ``core(reference)``);
- the canonical model's ``fastweights_np.loss_and_grad`` (B = 128, T = 11, H = 100, float32)
  against the functions it checks (``reference_loss_and_grad``; the Numba backend's
  ``model_loss_and_grad``).

Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
if "--threads" in sys.argv:  # before NumPy starts its thread pool
    os.environ["OPENBLAS_NUM_THREADS"] = sys.argv[sys.argv.index("--threads") + 1]

import numpy as np  # noqa: E402
from common import machine  # noqa: E402

import fastweights_np as fw  # noqa: E402
from fastweights_np.backends import numba as numba_backend  # noqa: E402
from fastweights_np.cli.train import options_of_command  # noqa: E402
from fastweights_np.cores.registry import get_core as reference_core  # noqa: E402
from fastweights_np.models.canonical import reference_loss_and_grad  # noqa: E402
from fastweights_np.optim.adam import AdamConfig, adam_init, adam_step  # noqa: E402
from fastweights_np.tasks.assoc.task import TASK  # noqa: E402


def assoc_steps(backend: str):
    """(checked step, unchecked step): one update of ``train assoc`` each."""
    options = options_of_command("assoc", ["--core", "fw", "--backend", backend, "--train-size", "2000",
                                           "--val-size", "200", "--test-size", "200", "--out", "unused"])
    run = TASK.build(options)
    model = run.model
    reference = reference_core("fw")
    raw = reference if backend == "numpy" else numba_backend.core(reference)
    checked_encoder = model.net.encoder
    raw_encoder = replace_core(checked_encoder, raw)
    params = model.init_params(0)
    adam, hp = adam_init(params), AdamConfig(lr=options["lr"])
    x, y = run.batches(0, 0)

    def step(encoder):
        def once():
            model.net.encoder = encoder
            _, grads = model.loss_and_grad(params, x, y)
            adam_step(params, grads, adam, hp)
        return once

    return step(checked_encoder), step(raw_encoder)


def replace_core(encoder, core):
    """A copy of a CoreEncoder computing with ``core``."""
    copy = type(encoder).__new__(type(encoder))
    copy.__dict__.update(encoder.__dict__, core=core)
    return copy


def canonical_calls(backend: str):
    """(fw.loss_and_grad, the unchecked function it wraps) on B = 128, T = 11, H = 100."""
    cfg = fw.FastWeightsConfig(input_size=37, hidden_size=100, output_size=37, dtype="float32")
    params = fw.init_params(cfg, 0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 11, 37)).astype(np.float32)
    y = rng.integers(0, 37, 128)
    raw = reference_loss_and_grad if backend == "numpy" else numba_backend.model_loss_and_grad
    return (lambda: fw.loss_and_grad(params, x, y, cfg, backend=backend)), (lambda: raw(params, x, y, cfg))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--threads", default="1")
    args = p.parse_args(argv)
    rows = {}
    for backend in ("numpy", "numba"):
        rows[f"train assoc step, fw R=50, {backend}"] = assoc_steps(backend)
        rows[f"loss_and_grad, H=100, {backend}"] = canonical_calls(backend)
    for checked, raw in rows.values():  # compile, warm up
        checked(), raw()
    times = {name: ([], []) for name in rows}
    for k in range(args.rounds):
        for name, pair in rows.items():
            order = (0, 1) if k % 2 == 0 else (1, 0)  # who goes first (after another row's call) alternates
            for i in order:
                began = time.perf_counter()
                pair[i]()
                times[name][i].append(time.perf_counter() - began)
    print(f"# {machine()}; BLAS threads {args.threads}; float32; median of {args.rounds} rounds\n")
    print("| path | checked ms | unchecked ms | checked / unchecked |")
    print("|---|---:|---:|---:|")
    for name, (checked, raw) in times.items():
        c, r = float(np.median(checked)), float(np.median(raw))
        print(f"| {name} | {1e3 * c:.2f} | {1e3 * r:.2f} | {c / r:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
