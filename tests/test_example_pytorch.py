"""examples/check_pytorch_against_golden.py: a PyTorch transcription passes the oracle (when
PyTorch is installed), and the example says so plainly when it is not."""

import subprocess
import sys
from pathlib import Path

import pytest

from fastweights_np.cores.fast_weights.config import FastWeightsConfig
from fastweights_np.oracle import compare, golden_vectors, load_golden, read_arrays, save_golden

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "check_pytorch_against_golden.py"


def test_pytorch_example_passes_the_oracle(tmp_path):
    pytest.importorskip("torch", reason="torch is not installed; the PyTorch example cannot run")
    golden = save_golden(tmp_path / "golden.npz",
                         golden_vectors(FastWeightsConfig(input_size=4, hidden_size=8, output_size=3, inner_steps=2)))
    run = subprocess.run([sys.executable, str(EXAMPLE), str(golden), str(tmp_path / "theirs.npz")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    only = ["h_inner", "A_T", "logits", "loss", "grad.*"]
    report = compare(load_golden(golden), read_arrays(tmp_path / "theirs.npz"), only=only)
    assert report.passed and len(report.rows) == 13, str(report)


def test_pytorch_example_says_when_torch_is_missing(tmp_path):
    hide_torch = (f"import runpy, sys; sys.modules['torch'] = None; sys.argv = ['x', {str(tmp_path / 'g.npz')!r}]; "
                  f"runpy.run_path({str(EXAMPLE)!r}, run_name='__main__')")
    run = subprocess.run([sys.executable, "-c", hide_torch], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "needs PyTorch" in run.stderr and "nothing was checked" in run.stderr
