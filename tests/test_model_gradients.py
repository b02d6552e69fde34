"""The whole model and the sequence-level core against finite differences (float64).

Per entry on tiny sizes, along random directions on larger ones; every parameter, λ (decay),
η (fast_lr), and at sequence level also the inputs, the initial state and upstream gradients
on every hidden state and on the final state.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import examples, problems, random_params, stable_problems

from fastweights_np import FastWeightsConfig, FastWeightsState, sequence_backward, sequence_forward
from fastweights_np.gradcheck import check_gradients, check_model

TOL = 1e-6


def _assert_passes(report):
    """Every tensor within 1e-6 relative error, or (for a tensor whose whole gradient is tiny
    next to the loss) within the resolution of the difference quotient; see gradcheck's docs."""
    assert report.passed, "\n" + str(report)


@settings(max_examples=examples(60))
@given(problems(max_batch=2, max_steps=3, max_hidden=4))
def test_model_per_entry_tiny(problem):
    cfg, params, x, y = problem
    _assert_passes(check_model(params, x, y, cfg, mode="entry", tol=TOL))


@settings(max_examples=examples(25))
@given(problems(max_batch=5, max_steps=8, max_hidden=16, max_input=6, layer_norm=True))
def test_model_directional(problem):
    cfg, params, x, y = problem
    _assert_passes(check_model(params, x, y, cfg, mode="direction", tol=TOL, directions=2))


@settings(max_examples=examples(25))
@given(problems(max_batch=5, max_steps=4, max_hidden=8, max_input=6, max_inner=2, layer_norm=False))
def test_model_directional_without_layer_norm(problem):
    """Eq. 2 (no LN) grows like (η|h|²)^(S·T) and overflows on longer runs, which is the model's
    behaviour, not the gradient's; so T <= 4 and S <= 2 here."""
    cfg, params, x, y = problem
    _assert_passes(check_model(params, x, y, cfg, mode="direction", tol=TOL, directions=2))


@st.composite
def sequence_problems(draw):
    cfg, params, x, _ = draw(stable_problems(max_batch=2, max_steps=4, max_hidden=4))
    with_state = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    return cfg, params, x, with_state, seed


@settings(max_examples=examples(40))
@given(sequence_problems())
def test_sequence_level_with_state_and_upstream_gradients(case):
    """f = Σ hs·dhs + h_T·dh_T + ⟨A_T, dA_T⟩ checks dhs on every step, the final-state
    gradients, dx and the initial-state gradients, in both forms."""
    cfg, params, x, with_state, seed = case
    rng = np.random.default_rng(seed)
    B, T, _ = x.shape
    H = cfg.hidden_size
    core = {k: params[k] for k in ("W", "C", "b", "g", "beta")}
    theta = dict(core, x=x, decay=cfg.decay, fast_lr=cfg.fast_lr)
    if with_state:
        theta["h0"] = rng.standard_normal((B, H))
        theta["A0"] = 0.3 * rng.standard_normal((B, H, H))
    dhs = rng.standard_normal((B, T, H))
    dstate = FastWeightsState(rng.standard_normal((B, H)), rng.standard_normal((B, H, H)))

    def run(t):
        state0 = FastWeightsState(t["h0"], t["A0"]) if with_state else None
        p = {k: t[k] for k in core}
        return sequence_forward(p, t["x"], cfg, state0, decay=float(t["decay"]), fast_lr=float(t["fast_lr"]))

    def f(t):
        (hs, state), _ = run(t)
        return float(np.sum(hs * dhs) + np.sum(state.h * dstate.h) + np.sum(state.A * dstate.A))

    _, cache = run(theta)
    grads, dx, dstate0 = sequence_backward((dhs, dstate), cache)
    analytic = dict(grads, x=dx)
    if with_state:
        analytic.update(h0=dstate0.h, A0=dstate0.A)
    else:
        assert dstate0 is None
    _assert_passes(check_gradients(f, theta, analytic, mode="entry", tol=TOL))


def test_gradcheck_runs_in_float64_for_a_float32_config():
    cfg = FastWeightsConfig(3, 4, 2, dtype="float32")
    params = random_params(cfg, 0)
    x = np.random.default_rng(0).standard_normal((2, 3, 3)).astype(np.float32)
    report = check_model(params, x, np.array([0, 1]), cfg, mode="entry")
    _assert_passes(report)


def test_paper_sizes_directional():
    """One larger case near the paper's settings (H = 20, T = 11, S = 1, λ = 0.9)."""
    cfg = FastWeightsConfig(input_size=37, hidden_size=20, output_size=10, decay=0.9, fast_lr=0.5)
    params = random_params(cfg, 3, scale=0.1)
    rng = np.random.default_rng(3)
    x = np.eye(37)[rng.integers(0, 37, (8, 11))]
    y = rng.integers(0, 10, 8)
    for form in ("matrix", "attention"):
        _assert_passes(check_model(params, x, y, cfg.replace(form=form), mode="direction", directions=3))
