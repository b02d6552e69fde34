"""Non-finite values are found, never returned (``fastweights_np.finite``), and the gradients
have the config's dtype.

The overflow case is the one of the report: no layer norm, λ = η = 1; h_t goes infinite at
t = 12 (inner step s = 1), the loss stays a plausible ln 3 and the gradients were NaN. Every
backend's core (``get_core``) and the canonical model (``loss_and_grad``) must raise
NonFiniteError naming the tensor, t, the example, s and what to try, without NumPy warnings.
"CupyStandIn" runs the CuPy backend's code with array-api-strict arrays on the CPU; the real
CuPy runs only where CuPy and a GPU are usable.
"""

import contextlib
import re
import warnings

import numpy as np
import pytest

import fastweights_np as fw
from fastweights_np import get_core
from fastweights_np.backends import numba as numba_backend
from fastweights_np.backends.cupy import cupy_status
from fastweights_np.cores.fast_weights import CORE_PARAM_NAMES
from fastweights_np.cores.registry import get_core as reference_core
from fastweights_np.finite import NonFiniteError, check_backward, check_forward, check_gradients
from fastweights_np.models.canonical import reference_loss_and_grad

CUPY_USABLE, CUPY_REASON = cupy_status()
needs_cupy = pytest.mark.skipif(not CUPY_USABLE, reason=f"CuPy backend not usable here: {CUPY_REASON}")
BACKENDS = ["numpy", "numba", pytest.param("cupy", marks=needs_cupy), "cupy-stand-in"]


@pytest.fixture
def backend(request, monkeypatch):
    """The backend's name; "cupy-stand-in" is "cupy" computed with array-api-strict arrays."""
    if request.param != "cupy-stand-in":
        return request.param
    xps = pytest.importorskip("array_api_strict", reason="array-api-strict is not installed (pip install '.[test]')")
    pytest.importorskip("array_api_compat", reason="array-api-compat is not installed (pip install '.[test]')")
    monkeypatch.setattr("fastweights_np.backends.cupy.cupy_namespace", lambda: xps)
    return "cupy"


def with_backends(*names):
    return pytest.mark.parametrize("backend", names or BACKENDS, indirect=True)


@contextlib.contextmanager
def no_runtime_warnings():
    """Fail if NumPy (or anything) warns about overflow or invalid values inside the block."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    assert [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)] == []


def overflow_case(T=2000, **options):
    """The report's case (B = 2, T = 2000, I = 5, H = 4, O = 3): cfg, core params, params, x, y."""
    cfg = fw.FastWeightsConfig(
        input_size=5, hidden_size=4, output_size=3, **{"decay": 1.0, "fast_lr": 1.0, "layer_norm": False, **options}
    )
    params = fw.init_params(cfg, 0)
    x = np.random.default_rng(0).standard_normal((2, 2000, 5))[:, :T].astype(cfg.np_dtype)
    return cfg, {name: params[name] for name in CORE_PARAM_NAMES}, params, x, np.array([0, 1])


def assert_parts(message: str, *parts: str) -> None:
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"


FORWARD_ADVICE = ("Try: layer_norm=True", "a smaller decay λ or fast_lr η", "smaller inputs x", "--clip")
GRADIENT_ADVICE = ("Try: gradient clipping (--clip)", "a lower learning rate", "a smaller decay λ or fast_lr η")


# ------------------------------------------------------------------- the report's overflow
@with_backends()
@pytest.mark.parametrize(("options", "t", "s", "S"), [({}, 12, 1, 1), ({"inner_steps": 2, "fast_lr": 0.1}, 20, 2, 2)])
def test_core_forward_names_h_t_the_step_the_example_and_the_inner_step(backend, options, t, s, S):
    cfg, core_params, _, x, _ = overflow_case(T=40, **options)
    core = get_core("fw", backend)
    with no_runtime_warnings(), pytest.raises(NonFiniteError) as info:
        core.sequence_forward(core_params, x, cfg)
    assert isinstance(info.value, FloatingPointError)
    assert_parts(
        str(info.value), f"non-finite hidden state in the 'fw' core's sequence_forward (backend {backend!r})",
        f"h_t is inf at t = {t} of T = 40, example 1 of B = 2", f"inner step s = {s} of S = {S} (h_t^({s}))",
        *FORWARD_ADVICE,
    )


@with_backends()
def test_loss_and_grad_raises_instead_of_a_plausible_loss_with_nan_gradients(backend):
    """At T = 2000 the loss is ln 3 (h_T = 0); the GPU stand-in runs the first 40 steps only."""
    T = 40 if backend == "cupy" else 2000
    cfg, _, params, x, y = overflow_case(T)
    with no_runtime_warnings(), pytest.raises(NonFiniteError) as info:
        fw.loss_and_grad(params, x, y, cfg, backend=backend)
    assert_parts(
        str(info.value), f"non-finite hidden state in loss_and_grad (backend {backend!r})",
        f"h_t is inf at t = 12 of T = {T}, example 1 of B = 2", "inner step s = 1 of S = 1",
        "the loss is 1.098" if T == 2000 else "the loss is", "non-finite gradients: W, C, b, decay, fast_lr",
        *FORWARD_ADVICE,
    )
    with no_runtime_warnings(), pytest.raises(NonFiniteError, match=rf"h_t is inf at t = 12 of T = {T}"):
        fw.hidden_states(params, x, cfg, backend=backend)


@with_backends("numpy", "numba")
@pytest.mark.parametrize("form", ["matrix", "attention"])
def test_a_gradient_that_overflows_going_backwards_names_its_step(backend, form):
    """float32, forward finite, an upstream gradient near float32's maximum on h_3 only: the
    backward overflows there, so dx is non-finite at t <= 3 and finite after."""
    cfg = fw.FastWeightsConfig(input_size=3, hidden_size=4, output_size=2, dtype="float32", form=form)
    core = get_core("fw", backend)
    params = core.init_core_params(cfg, 0)
    x = np.random.default_rng(0).standard_normal((2, 6, 3)).astype(np.float32)
    (hs, _), cache = core.sequence_forward(params, x, cfg)
    dhs = np.zeros_like(hs)
    dhs[:, 2] = 3e38
    with no_runtime_warnings(), pytest.raises(NonFiniteError) as info:
        core.sequence_backward((dhs, None), cache)
    assert_parts(
        str(info.value), f"non-finite gradient in the 'fw' core's sequence_backward (backend {backend!r})",
        "grads['W'] holds nan", "grads['decay'] is nan", "dx holds",
        "going backwards the gradient first becomes non-finite at t = 3 of T = 6", *GRADIENT_ADVICE,
    )


@with_backends("numpy", "numba")
@pytest.mark.parametrize("name", ["irnn", "lstm"])
def test_baseline_cores_name_the_step_and_the_example(backend, name):
    """IRNN without LN, W = 1e100·I: h_t grows 1e100 per step and is inf at t = 5. LSTM with LN
    in float32, C at 3e38: C x_t overflows where x_t = 1 (example 1, t >= 5) and LN makes NaN."""
    core = get_core(name, backend)
    if name == "irnn":
        cfg = core.make_config(3, 4, 2, layer_norm=False)
        params = core.init_core_params(cfg, 0)
        params["W"] = 1e100 * np.eye(4)
        x, expected = np.ones((2, 8, 3)), "h_t is inf at t = 5 of T = 8, example 0 of B = 2"
    else:
        cfg = core.make_config(3, 4, 2, layer_norm=True, dtype="float32")
        params = core.init_core_params(cfg, 0)
        params["C"] = np.full_like(params["C"], 3e38)
        x = np.zeros((2, 8, 3), np.float32)
        x[1, 4:] = 1
        expected = "h_t is nan at t = 5 of T = 8, example 1 of B = 2"
    with no_runtime_warnings(), pytest.raises(NonFiniteError) as info:
        core.sequence_forward(params, x, cfg)
    message = str(info.value)
    assert_parts(message, f"the {name!r} core's sequence_forward (backend {backend!r})", expected, "--clip")
    assert "inner step" not in message and "fast_lr" not in message
    assert ("layer_norm=True" in message) == (not cfg.layer_norm)


# ---------------------------------------------------------------- the checks on their own
def test_check_gradients_names_every_non_finite_parameter():
    W = np.ones((3, 4), np.float32)
    W[1, 2] = np.nan
    grads = {"W": W, "b": np.zeros(4), "decay": np.float32(np.inf), "fast_lr": -float("inf"), "c": 0.5}
    with pytest.raises(NonFiniteError) as info:
        check_gradients(grads, "training step 1234")
    message = str(info.value)
    assert_parts(
        message, "non-finite gradient in training step 1234", "grads['W'] holds nan at index (1, 2) (1 of 12",
        "grads['decay'] is inf", "grads['fast_lr'] is -inf", *GRADIENT_ADVICE,
    )
    assert "grads['b']" not in message and "grads['c']" not in message
    assert check_gradients({"W": np.ones(3), "decay": np.float64(1.0), "fast_lr": 2.0}, "step 1") is None


def test_a_non_finite_final_state_or_dstate0_is_named():
    hs = np.zeros((2, 3, 4))
    A = np.zeros((2, 4, 4))
    A[1, 2, 3] = np.inf
    with pytest.raises(NonFiniteError, match=re.escape("the final state's A is not: A_T holds inf at index (1, 2, 3)")):
        check_forward(hs, fw.FastWeightsState(hs[:, -1], A), "a test")
    with pytest.raises(NonFiniteError, match=re.escape("dstate0.A holds inf at index (1, 2, 3)")):
        check_backward({"W": np.zeros((4, 4))}, np.zeros((2, 3, 5)), fw.FastWeightsState(hs[:, 0], A), "a test")


# ------------------------------------------------------------- finite runs are unchanged
def test_finite_runs_return_exactly_what_the_unchecked_code_returns():
    cfg = fw.FastWeightsConfig(input_size=3, hidden_size=4, output_size=2, inner_steps=2)
    params = fw.init_params(cfg, 1)
    core_params = {name: params[name] for name in CORE_PARAM_NAMES}
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((3, 5, 3)), np.array([0, 1, 1])
    state0 = fw.FastWeightsState(rng.standard_normal((3, 4)), rng.standard_normal((3, 4, 4)))
    dout = (rng.standard_normal((3, 5, 4)), fw.FastWeightsState(rng.standard_normal((3, 4)), np.ones((3, 4, 4))))
    unchecked = {"numpy": reference_core("fw"), "numba": numba_backend.core(reference_core("fw"))}
    for backend, raw in unchecked.items():
        checked = get_core("fw", backend)
        assert checked.sequence_forward is not raw.sequence_forward  # a copy whose functions check
        (hs, state), cache = checked.sequence_forward(core_params, x, cfg, state0)
        (hs0, state_0), cache0 = raw.sequence_forward(core_params, x, cfg, state0)
        np.testing.assert_array_equal(hs, hs0)
        np.testing.assert_array_equal(state.A, state_0.A)
        grads, dx, dstate0 = checked.sequence_backward(dout, cache)
        grads0, dx0, dstate0_0 = raw.sequence_backward(dout, cache0)
        assert grads.keys() == grads0.keys()
        for name in grads:
            np.testing.assert_array_equal(grads[name], grads0[name])
        np.testing.assert_array_equal(dx, dx0)
        np.testing.assert_array_equal(dstate0.A, dstate0_0.A)
    for backend, raw in (("numpy", reference_loss_and_grad), ("numba", numba_backend.model_loss_and_grad)):
        loss, grads = fw.loss_and_grad(params, x, y, cfg, backend=backend)
        loss0, grads0 = raw(params, x, y, cfg)
        assert loss == loss0
        for name in grads:
            np.testing.assert_array_equal(grads[name], grads0[name])


# ---------------------------------------------------------------------- gradient dtypes
@with_backends()
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("form", ["matrix", "attention"])
def test_every_gradient_has_the_configs_dtype(backend, dtype, form):
    cfg = fw.FastWeightsConfig(input_size=3, hidden_size=4, output_size=2, dtype=dtype, form=form)
    params = fw.init_params(cfg, 0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 3)).astype(dtype)
    _, grads = fw.loss_and_grad(params, x, np.array([0, 1]), cfg, backend=backend)
    core = get_core("fw", backend)
    core_params = {name: params[name] for name in CORE_PARAM_NAMES}
    (hs, _), cache = core.sequence_forward(core_params, x, cfg)
    core_grads, dx, _ = core.sequence_backward((np.ones_like(hs), None), cache)
    for where, found in (("loss_and_grad", grads), ("sequence_backward", {**core_grads, "dx": dx})):
        assert {name: np.asarray(g).dtype for name, g in found.items()} == dict.fromkeys(found, np.dtype(dtype)), where
        for name in ("decay", "fast_lr"):
            assert isinstance(found[name], np.floating) and isinstance(float(found[name]), float), (where, name)


def test_a_float64_input_beyond_float32s_range_is_refused_by_a_float32_model():
    """The dtype rule converts first and checks after: 1e39 is finite in float64, inf in float32."""
    from fastweights_np.validation import check_float_array

    with pytest.raises(ValueError, match=r"x must be finite in float32, found 1e\+39 at index \(0, 1\)"):
        check_float_array("x", np.array([[0.0, 1e39]]), (1, 2), np.float32)
    assert check_float_array("x", np.array([[0.0, 1e38]]), (1, 2), np.float32).dtype == np.float32
