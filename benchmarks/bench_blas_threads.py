"""One training step of the associative-retrieval model on the Numba backend, with NumPy's
BLAS on all its threads and on one thread (what ``fastweights-np train`` does beside Numba:
``backends/numba/threads.one_blas_thread``), side by side in one process.

    PYTHONPATH=$PWD python benchmarks/bench_blas_threads.py [--hidden 20 50 100] [--cores fw irnn lstm]

The model is the one the Table 1 runs train (``tasks/assoc/model.py``: 100-d embedding, the
core, 100 ReLU units, softmax), B = 128, K = 4 (T = 11), float32, Numba on all its threads.
The two settings alternate for ``--rounds`` rounds; a cell is the median over rounds of the
median of up to 30 calls. Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numba  # noqa: E402
import numpy as np  # noqa: E402
from common import machine, median_time  # noqa: E402
from threadpoolctl import threadpool_info  # noqa: E402

from fastweights_np.backends.numba.threads import one_blas_thread  # noqa: E402
from fastweights_np.tasks.assoc.data import make_assoc  # noqa: E402
from fastweights_np.tasks.assoc.model import AssocModel, AssocModelConfig  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, nargs="+", default=[20, 50, 100])
    ap.add_argument("--cores", nargs="+", default=["fw", "irnn", "lstm"])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--budget", type=float, default=1.5, help="seconds per cell and round")
    args = ap.parse_args()
    data = make_assoc(128, 4, 0)
    blas = sorted({pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"})
    print(f"machine: {machine()}")
    print(f"numba threads: {numba.get_num_threads()}; BLAS threads: {blas} ('all') or 1; ms per step, "
          f"median over {args.rounds} rounds")
    print(f"{'core':<6}{'H':>5} {'BLAS all':>9} {'BLAS 1':>8} {'speed-up':>9}")
    for core in args.cores:
        for H in args.hidden:
            options = {"form": "attention"} if core == "fw" else {}  # the CLI's defaults
            model_cfg = AssocModelConfig(core=core, hidden_size=H, dtype="float32", core_options=options)
            model = AssocModel(model_cfg, backend="numba")
            params = model.init_params(0)

            def step(model=model, params=params):
                return model.loss_and_grad(params, data.x, data.y)

            times: dict[str, list[float]] = {"all": [], "one": []}
            for _ in range(args.rounds):
                times["all"].append(median_time(step, 30, args.budget, warmup=2))
                with one_blas_thread():
                    times["one"].append(median_time(step, 30, args.budget, warmup=2))
            t_all, t_one = (float(np.median(times[k])) for k in ("all", "one"))
            print(f"{core:<6}{H:>5} {t_all * 1e3:>9.2f} {t_one * 1e3:>8.2f} {t_all / t_one:>9.1f}", flush=True)
    print(f"machine at the end: {machine()}")


if __name__ == "__main__":
    main()
