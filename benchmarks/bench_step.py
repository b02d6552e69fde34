"""Time one training step (loss and every gradient) side by side, in one run.

    PYTHONPATH=$PWD python benchmarks/bench_step.py [--quick] [--torch-compile all|t11-float32|none]

For B = 128, I = 37 one-hot, O = 10, S = 1, T ∈ {11, 50}, H ∈ {20, 50, 100}, float32 and
float64, both forms: the NumPy reference (``fastweights_np.loss_and_grad``), the Numba
backend (the same call with ``backend="numba"``) and, where installed, PyTorch eager,
torch.compile and jax.jit on the same model (benchmarks/frameworks.py). Prints medians in
ms, the Numba step's GFLOP/s (benchmarks/common.step_flops) and its fraction of a NumPy
matmul's GFLOP/s measured in the same run, and the speed-ups. Not a test: it asserts nothing
except that every implementation's loss agrees with the reference's.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, matmul_peak, median_time, problem, step_flops  # noqa: E402
from frameworks import framework_steps  # noqa: E402

import fastweights_np as fw  # noqa: E402

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
    args = ap.parse_args(argv)
    if args.quick:
        args.steps, args.hidden, args.dtypes, args.repeats, args.budget = [11], [50], ["float32"], 10, 1.0

    print(f"machine: {machine()}")
    peaks = {dt: matmul_peak(dt) for dt in args.dtypes}
    print("numpy 1024x1024 matmul peak: " + ", ".join(f"{dt} {p:.1f} GFLOP/s" for dt, p in peaks.items()))
    header = (
        f"{'dtype':<8}{'form':<10}{'T':>4}{'H':>5} {'reference':>10} {'numba':>8} {'x ref':>6} "
        f"{'GFLOP/s':>8} {'%peak':>6} " + " ".join(f"{n:>13}" for n in FRAMEWORKS) + f" {'x fastest':>9}"
    )
    print("times are medians in ms; 'x ref' and 'x fastest' are numba's speed-ups")
    print(header)
    print("-" * len(header))
    for dtype in args.dtypes:
        for form in args.forms:
            for T in args.steps:
                for H in args.hidden:
                    print(row(args, dtype, form, T, H, peaks[dtype]), flush=True)
    print(f"machine at the end: {machine()}")
    return 0


def row(args, dtype: str, form: str, T: int, H: int, peak: float) -> str:
    cfg, params, idx, x, y = problem(args.batch, T, H, dtype, form)
    numba_cfg = cfg.replace(backend="numba")
    ref_loss, _ = fw.loss_and_grad(params, x, y, cfg)
    numba_loss, _ = fw.loss_and_grad(params, x, y, numba_cfg)
    _same_loss("numba", numba_loss, ref_loss, dtype)
    t_ref = median_time(lambda: fw.loss_and_grad(params, x, y, cfg), args.repeats, args.budget)
    t_nb = median_time(lambda: fw.loss_and_grad(params, x, y, numba_cfg), args.repeats, args.budget)
    gflops = step_flops(cfg, args.batch, T) / t_nb / 1e9
    times = {}
    if not args.no_frameworks:
        paper_size = (T, dtype) == (11, "float32")
        with_compile = args.torch_compile == "all" or (args.torch_compile == "t11-float32" and paper_size)
        for name, step in framework_steps(params, idx, y, cfg, with_compile).items():
            _same_loss(name, step(), ref_loss, dtype)
            times[name] = median_time(step, args.repeats, args.budget)
    fastest = min(times.values(), default=math.nan)
    cells = " ".join(f"{times[n] * 1e3:>13.3f}" if n in times else f"{'-':>13}" for n in FRAMEWORKS)
    return (
        f"{dtype:<8}{form:<10}{T:>4}{H:>5} {t_ref * 1e3:>10.2f} {t_nb * 1e3:>8.3f} {t_ref / t_nb:>6.1f} "
        f"{gflops:>8.1f} {100 * gflops / peak:>5.1f}% {cells} {fastest / t_nb:>9.1f}"
    )


def _same_loss(name: str, loss: float, reference: float, dtype: str) -> None:
    tol = 1e-4 if dtype == "float32" else 1e-10
    if abs(loss - reference) > tol * max(1.0, abs(reference)):
        raise SystemExit(f"{name}'s loss {loss} differs from the reference's {reference}")


if __name__ == "__main__":
    sys.exit(main())
