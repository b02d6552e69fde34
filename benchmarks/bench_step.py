"""Time one training step (loss and every gradient) side by side, in one run.

    PYTHONPATH=$PWD python benchmarks/bench_step.py [--runs 3] [--quick] [--torch-compile all|t11-float32|none]

For B = 128, I = 37 one-hot, O = 10, S = 1, T ∈ {11, 50}, H ∈ {20, 50, 100}, float32 and
float64, both forms: the NumPy reference (``fastweights_np.loss_and_grad``), the Numba
backend (the same call with ``backend="numba"``) and, where installed, PyTorch eager,
torch.compile and jax.jit on the same model (benchmarks/frameworks.py). Each implementation
is timed in a process of its own, one after the other, so that no thread pool of one spins
beside another's. Prints medians in
ms (the Numba step with all of Numba's threads and with one), the Numba step's GFLOP/s
(benchmarks/common.step_flops) and its fraction of a NumPy matmul's GFLOP/s measured in the
same run, and the speed-ups; then what the issue's targets (20× the reference, 3× the
fastest framework) would ask of the Numba step, in time and in share of that peak, beside the
time of the step's products with W alone. Not a test: it asserts nothing except that every
implementation's loss agrees with the reference's.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numba  # noqa: E402
import numpy as np  # noqa: E402
from common import machine, matmul_peak, median_time, problem, step_flops, weight_products_time  # noqa: E402
from frameworks import framework_steps  # noqa: E402

import fastweights_np as fw  # noqa: E402

OURS = ("reference", "numba", "numba 1 thread")
FRAMEWORKS = ("torch eager", "torch.compile", "jax.jit")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, nargs="+", default=[11, 50])
    ap.add_argument("--hidden", type=int, nargs="+", default=[20, 50, 100])
    ap.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    ap.add_argument("--forms", nargs="+", default=["matrix", "attention"])
    ap.add_argument("--repeats", type=int, default=30, help="timed calls per implementation (fewer if slow)")
    ap.add_argument("--budget", type=float, default=3.0, help="seconds of timing per implementation and size")
    ap.add_argument(
        "--torch-compile",
        choices=("all", "t11-float32", "none"),
        default="t11-float32",
        help="where to time torch.compile (each size compiles anew, about a minute each)",
    )
    ap.add_argument("--no-frameworks", action="store_true", help="skip PyTorch and JAX")
    ap.add_argument("--quick", action="store_true", help="T=11 and H=50 only, float32, few repeats")
    ap.add_argument("--runs", type=int, default=1, help="repeat every measurement in this many rounds")
    ap.add_argument("--worker", choices=OURS + FRAMEWORKS, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        args.steps, args.hidden, args.dtypes, args.repeats, args.budget = [11], [50], ["float32"], 10, 1.0

    sizes = [(dt, form, T, H) for dt in args.dtypes for form in args.forms for T in args.steps for H in args.hidden]
    if args.worker:
        for size in sizes:
            print(json.dumps([*size, worker_time(args, args.worker, *size)]), flush=True)
        return 0

    print(f"machine: {machine()}")
    peaks = {dt: matmul_peak(dt) for dt in args.dtypes}
    print("numpy 1024x1024 matmul peak: " + ", ".join(f"{dt} {p:.1f} GFLOP/s" for dt, p in peaks.items()))
    print(f"numba threads: {numba.get_num_threads()} (column 'numba'), and 1 (column '1 thread')", flush=True)
    names = OURS + (() if args.no_frameworks else FRAMEWORKS)
    runs = [{name: run_worker(argv, name) for name in names} for _ in range(args.runs)]
    times = {name: _median_over_runs([run[name] for run in runs]) for name in names}
    print(
        f"times in ms: medians over {args.runs} run(s) of per-run medians; 'x ref' and 'x fastest': numba's speed-ups"
    )
    header = (
        f"{'dtype':<8}{'form':<10}{'T':>4}{'H':>5} {'reference':>10} {'numba':>8} {'1 thread':>8} {'x ref':>6} "
        f"{'GFLOP/s':>8} {'%peak':>6} " + " ".join(f"{n:>13}" for n in FRAMEWORKS) + f" {'x fastest':>9}"
    )
    print(header)
    print("-" * len(header))
    for size in sizes:
        dtype, form, T, H = size
        t_ref, t_nb, t_nb1 = (times[name][size] for name in OURS)
        cfg, *_ = problem(1, 1, H, dtype, form)
        gflops = step_flops(cfg, args.batch, T) / t_nb / 1e9
        theirs = {n: times[n][size] for n in FRAMEWORKS if times.get(n, {}).get(size) is not None}
        fastest = min(theirs.values(), default=math.nan)
        cells = " ".join(f"{theirs[n] * 1e3:>13.3f}" if n in theirs else f"{'-':>13}" for n in FRAMEWORKS)
        print(
            f"{dtype:<8}{form:<10}{T:>4}{H:>5} {t_ref * 1e3:>10.2f} {t_nb * 1e3:>8.3f} {t_nb1 * 1e3:>8.3f} "
            f"{t_ref / t_nb:>6.1f} {gflops:>8.1f} {100 * gflops / peaks[dtype]:>5.1f}% {cells} {fastest / t_nb:>9.1f}"
        )
    print_target_needs(sizes, times, peaks, args.batch)
    print(f"machine at the end: {machine()}")
    return 0


TARGETS = (("reference", 20.0), ("fastest framework", 3.0))


def print_target_needs(sizes: list[tuple], times: dict, peaks: dict, batch: int) -> None:
    """What the issue's speed targets ask of the Numba step at each size: the time it must take
    (20x below the reference's, 3x below the fastest framework's, as measured in this run) and
    the GFLOP/s that time means (benchmarks/common.step_flops) as a share of the matmul peak
    measured in this run. A share near or above 100 % is out of reach on this machine: the
    step's matrix products alone would have to run at or above a large matmul's rate. Beside
    them, "W products": the time of the step's products with W alone, done by NumPy over the
    whole batch (common.weight_products_time), a floor under any step built on them."""
    print(
        "what the targets need: the numba step's time (ms) for the speed-up, and that as GFLOP/s and % of peak;\n"
        "'W products': ms of the step's products with W alone, as NumPy products over the whole batch"
    )
    header = (
        f"{'dtype':<8}{'form':<10}{'T':>4}{'H':>5} "
        + " ".join(f"{f'{factor:g}x {name}':>22} {'GFLOP/s':>8} {'%peak':>6}" for name, factor in TARGETS)
        + f" {'W products':>10}"
    )
    print(header)
    print("-" * len(header))
    for size in sizes:
        dtype, form, T, H = size
        cfg, *_ = problem(1, 1, H, dtype, form)
        flops = step_flops(cfg, batch, T)
        theirs = [times[n][size] for n in FRAMEWORKS if times.get(n, {}).get(size) is not None]
        base = {"reference": times["reference"][size], "fastest framework": min(theirs, default=math.nan)}
        cells = []
        for name, factor in TARGETS:
            needed = base[name] / factor
            gflops = flops / needed / 1e9
            cells.append(f"{needed * 1e3:>22.3f} {gflops:>8.1f} {100 * gflops / peaks[dtype]:>5.1f}%")
        floor = weight_products_time(batch, T, H, dtype)
        print(f"{dtype:<8}{form:<10}{T:>4}{H:>5} " + " ".join(cells) + f" {floor * 1e3:>10.3f}")


def worker_time(args, name: str, dtype: str, form: str, T: int, H: int) -> float | None:
    """Median seconds of implementation ``name``'s step, or None (not installed or not timed here)."""
    if name == "torch.compile" and not (
        args.torch_compile == "all" or (args.torch_compile == "t11-float32" and (T, dtype) == (11, "float32"))
    ):
        return None
    cfg, params, idx, x, y = problem(args.batch, T, H, dtype, form)
    ref_loss, _ = fw.loss_and_grad(params, x, y, cfg)
    if name in OURS:
        if name == "numba 1 thread":
            numba.set_num_threads(1)
        backend = "numpy" if name == "reference" else "numba"

        def step():
            return fw.loss_and_grad(params, x, y, cfg, backend=backend)[0]
    else:
        step = framework_steps(params, idx, y, cfg, with_compile=name == "torch.compile").get(name)
        if step is None:
            return None
    _same_loss(name, step(), ref_loss, dtype)
    return median_time(step, args.repeats, args.budget)


def run_worker(argv: list[str] | None, name: str) -> dict:
    """Time implementation ``name`` in a process of its own, so that no thread pool of another
    implementation (NumPy's BLAS, Numba's, PyTorch's, XLA's) spins beside it."""
    cmd = [sys.executable, __file__, *(sys.argv[1:] if argv is None else argv), "--worker", name]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("[")]
    return {tuple(r[:4]): r[4] for r in rows}


def _median_over_runs(runs: list[dict]) -> dict:
    values = {size: [run[size] for run in runs if run.get(size) is not None] for size in runs[0]}
    return {size: (float(np.median(v)) if v else None) for size, v in values.items()}


def _same_loss(name: str, loss: float, reference: float, dtype: str) -> None:
    tol = 1e-4 if dtype == "float32" else 1e-10
    if abs(loss - reference) > tol * max(1.0, abs(reference)):
        raise SystemExit(f"{name}'s loss {loss} differs from the reference's {reference}")


if __name__ == "__main__":
    sys.exit(main())
