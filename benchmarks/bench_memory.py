"""Peak extra memory of one training step at B = 128, T = 200, H = 100 (float64), per form.

    PYTHONPATH=$PWD python benchmarks/bench_memory.py [--reference]

Each measurement runs in a fresh process: it compiles on a tiny problem, builds the inputs,
reads its resident set size (RSS, /proc/self/statm), runs one ``loss_and_grad`` step and
reads the peak RSS (``resource.getrusage(...).ru_maxrss``). The difference is the step's
peak extra memory: it counts every allocation, NumPy's and Numba's (per-thread buffers
included), not only what ``tracemalloc`` sees. For scale it prints the size of the stored
hidden states h_0..h_T (B (T+1) H numbers) and of one B×H×H array. ``--reference`` also
measures the NumPy reference (slow: it holds every step's A in the matrix form).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys
import numpy as np
import fastweights_np as fw
sys.path.insert(0, sys.argv[1])
from common import problem

def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096

form, backend, B, T, H = sys.argv[2], sys.argv[3], *map(int, sys.argv[4:7])
cfg, params, _, x, y = problem(4, 3, 8, "float64", form)
fw.loss_and_grad(params, x, y, cfg, backend=backend)  # compile and warm up on a tiny problem
cfg, params, _, x, y = problem(B, T, H, "float64", form)
before = rss_bytes()
fw.loss_and_grad(params, x, y, cfg, backend=backend)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"before": before, "peak": peak}))
"""


def measure(form: str, backend: str, B: int, T: int, H: int) -> int:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-c", CHILD, str(ROOT / "benchmarks"), form, backend, str(B), str(T), str(H)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return r["peak"] - r["before"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--reference", action="store_true", help="also measure the NumPy reference")
    args = ap.parse_args(argv)
    B, T, H = args.batch, args.steps, args.hidden
    mb = 1e6
    print(f"peak extra RSS of one training step, B={B} T={T} H={H} float64 (ru_maxrss − RSS before the step)")
    states, one_A = B * (T + 1) * H * 8 / mb, B * H * H * 8 / mb
    print(f"scale: stored hidden states B(T+1)H: {states:.1f} MB; one B×H×H array: {one_A:.1f} MB")
    backends = ("numba", "numpy") if args.reference else ("numba",)
    for backend in backends:
        for form in ("matrix", "attention"):
            extra = measure(form, backend, B, T, H)
            print(f"{backend:<6} {form:<10} {extra / mb:>9.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
