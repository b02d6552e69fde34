"""How many chunks per Numba thread the batch is cut into: one training step per setting, side by side.

    PYTHONPATH=$PWD python benchmarks/bench_chunks.py [--per-thread 1 2 4] [--hidden 20 50 100] [--calls 300]

One Numba ``loss_and_grad`` at the paper's sizes (B = 128, T = 11, I = 37 one-hot, O = 10,
S = 1, float32, both forms) with ``kernels.CHUNKS_PER_THREAD`` set to each value in turn,
call after call (interleaved, so that the machine's drift falls on every setting alike).
More chunks let a thread that the OS pauses hold up less of the batch; fewer make each chunk's
products with W bigger (the attention form runs them per chunk and time step). Prints the
median µs of each setting and its ratio to the first. Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from common import machine, problem  # noqa: E402

import fastweights_np as fw  # noqa: E402
from fastweights_np.backends.numba import kernels  # noqa: E402
from fastweights_np.backends.numba.threads import one_blas_thread  # noqa: E402


def interleaved(form: str, hidden: int, settings: list[int], calls: int) -> dict[int, float]:
    """Median seconds of one step for each CHUNKS_PER_THREAD value, the values taking turns."""
    cfg, params, _, x, y = problem(128, 11, hidden, "float32", form, decay=0.95, fast_lr=0.5)
    times: dict[int, list[float]] = {s: [] for s in settings}
    default = kernels.CHUNKS_PER_THREAD
    try:
        for s in settings:
            kernels.CHUNKS_PER_THREAD = s
            for _ in range(5):
                fw.loss_and_grad(params, x, y, cfg, backend="numba")
        for _ in range(calls):
            for s in settings:
                kernels.CHUNKS_PER_THREAD = s
                t0 = time.perf_counter()
                fw.loss_and_grad(params, x, y, cfg, backend="numba")
                times[s].append(time.perf_counter() - t0)
    finally:
        kernels.CHUNKS_PER_THREAD = default
    return {s: float(np.median(t)) for s, t in times.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-thread", type=int, nargs="+", default=[1, 2, 4], help="CHUNKS_PER_THREAD values")
    ap.add_argument("--hidden", type=int, nargs="+", default=[20, 50, 100])
    ap.add_argument("--forms", nargs="+", default=["matrix", "attention"])
    ap.add_argument("--calls", type=int, default=300, help="timed calls per setting and size")
    args = ap.parse_args(argv)
    import numba

    print(f"machine: {machine()}")
    print(f"numba threads: {numba.get_num_threads()}; default CHUNKS_PER_THREAD = {kernels.CHUNKS_PER_THREAD}")
    print(f"one numba loss_and_grad, B=128 T=11 S=1 float32; median µs over {args.calls} interleaved calls")
    first = args.per_thread[0]
    print(
        f"{'form':<10}{'H':>4} "
        + " ".join(f"{f'{s} per thread':>13}" for s in args.per_thread)
        + " "
        + " ".join(f"{f'{s} / {first}':>8}" for s in args.per_thread[1:])
    )
    with one_blas_thread():
        for form in args.forms:
            for hidden in args.hidden:
                t = interleaved(form, hidden, args.per_thread, args.calls)
                print(
                    f"{form:<10}{hidden:>4} "
                    + " ".join(f"{1e6 * t[s]:>13.0f}" for s in args.per_thread)
                    + " "
                    + " ".join(f"{t[s] / t[first]:>8.2f}" for s in args.per_thread[1:]),
                    flush=True,
                )
    print(f"machine at the end: {machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
