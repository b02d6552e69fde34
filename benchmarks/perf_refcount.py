"""Where one thread's time goes in a loop of Numba ``loss_and_grad`` calls, by symbol, with the
share spent counting references (Numba's ``NRT_incref`` / ``NRT_decref``).

    PYTHONPATH=$PWD python benchmarks/perf_refcount.py [--hidden 20] [--form attention]

Starts a process that calls ``fastweights_np.loss_and_grad`` (backend "numba", B = 128,
T = 11, S = 1, float32, one Numba thread, one BLAS thread) in a loop, lets it compile or load
its kernels, samples it with ``perf record -p PID`` for ``--sample`` seconds, and names the
sampled addresses: ``perf`` names those in shared libraries; the compiled code lives in
anonymous pages, whose hottest addresses ``gdb -p PID`` names (``info symbol``). Needs Linux
``perf`` and ``gdb`` and the right to attach to a process of your own (root, or
``kernel.perf_event_paranoid`` ≤ 1 and ``kernel.yama.ptrace_scope`` = 0). Not a test: it
asserts nothing. Run an older checkout with ``PYTHONPATH=/tmp/old`` to compare.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

WORKER = """
import sys, time
sys.path.insert(0, {bench!r})
import numba
from common import problem
import fastweights_np as fw
from fastweights_np.backends.numba.threads import one_blas_thread
numba.set_num_threads(1)
cfg, params, idx, x, y = problem(128, 11, {hidden}, "float32", {form!r}, inner_steps=1)
with one_blas_thread():
    end = time.time() + {seconds}
    while time.time() < end:
        fw.loss_and_grad(params, x, y, cfg, backend="numba")
"""

LINE = re.compile(r"^\s*([0-9.]+)%\s+(?:\S+\s+)?\[[.k]\]\s+(.+?)(?:\s+-)*\s*$")


def sampled_symbols(data: Path) -> list[tuple[float, str]]:
    """(percent, symbol or hex address) from ``perf report``, largest first."""
    report = subprocess.run(
        ["perf", "report", "-i", str(data), "--no-children", "--sort", "symbol", "--stdio"],
        capture_output=True, text=True, check=True,
    ).stdout
    rows = []
    for line in report.splitlines():
        m = LINE.match(line)
        if m:
            rows.append((float(m.group(1)), m.group(2)))
    return rows


def name_addresses(pid: int, addresses: list[str]) -> dict[str, str]:
    """gdb's ``info symbol`` for each address, in the running process (function name only)."""
    args = ["gdb", "-p", str(pid), "-batch"]
    for a in addresses:
        args += ["-ex", f"echo @{a}=", "-ex", f"info symbol {a}"]
    out = subprocess.run(args, capture_output=True, text=True).stdout
    names = {}
    for a, text in re.findall(r"@(0x[0-9a-f]+)=(.*)", out):
        names[a] = text.split(" in section")[0].split(" + ")[0].strip() if "No symbol" not in text else a
    return names


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hidden", type=int, default=20)
    ap.add_argument("--form", choices=("attention", "matrix"), default="attention")
    ap.add_argument("--warmup", type=float, default=15.0, help="seconds before sampling (compiling, loading)")
    ap.add_argument("--sample", type=float, default=6.0, help="seconds of sampling")
    ap.add_argument("--top", type=int, default=12, help="symbols to list")
    args = ap.parse_args(argv)
    for tool in ("perf", "gdb"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed; this script needs Linux perf and gdb", file=sys.stderr)
            return 2
    seconds = args.warmup + args.sample + 30  # the worker outlives sampling and naming
    code = WORKER.format(bench=str(Path(__file__).resolve().parent), hidden=args.hidden, form=args.form,
                         seconds=seconds)
    worker = subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ))
    try:
        time.sleep(args.warmup)
        if worker.poll() is not None:
            print("the worker process ended early", file=sys.stderr)
            return 1
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "perf.data"
            subprocess.run(["perf", "record", "-q", "-o", str(data), "-p", str(worker.pid), "--", "sleep",
                            str(args.sample)], check=True, capture_output=True)
            rows = sampled_symbols(data)
        hex_rows = [s for _, s in rows[:200] if s.startswith("0x")]
        names = name_addresses(worker.pid, hex_rows)
    finally:
        worker.kill()
        worker.wait()
    by_symbol: dict[str, float] = defaultdict(float)
    for percent, symbol in rows:
        by_symbol[names.get(symbol, symbol).split("[abi:")[0]] += percent  # Numba's names end in ABI tags
    total = sum(by_symbol.values())
    refcount = by_symbol.get("NRT_incref", 0.0) + by_symbol.get("NRT_decref", 0.0)
    print(f"one numba loss_and_grad loop, {args.form}, B=128 T=11 H={args.hidden} S=1 float32, one thread; "
          f"{args.sample:g} s sampled")
    print(f"reference counting (NRT_incref + NRT_decref): {refcount:.1f} % of {total:.1f} % sampled")
    print("top symbols (% of samples; unnamed addresses are compiled code gdb could not name):")
    for symbol, percent in sorted(by_symbol.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"  {percent:6.2f}  {symbol[:90]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
