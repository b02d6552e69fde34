"""The baselines' new ops and the A-LSTM's memory against finite differences (float64, random
upstream gradient), plus their forward values against direct formulas."""

from functools import partial

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

from fastweights_np.cores.alstm.memory import (
    memory_read_backward,
    memory_read_forward,
    memory_write_backward,
    memory_write_forward,
)
from fastweights_np.cores.alstm.permutations import copy_index
from fastweights_np.gradcheck import check_op
from fastweights_np.ops import (
    complex_bound_backward,
    complex_bound_forward,
    complex_mul_backward,
    complex_mul_forward,
    complex_scale_backward,
    complex_scale_forward,
    copy_permute_backward,
    copy_permute_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)
from fastweights_np.ops.broadcast import unbroadcast

seeds = st.integers(0, 2**16)
dims = st.integers(1, 4)


def _assert(report):
    assert report.passed, "\n" + str(report)


def as_complex(v: np.ndarray) -> np.ndarray:
    m = v.shape[-1] // 2
    return v[..., :m] + 1j * v[..., m:]


@settings(max_examples=40)
@given(seeds, dims, dims)
def test_sigmoid_and_tanh_gradients(seed, rows, n):
    # |v| <= 2.5 and 4+ entries: at |v| = 5 a lone entry's derivative (1e-4 or less, times the
    # random upstream gradient) is below what central differences resolve to 1e-6
    v = np.random.default_rng(seed).uniform(-2.5, 2.5, (rows, n + 3))
    _assert(check_op(lambda v: sigmoid_forward(v), sigmoid_backward, {"v": v}, ["v"], seed=seed))
    _assert(check_op(lambda v: tanh_forward(v), tanh_backward, {"v": v}, ["v"], seed=seed))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_values_without_overflow(dtype):
    v = np.array([-1000.0, -30.0, -1.0, 0.0, 2.0, 800.0], dtype)
    s, _ = sigmoid_forward(v)  # RuntimeWarnings are errors in this suite
    assert s.dtype == dtype
    np.testing.assert_allclose(s, expit(v.astype(np.float64)), rtol=1e-6 if dtype == np.float32 else 1e-15, atol=0)


# Operand shapes that broadcast as the A-LSTM uses them: (B, K, S, 2m) with (B, K, 1, 2m), etc.
broadcast_pairs = st.sampled_from([((2, 3, 4), (2, 3, 4)), ((2, 2, 3, 4), (2, 2, 1, 4)), ((3, 1, 2, 6), (3, 2, 1, 6))])


@settings(max_examples=40)
@given(seeds, broadcast_pairs)
def test_complex_mul(seed, shapes):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    z, _ = complex_mul_forward(a, b)
    np.testing.assert_allclose(as_complex(z), as_complex(a) * as_complex(b), rtol=1e-13, atol=1e-13)
    _assert(check_op(complex_mul_forward, complex_mul_backward, {"a": a, "b": b}, ["a", "b"], seed=seed))


@settings(max_examples=40)
@given(seeds, broadcast_pairs)
def test_complex_scale(seed, shapes):
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(shapes[0])
    g = rng.uniform(0.1, 1.0, shapes[1][:-1] + (shapes[1][-1] // 2,))
    y, _ = complex_scale_forward(g, v)
    np.testing.assert_allclose(as_complex(y), g * as_complex(v), rtol=1e-14)
    _assert(check_op(complex_scale_forward, complex_scale_backward, {"g": g, "v": v}, ["g", "v"], seed=seed))


def _away_from_unit_circle(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """Complex entries with modulus in [0.1, 0.8] or [1.2, 3], random phase: some inside,
    some outside, none near the kink at |v| = 1."""
    m = shape[-1] // 2
    radius = np.where(rng.random(shape[:-1] + (m,)) < 0.5, rng.uniform(0.1, 0.8), rng.uniform(1.2, 3.0))
    phase = rng.uniform(0, 2 * np.pi, radius.shape)
    return np.concatenate((radius * np.cos(phase), radius * np.sin(phase)), axis=-1)


@settings(max_examples=50)
@given(seeds, dims, st.integers(1, 5))
def test_complex_bound(seed, rows, m):
    rng = np.random.default_rng(seed)
    v = _away_from_unit_circle(rng, (rows, 2 * m))
    out, _ = complex_bound_forward(v)
    z, w = as_complex(v), as_complex(out)
    np.testing.assert_allclose(w, z / np.maximum(1.0, np.abs(z)), rtol=1e-14)
    assert np.all(np.abs(w) <= 1 + 1e-15)
    _assert(check_op(lambda v: complex_bound_forward(v), complex_bound_backward, {"v": v}, ["v"], seed=seed))


def test_complex_bound_checks_both_branches():
    v = _away_from_unit_circle(np.random.default_rng(3), (4, 10))
    modulus = np.abs(as_complex(v))
    assert np.any(modulus > 1) and np.any(modulus < 1)
    _assert(check_op(lambda v: complex_bound_forward(v), complex_bound_backward, {"v": v}, ["v"]))


@settings(max_examples=40)
@given(seeds, st.integers(1, 5), st.integers(1, 4), dims)
def test_copy_permute(seed, m, copies, heads):
    rng = np.random.default_rng(seed)
    index = copy_index(m, copies, seed)
    r = rng.standard_normal((2, heads, 2 * m))
    out, _ = copy_permute_forward(r, index)
    assert out.shape == (2, heads, copies, 2 * m)
    for s in range(copies):
        np.testing.assert_array_equal(out[:, :, s], r[..., index[s]])
    forward = partial(copy_permute_forward, index=index)
    _assert(check_op(lambda r: forward(r), copy_permute_backward, {"r": r}, ["r"], seed=seed))


def test_copy_index_is_a_complex_permutation_fixed_by_the_seed():
    m, copies = 6, 4
    index = copy_index(m, copies, 11)
    assert index.shape == (copies, 2 * m)
    for row in index:
        assert sorted(row[:m]) == list(range(m))
        np.testing.assert_array_equal(row[m:], row[:m] + m)  # imaginary parts follow the real ones
    np.testing.assert_array_equal(copy_index(m, copies, 11), index)
    assert not np.array_equal(copy_index(m, copies, 12), index)
    with pytest.raises(ValueError):
        index[0, 0] = 1  # shared by every step: read-only


def test_unbroadcast_sums_over_copies():
    grad = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(unbroadcast(grad, (3, 4)), grad.sum(axis=0))
    np.testing.assert_array_equal(unbroadcast(grad, (2, 1, 4)), grad.sum(axis=1, keepdims=True))
    np.testing.assert_array_equal(unbroadcast(grad, (2, 3, 4)), grad)


@settings(max_examples=40)
@given(seeds, st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))
def test_memory_write_and_read(seed, m, copies, heads):
    rng = np.random.default_rng(seed)
    B = 2
    write_inputs = {
        "c_prev": rng.standard_normal((B, copies, 2 * m)),
        "forget": rng.uniform(0.1, 0.9, (B, m)),
        "keys_in": rng.standard_normal((B, heads, copies, 2 * m)),
        "values": rng.standard_normal((B, heads, 2 * m)),
    }
    _assert(check_op(memory_write_forward, memory_write_backward, write_inputs, list(write_inputs), seed=seed))
    read_inputs = {
        "c": rng.standard_normal((B, copies, 2 * m)),
        "keys_out": rng.standard_normal((B, heads, copies, 2 * m)),
    }
    _assert(check_op(memory_read_forward, memory_read_backward, read_inputs, list(read_inputs), seed=seed))

    # against complex arithmetic: c_s = f c_s' + Σ_k r_ks w_k,  v = Σ_k mean_s r'_ks c_s
    c, _ = memory_write_forward(**write_inputs)
    z = {k: as_complex(v) for k, v in write_inputs.items() if k != "forget"}
    expected = write_inputs["forget"][:, None] * z["c_prev"] + (z["keys_in"] * z["values"][:, :, None]).sum(axis=1)
    np.testing.assert_allclose(as_complex(c), expected, rtol=1e-12, atol=1e-12)
    v, _ = memory_read_forward(**read_inputs)
    expected = (as_complex(read_inputs["keys_out"]) * as_complex(read_inputs["c"])[:, None]).mean(axis=2).sum(axis=1)
    np.testing.assert_allclose(as_complex(v), expected, rtol=1e-12, atol=1e-12)
