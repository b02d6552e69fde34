"""Helpers shared by the benchmark scripts: the paper-size problem, timing, FLOP counts."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable

import numpy as np

from fastweights_np import FastWeightsConfig, init_params


def problem(batch: int, steps: int, hidden: int, dtype: str, form: str, seed: int = 0, **options):
    """(cfg, params, idx, x, y): the associative-retrieval shapes, I = 37 one-hot, O = 10.

    ``idx`` (B, T) holds the symbols, ``x`` the same as one-hot vectors (B, T, 37).
    """
    cfg = FastWeightsConfig(37, hidden, 10, form=form, dtype=dtype, **options)
    rng = np.random.default_rng(seed)
    params = init_params(cfg, seed)
    params = {k: (v + 0.1 * rng.standard_normal(v.shape)).astype(dtype) for k, v in params.items()}
    idx = rng.integers(0, cfg.input_size, (batch, steps))
    x = np.eye(cfg.input_size, dtype=dtype)[idx]
    y = rng.integers(0, cfg.output_size, batch)
    return cfg, params, idx, x, y


def median_time(
    fn: Callable[[], object], repeats: int, budget_s: float = 2.0, warmup: int = 1, clock=time.perf_counter
) -> float:
    """Median wall time (or another ``clock``'s, e.g. ``time.process_time``) of ``fn()`` in
    seconds over up to ``repeats`` calls (at least 3, and no more than fit in ``budget_s``
    after the first), after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < repeats and (len(times) < 3 or time.perf_counter() - start < budget_s):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return float(np.median(times))


def step_flops(cfg: FastWeightsConfig, batch: int, steps: int) -> float:
    """Floating-point operations of one training step, counted the same way for every implementation.

    Forward, per sequence and step t: W h_{t-1} (2H²); matrix form: the update of A (3H²)
    and S reads A u (2H² each); attention form: S reads over t past states (4tH each). The
    one-hot C x_t is a lookup (0), layer norm and ReLU are O(H) and left out, the readout is
    2OH once. A training step counts as 3× the forward (the usual convention: the backward
    costs about twice the forward).
    """
    H, S = cfg.hidden_size, cfg.inner_steps
    forward = 0.0
    for t in range(1, steps + 1):
        forward += 2 * H * H
        forward += 3 * H * H + S * 2 * H * H if cfg.form == "matrix" else S * 4 * t * H
    forward = batch * (forward + 2 * cfg.output_size * H)
    return 3 * forward


def matmul_peak(dtype: str, n: int = 1024, repeats: int = 15) -> float:
    """GFLOP/s of a NumPy n×n matrix product in ``dtype`` on this machine, now (median)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    return 2 * n**3 / median_time(lambda: a @ b, repeats, budget_s=5.0) / 1e9


def weight_products_time(batch: int, steps: int, hidden: int, dtype: str) -> float:
    """Seconds (median) of the matrix products with W that every implementation of one training
    step does, alone, as NumPy products over the whole batch: W h_{t-1} forward and Wᵀ dz_t
    backward (2T products of (B, H) by (H, H), which run one after the other, since each step
    needs the last), and dW as one (H, BT) by (BT, H) product; with NumPy's BLAS on all its
    threads and on one, the faster. A floor under a training step built on these products."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    h = rng.standard_normal((batch, hidden)).astype(dtype)
    W = rng.standard_normal((hidden, hidden)).astype(dtype)
    out = np.empty((batch, hidden), dtype)
    rows = rng.standard_normal((batch * steps, hidden)).astype(dtype)
    dW = np.empty((hidden, hidden), dtype)

    def products() -> None:
        for _ in range(2 * steps):
            np.dot(h, W, out)
        np.dot(rows.T, rows, dW)

    all_threads = median_time(products, 200, budget_s=1.0)
    with threadpool_limits(limits=1, user_api="blas"):
        one_thread = median_time(products, 200, budget_s=1.0)
    return min(all_threads, one_thread)


def machine() -> str:
    """One line: CPU model, cores, load average now."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return f"{cpu}, {os.cpu_count()} cores, load average {load}"
