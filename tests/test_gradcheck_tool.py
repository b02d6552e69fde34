"""The gradient checker itself must catch wrong gradients and name the tensor."""

import numpy as np
import pytest

from fastweights_np.gradcheck import check_gradients, check_op, relative_error
from fastweights_np.ops import affine_backward, affine_forward


def _inputs(rng):
    return {"x": rng.standard_normal((3, 4)), "W": rng.standard_normal((2, 4)), "b": rng.standard_normal(2)}


def test_correct_backward_passes():
    report = check_op(affine_forward, affine_backward, _inputs(np.random.default_rng(0)), ["x", "W", "b"])
    assert report.passed, str(report)
    assert [r.name for r in report.rows] == ["x", "W", "b"]


@pytest.mark.parametrize("wrong", ["x", "W", "b"])
def test_wrong_backward_fails_naming_the_tensor(wrong):
    def bad_backward(dy, cache):
        grads = dict(zip(["x", "W", "b"], affine_backward(dy, cache), strict=True))
        grads[wrong] = grads[wrong] * (1 + 1e-4)
        return grads["x"], grads["W"], grads["b"]

    report = check_op(affine_forward, bad_backward, _inputs(np.random.default_rng(1)), ["x", "W", "b"])
    assert not report.passed
    assert [r.name for r in report.failures()] == [wrong]
    assert "FAILED: " + wrong in report.table()


def test_directional_mode_catches_a_wrong_entry():
    rng = np.random.default_rng(2)
    a = rng.standard_normal(5)

    def f(t):
        return float(np.sum(np.sin(t["a"])))

    good = {"a": np.cos(a)}
    bad = {"a": np.cos(a) + np.eye(5)[2] * 0.1}
    assert check_gradients(f, {"a": a}, good, mode="direction").passed
    report = check_gradients(f, {"a": a}, bad, mode="direction")
    assert not report.passed
    assert {r.name for r in report.failures()} == {"a", "(all)"}


def test_relative_error_definition():
    assert relative_error(np.zeros(3), np.zeros(3)) == (0.0, 0.0)
    abs_err, rel_err = relative_error(np.array([1.0, 0.01]), np.array([1.0, 0.02]))
    assert abs_err == pytest.approx(0.01)
    assert rel_err == pytest.approx(0.01)


def test_bad_mode_is_named():
    with pytest.raises(ValueError, match="mode must be"):
        check_gradients(lambda t: 0.0, {"a": np.zeros(1)}, {"a": np.zeros(1)}, mode="sideways")
