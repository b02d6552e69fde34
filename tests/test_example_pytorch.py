"""examples/check_pytorch_against_golden.py: a from-scratch PyTorch transcription passes the oracle
for the paper's model and non-default variants (when PyTorch is installed), diagnose names the
variant a public PyTorch port computes, and the example says so in one line (exit status 0) when
PyTorch is not installed."""

import subprocess
import sys
from pathlib import Path

import pytest

from fastweights_np.cores.fast_weights.config import FastWeightsConfig
from fastweights_np.oracle import compare, golden_vectors, load_golden, read_arrays, save_golden

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "check_pytorch_against_golden.py"
CFG = FastWeightsConfig(input_size=4, hidden_size=8, output_size=3, inner_steps=2)


def _run(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(EXAMPLE), *args], capture_output=True, text=True, timeout=timeout)


def test_pytorch_walk_through_passes_and_diagnose_names_the_batch_norm_port():
    pytest.importorskip("torch", reason="torch is not installed; the PyTorch example cannot run")
    run = _run()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr
    assert run.stdout.count("compare PASSED") == 3, run.stdout[-3000:]  # paper, port, diagnose's table
    assert "diagnose MATCH" in run.stdout
    assert "fast_weight_timing='preliminary', ln_axis='batch', ln_eps=0.0" in run.stdout
    assert "this is batch normalisation" in run.stdout
    assert run.stdout.rstrip().endswith("PyTorch example: every comparison PASSED")


@pytest.mark.parametrize("options", [
    {},
    {"fast_weight_timing": "lagged", "ln_preliminary": True, "ln_eps": 0.0, "activation": "tanh"},
    {"fast_weight_timing": "preliminary", "ln_axis": "batch", "ln_eps": 0.0},
    {"loss_reduction": "sum", "layer_norm": False, "inner_steps": 1},
])
def test_pytorch_example_on_a_golden_file_passes_everything_computed(tmp_path, options):
    pytest.importorskip("torch", reason="torch is not installed; the PyTorch example cannot run")
    golden = save_golden(tmp_path / "golden.npz", golden_vectors(CFG.replace(**options), batch=2))
    run = _run(str(golden), str(tmp_path / "theirs.npz"))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr
    report = compare(load_golden(golden), read_arrays(tmp_path / "theirs.npz"), groups=["outputs"])
    assert report.passed and len(report.rows) == 22, str(report)


def test_pytorch_example_trains_decay_and_fast_lr_with_torch_adam(tmp_path):
    pytest.importorskip("torch", reason="torch is not installed; the PyTorch example cannot run")
    golden = save_golden(tmp_path / "golden.npz", golden_vectors(CFG, train_scalars=True))
    assert _run(str(golden), str(tmp_path / "theirs.npz")).returncode == 0
    theirs = read_arrays(tmp_path / "theirs.npz")
    report = compare(load_golden(golden), theirs, groups=["adam"])
    assert report.passed and len(report.rows) == 10, str(report)


def test_pytorch_example_fails_against_another_variant(tmp_path):
    """The check can fail: their paper-timing outputs against a batch-axis golden file do not pass."""
    pytest.importorskip("torch", reason="torch is not installed; the PyTorch example cannot run")
    paper = save_golden(tmp_path / "paper.npz", golden_vectors(CFG))
    batch = save_golden(tmp_path / "batch.npz", golden_vectors(CFG.replace(ln_axis="batch")))
    assert _run(str(paper), str(tmp_path / "theirs.npz")).returncode == 0
    report = compare(load_golden(batch), read_arrays(tmp_path / "theirs.npz"), groups=["outputs"])
    assert not report.passed and "h_inner" in [r.name for r in report.failures()]


def test_pytorch_example_refuses_a_variant_it_does_not_transcribe(tmp_path):
    pytest.importorskip("torch", reason="torch is not installed; the PyTorch example cannot run")
    golden = save_golden(tmp_path / "golden.npz", golden_vectors(CFG, readout="mlp"))
    run = _run(str(golden), str(tmp_path / "theirs.npz"))
    assert run.returncode == 1 and "readout" in run.stderr and not (tmp_path / "theirs.npz").exists()


def test_pytorch_example_says_when_torch_is_missing(tmp_path):
    hide_torch = (f"import runpy, sys; sys.modules['torch'] = None; sys.argv = ['x', {str(tmp_path / 'g.npz')!r}]; "
                  f"runpy.run_path({str(EXAMPLE)!r}, run_name='__main__')")
    run = subprocess.run([sys.executable, "-c", hide_torch], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "torch is not installed (pip install torch==2.13.0); this example checked nothing"
    assert run.stdout.count("\n") == 1 and not (tmp_path / "g.npz").exists()
