"""The Numba backend computes what the NumPy reference computes for the IRNN and the LSTM.

Every value and every gradient of the cores' ``sequence_forward`` / ``sequence_backward``
(hidden states, final state, the gradient of every parameter, dx and the initial state's
gradient, with upstream gradients on every hidden state and on the final state), the cores being
``get_core(name, backend="numba")``, and of ``core_readout.loss_and_grad`` on those cores, with
and without layer norm, float64 to a relative 1e-10 and
float32 to 1e-4 (the comparison of tests/test_numba_backend.py), over hypothesis-drawn sizes
and options; the same bad inputs raise the same errors; the train command runs on it.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import examples
from test_cores import BAD_INPUTS
from test_numba_backend import assert_backends_agree, signature_dtype

from fastweights_np.backends import get_core
from fastweights_np.backends.numba import kernels, lstm
from fastweights_np.backends.numba.baselines import CORE_OF_CONFIG, IRNNCache, LSTMCache
from fastweights_np.cli import main
from fastweights_np.core_gradcheck import check_core
from fastweights_np.models import core_readout
from fastweights_np.tasks.assoc.model import AssocModel, AssocModelConfig

CORES = ("irnn", "lstm")


# ----------------------------------------------------------------------------- helpers
def core_of(cfg, backend: str = "numpy"):
    """The core of ``cfg`` computed by ``backend``."""
    core = get_core(CORE_OF_CONFIG[type(cfg)], backend=backend)
    assert core.backend == backend
    return core


def sequence_results(backend, cfg, params, x, state0, dhs, dstate) -> dict:
    """Everything the core's sequence_forward and sequence_backward on ``backend`` return, by name."""
    core = core_of(cfg, backend)
    (hs, state), cache = core.sequence_forward(params, x, cfg, state0)
    grads, dx, dstate0 = core.sequence_backward((dhs, dstate), cache)
    assert isinstance(cache, (IRNNCache, LSTMCache)) == (backend == "numba")
    assert (dstate0 is None) == (state0 is None)
    assert list(grads) == list(params)
    out = dict(grads, hs=hs, dx=dx, **{f"{f}_T": v for f, v in zip(state._fields, state, strict=True)})
    if dstate0 is not None:
        assert type(dstate0) is core.state_class
        out.update({f"d{f}_0": v for f, v in zip(dstate0._fields, dstate0, strict=True)})
    return out


def loss_results(backend, cfg, params, x, y, state0) -> dict:
    """core_readout.loss_and_grad's loss, gradients and dstate0 (the readout V h_T + c on top)."""
    loss, grads, dstate0 = core_readout.loss_and_grad(core_of(cfg, backend), params, x, y, cfg, state0)
    out = dict(grads, loss=loss)
    if dstate0 is not None:
        out.update({f"d{f}_0": v for f, v in zip(dstate0._fields, dstate0, strict=True)})
    return out


def random_state(core, cfg, batch: int, rng):
    zero = core.zero_state(cfg, batch, cfg.np_dtype)
    return core.state_class(*(rng.standard_normal(part.shape).astype(cfg.np_dtype) for part in zero))


def make_case(name: str, seed: int, B: int, T: int, H: int, I: int, O: int = 3, **options):
    """(cfg, params with readout V (O, H), c, x, y, rng) around the core's initialisation."""
    core = get_core(name)
    cfg = core.make_config(I, H, O, **options)
    rng = np.random.default_rng(seed)
    params = core_readout.init_model_params(core, cfg, O, seed)
    params = {k: (v + 0.3 * rng.standard_normal(v.shape)).astype(cfg.np_dtype) for k, v in params.items()}
    x = rng.standard_normal((B, T, I)).astype(cfg.np_dtype)
    y = rng.integers(0, O, B)
    return cfg, params, x, y, rng


def without_readout(params: dict) -> dict:
    return {k: v for k, v in params.items() if k not in core_readout.READOUT_NAMES}


def check_sequence(name, seed, B, T, H, I, with_state, with_dstate, **options):
    cfg, params, x, _, rng = make_case(name, seed, B, T, H, I, **options)
    core = core_of(cfg)
    state0 = random_state(core, cfg, B, rng) if with_state else None
    dhs = rng.standard_normal((B, T, H)).astype(cfg.np_dtype)
    dstate = random_state(core, cfg, B, rng) if with_dstate else None
    assert_backends_agree(sequence_results, cfg, without_readout(params), x, state0, dhs, dstate)


# ------------------------------------------------------------------- hypothesis: all options
options = st.fixed_dictionaries({"dtype": st.sampled_from(["float64", "float32"]), "layer_norm": st.booleans()})
sizes = st.tuples(st.integers(1, 5), st.integers(1, 6), st.integers(1, 7), st.integers(1, 5))


def usable(H: int, opts: dict) -> bool:
    """Layer norm over H <= 2 units is pure cancellation, beyond float32 (tests/test_numba_backend.py)."""
    return H > 2 or opts["dtype"] == "float64" or not opts["layer_norm"]


@pytest.mark.parametrize("name", CORES)
@settings(max_examples=examples(40))
@given(sizes=sizes, opts=options, with_state=st.booleans(), with_dstate=st.booleans(), seed=st.integers(0, 2**16))
def test_sequence_forward_backward_equal_reference(name, sizes, opts, with_state, with_dstate, seed):
    B, T, H, I = sizes
    assume(usable(H, opts))
    check_sequence(name, seed, B, T, H, I, with_state, with_dstate, **opts)


@pytest.mark.parametrize("name", CORES)
@settings(max_examples=examples(15))
@given(sizes=sizes, opts=options, with_state=st.booleans(), seed=st.integers(0, 2**16))
def test_loss_and_grad_equal_reference(name, sizes, opts, with_state, seed):
    B, T, H, I = sizes
    assume(usable(H, opts))
    cfg, params, x, y, rng = make_case(name, seed, B, T, H, I, **opts)
    state0 = random_state(core_of(cfg), cfg, B, rng) if with_state else None
    assert_backends_agree(loss_results, cfg, params, x, y, state0)


# ------------------------------------------------------------------------- named edge cases
@pytest.mark.parametrize("name", CORES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("layer_norm", [False, True])
@pytest.mark.parametrize("sizes", [(1, 1, 4, 3), (1, 5, 3, 2), (4, 1, 5, 1)], ids=["B1-T1", "B1", "T1"])
def test_edge_cases_equal_reference(name, dtype, layer_norm, sizes):
    B, T, H, I = sizes
    for with_state in (False, True):
        check_sequence(name, 7, B, T, H, I, with_state, with_state, dtype=dtype, layer_norm=layer_norm)


@pytest.mark.parametrize("name", CORES)
@pytest.mark.parametrize("layer_norm", [False, True])
def test_paper_sizes_equal_reference(name, layer_norm):
    """One batch at the associative-retrieval sizes (B = 128, T = 11, I = 100 embedding, R = 50), float32."""
    check_sequence(name, 3, 128, 11, 50, 100, False, False, dtype="float32", layer_norm=layer_norm)


def test_irnn_one_hot_inputs_equal_reference():
    """One-hot x takes the fast-weights backend's gather instead of the product C x_t."""
    cfg, params, _, _, rng = make_case("irnn", 4, 3, 5, 6, 4, layer_norm=True)
    x = np.eye(4)[rng.integers(0, 4, (3, 5))]
    dhs = rng.standard_normal((3, 5, 6))
    assert_backends_agree(sequence_results, cfg, without_readout(params), x, None, dhs, None)


@pytest.mark.parametrize("name", CORES)
def test_carried_state_continues_a_run(name):
    cfg, params, x, _, _ = make_case(name, 5, 3, 6, 5, 3, layer_norm=True)
    core, params = core_of(cfg, "numba"), without_readout(params)
    (hs, state), _ = core.sequence_forward(params, x, cfg)
    (hs1, mid), _ = core.sequence_forward(params, x[:, :3], cfg)
    (hs2, end), _ = core.sequence_forward(params, x[:, 3:], cfg, mid)
    np.testing.assert_allclose(np.concatenate([hs1, hs2], axis=1), hs, rtol=1e-12, atol=1e-14)
    for part, whole in zip(end, state, strict=True):
        np.testing.assert_allclose(part, whole, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", CORES)
@pytest.mark.parametrize("layer_norm", [False, True])
def test_numba_gradients_match_finite_differences(name, layer_norm):
    """The reference's gradient check (docs/baselines.md §5), run through the Numba backend."""
    cfg, params, x, y, rng = make_case(name, 2, 2, 4, 5, 3, layer_norm=layer_norm)
    state0 = random_state(core_of(cfg), cfg, 2, rng)
    report = check_core(core_of(cfg, "numba"), params, x, y, cfg, state0)
    assert report.passed, report.table()


# ------------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("name", CORES)
@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_inputs_raise_the_reference_errors(name, case):
    cfg, params, x, y, rng = make_case(name, 0, 2, 3, 4, 3, O=2)  # test_cores' sizes
    change, error, message = BAD_INPUTS[case]
    params, x, y, state0 = change(params, x, y, random_state(core_of(cfg), cfg, 2, rng))
    with pytest.raises(error, match=message) as ref:
        core_readout.loss_and_grad(core_of(cfg), params, x, y, cfg, state0)
    with pytest.raises(error) as nb:
        core_readout.loss_and_grad(core_of(cfg, "numba"), params, x, y, cfg, state0)
    assert str(nb.value) == str(ref.value)


@pytest.mark.parametrize("name", CORES)
def test_sequence_level_bad_inputs_are_caught_before_the_kernels(name):
    cfg, params, x, _, rng = make_case(name, 0, 2, 3, 4, 3)
    core, params = core_of(cfg, "numba"), without_readout(params)
    with pytest.raises(ValueError, match=r"x must have shape \(any, any, 3\)"):
        core.sequence_forward(params, x[:, :, :2], cfg)
    with pytest.raises(ValueError, match="x must not have an empty axis"):
        core.sequence_forward(params, x[:, :0], cfg)
    with pytest.raises(ValueError, match=r"params\['W'\] must have shape"):
        core.sequence_forward(dict(params, W=params["W"][:, :2]), x, cfg)
    with pytest.raises(ValueError, match=r"missing \['b'\]"):
        core.sequence_forward({k: v for k, v in params.items() if k != "b"}, x, cfg)
    bad_state = type(core.zero_state(cfg, 2, cfg.np_dtype))(*(np.zeros((1, 4)) for _ in core.state_class._fields))
    with pytest.raises(ValueError, match=r"state0.h must have shape \(2, 4\)"):
        core.sequence_forward(params, x, cfg, bad_state)
    _, cache = core.sequence_forward(params, x, cfg)
    with pytest.raises(ValueError, match=r"dhs must have shape \(2, 3, 4\)"):
        core.sequence_backward((np.zeros((2, 3, 5)), None), cache)
    with pytest.raises(ValueError, match=r"dstate.h must have shape \(2, 4\)"):
        core.sequence_backward((np.zeros((2, 3, 4)), bad_state), cache)
    with pytest.raises(TypeError, match="dstate must be a"):
        core.sequence_backward((np.zeros((2, 3, 4)), np.zeros((2, 4))), cache)
    other = get_core("lstm" if name == "irnn" else "irnn").make_config(3, 4, 3)
    with pytest.raises(TypeError, match=f"cfg must be a {core.config_class.__name__} for core '{name}'"):
        core.sequence_forward(params, x, other)
    with pytest.raises(TypeError, match=f"cache must be what the '{name}' core's sequence_forward .* got a tuple, not"):
        core.sequence_backward((np.zeros((2, 3, 4)), None), tuple(cache))
    _, reference_cache = core_of(cfg).sequence_forward(params, x, cfg)
    with pytest.raises(TypeError, match=r"\(backend 'numba'\) returned, got a tuple, one from .* \(backend 'numpy'\)"):
        core.sequence_backward((np.zeros((2, 3, 4)), None), reference_cache)


# ---------------------------------------------------------------------- config and compiling
@pytest.mark.parametrize("name", CORES)
def test_backend_is_chosen_with_the_core_not_the_config(name):
    config_class = get_core(name).config_class
    assert "backend" not in config_class(3, 4).to_json()
    numba = get_core(name, backend="numba")
    assert numba.backend == "numba" and get_core(name).backend == "numpy"
    assert numba.config_class is config_class and numba.name == name


def test_alstm_refuses_numba_by_name():
    assert get_core("alstm").backend == "numpy"
    with pytest.raises(ValueError, match=r"backend 'numba' has the cores \('fw', 'irnn', 'lstm'\), not 'alstm'"):
        get_core("alstm", backend="numba")


def test_one_compiled_signature_per_dtype():
    """Layer norm, sizes and carried state are run-time arguments: they never recompile."""
    for name in CORES:
        for dtype in ("float64", "float32"):
            for layer_norm, with_state in ((False, False), (True, True)):
                check = {"dtype": dtype, "layer_norm": layer_norm}
                cfg, params, x, _, rng = make_case(name, 1, 2, 3, 4, 3, **check)
                core = core_of(cfg, "numba")
                state0 = random_state(core, cfg, 2, rng) if with_state else None
                (hs, state), cache = core.sequence_forward(without_readout(params), x, cfg, state0)
                core.sequence_backward((hs, state), cache)
    compiled = (  # the IRNN runs in the attention form's kernels
        kernels.attention_forward_kernel,
        kernels.attention_backward_kernel,
        lstm.lstm_forward_kernel,
        lstm.lstm_backward_kernel,
    )
    for kernel in compiled:
        dtypes = {signature_dtype(sig) for sig in kernel.signatures}
        assert len(kernel.signatures) == len(dtypes) <= 2, kernel.signatures


# ---------------------------------------------------------------------------- the train CLI
@pytest.mark.parametrize("name", CORES)
def test_train_cli_runs_on_numba(tmp_path, capsys, name):
    run = tmp_path / name
    args = ["train", "assoc", "--core", name, "--backend", "numba", "--hidden", "8", "--steps", "3",
            "--eval-every", "3", "--train-size", "200", "--val-size", "50", "--test-size", "50", "--out", str(run),
            "--no-progress"]
    assert main(args) == 0
    assert "test error" in capsys.readouterr().out
    info = json.loads((run / "run.json").read_text())
    assert info["options"]["backend"] == "numba"
    assert "backend" not in info["model"]["core_options"]  # the backend is no field of the core's config


def test_train_cli_backend_defaults_and_alstm_error(tmp_path, capsys):
    """--backend defaults to numpy for the baselines (their kernels are not faster, docs/performance.md)."""
    for name, backend in (("fw", "numba"), ("irnn", "numpy"), ("lstm", "numpy"), ("alstm", "numpy")):
        run = tmp_path / name
        args = ["train", "assoc", "--core", name, "--hidden", "4", "--steps", "1", "--eval-every", "1", "--batch-size",
                "10", "--train-size", "100", "--val-size", "10", "--test-size", "10", "--out", str(run),
                "--no-progress"]
        assert main(args) == 0
        assert (json.loads((run / "run.json").read_text())["options"]["backend"] or "numpy") == backend
    capsys.readouterr()
    args = ["train", "assoc", "--core", "alstm", "--backend", "numba", "--out", str(tmp_path / "a"), "--steps", "2"]
    assert main(args) == 2
    assert "--backend numba is available for the fw, irnn, lstm cores only, not for alstm" in capsys.readouterr().err


@pytest.mark.parametrize("name", CORES)
def test_task_model_equal_on_both_backends(name):
    """The associative-retrieval model (embedding, core, ReLU layer, softmax) on either backend."""
    cfg = AssocModelConfig(core=name, hidden_size=6, embed_size=5, fc_size=4)
    models = [AssocModel(cfg, backend=b) for b in ("numpy", "numba")]
    assert [m.core.backend for m in models] == ["numpy", "numba"]
    params = models[0].init_params(0)
    x = np.random.default_rng(0).integers(0, models[0].cfg.vocab_size, (3, 7))
    y = np.array([0, 5, 9])
    (loss, grads), (loss_nb, grads_nb) = (m.loss_and_grad(params, x, y) for m in models)
    assert abs(loss_nb - loss) <= 1e-12 * abs(loss)
    for k in grads:
        np.testing.assert_allclose(grads_nb[k], grads[k], rtol=1e-10, atol=1e-13, err_msg=k)
