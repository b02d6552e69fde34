"""Where the time of one Numba training step goes: the parts of ``loss_and_grad`` side by side.

    PYTHONPATH=$PWD python benchmarks/bench_call_parts.py [--hidden 20 50 100] [--threads 2 1]

One call of ``fastweights_np.loss_and_grad`` on ``backend="numba"`` at the paper's sizes
(B = 128, T = 11, I = 37 one-hot, O = 10, S = 1, float32, both forms), with each compiled part
timed from Python: the input drive (one-hot detection and gather), the kernel (forward, readout,
loss and backward of every chunk in one parallel loop, ``kernels.*_loss_and_grad_kernel``), and the
drive's backward (dC, db). "rest" is the call minus those parts: the input checks, allocations
and the Python glue between them; "kept MB" what the call's workspace holds afterwards
(``backends/numba/workspace.py``). Every part is a median over ``--calls`` calls, in µs; with
``--threads 2 1`` the same in a run with Numba on 2 threads and one on 1 thread (NumPy's BLAS
on one thread throughout, as ``fastweights-np train`` runs the backend). At 6c8636a and before,
the forward kernel, the readout and the backward kernel were separate calls and separate parts
here: run such a commit (``git worktree add /tmp/old 6c8636a``, ``PYTHONPATH=/tmp/old``) to see
them. Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from common import machine, problem  # noqa: E402

import fastweights_np as fw  # noqa: E402
from fastweights_np.backends.numba import sequence  # noqa: E402
from fastweights_np.backends.numba.threads import one_blas_thread  # noqa: E402

try:  # an older checkout (PYTHONPATH=/tmp/old) may have no workspace yet
    from fastweights_np.backends.numba.workspace import thread_workspace
except ImportError:
    thread_workspace = None

PARTS = ("drive_forward", "kernel", "drive_backward")
# the functions of ``sequence`` each part times: the kernel is one per form (one for both before the split)
TIMED = {
    "drive_forward": ("drive_forward",),
    "kernel": ("matrix_loss_and_grad_kernel", "attention_loss_and_grad_kernel", "loss_and_grad_kernel"),
    "drive_backward": ("drive_backward",),
}


def timed(fn: Callable, log: list[float]) -> Callable:
    """``fn`` that appends the duration of each call to ``log``."""

    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        log.append(time.perf_counter() - t0)
        return out

    return wrapper


def measure(form: str, hidden: int, calls: int) -> dict[str, float]:
    """Median µs of the whole call and of each part, over ``calls`` calls after 3 warm-ups."""
    cfg, params, _, x, y = problem(128, 11, hidden, "float32", form, decay=0.95, fast_lr=0.5)
    logs: dict[str, list[float]] = {part: [] for part in PARTS}
    part_of = {name: part for part, names in TIMED.items() for name in names if hasattr(sequence, name)}
    originals = {name: getattr(sequence, name) for name in part_of}
    try:
        for name, part in part_of.items():
            setattr(sequence, name, timed(originals[name], logs[part]))
        for _ in range(3):
            fw.loss_and_grad(params, x, y, cfg, backend="numba")
        for log in logs.values():
            log.clear()
        total = []
        for _ in range(calls):
            t0 = time.perf_counter()
            fw.loss_and_grad(params, x, y, cfg, backend="numba")
            total.append(time.perf_counter() - t0)
    finally:
        for name, original in originals.items():
            setattr(sequence, name, original)
    result = {name: 1e6 * float(np.median(log)) for name, log in logs.items()}
    result["call"] = 1e6 * float(np.median(total))
    result["rest"] = result["call"] - sum(result[name] for name in PARTS)
    result["kept MB"] = thread_workspace().nbytes / 1e6 if thread_workspace is not None else float("nan")
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, nargs="+", default=[20, 50, 100])
    ap.add_argument("--threads", type=int, nargs="+", default=[2, 1], help="Numba threads, one column group each")
    ap.add_argument("--calls", type=int, default=300)
    args = ap.parse_args(argv)
    import numba

    print(f"machine: {machine()}")
    print(f"one numba loss_and_grad, B=128 T=11 S=1 float32; µs, medians of {args.calls} calls")
    columns = ("call", *PARTS, "rest", "kept MB")
    short = {"drive_forward": "drive", "drive_backward": "dC,db"}
    print(f"{'form':<10}{'H':>4}{'threads':>8} " + " ".join(f"{short.get(c, c):>9}" for c in columns))
    with one_blas_thread():
        for form in ("matrix", "attention"):
            for hidden in args.hidden:
                for threads in args.threads:
                    numba.set_num_threads(threads)
                    r = measure(form, hidden, args.calls)
                    print(f"{form:<10}{hidden:>4}{threads:>8} " + " ".join(f"{r[c]:>9.1f}" for c in columns))
    print(f"machine at the end: {machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
