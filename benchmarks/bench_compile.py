"""First call of the Numba backend in a fresh process, with an empty and with a warm cache.

    PYTHONPATH=$PWD python benchmarks/bench_compile.py [--repeats 3]

Each measurement starts a new Python process with its own NUMBA_CACHE_DIR and times, inside
it, ``import fastweights_np`` and then the first training step (``loss_and_grad``) with
``backend="numba"`` for each dtype and form, then a ``sequence_forward``/``sequence_backward``
with a carried state: every kernel of the backend, both dtypes. "cold" uses an empty cache
directory (everything compiles); "warm" reuses the directory the cold run filled. Medians
over ``--repeats`` pairs of processes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, time
t0 = time.perf_counter()
import numpy as np
import fastweights_np as fw
t_import = time.perf_counter() - t0
core = fw.get_core("fw", backend="numba")
times = {}
for dtype in ("float32", "float64"):
    t = time.perf_counter()
    for form in ("matrix", "attention"):
        cfg = fw.FastWeightsConfig(37, 20, 10, form=form, dtype=dtype)
        params = fw.init_params(cfg)
        x = np.eye(37, dtype=dtype)[np.arange(44).reshape(4, 11) % 37]
        fw.loss_and_grad(params, x, np.zeros(4, dtype=int), cfg, backend="numba")
        state = fw.FastWeightsState(np.zeros((4, 20), dtype), np.zeros((4, 20, 20), dtype))
        (hs, st), cache = core.sequence_forward(params, x, cfg, state)
        core.sequence_backward((hs, st), cache)
    times[dtype] = time.perf_counter() - t
print(json.dumps({"import": t_import, **times, "total": time.perf_counter() - t0}))
"""


def run_child(cache_dir: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    runs: dict[str, list[dict]] = {"cold": [], "warm": []}
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as cache_dir:
            runs["cold"].append(run_child(cache_dir))
            runs["warm"].append(run_child(cache_dir))
    print(f"first call in a fresh process, seconds (median of {args.repeats}); load average {os.getloadavg()[0]:.2f}")
    print(f"{'cache':<6} {'import':>8} {'float32':>9} {'float64':>9} {'total':>8}")
    for name, rs in runs.items():
        med = {k: float(np.median([r[k] for r in rs])) for k in rs[0]}
        print(f"{name:<6} {med['import']:>8.2f} {med['float32']:>9.2f} {med['float64']:>9.2f} {med['total']:>8.2f}")
    print("float32/float64: first loss_and_grad and sequence_forward/backward (with state) in both forms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
