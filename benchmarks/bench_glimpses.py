"""Time one training step of the MNIST glimpse models beside the associative-retrieval model's,
at the same width, side by side in one run, as ``fastweights-np train`` runs them.

    PYTHONPATH=$PWD python benchmarks/bench_glimpses.py [--hidden 200] [--rounds 15] [--threads 1]

Each model is built by its task from the options ``train`` would resolve (``task.build``), and a
step is what the supervised trainer does per update: draw mini-batch k (``run.batches``), the
loss and every gradient (``model.loss_and_grad``) and the Adam update. B = 128, float32. The
MNIST models read the synthetic digit set (the same shapes as MNIST, so the same cost). Steps are
timed in rounds, one step of every model per round in turn, so that the machine's load drifts
over all of them alike; each cell is the median over the rounds. ``--threads`` sets NumPy's BLAS
threads (``reproduce`` runs every job on one). Not a test: it asserts nothing.
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

from fastweights_np.optim.adam import AdamConfig, adam_init, adam_step  # noqa: E402
from fastweights_np.tasks.options import default_options  # noqa: E402
from fastweights_np.tasks.registry import get_task  # noqa: E402
from fastweights_np.train.registry import get_trainer  # noqa: E402

# (label, task, options beyond the task's defaults)
MODELS = (
    ("assoc fw (numba, train's default)", "assoc", {"core": "fw"}),
    ("assoc fw (numpy)", "assoc", {"core": "fw", "backend": "numpy"}),
    ("mnist fw (numpy)", "mnist", {"core": "fw"}),
    ("mnist fw literal (numpy)", "mnist", {"core": "fw", "integration": "literal"}),
    ("mnist fw matrix form (numpy)", "mnist", {"core": "fw", "form": "matrix"}),
    ("mnist irnn (numpy)", "mnist", {"core": "irnn"}),
    ("mnist irnn (numba)", "mnist", {"core": "irnn", "backend": "numba"}),
    ("mnist lstm (numpy)", "mnist", {"core": "lstm"}),
    ("mnist lstm (numba)", "mnist", {"core": "lstm", "backend": "numba"}),
    ("mnist convnet (numpy)", "mnist", {"core": "convnet"}),
)


def training_step(task_name: str, options: dict, hidden: int):
    """A function doing one update of the run ``train TASK`` would build from ``options``."""
    task = get_task(task_name)
    trainer = get_trainer(task.trainer)
    declared = (*task.options, *task.model_options, *trainer.options)
    extra = {"synthetic": True} if task_name == "mnist" else {"train_size": 2000, "val_size": 200, "test_size": 200}
    o = task.resolve(dict(default_options(declared), **task.trainer_defaults, **extra, **options, hidden=hidden))
    run = task.build(o)
    params = run.model.init_params(0)
    state = {"params": params, "adam": adam_init(params), "step": 0}
    hp = AdamConfig(lr=o["lr"])

    def step() -> float:
        x, y = run.batches(0, state["step"])
        loss, grads = run.model.loss_and_grad(state["params"], x, y)
        state["params"], state["adam"] = adam_step(state["params"], grads, state["adam"], hp)
        state["step"] += 1
        return loss

    return step


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hidden", type=int, nargs="+", default=[200])
    ap.add_argument("--rounds", type=int, default=15, help="timed steps of every model")
    ap.add_argument("--threads", type=int, default=1, help="NumPy's BLAS threads (default 1)")
    args = ap.parse_args(argv)
    print(f"# {machine()}; BLAS threads {args.threads}; B = 128, float32; median of {args.rounds} rounds\n")
    for hidden in args.hidden:
        steps = {label: training_step(task, options, hidden) for label, task, options in MODELS}
        for fn in steps.values():  # compile and warm up
            fn(), fn()
        times: dict[str, list[float]] = {label: [] for label in steps}
        for _ in range(args.rounds):
            for label, fn in steps.items():
                t0 = time.perf_counter()
                fn()
                times[label].append(time.perf_counter() - t0)
        medians = {label: float(np.median(t)) for label, t in times.items()}
        base = medians[MODELS[0][0]]
        print(f"## {hidden} hidden units\n")
        print(f"| model | ms per step | / {MODELS[0][0]} |")
        print("|---|---:|---:|")
        for label, t in medians.items():
            print(f"| {label} | {1e3 * t:.2f} | {t / base:.2f} |")
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
