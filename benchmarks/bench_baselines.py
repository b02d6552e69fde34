"""Time one training step of the IRNN and the LSTM baselines on the NumPy reference and on the
Numba backend, side by side, in one run.

    PYTHONPATH=$PWD python benchmarks/bench_baselines.py [--hidden 20 50 100] [--dtype float32] [--cpu-time]

Two models, B = 128, T = 11, float32 by default, H ∈ {20, 50, 100}, with and without layer norm:

- "core": the core with the linear readout V h_T + c and softmax cross-entropy
  (``core_readout.loss_and_grad``), I = 37 one-hot symbols, O = 10 (the problem of
  benchmarks/bench_step.py);
- "assoc": the associative-retrieval model the Table 1 runs train (``tasks/assoc/model.py``:
  a 100-d embedding, the core, 100 ReLU units, softmax over 10 digits).

Every reference step is timed before Numba is first called (so that no Numba thread spins
beside NumPy's BLAS), then every Numba step, with NumPy's BLAS on one thread (as
``fastweights-np train`` runs the Numba backend); each cell is the median of up to ``--repeats``
calls (at least 3, at most ``--budget`` seconds). With ``--cpu-time`` everything runs on one
thread (NumPy's BLAS and Numba's) and the process's CPU time is measured instead of wall time:
the work each implementation does, much less disturbed by other jobs on a shared machine.
Not a test: it asserts nothing except that the two backends' losses agree.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
if "--cpu-time" in sys.argv:  # before NumPy and Numba start their thread pools
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["NUMBA_NUM_THREADS"] = "1"

import numpy as np  # noqa: E402
from common import machine, median_time  # noqa: E402

from fastweights_np.backends import get_core  # noqa: E402
from fastweights_np.backends.numba.threads import one_blas_thread  # noqa: E402
from fastweights_np.models import core_readout  # noqa: E402
from fastweights_np.tasks.assoc.model import AssocModel, AssocModelConfig  # noqa: E402

CORES = ("irnn", "lstm")
MODELS = ("core", "assoc")
BACKENDS = ("numpy", "numba")


def step_function(model: str, name: str, backend: str, batch: int, steps: int, hidden: int, dtype: str,
                  layer_norm: bool, seed: int = 0) -> Callable[[], float]:
    """A function running one training step (loss and every gradient) and returning the loss."""
    rng = np.random.default_rng(seed)
    options = {"dtype": dtype, "layer_norm": layer_norm}
    if model == "assoc":
        cfg = AssocModelConfig(core=name, hidden_size=hidden, dtype=dtype, core_options=options)
        net = AssocModel(cfg, backend=backend)
        params = net.init_params(seed)
        ids = rng.integers(0, cfg.vocab_size, (batch, steps))
        y = rng.integers(0, cfg.num_classes, batch)
        return lambda: net.loss_and_grad(params, ids, y)[0]
    core = get_core(name, backend=backend)
    cfg = core.make_config(37, hidden, 10, **options)
    params = core_readout.init_model_params(core, cfg, 10, seed)
    params = {k: (v + 0.1 * rng.standard_normal(v.shape)).astype(dtype) for k, v in params.items()}
    x = np.eye(37, dtype=dtype)[rng.integers(0, 37, (batch, steps))]
    y = rng.integers(0, 10, batch)
    return lambda: core_readout.loss_and_grad(core, params, x, y, cfg)[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=11)
    ap.add_argument("--hidden", type=int, nargs="+", default=[20, 50, 100])
    ap.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    ap.add_argument("--repeats", type=int, default=30, help="timed calls per cell (fewer if slow)")
    ap.add_argument("--budget", type=float, default=2.0, help="seconds of timing per cell")
    ap.add_argument("--cpu-time", action="store_true", help="one thread everywhere; measure process CPU time")
    args = ap.parse_args(argv)
    clock = time.process_time if args.cpu_time else time.perf_counter

    rows = [(m, c, ln, H) for m in MODELS for c in CORES for ln in (False, True) for H in args.hidden]
    print(f"machine: {machine()}", flush=True)
    times: dict = {}
    losses: dict = {}
    for backend in BACKENDS:  # every reference step first: no Numba thread exists yet
        # as `fastweights-np train` runs them: the reference with every BLAS thread, the Numba
        # backend with one (beside Numba's own threads; docs/performance.md, "Contention")
        with one_blas_thread() if backend == "numba" else contextlib.nullcontext():
            for row in rows:
                step = step_function(*row[:2], backend, args.batch, args.steps, row[3], args.dtype, row[2])
                losses[backend, row] = step()
                times[backend, row] = median_time(step, args.repeats, args.budget, clock=clock)
    tol = 1e-4 if args.dtype == "float32" else 1e-10
    for row in rows:
        ref, nb = losses["numpy", row], losses["numba", row]
        if abs(nb - ref) > tol * max(1.0, abs(ref)):
            raise SystemExit(f"{row}: numba's loss {nb} differs from the reference's {ref}")
    kind = "CPU time on one thread" if args.cpu_time else "wall time"
    print(f"one training step, B={args.batch} T={args.steps} {args.dtype}; ms of {kind}, median of up to "
          f"{args.repeats} calls")
    header = f"{'model':<7}{'core':<6}{'LN':<6}{'H':>5} {'reference':>10} {'numba':>8} {'x ref':>7}"
    print(header)
    print("-" * len(header))
    for row in rows:
        model, name, ln, H = row
        t_ref, t_nb = times["numpy", row], times["numba", row]
        print(f"{model:<7}{name:<6}{str(ln):<6}{H:>5} {t_ref * 1e3:>10.2f} {t_nb * 1e3:>8.3f} {t_ref / t_nb:>7.1f}")
    print(f"machine at the end: {machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
