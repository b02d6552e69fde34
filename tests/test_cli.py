"""The command line: gradcheck passes, fails with exit 1 on a wrong gradient, rejects bad flags."""

import subprocess
import sys

import pytest

import fastweights_np.gradcheck as gradcheck_module
from fastweights_np.cli import main


def test_gradcheck_passes_and_prints_a_table(capsys):
    assert main(["gradcheck", "--steps", "3", "--hidden", "5"]) == 0
    out = capsys.readouterr().out
    for form in ("form=matrix", "form=attention"):
        assert form in out
    for name in ("W", "C", "b", "g", "beta", "V", "c", "decay", "fast_lr", "(all)"):
        assert f"\n{name} " in out
    assert out.count("gradient check PASSED") == 2


def test_gradcheck_options(capsys):
    args = ["gradcheck", "--form", "attention", "--no-layer-norm", "--ln-preliminary", "--inner-steps", "0",
            "--mode", "direction", "--decay", "0", "--fast-lr", "0"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "form=attention" in out and "layer_norm=False ln_preliminary=True" in out and "S=0" in out
    assert " entry " not in out


def test_gradcheck_exits_1_on_a_wrong_gradient(monkeypatch, capsys):
    right = gradcheck_module.loss_and_grad_unchecked

    def wrong(*args, **kwargs):
        loss, grads = right(*args, **kwargs)
        grads["W"] = grads["W"] * 1.001
        return loss, grads

    monkeypatch.setattr(gradcheck_module, "loss_and_grad_unchecked", wrong)
    assert main(["gradcheck", "--steps", "2", "--form", "matrix"]) == 1
    assert "FAILED: W" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--hidden", "0", "argument --hidden: expected a positive integer, got '0'"),
        ("--steps", "x", "argument --steps: expected a positive integer, got 'x'"),
        ("--inner-steps", "-1", "argument --inner-steps: expected a non-negative integer, got '-1'"),
        ("--decay", "1.5", "argument --decay: expected a number in [0, 1], got '1.5'"),
        ("--fast-lr", "-2", "argument --fast-lr: expected a non-negative number, got '-2'"),
        ("--form", "dense", "argument --form: invalid choice: 'dense'"),
    ],
)
def test_bad_flags_exit_2_with_a_message(flag, value, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["gradcheck", flag, value])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "gradcheck" in capsys.readouterr().err


def test_python_dash_m_entry_point():
    result = subprocess.run([sys.executable, "-m", "fastweights_np", "gradcheck", "--steps", "2", "--hidden", "3"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "gradient check PASSED" in result.stdout
