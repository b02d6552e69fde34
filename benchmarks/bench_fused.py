"""One parallel loop per training step against three: the Numba ``loss_and_grad`` side by side
with the same step made of the backend's separate kernels.

    PYTHONPATH=$PWD python benchmarks/bench_fused.py [--hidden 20 50 100] [--calls 300]

"fused" is ``fastweights_np.loss_and_grad`` on ``backend="numba"`` (``kernels.*_loss_and_grad_kernel``:
each chunk of the batch runs its forward, readout and backward in one parallel loop). "separate"
makes the same step from the pieces ``sequence_forward`` / ``sequence_backward`` use: the forward
kernel, the readout for the whole batch, then the backward kernel, with the Python between them
(the way ``loss_and_grad`` ran until this script was written), after the same input checks. Both
run call after call in one process (interleaved), at B = 128, T = 11, I = 37 one-hot, O = 10,
S = 1, float32, both forms; the script checks that they agree, then prints median µs and the
ratio. Not a test: it asserts nothing beyond that agreement.
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
from fastweights_np.backends.numba import sequence  # noqa: E402
from fastweights_np.backends.numba.arrays import contiguous  # noqa: E402
from fastweights_np.backends.numba.readout import check_labels_in_range, readout_rows  # noqa: E402
from fastweights_np.backends.numba.threads import kernel_threads, one_blas_thread  # noqa: E402
from fastweights_np.backends.numba.workspace import thread_workspace  # noqa: E402
from fastweights_np.models.canonical import check_inputs  # noqa: E402
from fastweights_np.validation import check_labels  # noqa: E402


def separate_step(params: dict, x: np.ndarray, y: np.ndarray, cfg: fw.FastWeightsConfig) -> tuple[float, dict]:
    """The step from the separate kernels: core forward, readout of the whole batch, core backward."""
    x = check_inputs(params, x, cfg)
    y = check_labels("y", y, x.shape[0], cfg.output_size)
    memory = thread_workspace()
    dtype = cfg.np_dtype
    with kernel_threads():
        past, _, cache = sequence.core_forward(params, x, cfg, None, None, None, final_A=False, memory=memory)
        V, c = contiguous(params["V"], dtype), contiguous(params["c"], dtype)
        h_T = np.ascontiguousarray(past[:, -1])
        dh_T, dV, dc = np.empty_like(h_T), np.empty_like(V), np.empty_like(c)
        check_labels_in_range(y, V.shape[0])
        loss = readout_rows(h_T, V, c, y, 1.0 / h_T.shape[0], dh_T, dV, dc)
        dpast = memory.zeros("dpast_separate", past.shape, dtype)
        dpast[:, -1] = dh_T
        grads, _, _ = sequence.core_backward(dpast, None, cache, need_dx=False, memory=memory)
    grads.update(V=dV, c=dc)
    return loss, grads


def compare(form: str, hidden: int, calls: int) -> tuple[float, float]:
    """Median seconds of the separate and the fused step, after checking that they agree."""
    cfg, params, _, x, y = problem(128, 11, hidden, "float32", form, decay=0.95, fast_lr=0.5)
    steps = {
        "separate": lambda: separate_step(params, x, y, cfg),
        "fused": lambda: fw.loss_and_grad(params, x, y, cfg, backend="numba"),
    }
    (loss_a, grads_a), (loss_b, grads_b) = (step() for step in steps.values())
    if abs(loss_a - loss_b) > 1e-4 * abs(loss_a) or any(
        np.max(np.abs(grads_a[k] - grads_b[k])) > 1e-4 * max(np.max(np.abs(grads_a[k])), 1e-6) for k in grads_a
    ):
        raise SystemExit(f"{form} H={hidden}: the fused and separate steps disagree")
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(calls):
        for name, step in steps.items():
            t0 = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - t0)
    return float(np.median(times["separate"])), float(np.median(times["fused"]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, nargs="+", default=[20, 50, 100])
    ap.add_argument("--calls", type=int, default=300, help="timed calls of each, per size")
    args = ap.parse_args(argv)
    print(f"machine: {machine()}")
    print(f"numba loss_and_grad, B=128 T=11 S=1 float32; median µs over {args.calls} interleaved calls")
    print(f"{'form':<10}{'H':>4} {'separate':>9} {'fused':>9} {'fused / separate':>17}")
    with one_blas_thread():
        for form in ("matrix", "attention"):
            for hidden in args.hidden:
                a, b = compare(form, hidden, args.calls)
                print(f"{form:<10}{hidden:>4} {1e6 * a:>9.0f} {1e6 * b:>9.0f} {b / a:>17.2f}", flush=True)
    print(f"machine at the end: {machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
