"""Do the Numba kernels give the same bits when compiled in the process and when loaded from
Numba's cache?

    PYTHONPATH=$PWD python benchmarks/cache_bits.py [--dtype float32]

Runs one ``sequence_forward`` / ``sequence_backward`` of the fast-weights core (B = 128,
T = 11, H = 50, I = 100 dense inputs, both forms) in three fresh processes that share a new,
empty ``NUMBA_CACHE_DIR``: the first compiles the kernels (and fills the cache), the second and
third load them from it. Prints, per output, the largest difference between the first and the
second process relative to the output's largest entry, and whether the second and the third
agree bit for bit. Not a test: it asserts nothing (docs/results.md says what it showed).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHILD = """
import sys
import numpy as np
import fastweights_np as fw
out = {}
for form in ("matrix", "attention"):
    cfg = fw.FastWeightsConfig(100, 50, 10, form=form, dtype=sys.argv[2], backend="numba", decay=0.9)
    rng = np.random.default_rng(3)
    params = {k: (v + 0.3 * rng.standard_normal(v.shape)).astype(cfg.np_dtype) for k, v in fw.init_params(cfg).items()}
    x = rng.standard_normal((128, 11, 100)).astype(cfg.np_dtype)
    (hs, _), cache = fw.sequence_forward(params, x, cfg)
    grads, dx, _ = fw.sequence_backward((hs, None), cache)
    out[form + " hs"] = hs
    out[form + " dx"] = dx
    for name, g in grads.items():
        out[form + " d" + name] = np.asarray(g)
np.savez(sys.argv[1], **out)
"""


def run_child(path: Path, dtype: str, cache_dir: str) -> dict[str, np.ndarray]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    subprocess.run([sys.executable, "-c", CHILD, str(path), dtype], env=env, check=True)
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        cache = str(Path(tmp) / "numba-cache")
        compiled, cached, cached_again = (run_child(Path(tmp) / f"{i}.npz", args.dtype, cache) for i in range(3))
    print(f"{args.dtype}: compiled in the process vs loaded from the cache; cached vs cached again")
    print(f"{'output':<22}{'max |diff| / max |value|':>26}{'cached == cached again':>24}")
    for name, a in compiled.items():
        scale = float(np.max(np.abs(a))) or 1.0
        rel = float(np.max(np.abs(a.astype(np.float64) - cached[name]))) / scale
        print(f"{name:<22}{rel:>26.2e}{str(np.array_equal(cached[name], cached_again[name])):>24}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
