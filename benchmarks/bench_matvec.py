"""The recurrent product z = W h_{t-1} + d_t for one chunk of the batch at one time step,
three ways, side by side in one run, on one thread:

- "per example": ``activation.recurrent_drive``, a matrix-vector product per example, four
  rows of W at a time (what the kernels did until c5582d4; the matrix form's forward still does);
- "batch inner": the chunk's states transposed to (H, n) so that the innermost loop runs over
  the n examples (the layout that would let one vector instruction serve n examples);
- "BLAS": ``np.dot`` of the chunk's (n, H) states and Wᵀ inside a compiled function (Numba
  calls the BLAS of SciPy), what the attention form's kernels do since e4ceb28.

    PYTHONPATH=$PWD python benchmarks/bench_matvec.py [--chunk 16] [--dtype float32]

n = 16 is a chunk of the batch at B = 128 on 2 threads (``kernels.n_chunks``: 4 chunks per
thread). Each cell is the best of 5 rounds of 20,000 calls, in µs per call. Not a test: it
asserts only that the three give the same z.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy starts its thread pool
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from common import machine  # noqa: E402
from numba import njit  # noqa: E402

from fastweights_np.backends.numba.activation import FASTMATH, recurrent_drive  # noqa: E402


@njit(fastmath=FASTMATH)
def per_example(W, WT, h, d, z, hT, zT, reps):
    for _ in range(reps):
        for e in range(h.shape[0]):
            recurrent_drive(W, h[e], d[e], z[e])


@njit(fastmath=FASTMATH)
def batch_inner(W, WT, h, d, z, hT, zT, reps):
    n, H = h.shape
    for _ in range(reps):
        for e in range(n):
            for j in range(H):
                hT[j, e] = h[e, j]
                zT[j, e] = d[e, j]
        for i in range(H):
            zi = zT[i]
            for j in range(H):
                w = W[i, j]
                hj = hT[j]
                for e in range(n):
                    zi[e] += w * hj[e]
        for e in range(n):
            for i in range(H):
                z[e, i] = zT[i, e]


@njit(fastmath=FASTMATH)
def blas(W, WT, h, d, z, hT, zT, reps):
    for _ in range(reps):
        z[:, :] = np.dot(h, WT)
        z += d


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunk", type=int, default=16, help="examples per chunk (default 16)")
    ap.add_argument("--hidden", type=int, nargs="+", default=[20, 50, 100])
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--reps", type=int, default=20_000)
    args = ap.parse_args()
    print(f"machine: {machine()}")
    print(f"z = W h + d for a chunk of {args.chunk} examples, {args.dtype}, one thread; µs per call (best of 5)")
    print(f"{'H':>4} {'per example':>12} {'batch inner':>12} {'BLAS':>8}")
    ways = (per_example, batch_inner, blas)
    for H in args.hidden:
        rng = np.random.default_rng(0)
        W = rng.standard_normal((H, H)).astype(args.dtype)
        h, d = (rng.standard_normal((args.chunk, H)).astype(args.dtype) for _ in range(2))
        buffers = (np.ascontiguousarray(W.T), h, d)
        results, times = [], []
        for way in ways:
            z = np.empty((args.chunk, H), args.dtype)
            scratch = (np.empty((H, args.chunk), args.dtype), np.empty((H, args.chunk), args.dtype))
            way(W, *buffers, z, *scratch, 1)
            results.append(z)
            best = float("inf")
            for _ in range(5):
                t0 = time.perf_counter()
                way(W, *buffers, z, *scratch, args.reps)
                best = min(best, time.perf_counter() - t0)
            times.append(best / args.reps * 1e6)
        for z in results[1:]:
            np.testing.assert_allclose(z, results[0], rtol=1e-4, atol=1e-4)
        print(f"{H:>4} {times[0]:>12.2f} {times[1]:>12.2f} {times[2]:>8.2f}")


if __name__ == "__main__":
    main()
