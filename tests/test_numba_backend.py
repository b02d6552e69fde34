"""The Numba backend computes what the NumPy reference computes.

Every value and every gradient of ``loss_and_grad(..., backend="numba")``, ``hidden_states``
and the core ``get_core("fw", backend="numba")``'s ``sequence_forward`` / ``sequence_backward``
(initial and final state, upstream gradients on every hidden state,
dx, dλ, dη), both forms, float64 to a relative 1e-10 and float32 to 1e-4 (per tensor, in the
2-norm), over hypothesis-drawn sizes and options; the same bad inputs raise the same errors.
"""

from __future__ import annotations

import re
import threading

import numpy as np
import pytest
from hypothesis import assume, given, reject, settings
from hypothesis import strategies as st

import fastweights_np as fw
from fastweights_np.backends import BACKENDS, get_core
from fastweights_np.backends.numba import kernels
from fastweights_np.backends.numba.inputs import one_hot_drive
from fastweights_np.backends.numba.readout import readout_rows
from fastweights_np.backends.numba.sequence import ForwardCache
from fastweights_np.backends.numba.workspace import release_workspace, thread_workspace
from fastweights_np.models.canonical import loss_and_grad_unchecked

TOL = {"float64": 1e-10, "float32": 1e-4}
# Rounding error is relative to the size of the terms a result is made of, not to the result:
# a gradient that cancels down to 1e-6 of the others carries the others' rounding. So each
# output of a group (all gradients; all forward values) is also allowed tol · 5% of the
# group's norm. Layer norm over H = 2 units is the extreme case: its output is ±g + β whatever
# the input, and its gradient is pure cancellation, which float32 amplifies past that; so
# float32 draws take H ≥ 3 (float64 draws keep H = 2).
GROUP_FLOOR = 0.05


# ----------------------------------------------------------------------------- helpers
def assert_close(name: str, actual, expected, dtype: str, noise: float = 0.0, floor: float = 0.0) -> None:
    """‖actual − expected‖₂ ≤ tol · max(‖expected‖₂, floor) + 2 · noise.

    ``noise`` (0 in float64) is how far float32 rounding alone moves the quantity: the larger
    of the float32 reference's distance from the float64 reference and the float64
    reference's change when every input moves by one float32 rounding. Where a quantity is
    ill-conditioned (say a gradient through layer norm over H = 2 nearly equal units) two
    float32 implementations may differ by that much, and no more.
    """
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, f"{name}: shape {a.shape} != {e.shape}"
    err = safe_norm(a - e)
    scale = max(safe_norm(e), floor)
    assert err <= TOL[dtype] * scale + 2 * noise, (
        f"{name}: error {err:.3e}, relative {err / max(scale, 1e-300):.3e}, float32 noise {noise:.3e} ({dtype})"
    )


def safe_norm(*arrays) -> float:
    """The 2-norm of all the arrays' entries together, scaled so that no square overflows
    (without layer norm, values near 1e154 are drawn; their squares would be inf)."""
    flat = np.concatenate([np.ravel(np.asarray(a, np.float64)) for a in arrays])
    top = float(np.max(np.abs(flat))) if flat.size else 0.0
    return top * float(np.sqrt(np.sum(np.square(flat / top)))) if top > 0 else 0.0


def reference(fn, *args):
    """Call the reference (``fn("numpy", *args)``); without layer norm the states can overflow,
    and such a draw is rejected. Only overflow is raised: a NaN needs an inf first, and OpenBLAS's
    multi-threaded float32 matmul can set the "invalid" flag on finite inputs (CI, 2026-12-04:
    ``test_edge_cases_equal_reference[sizes5-opts5-float32-attention]``, "invalid value
    encountered in matmul", not reproducible alone)."""
    try:
        with np.errstate(over="raise"):
            out = fn("numpy", *args)
    except FloatingPointError:
        reject()
    return out


def as_float64(a, rng=None):
    """Floating arrays in a nest of dicts and tuples as float64; with ``rng`` each entry also
    moves by a random relative amount of up to one float32 rounding (2⁻²⁴)."""
    if isinstance(a, dict):
        return {k: as_float64(v, rng) for k, v in a.items()}
    if isinstance(a, tuple):
        items = [as_float64(v, rng) for v in a]
        return type(a)(*items) if hasattr(a, "_fields") else tuple(items)
    if not (isinstance(a, np.ndarray) and a.dtype.kind == "f"):
        return a
    a = a.astype(np.float64)
    return a if rng is None else a * (1 + 2.0**-24 * rng.uniform(-1, 1, a.shape))


FORWARD_VALUES = ("loss", "hidden_states", "hs", "h_T", "A_T", "c_T")  # c_T: the LSTM's cell (test_numba_baselines)


def assert_backends_agree(results, cfg: fw.FastWeightsConfig, *args) -> None:
    """``results(backend, cfg, *args)`` (a dict of named outputs) is the same for the backends
    "numpy" and "numba"."""
    expected = reference(results, cfg, *args)
    actual = results("numba", cfg, *args)
    assert set(actual) == set(expected)
    noise = dict.fromkeys(expected, 0.0)
    if cfg.dtype == "float32":
        cfg64 = cfg.replace(dtype="float64")
        exact = reference(results, cfg64, *as_float64(args))
        moved = reference(results, cfg64, *as_float64(args, np.random.default_rng(0)))
        noise = {
            k: max(np.linalg.norm(np.float64(expected[k]) - exact[k]), np.linalg.norm(moved[k] - exact[k]))
            for k in expected
        }
    groups = [[k for k in expected if k in FORWARD_VALUES], [k for k in expected if k not in FORWARD_VALUES]]
    floor = {
        k: GROUP_FLOOR * safe_norm(*(expected[j] for j in g))
        for g in groups
        for k in g
    }
    for name in expected:
        if isinstance(expected[name], np.ndarray):
            assert actual[name].dtype == expected[name].dtype, name
        else:  # the loss (a float), dλ and dη (NumPy scalars of the config's dtype)
            assert type(actual[name]) is type(expected[name]), name
        assert_close(name, actual[name], expected[name], cfg.dtype, float(noise[name]), float(floor[name]))


def loss_results(backend, cfg, params, x, y) -> dict:
    """loss_and_grad's loss and gradients, and hidden_states, on ``backend``."""
    loss, grads = fw.loss_and_grad(params, x, y, cfg, backend=backend)
    return dict({"loss": loss, "hidden_states": fw.hidden_states(params, x, cfg, backend=backend)}, **grads)


def sequence_results(backend, cfg, params, x, state0, dhs, dstate) -> dict:
    """Everything the fw core's sequence_forward and sequence_backward return, on ``backend``."""
    core = get_core("fw", backend=backend)
    assert core.backend == backend
    (hs, state), cache = core.sequence_forward(params, x, cfg, state0)
    grads, dx, dstate0 = core.sequence_backward((dhs, dstate), cache)
    out = dict(grads, hs=hs, h_T=state.h, A_T=state.A, dx=dx)
    assert isinstance(cache, ForwardCache) == (backend == "numba")
    assert (dstate0 is None) == (state0 is None)
    if dstate0 is not None:
        out.update(dh_0=dstate0.h, dA_0=dstate0.A)
    return out


def make_case(seed: int, B: int, T: int, H: int, I: int, O: int, one_hot: bool, **options):
    """(reference cfg, params, x, y) with random parameters around the paper's init."""
    cfg = fw.FastWeightsConfig(I, H, O, **options)
    rng = np.random.default_rng(seed)
    dtype = cfg.np_dtype
    params = {k: (v + 0.3 * rng.standard_normal(v.shape)).astype(dtype) for k, v in fw.init_params(cfg).items()}
    if one_hot:
        x = np.eye(I, dtype=dtype)[rng.integers(0, I, (B, T))]
    else:
        x = rng.standard_normal((B, T, I)).astype(dtype)
    y = rng.integers(0, O, B)
    return cfg, params, x, y


FW_KERNELS = tuple(
    getattr(kernels, f"{form}_{kernel}_kernel")
    for form in ("matrix", "attention")
    for kernel in ("forward", "backward", "loss_and_grad")
)


def signature_dtype(signature) -> object:
    """The dtype of the first array of a compiled signature (grouped arguments are tuples)."""
    from numba import types

    return next(arg.dtype for arg in signature if isinstance(arg, types.Array))


def random_state(rng, B: int, H: int, dtype) -> fw.FastWeightsState:
    h = np.abs(rng.standard_normal((B, H))).astype(dtype)
    A = (0.2 * rng.standard_normal((B, H, H))).astype(dtype)
    return fw.FastWeightsState(h, A)


def check_sequence(cfg, params, x, with_state: bool, with_dstate: bool, seed: int) -> None:
    rng = np.random.default_rng(seed + 1)
    B, T, _ = x.shape
    H, dtype = cfg.hidden_size, cfg.np_dtype
    state0 = random_state(rng, B, H, dtype) if with_state else None
    dhs = rng.standard_normal((B, T, H)).astype(dtype)
    dstate = random_state(rng, B, H, dtype) if with_dstate else None
    assert_backends_agree(sequence_results, cfg, params, x, state0, dhs, dstate)


# ------------------------------------------------------------------- hypothesis: all options
options = st.fixed_dictionaries(
    {
        "form": st.sampled_from(["matrix", "attention"]),
        "dtype": st.sampled_from(["float64", "float32"]),
        "inner_steps": st.integers(0, 3),
        "layer_norm": st.booleans(),
        "ln_preliminary": st.booleans(),
        "decay": st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0)),
        "fast_lr": st.one_of(st.just(0.0), st.floats(0.0, 1.0)),
    }
)
sizes = st.tuples(st.integers(1, 5), st.integers(1, 6), st.integers(2, 7), st.integers(1, 5), st.integers(1, 4))


@settings(max_examples=60)
@given(sizes=sizes, opts=options, one_hot=st.booleans(), seed=st.integers(0, 2**16))
def test_loss_and_grad_equal_reference(sizes, opts, one_hot, seed):
    B, T, H, I, O = sizes
    assume(H > 2 or opts["dtype"] == "float64")
    assert_backends_agree(loss_results, *make_case(seed, B, T, H, I, O, one_hot, **opts))


@settings(max_examples=60)
@given(
    sizes=sizes,
    opts=options,
    one_hot=st.booleans(),
    with_state=st.booleans(),
    with_dstate=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_sequence_forward_backward_equal_reference(sizes, opts, one_hot, with_state, with_dstate, seed):
    B, T, H, I, O = sizes
    assume(H > 2 or opts["dtype"] == "float64")
    cfg, params, x, _ = make_case(seed, B, T, H, I, O, one_hot, **opts)
    check_sequence(cfg, params, x, with_state, with_dstate, seed)


# ------------------------------------------------------------------------- named edge cases
@pytest.mark.parametrize("form", ["matrix", "attention"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "sizes, opts",
    [
        ((1, 1, 4, 3, 2), {}),  # B = 1, T = 1
        ((3, 4, 5, 3, 2), {"inner_steps": 0}),
        ((2, 5, 6, 4, 3), {"inner_steps": 3, "ln_preliminary": True}),
        ((2, 4, 5, 3, 2), {"layer_norm": False, "ln_preliminary": True}),
        ((2, 4, 5, 3, 2), {"layer_norm": False}),
        ((3, 4, 5, 3, 2), {"decay": 0.0}),
        ((3, 4, 5, 3, 2), {"decay": 1.0, "fast_lr": 0.0}),
    ],
)
def test_edge_cases_equal_reference(form, dtype, sizes, opts):
    B, T, H, I, O = sizes
    cfg, params, x, y = make_case(7, B, T, H, I, O, True, form=form, dtype=dtype, **opts)
    assert_backends_agree(loss_results, cfg, params, x, y)
    for with_state in (False, True):
        check_sequence(cfg, params, x, with_state=with_state, with_dstate=with_state, seed=7)


def test_draw_near_overflow_is_compared():
    """Pinned hypothesis counterexample: without layer norm this draw's hidden states pass 1e154,
    whose squares overflowed in the tolerance (making it inf); norms are now scaled first."""
    opts = {"form": "matrix", "inner_steps": 2, "layer_norm": False, "decay": 0.0, "fast_lr": 1.0}
    cfg, params, x, y = make_case(3, 1, 6, 3, 3, 1, False, **opts)
    assert np.max(fw.hidden_states(params, x, cfg)) > 1e154  # the reference
    assert_backends_agree(loss_results, cfg, params, x, y)
    assert safe_norm(np.array([1e200, 1e200])) == pytest.approx(np.sqrt(2) * 1e200)


def test_confident_prediction_with_large_logits_keeps_its_loss_digits():
    """Pinned hypothesis counterexample (CI, 2026-12-02): without layer norm the logits reach
    ~1e4 and the loss is 5e-9; the compiled readout took log p = l − (m + log1p(Σ)), which
    rounded the loss and every gradient to relative 5e-9 of the reference's (l − m) − log1p(Σ)."""
    opts = {"form": "matrix", "inner_steps": 2, "layer_norm": False, "decay": 0.0, "fast_lr": 0.5}
    cfg, params, x, y = make_case(1198, 2, 4, 2, 5, 2, False, **opts)
    loss, _ = fw.loss_and_grad(params, x, y, cfg)
    assert 1e-9 < loss < 1e-8
    assert np.max(np.abs(fw.hidden_states(params, x, cfg))) > 1e4
    assert_backends_agree(loss_results, cfg, params, x, y)


@pytest.mark.parametrize("form", ["matrix", "attention"])
def test_paper_sizes_equal_reference(form):
    """One batch at the associative-retrieval sizes (B = 128, T = 11, I = 37, H = 50, O = 10)."""
    assert_backends_agree(loss_results, *make_case(3, 128, 11, 50, 37, 10, True, form=form, decay=0.9))


def test_carried_state_continues_a_run():
    """Two half runs carrying (h, A) give the one long run, in both forms, on the Numba backend."""
    core = get_core("fw", backend="numba")
    for form in ("matrix", "attention"):
        cfg, params, x, _ = make_case(5, 3, 6, 5, 3, 2, False, form=form)
        (hs, state), _ = core.sequence_forward(params, x, cfg)
        (hs1, mid), _ = core.sequence_forward(params, x[:, :3], cfg)
        (hs2, end), _ = core.sequence_forward(params, x[:, 3:], cfg, mid)
        assert_close("hs", np.concatenate([hs1, hs2], axis=1), hs, "float64")
        assert_close("A_T", end.A, state.A, "float64")


# ------------------------------------------------------------------------------- bad inputs
def _bad_inputs():
    cfg, params, x, y = make_case(0, 2, 3, 4, 3, 2, True)
    nan_x = x.copy()
    nan_x[1, 2, 0] = np.nan
    missing = {k: v for k, v in params.items() if k != "W"}
    wrong_shape = dict(params, C=np.zeros((4, 4)))
    wrong_dtype = dict(params, g=params["g"].astype(np.float32))
    return cfg, [
        ("x not an array", params, x.tolist(), y, cfg),
        ("x integer", params, x.astype(int), y, cfg),
        ("x wrong input size", params, x[:, :, :2], y, cfg),
        ("x 2-d", params, x[0], y, cfg),
        ("x empty", params, x[:, :0], y, cfg),
        ("x NaN", params, nan_x, y, cfg),
        ("param missing", missing, x, y, cfg),
        ("param shape", wrong_shape, x, y, cfg),
        ("param dtype", wrong_dtype, x, y, cfg),
        ("y float", params, x, y.astype(float), cfg),
        ("y shape", params, x, y[:1], cfg),
        ("y range", params, x, y + 5, cfg),
        ("cfg", params, x, y, "not a config"),
    ]


@pytest.mark.parametrize("case", range(len(_bad_inputs()[1])), ids=[c[0] for c in _bad_inputs()[1]])
def test_bad_inputs_raise_the_reference_errors(case):
    cfg, cases = _bad_inputs()
    _, params, x, y, c = cases[case]
    with pytest.raises((TypeError, ValueError)) as ref:
        fw.loss_and_grad(params, x, y, c)
    with pytest.raises(ref.type) as nb:
        fw.loss_and_grad(params, x, y, c, backend="numba")
    assert str(nb.value) == str(ref.value)
    if "y" not in cases[case][0]:  # hidden_states takes no labels
        with pytest.raises(ref.type, match=re.escape(str(ref.value))):
            fw.hidden_states(params, x, c)
        with pytest.raises(ref.type, match=re.escape(str(ref.value))):
            fw.hidden_states(params, x, c, backend="numba")


def test_unchecked_labels_out_of_range_raise_in_the_kernel():
    """loss_and_grad_unchecked skips the label checks; the compiled kernel still refuses a label
    outside [0, O) instead of reading past its logits."""
    cfg, params, x, y = make_case(0, 2, 3, 4, 3, 2, True)
    for bad in (-1, cfg.output_size):
        with pytest.raises(ValueError, match=r"a label is outside \[0, O\)"):
            loss_and_grad_unchecked(params, x, np.full_like(y, bad), cfg, backend="numba")


def test_sequence_level_bad_inputs_are_caught_before_the_kernels():
    cfg, params, x, _ = make_case(0, 2, 3, 4, 3, 2, True)
    core = get_core("fw", backend="numba")
    with pytest.raises(ValueError, match="x must have shape"):
        core.sequence_forward(params, x[:, :, :2], cfg)
    with pytest.raises(ValueError, match=r"state0.A must have shape \(2, 4, 4\)"):
        core.sequence_forward(params, x, cfg, fw.FastWeightsState(np.zeros((2, 4)), np.zeros((2, 4, 3))))
    with pytest.raises(TypeError, match="cfg must be a FastWeightsConfig for core 'fw', got str"):
        core.sequence_forward(params, x, "not a config")
    _, cache = core.sequence_forward(params, x, cfg)
    with pytest.raises(ValueError, match=r"dhs must have shape \(2, 3, 4\)"):
        core.sequence_backward((np.zeros((2, 3, 5)), None), cache)
    with pytest.raises(ValueError, match=r"dstate.h must have shape \(2, 4\)"):
        core.sequence_backward((np.zeros((2, 3, 4)), (np.zeros((1, 4)), np.zeros((2, 4, 4)))), cache)


def test_caches_go_back_to_the_core_that_made_them():
    """A cache is its backend's own object: each backend's backward refuses the other's, by name."""
    cfg, params, x, _ = make_case(0, 2, 3, 4, 3, 2, True)
    numba, reference_core = get_core("fw", backend="numba"), get_core("fw")
    dout = (np.zeros((2, 3, 4)), None)
    _, numba_cache = numba.sequence_forward(params, x, cfg)
    _, reference_cache = reference_core.sequence_forward(params, x, cfg)
    assert isinstance(numba_cache, ForwardCache)
    with pytest.raises(TypeError, match="cache must be what the 'fw' core's sequence_forward \\(backend 'numba'\\) "
                       "returned, got a SequenceCache, one from .* \\(backend 'numpy'\\)"):
        numba.sequence_backward(dout, reference_cache)
    with pytest.raises(TypeError, match="cache must be what .* \\(backend 'numpy'\\) returned, got a ForwardCache"):
        reference_core.sequence_backward(dout, numba_cache)


def test_numba_core_refuses_the_variants_and_the_alstm():
    """The backend is chosen per call (no config field); the Numba fw core and the fused model
    compute the paper's model only and say so; the A-LSTM has no Numba core."""
    assert BACKENDS == ("numpy", "numba", "cupy")
    assert "backend" not in fw.FastWeightsConfig(3, 4, 2).to_json()
    core = get_core("fw", backend="numba")
    assert core.backend == "numba" and get_core("fw").backend == "numpy"
    for variant, shown in (
        ({"fast_weight_timing": "lagged"}, "fast_weight_timing='lagged', activation='relu'"),
        ({"activation": "tanh"}, "fast_weight_timing='paper', activation='tanh'"),
    ):
        cfg, params, x, y = make_case(0, 2, 3, 4, 3, 2, True, **variant)
        message = (
            r"backend 'numba' computes the paper's model only \(fast_weight_timing='paper', activation='relu'\), "
            f"got {re.escape(shown)}; use backend 'numpy' for the variants"
        )
        fw.loss_and_grad(params, x, y, cfg)  # the reference computes them
        with pytest.raises(ValueError, match=message):
            core.sequence_forward(params, x, cfg)
        with pytest.raises(ValueError, match=message):
            fw.loss_and_grad(params, x, y, cfg, backend="numba")
        with pytest.raises(ValueError, match=message):
            fw.hidden_states(params, x, cfg, backend="numba")
    with pytest.raises(ValueError, match=r"backend 'numba' has the cores \('fw', 'irnn', 'lstm'\), not 'alstm'"):
        get_core("alstm", backend="numba")


def test_reference_only_records_refuse_numba_caches():
    from fastweights_np.cores.fast_weights.sequence import sequence_inner_states
    from fastweights_np.oracle.export import golden_from_inputs

    cfg, params, x, y = make_case(1, 2, 3, 4, 3, 2, False)
    _, cache = get_core("fw", backend="numba").sequence_forward(params, x, cfg)
    with pytest.raises(ValueError, match=r"use the reference core \(backend numpy\)"):
        sequence_inner_states(cache)
    with pytest.raises(ValueError, match="golden vectors come from the reference"):
        golden_from_inputs(params, x, y, cfg, backend="numba")


# ------------------------------------------------------------------ inputs and compilation
def test_one_hot_detection():
    x = np.eye(4)[np.array([[0, 3], [2, 1]])]
    table = np.arange(12.0).reshape(4, 3)
    idx = np.empty((2, 2), np.intp)
    drive = np.empty((2, 2, 3))
    assert one_hot_drive(x, table, idx, drive) and idx.tolist() == [[0, 3], [2, 1]]
    np.testing.assert_array_equal(drive, table[idx])
    for bad in ([1, 1, 0, 0], [0, 0, 0, 0], [0.5, 0, 0, 0], [1, 0, -1e-30, 0], [1, 0, np.nan, 0], [2, 0, 1, 0]):
        y = x.copy()
        y[1, 0] = bad
        assert not one_hot_drive(y, table, idx, drive), bad


def test_one_compiled_signature_per_dtype():
    """Options, forms, sizes and carried state are run-time arguments: they never recompile."""
    core = get_core("fw", backend="numba")
    for form in ("matrix", "attention"):
        for S, ln, with_state in ((0, True, False), (2, False, True)):
            opts = {"form": form, "inner_steps": S, "layer_norm": ln}
            cfg, params, x, _ = make_case(1, 2, 3, 4, 3, 2, False, **opts)
            state0 = random_state(np.random.default_rng(0), 2, 4, np.float64) if with_state else None
            (hs, st), cache = core.sequence_forward(params, x, cfg, state0)
            core.sequence_backward((hs, st), cache)
            fw.loss_and_grad(params, x, np.zeros(2, np.int64), cfg, backend="numba")
    for kernel in (*FW_KERNELS, readout_rows):
        dtypes = {signature_dtype(sig) for sig in kernel.signatures}
        assert len(kernel.signatures) == len(dtypes) <= 2, kernel.signatures
    # the readout's products are BLAS calls: its arrays are contiguous (the labels may be a slice)
    assert all(
        arg.layout == "C" for sig in readout_rows.signatures for arg in (*sig[:3], *sig[5:]) if hasattr(arg, "layout")
    )


@pytest.mark.parametrize("one_hot", [False, True])
@pytest.mark.parametrize("form", ["matrix", "attention"])
def test_numba_gradients_match_finite_differences(form, one_hot):
    """The gradient check of the reference (``gradcheck.check_model``'s), run through the Numba
    backend end to end: its gradient against finite differences of its own loss, λ and η
    included (one-hot inputs take the compiled gather and its scatter-add backward for dC, db)."""
    from fastweights_np.gradcheck import check_gradients

    cfg, params, x, y = make_case(2, 2, 4, 5, 3, 2, one_hot, form=form, inner_steps=2)
    _, analytic = fw.loss_and_grad(params, x, y, cfg, backend="numba")
    point = dict(params, decay=cfg.decay, fast_lr=cfg.fast_lr)

    def loss(t):
        p = {k: v for k, v in t.items() if k not in ("decay", "fast_lr")}
        overrides = {"decay": float(t["decay"]), "fast_lr": float(t["fast_lr"])}
        return loss_and_grad_unchecked(p, x, y, cfg, backend="numba", **overrides)[0]

    report = check_gradients(loss, point, analytic, mode="direction")
    assert report.passed, report.table()


# ------------------------------------------------------------------------------ workspace
@pytest.mark.parametrize("one_hot", [True, False])
def test_loss_and_grad_reuses_its_workspace_and_returns_new_arrays(one_hot):
    """A second call of the same shapes takes its internal arrays from the first call's
    workspace (nothing new is held) and leaves the first call's results as they were."""
    cfg, params, x, y = make_case(4, 3, 5, 6, 4, 3, one_hot)
    _, params2, x2, y2 = make_case(5, 3, 5, 6, 4, 3, one_hot)
    release_workspace()
    _, grads = fw.loss_and_grad(params, x, y, cfg, backend="numba")
    first = {k: np.copy(v) for k, v in grads.items()}
    held = thread_workspace().nbytes
    assert held > 0
    fw.loss_and_grad(params2, x2, y2, cfg, backend="numba")
    assert thread_workspace().nbytes == held
    for k, v in first.items():
        np.testing.assert_array_equal(grads[k], v, err_msg=k)
    assert_backends_agree(loss_results, cfg, params2, x2, y2)  # a third call, reusing
    release_workspace()
    assert thread_workspace().nbytes == 0


def test_each_thread_has_its_own_workspace():
    seen = []
    worker = threading.Thread(target=lambda: seen.append(thread_workspace()))
    worker.start()
    worker.join()
    assert seen[0] is not thread_workspace()


# ------------------------------------------------------------------- how kernels are run
def blas_threads() -> dict[str, int]:
    """Thread count of every loaded BLAS library, by file (SciPy's, which the kernels call, loaded)."""
    import scipy.linalg.cython_blas  # noqa: F401
    from threadpoolctl import threadpool_info

    return {pool["filepath"]: pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_kernels_run_with_one_blas_thread_and_restore_the_count():
    """The kernels call SciPy's BLAS from each of Numba's threads: every BLAS library runs on one
    thread during a kernel call (a BLAS starting threads of its own there made a step at H = 100
    take 16 ms instead of 2.8 on one Numba thread: threads.py)
    and gets its own count back afterwards, also when the call raises."""
    from threadpoolctl import threadpool_limits

    from fastweights_np.backends.numba.threads import kernel_threads

    with threadpool_limits(limits=2, user_api="blas"):
        outside = blas_threads()
        with kernel_threads():
            inside = blas_threads()
        with pytest.raises(KeyError), kernel_threads():
            raise KeyError("a kernel's error")
        after = blas_threads()
        cfg, params, x, y = make_case(1, 3, 2, 4, 3, 2, True, form="attention")
        fw.loss_and_grad(params, x, y, cfg, backend="numba")
        after_call = blas_threads()
    assert outside and set(outside.values()) == {2}
    assert set(inside.values()) == {1} and inside.keys() == outside.keys()
    assert after == outside == after_call


def test_numba_cache_is_stamped_with_every_backend_module(tmp_path, monkeypatch):
    """Numba stamps a cached kernel with its own file's hash only, so an edit to a function it
    inlines from another module (attention.py, activation.py, ...) would load the old kernel.
    The backend's locator adds the hash of every module of the backend to the stamp."""
    import shutil

    from fastweights_np.backends.numba import cache

    locator = kernels.matrix_forward_kernel._cache._impl.locator
    assert isinstance(locator, cache.BackendLocator), type(locator)
    stamp = locator.get_source_stamp()
    copy = tmp_path / "numba_backend"
    shutil.copytree(cache.BACKEND_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "BACKEND_DIR", copy)
    cache.backend_source_hash.cache_clear()
    try:
        assert locator.get_source_stamp() == stamp  # the same sources: the same stamp
        edited = copy / "attention.py"
        edited.write_text(edited.read_text() + "\n# an edit\n")
        cache.backend_source_hash.cache_clear()
        assert locator.get_source_stamp() != stamp
    finally:
        cache.backend_source_hash.cache_clear()


def test_overlapping_kernel_calls_restore_the_blas_threads():
    """Two Python threads' kernel calls that overlap (one enters, the other enters, the first
    leaves, the second leaves) keep BLAS on one thread until the last one leaves, then restore
    the count from before the first, not 1. Driven from this thread, in that order (OpenBLAS
    ignores thread counts set from threads other than the main one, so the calls of two real
    threads would show nothing here)."""
    from threadpoolctl import threadpool_limits

    from fastweights_np.backends.numba.threads import _KERNEL_BLAS_LIMIT

    with threadpool_limits(limits=2, user_api="blas"):
        _KERNEL_BLAS_LIMIT.enter()  # the first call
        _KERNEL_BLAS_LIMIT.enter()  # the second, while the first runs
        _KERNEL_BLAS_LIMIT.exit()  # the first ends
        while_second_runs = set(blas_threads().values())
        _KERNEL_BLAS_LIMIT.exit()  # the second ends
        after = set(blas_threads().values())
    assert while_second_runs == {1}
    assert after == {2}
