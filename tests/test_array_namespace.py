"""The array-namespace discipline, proven on the CPU with array-api-strict, and the CuPy path.

array-api-strict implements only what the array API standard specifies, so the reference
running on its arrays shows that the code uses nothing else (no einsum, no ndarray methods, no
NumPy-only indexing). Its arithmetic is NumPy's, so the results must equal the NumPy run bit
for bit. The CuPy tests run only where CuPy and a GPU are usable.
"""

import functools
import itertools

import numpy as np
import pytest

from fastweights_np import FastWeightsConfig, get_core, hidden_states, init_params, loss_and_grad, ops
from fastweights_np.array_namespace import namespace, run_in_namespace, to_namespace, to_numpy
from fastweights_np.backends.cupy import BackendUnavailableError, cupy_status
from fastweights_np.cores.fast_weights import FastWeightsState, sequence_backward, sequence_forward
from fastweights_np.cores.fast_weights.config import ACTIVATIONS, TIMINGS
from fastweights_np.models.canonical import forward_record, loss_and_grad_unchecked, loss_backward, loss_forward
from fastweights_np.optim import AdamConfig, adam_init, adam_step
from fastweights_np.oracle import compare, golden_vectors

xps = pytest.importorskip("array_api_strict", reason="array-api-strict is not installed (pip install '.[test]')")
pytest.importorskip("array_api_compat", reason="array-api-compat is not installed (pip install '.[test]')")

CUPY_USABLE, CUPY_REASON = cupy_status()
needs_cupy = pytest.mark.skipif(not CUPY_USABLE, reason=f"CuPy backend not usable here: {CUPY_REASON}")


def _problem(cfg, B=2, T=4, seed=0):
    rng = np.random.default_rng(seed)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in init_params(cfg, seed).items()}
    return params, rng.standard_normal((B, T, cfg.input_size)), rng.integers(0, cfg.output_size, B), rng


def _cfg(**kw):
    return FastWeightsConfig(input_size=3, hidden_size=5, output_size=3, inner_steps=2, **kw)


def _assert_same(a, b, what=""):
    """Equal structure, and bit-equal arrays (after moving ``b`` to NumPy)."""
    b = to_numpy(b)
    if isinstance(a, dict):
        assert set(a) == set(b), what
        for k in a:
            _assert_same(a[k], b[k], f"{what}[{k}]")
    elif isinstance(a, tuple | list):
        for i, (u, v) in enumerate(zip(a, b, strict=True)):
            _assert_same(u, v, f"{what}[{i}]")
    elif a is None:
        assert b is None, what
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=what)


def test_namespace_of_numpy_arrays_is_numpy():
    assert namespace(np.zeros(2), None, 1.5, np.float64(2.0)) is np


def test_namespace_of_strict_arrays_is_array_api_strict():
    assert namespace(xps.asarray([1.0]), None) is xps


def test_mixed_namespaces_are_refused():
    with pytest.raises(TypeError):
        namespace(np.zeros(2), xps.asarray([1.0]))


def test_conversions_keep_the_structure():
    tree = {"p": np.arange(3.0), "s": FastWeightsState(np.ones(2), np.zeros((2, 2))), "n": None, "f": 0.5}
    moved = to_namespace(tree, xps)
    assert isinstance(moved["s"], FastWeightsState) and namespace(moved["s"].h) is xps
    assert moved["f"] == 0.5 and moved["n"] is None
    _assert_same(tree, moved)


@pytest.mark.parametrize("timing, form", list(itertools.product(TIMINGS, ("matrix", "attention"))))
def test_model_under_array_api_strict_equals_numpy(timing, form):
    for activation, ln_preliminary in zip(ACTIVATIONS, (False, True), strict=True):
        cfg = _cfg(fast_weight_timing=timing, form=form, activation=activation, ln_preliminary=ln_preliminary)
        params, x, y, _ = _problem(cfg)
        loss, cache = loss_forward(params, x, y, cfg)
        s_params, s_x, s_y = to_namespace((params, x, y), xps)
        s_loss, s_cache = loss_forward(s_params, s_x, s_y, cfg)
        assert namespace(forward_record(s_cache)["h_inner"]) is xps
        assert s_loss == loss
        _assert_same(forward_record(cache), forward_record(s_cache), "record")
        _assert_same(loss_backward(cache), loss_backward(s_cache), "grads")


@pytest.mark.parametrize("timing, form", list(itertools.product(TIMINGS, ("matrix", "attention"))))
def test_sequence_with_carried_state_under_array_api_strict_equals_numpy(timing, form):
    cfg = _cfg(fast_weight_timing=timing, form=form)
    params, x, _, rng = _problem(cfg, T=3)
    core = {k: params[k] for k in ("W", "C", "b", "g", "beta")}
    state0 = FastWeightsState(rng.standard_normal((2, 5)), 0.2 * rng.standard_normal((2, 5, 5)))
    dout = (rng.standard_normal((2, 3, 5)), FastWeightsState(rng.standard_normal((2, 5)),
                                                             rng.standard_normal((2, 5, 5))))
    out, cache = sequence_forward(core, x, cfg, state0)
    s_out, s_cache = sequence_forward(*to_namespace((core, x, cfg, state0), xps))
    _assert_same(out, s_out, "forward")
    _assert_same(sequence_backward(dout, cache), sequence_backward(to_namespace(dout, xps), s_cache), "backward")


def test_adam_under_array_api_strict_equals_numpy():
    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal((3, 3)), "b": rng.standard_normal(3)}
    grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
    hp = AdamConfig(lr=0.01)
    new, state = adam_step(params, grads, adam_init(params), hp)
    s_new, s_state = adam_step(*to_namespace((params, grads), xps), adam_init(to_namespace(params, xps)), hp)
    _assert_same(new, s_new)
    _assert_same((state.m, state.v), (s_state.m, s_state.v))


def _op_cases():
    """(name, forward, backward, inputs, upstream shape) for every op of ``fastweights_np.ops``."""
    rng = np.random.default_rng(3)
    r = rng.standard_normal
    m, S = 3, 4
    index = np.stack([np.concatenate([p, p + m]) for p in (rng.permutation(m) for _ in range(S))])
    return [
        ("affine", ops.affine_forward, ops.affine_backward, (r((2, 3, 4)), r((5, 4)), r(5)), (2, 3, 5)),
        ("embedding", ops.embedding_forward, ops.embedding_backward, (rng.integers(0, 6, (2, 3)), r((6, 4))),
         (2, 3, 4)),
        ("relu", ops.relu_forward, ops.relu_backward, (r((2, 3, 4)),), (2, 3, 4)),
        ("activation", functools.partial(ops.activation_forward, use_ln=True, eps=1e-5, activation="tanh"),
         ops.activation_backward, (r((2, 3, 4)), r(4), r(4)), (2, 3, 4)),
        ("tanh", ops.tanh_forward, ops.tanh_backward, (r((2, 3, 4)),), (2, 3, 4)),
        ("sigmoid", ops.sigmoid_forward, ops.sigmoid_backward, (40 * r((2, 3, 4)),), (2, 3, 4)),
        ("layernorm", functools.partial(ops.layernorm_forward, eps=1e-5), ops.layernorm_backward,
         (r((2, 3, 4)), r(4), r(4)), (2, 3, 4)),
        ("complex_mul", ops.complex_mul_forward, ops.complex_mul_backward,
         (r((2, 3, 2 * m)), r((3, 2 * m))), (2, 3, 2 * m)),
        ("complex_mul, broadcast", ops.complex_mul_forward, ops.complex_mul_backward,
         (r((2, 1, 2 * m)), r((2, 3, 2 * m))), (2, 3, 2 * m)),
        ("complex_bound", ops.complex_bound_forward, ops.complex_bound_backward, (2 * r((2, 3, 2 * m)),),
         (2, 3, 2 * m)),
        ("complex_scale", ops.complex_scale_forward, ops.complex_scale_backward, (r((2, 1, m)), r((2, 3, 2 * m))),
         (2, 3, 2 * m)),
        ("copy_permute", ops.copy_permute_forward, ops.copy_permute_backward, (r((2, 3, 2 * m)), index),
         (2, 3, S, 2 * m)),
    ]


@pytest.mark.parametrize("case", _op_cases(), ids=lambda case: case[0])
def test_op_under_array_api_strict_equals_numpy(case):
    _, forward, backward, inputs, dout_shape = case
    dout = np.random.default_rng(4).standard_normal(dout_shape)
    out, cache = forward(*inputs)
    s_out, s_cache = forward(*to_namespace(inputs, xps))
    assert namespace(s_out) is xps
    _assert_same(out, s_out, "forward")
    _assert_same(backward(dout, cache), backward(to_namespace(dout, xps), s_cache), "backward")


def test_ops_under_array_api_strict_cover_every_op():
    tested = {getattr(case[1], "func", case[1]).__name__ for case in _op_cases()}
    every = {name for name in ops.__all__ if name.endswith("_forward")}
    assert every - tested <= {"softmax_xent_forward"}  # returns a float loss; the model tests above run it


# ------------------------------------------------------------- the backend="cupy" dispatch
@pytest.fixture
def strict_as_gpu(monkeypatch):
    """Stand array-api-strict in for CuPy, so that the backend="cupy" dispatch runs on the CPU."""
    monkeypatch.setattr("fastweights_np.backends.cupy.cupy_namespace", lambda: xps)


def test_loss_and_grad_dispatch_moves_arrays_and_back(strict_as_gpu):
    cfg = _cfg(fast_weight_timing="preliminary", form="attention")
    params, x, y, _ = _problem(cfg)
    loss, grads = loss_and_grad(params, x, y, cfg, backend="cupy")
    assert all(isinstance(g, np.ndarray | float) for g in grads.values())
    _assert_same(loss_and_grad(params, x, y, cfg), (loss, grads))
    _assert_same(hidden_states(params, x, cfg), hidden_states(params, x, cfg, backend="cupy"))


def test_cupy_core_takes_and_gives_numpy_and_keeps_its_cache_on_the_device(strict_as_gpu):
    cfg = _cfg(form="attention")
    params, x, _, rng = _problem(cfg)
    core_params = {name: params[name] for name in ("W", "C", "b", "g", "beta")}
    reference, gpu = get_core("fw"), get_core("fw", backend="cupy")
    assert gpu.backend == "cupy"
    (hs, state), cache = gpu.sequence_forward(core_params, x, cfg)
    assert isinstance(hs, np.ndarray) and isinstance(state.A, np.ndarray)
    assert namespace(cache.rest[0][0]) is xps  # the drive's cache holds x as the device had it
    dhs = rng.standard_normal(hs.shape)
    (ref_hs, ref_state), ref_cache = reference.sequence_forward(core_params, x, cfg)
    _assert_same((ref_hs, ref_state), (hs, state), "forward")
    _assert_same(reference.sequence_backward((dhs, None), ref_cache), gpu.sequence_backward((dhs, None), cache))


def test_cupy_backend_has_only_the_fast_weights_core(strict_as_gpu):
    with pytest.raises(ValueError, match="backend 'cupy' has the cores \\('fw',\\), not 'lstm'"):
        get_core("lstm", backend="cupy")


def test_golden_export_dispatch_equals_the_numpy_golden(strict_as_gpu):
    cfg = _cfg(fast_weight_timing="lagged")
    golden = golden_vectors(cfg)
    moved = golden_vectors(cfg, backend="cupy")
    report = compare(golden, {k: v for k, v in moved.items() if k != "__manifest__"}, rtol=0.0, atol=0.0)
    assert report.passed, str(report)


def test_run_in_namespace_with_unchecked_functions():
    cfg = _cfg()
    params, x, y, _ = _problem(cfg)
    _assert_same(loss_and_grad_unchecked(params, x, y, cfg),
                 run_in_namespace(xps, loss_and_grad_unchecked, params, x, y, cfg))


# --------------------------------------------------------------------------------- CuPy
@pytest.mark.skipif(CUPY_USABLE, reason="CuPy is usable here; this checks the message when it is not")
def test_cupy_backend_says_why_it_cannot_run():
    cfg = _cfg()
    params, x, y, _ = _problem(cfg)
    with pytest.raises(BackendUnavailableError, match="backend='cupy' cannot run here: .*"):
        loss_and_grad(params, x, y, cfg, backend="cupy")
    assert CUPY_REASON


@needs_cupy
@pytest.mark.parametrize("timing, form", list(itertools.product(TIMINGS, ("matrix", "attention"))))
def test_cupy_backend_equals_numpy(timing, form):
    cfg = _cfg(fast_weight_timing=timing, form=form)
    params, x, y, _ = _problem(cfg, B=4, T=6)
    loss, grads = loss_and_grad(params, x, y, cfg)
    gpu_loss, gpu_grads = loss_and_grad(params, x, y, cfg, backend="cupy")
    assert gpu_loss == pytest.approx(loss, rel=1e-12)
    for k in grads:
        np.testing.assert_allclose(gpu_grads[k], grads[k], rtol=1e-10, atol=1e-13, err_msg=k)


@needs_cupy
def test_cupy_arrays_stay_on_the_gpu():
    import cupy

    cfg = _cfg()
    params, x, _, _ = _problem(cfg)
    core = {k: cupy.asarray(params[k]) for k in ("W", "C", "b", "g", "beta")}
    (hs, state), _ = sequence_forward(core, cupy.asarray(x), cfg)
    assert isinstance(hs, cupy.ndarray) and isinstance(state.A, cupy.ndarray)
    np.testing.assert_allclose(hs.get(), sequence_forward(params, x, cfg)[0][0], rtol=1e-12, atol=1e-14)


@needs_cupy
def test_cupy_golden_vectors_pass_the_numpy_golden():
    cfg = _cfg(hidden_size=8, input_size=4)
    report = compare(golden_vectors(cfg), {k: v for k, v in golden_vectors(cfg, backend="cupy").items()
                                           if k != "__manifest__"})
    assert report.passed, str(report)
