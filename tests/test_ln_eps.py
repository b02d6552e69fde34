"""Layer norm's ε may be 0 (issue 18): the config accepts it, the CLI sets it (--ln-eps), the
gradients are right (float64 finite differences), and a layer-norm input of variance exactly 0
raises the same NonFiniteError on every backend instead of a silent 0/0 (which ReLU would turn
into h = 0)."""

import re

import numpy as np
import pytest

import fastweights_np as fw
from fastweights_np import get_core
from fastweights_np.cli import main
from fastweights_np.cores.fast_weights import CORE_PARAM_NAMES
from fastweights_np.finite import NonFiniteError
from fastweights_np.gradcheck import check_model
from fastweights_np.ops.layernorm import layernorm_forward
from fastweights_np.oracle import compare, golden_vectors, load_golden, read_manifest

CFG = fw.FastWeightsConfig(input_size=3, hidden_size=4, output_size=2, inner_steps=2, ln_eps=0.0)
BACKENDS = ["numpy", "numba"]


def test_config_accepts_zero_and_refuses_negative_or_non_finite():
    assert CFG.ln_eps == 0.0 and isinstance(CFG.ln_eps, float)
    with pytest.raises(ValueError, match=re.escape("ln_eps must be >= 0, got -1e-12")):
        CFG.replace(ln_eps=-1e-12)
    for value in (float("inf"), float("nan")):
        with pytest.raises(ValueError, match="ln_eps must be a finite real number"):
            CFG.replace(ln_eps=value)


def test_layernorm_with_zero_eps_is_plain_standardisation():
    v = np.random.default_rng(0).standard_normal((3, 5))
    out, _ = layernorm_forward(v, np.ones(5), np.zeros(5), 0.0)
    np.testing.assert_allclose(out, (v - v.mean(-1, keepdims=True)) / v.std(-1, keepdims=True), rtol=1e-13)


@pytest.mark.parametrize("cfg", [CFG, CFG.replace(ln_preliminary=True), CFG.replace(form="attention", inner_steps=1),
                                 CFG.replace(fast_weight_timing="lagged", activation="tanh")],
                         ids=["paper", "ln-preliminary", "attention", "lagged-tanh"])
def test_gradients_with_zero_eps_match_finite_differences(cfg):
    params = {k: v + 0.1 * np.random.default_rng(1).standard_normal(v.shape) for k, v in fw.init_params(cfg, 0).items()}
    x = np.random.default_rng(2).standard_normal((2, 4, 3))
    report = check_model(params, x, np.array([0, 1]), cfg, mode="entry", tol=1e-6)
    assert report.passed, "\n" + str(report)


def _zero_variance_problem(cfg=CFG):
    """b = 0 and x_1 = 0 for example 1: its z_1 = W h_0 + C x_1 + b = 0, h_1^(0) = 0 and A_1 = 0,
    so the first LN input (inner step 1 of t = 1) of example 1 is all zeros: variance 0."""
    params = fw.init_params(cfg, 0)
    params["b"] = np.zeros_like(params["b"])
    x = np.random.default_rng(0).standard_normal((3, 5, 3))
    x[1, 0] = 0.0
    return params, x, np.array([0, 1, 0])


EXPECTED = (
    "layer norm with ln_eps = 0 would divide 0 by 0 at time step t = 1 of T = 5, inner step s = 1 of S = 2: "
    "its input v (shape (3, 4)) has variance exactly 0 over its H = 4 units (all equal) in example 1 of B = 3, "
    "so (v - mean(v)) / sqrt(var(v) + ln_eps) is 0/0. Use ln_eps > 0 "
    "(this package's and PyTorch's default is 1e-5, TensorFlow's 1e-12), or inputs and parameters for which the "
    "units differ (H > 1, not all zero)."
)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", ["loss_and_grad", "hidden_states", "core"])
def test_zero_variance_raises_the_same_error_on_every_backend(backend, call):
    params, x, y = _zero_variance_problem()
    run = {
        "loss_and_grad": lambda: fw.loss_and_grad(params, x, y, CFG, backend=backend),
        "hidden_states": lambda: fw.hidden_states(params, x, CFG, backend=backend),
        "core": lambda: get_core("fw", backend).sequence_forward({k: params[k] for k in CORE_PARAM_NAMES}, x, CFG),
    }[call]
    with pytest.raises(NonFiniteError) as info:
        run()
    assert str(info.value) == EXPECTED
    # no kernel error chained to it (Numba's division by zero stays out of the traceback)
    assert info.value.__context__ is None or info.value.__suppress_context__


@pytest.mark.parametrize("form", ["matrix", "attention"])
def test_the_error_names_the_time_step_and_the_inner_step(form):
    """At t = 1 only example 1's first inner step has variance 0; h_1 = 0 there, so at t = 2 its
    preliminary vector z_2 = C x_2 + b is not all equal: the error names the first 0/0 only."""
    params, x, _ = _zero_variance_problem()
    with pytest.raises(NonFiniteError) as info:
        fw.hidden_states(params, x, CFG.replace(form=form))
    assert info.value.where == ("time step t = 1 of T = 5", "inner step s = 1 of S = 2")
    # LN on the preliminary vector meets the zeros first: s = 0
    with pytest.raises(NonFiniteError, match=re.escape("0 by 0 at time step t = 1 of T = 5, the preliminary vector "
                                                       "h_t^(0) (s = 0): its input v")):
        fw.hidden_states(params, x, CFG.replace(form=form, ln_preliminary=True))


def test_a_located_error_keeps_its_parts_through_pickle():
    import pickle

    params, x, _ = _zero_variance_problem()
    with pytest.raises(NonFiniteError) as info:
        fw.hidden_states(params, x, CFG)
    again = pickle.loads(pickle.dumps(info.value))
    assert type(again) is NonFiniteError and str(again) == str(info.value) == EXPECTED
    assert again.where == info.value.where and again.detail == info.value.detail


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_positive_eps_runs_the_same_problem(backend):
    params, x, y = _zero_variance_problem()
    loss, _ = fw.loss_and_grad(params, x, y, CFG.replace(ln_eps=1e-5), backend=backend)
    assert np.isfinite(loss)


def test_hidden_size_one_names_every_row():
    cfg = CFG.replace(hidden_size=1)
    params = fw.init_params(cfg, 0)
    x = np.random.default_rng(0).standard_normal((2, 3, 3))
    with pytest.raises(NonFiniteError, match=re.escape("over its H = 1 units (all equal) in example 0 of B = 2 "
                                                       "(2 rows of 2 have variance 0)")):
        fw.hidden_states(params, x, cfg)


def test_cli_ln_eps_reaches_the_golden_file(tmp_path, capsys):
    path = tmp_path / "golden.npz"
    assert main(["oracle", "export", "--ln-eps", "0", "--out", str(path)]) == 0
    assert "ln_eps=0" in capsys.readouterr().out
    golden = load_golden(path)
    assert read_manifest(golden)["config"]["ln_eps"] == 0.0
    assert main(["oracle", "compare", str(path), str(path)]) == 0
    default = golden_vectors(fw.FastWeightsConfig(input_size=4, hidden_size=8, output_size=3, inner_steps=2))
    assert read_manifest(default)["config"]["ln_eps"] == 1e-5
    report = compare(default, {k: v for k, v in golden.items() if k != "__manifest__"}, groups=["outputs"])
    assert not report.passed and report.failures()[0].name == "h_inner"  # ε = 0 vs 1e-5 is visible in float64


@pytest.mark.parametrize("value", ["-1", "nan"])
def test_cli_refuses_a_negative_eps(value, capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["oracle", "export", "--ln-eps", value, "--out", str(tmp_path / "g.npz")])
    assert exc.value.code == 2
    assert f"argument --ln-eps: expected a non-negative number, got '{value}'" in capsys.readouterr().err


def test_gradcheck_cli_takes_ln_eps(capsys):
    assert main(["gradcheck", "--ln-eps", "0", "--steps", "2", "--hidden", "3", "--batch", "2"]) == 0
