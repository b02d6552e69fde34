"""The fast-weight attention of a Catch agent (tasks/catch/attention.py): the weights a_{t,τ}
decompose the memory read the reference computes, A_t h_t^(s-1) = Σ_τ a_{t,τ} k_τ (checked against
the matrix form's own A_t, so a wrong key, power or query fails); their shape and support; their
limit for a small decay λ; the refusal of other cores; and what ``eval`` of a fw run prints and
draws (and of an irnn run does not)."""

import sys

import numpy as np
import pytest

from fastweights_np.cli import main
from fastweights_np.tasks.catch.agent import AgentConfig, CatchAgent
from fastweights_np.tasks.catch.attention import (
    attention_reads,
    attention_text,
    attention_weights,
    save_attention_png,
    support,
)

TIMINGS = ("paper", "lagged", "preliminary")
E, T, SCREEN = 3, 6, 5


def _agent(core="fw", backend="numpy", **options):
    return CatchAgent(AgentConfig(screen=SCREEN, core=core, hidden_size=6, input_size=4, dtype="float64",
                                  core_options=options), backend=backend)


def _params_and_frames(agent, seed=0):
    rng = np.random.default_rng(seed)
    params = {k: v + 0.3 * rng.standard_normal(v.shape) for k, v in agent.init_params(seed).items()}
    frames = (rng.random((E, T, SCREEN * SCREEN)) < 0.3).astype(np.float64)
    return params, frames


def _matrix_reads(agent, params, frames, s):
    """(M_t, u) of iteration s of every step, from the reference's matrix-form cache: the memory
    the step read (A_t, or A_{t-1} when lagged) and the vector it read with, each (E, T, ...)."""
    _, cache = agent.forward(params, frames)
    steps = cache[2].steps  # the core's SequenceCache; a matrix step's cache ends with the inner loop's
    pairs = [step[-1][0][s - 1][0] for step in steps]  # iterations[s-1] = (read cache (M_t, u), act cache)
    return np.stack([M for M, _ in pairs], axis=1), np.stack([u for _, u in pairs], axis=1)


@pytest.mark.parametrize("timing", TIMINGS)
@pytest.mark.parametrize("S", [1, 2])
def test_the_weights_reconstruct_the_memory_read_of_the_reference(timing, S):
    agent = _agent(fast_weight_timing=timing, inner_steps=S, decay=0.8, fast_lr=0.7, form="matrix")
    params, frames = _params_and_frames(agent)
    for s in range(1, S + 1):
        reads = attention_reads(agent, params, frames, inner_step=s)
        M, u = _matrix_reads(agent, params, frames, s)
        read = np.einsum("etij,etj->eti", M, u)  # M_t h_t^(s-1), computed by the reference from its own A_t
        assert np.abs(read).max() > 1.0  # a read worth decomposing
        np.testing.assert_allclose(reads.queries, u, rtol=0, atol=1e-12)  # the vector read is h_t^(s-1)
        rebuilt = np.einsum("etu,euh->eth", reads.weights, reads.keys)  # Σ_τ a_{t,τ} k_τ
        np.testing.assert_allclose(rebuilt, read, rtol=0, atol=1e-10)
        # the check can fail: the keys one step later (h_τ for h_{τ-1}) do not rebuild the read
        shifted = np.concatenate([reads.keys[:, 1:], np.zeros_like(reads.keys[:, :1])], axis=1)
        assert np.abs(np.einsum("etu,euh->eth", reads.weights, shifted) - read).max() > 1e-3
        assert reads.inner_step == s


@pytest.mark.parametrize("timing", TIMINGS)
def test_both_forms_give_the_same_weights(timing):
    matrix = _agent(fast_weight_timing=timing, inner_steps=2, form="matrix")
    attention = _agent(fast_weight_timing=timing, inner_steps=2, form="attention")
    params, frames = _params_and_frames(matrix, seed=3)
    np.testing.assert_allclose(attention_weights(attention, params, frames),
                               attention_weights(matrix, params, frames), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("timing", TIMINGS)
def test_shape_and_zero_above_the_diagonal(timing):
    agent = _agent(fast_weight_timing=timing)
    params, frames = _params_and_frames(agent, seed=1)
    weights = attention_weights(agent, params, frames)
    assert weights.shape == (E, T, T) and weights.dtype == np.float64
    assert not np.triu(weights, k=1).any()  # step t reads no key written after it
    if timing == "lagged":
        assert not np.diagonal(weights, axis1=1, axis2=2).any()  # A_{t-1} does not hold k_t
    if timing != "preliminary":
        assert not weights[:, :, 0].any()  # k_1 = h_0 = 0
    assert (weights[:, support(T, timing)] != 0).mean() > 0.5  # ReLU states: most reads are positive
    # more episodes than one forward holds are done in parts, with the same numbers
    many = np.concatenate([frames] * 30)
    np.testing.assert_allclose(attention_weights(agent, params, many), np.concatenate([weights] * 30),
                               rtol=1e-12, atol=1e-13)


def test_a_small_decay_concentrates_the_weights_on_the_latest_key():
    for decay, most in ((1e-4, 1e-3), (0.0, 0.0)):
        agent = _agent(decay=decay)
        params, frames = _params_and_frames(agent, seed=2)
        weights = np.abs(attention_weights(agent, params, frames))
        latest = np.diagonal(weights, axis1=1, axis2=2).sum()  # τ = t: k_t = h_{t-1}
        assert latest > 0 and weights.sum() - latest <= most * weights.sum()
    wide = np.abs(attention_weights(_agent(decay=0.95), params, frames))
    assert wide.sum() - np.diagonal(wide, axis1=1, axis2=2).sum() > 0.3 * wide.sum()


@pytest.mark.parametrize("core", ["irnn", "lstm"])
def test_a_core_without_fast_weights_is_refused(core):
    agent = _agent(core)
    params, frames = _params_and_frames(agent)
    with pytest.raises(ValueError, match=rf"agent.cfg.core must be 'fw', got '{core}'"):
        attention_weights(agent, params, frames)


def test_bad_inner_steps_and_frames_are_refused():
    agent = _agent(inner_steps=2)
    params, frames = _params_and_frames(agent)
    with pytest.raises(ValueError, match=r"inner_step must be an integer in 1..S = 1..2 \(None for S\), got 3"):
        attention_weights(agent, params, frames, inner_step=3)
    with pytest.raises(ValueError, match=r"frames must have shape \(E, T, N²\) = \(E, T, 25\), got \(6, 25\)"):
        attention_weights(agent, params, frames[0])
    plain = _agent(inner_steps=0)
    with pytest.raises(ValueError, match="inner_steps S = 0 has none"):
        attention_weights(plain, plain.init_params(0), frames)


def test_a_numba_agent_gets_the_reference_numbers():
    pytest.importorskip("numba", reason="the Numba backend is optional")
    numba_agent = _agent(backend="numba")
    params, frames = _params_and_frames(numba_agent)
    np.testing.assert_array_equal(attention_weights(numba_agent, params, frames),
                                  attention_weights(_agent(), params, frames))


def test_the_text_heat_map():
    mean = np.tril(np.arange(1.0, 37.0).reshape(6, 6))
    lines = attention_text(mean, "paper", blank_after=3).splitlines()
    assert lines[0].split() == ["t\\τ", "1", "2", "3", "4|5", "6"]  # the bar after k_{M+1} = h_M
    assert lines[1].split() == ["1", "0", "|"] and lines[-2].split() == ["6", "8", "8", "8", "8|9", "9"]
    assert set(lines[4].strip()) == {"-"}  # below row M = 3 the steps act on blank frames
    assert lines[-1].startswith("9 = 36;") and len(lines) == 6 + 3
    assert "|" not in attention_text(mean, "paper").replace("t\\τ", "")  # no M, no marks
    lagged = attention_text(mean, "lagged").splitlines()
    assert lagged[1].split() == ["1"] and lagged[2].split() == ["2", "2"]  # the diagonal is not read
    assert lagged[-1] == "9 = 35"  # the largest value read, mean[5, 4]: the diagonal does not count


# ------------------------------------------------------------------------------------- eval
TINY = ["--size", "5", "--blank-after", "2", "--hidden", "8", "--input-units", "8", "--episodes", "8",
        "--frames", "400", "--log-every", "10", "--eval-every", "20", "--eval-episodes", "20",
        "--backend", "numpy", "--no-progress"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    made = {}
    for core in ("fw", "irnn"):
        made[core] = tmp_path_factory.mktemp("catch") / core
        assert main(["train", "catch", "--core", core, "--out", str(made[core]), *TINY]) == 0
    return made


def _eval(run, capsys, show="2"):
    capsys.readouterr()
    assert main(["eval", str(run), "--episodes", "50", "--show", show]) == 0
    return capsys.readouterr().out


def test_eval_of_a_fw_run_prints_the_heat_map_and_draws_it(runs, capsys):
    pytest.importorskip("matplotlib", reason="attention.png needs matplotlib (the plot extra)")
    out = _eval(runs["fw"], capsys)
    assert "attention of step t (rows) on past step τ (columns), mean |η λ^(t−τ) ⟨k_τ, h_t^(0)⟩| over 50 " \
           "episodes" in out
    heat = out[out.index("t\\τ"):].splitlines()
    assert heat[0].split() == ["t\\τ", "1", "2", "3|4"]  # T = N - 1 = 4 steps; the bar after k_{M+1}
    assert set(heat[3].strip()) == {"-"} and heat[4].split()[0] == "3"  # the line after step M = 2
    assert heat[6].startswith("9 = ") and "t > M = 2" in heat[6] and "τ > 3" in heat[6]
    assert f"wrote {runs['fw'] / 'attention.png'}" in out
    assert (runs["fw"] / "attention.png").stat().st_size > 1000


def test_eval_without_matplotlib_says_so_in_one_line(runs, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import fails as if not installed
    monkeypatch.setitem(sys.modules, "matplotlib.image", None)
    out = _eval(runs["fw"], capsys, show="0")
    assert "t\\τ" in out
    assert "no image: drawing the attention heat map needs matplotlib: pip install 'fastweights_np[plot]'" in out


def test_eval_of_an_irnn_run_draws_no_attention(runs, capsys):
    out = _eval(runs["irnn"], capsys)
    assert "catch rate" in out and "attention" not in out and "t\\τ" not in out
    assert not (runs["irnn"] / "attention.png").exists()


def test_the_png_needs_matching_maps(tmp_path):
    pytest.importorskip("matplotlib", reason="drawing needs matplotlib (the plot extra)")
    with pytest.raises(ValueError, match=r"panel 2"):
        save_attention_png(tmp_path / "a.png", np.zeros((4, 4)), [np.zeros((3, 3))])
    assert save_attention_png(tmp_path / "a.png", np.tril(np.ones((4, 4))), blank_after=2).stat().st_size > 1000
