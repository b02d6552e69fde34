"""How much each step's inner loop attends to each past step: a reading of the fast-weights core.

The fast weights are a decayed sum of outer products of the keys written so far (paper Eq. 1,
unrolled; docs/variants.md §1), from the zero memory an episode starts with:

    A_t = η Σ_{τ=1}^{t} λ^{t-τ} k_τ k_τᵀ,

so the read of iteration s of step t's inner loop (paper Eq. 5) is a weighted sum of the keys:

    A_t h_t^(s-1) = Σ_{τ=1}^{t} a_{t,τ} k_τ,      a_{t,τ} = η λ^{t-τ} ⟨k_τ, h_t^(s-1)⟩.

a_{t,τ} is how much step t attends to past step τ (the paper's "attending to the recent past",
Eq. 4). Which vector is the key and which memory is read depends on the timing
(``fast_weight_timing``, ``cores/fast_weights/step.py``):

    "paper"        k_τ = h_{τ-1} (k_1 = h_0 = 0),  step t reads A_t:      a_{t,τ} for τ <= t
    "lagged"       k_τ = h_{τ-1},                  step t reads A_{t-1}:  a_{t,τ} = η λ^{t-1-τ} ⟨k_τ, h_t^(s-1)⟩, τ < t
    "preliminary"  k_τ = h_τ^(0),                  step t reads A_t:      a_{t,τ} for τ <= t

Of the S iterations, the weights are those of one, s = S by default (the read that makes h_t);
``inner_step`` picks another. Everything is read from the NumPy reference's forward
(``sequence_inner_states``: the keys are its hidden or preliminary states, the queries h_t^(s-1)
its inner states); no new math is added to the core. ``tests/test_catch_attention.py`` checks
that Σ_τ a_{t,τ} k_τ is the A_t h_t^(s-1) the reference's matrix form computes.

Also here: the mean |a| as digits for the terminal (:func:`attention_text`) and as a PNG heat map
(:func:`save_attention_png`, needs matplotlib, the ``plot`` extra). ``fastweights-np eval`` of a
fw run prints and writes both (``examine.py``; docs/catch.md §3).
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from fastweights_np.atomic import atomic_write_bytes
from fastweights_np.cores.fast_weights.sequence import sequence_inner_states
from fastweights_np.tasks.catch.agent import CatchAgent

EPISODES_PER_FORWARD = 64  # the reference's matrix form keeps E·T·H² numbers: bounded per forward
DIGITS = "0123456789"


class AttentionReads(NamedTuple):
    """The attention of E episodes of T steps (τ, t = 1..T are indices 0..T-1), float64.

    weights : (E, T, T), weights[e, t-1, τ-1] = a_{t,τ}; zero where step t cannot read k_τ
        (τ > t; also τ = t in the "lagged" timing)
    keys : (E, T, H), keys[e, τ-1] = k_τ, the vector step τ wrote into the memory
    queries : (E, T, H), queries[e, t-1] = h_t^(s-1), the vector iteration s of step t reads with
    inner_step : the iteration s (1..S) whose read the weights decompose
    """

    weights: np.ndarray
    keys: np.ndarray
    queries: np.ndarray
    inner_step: int


def key_lag(timing: str) -> int:
    """How many steps the key k_τ lags behind the frame of its step: 1 (k_τ = h_{τ-1}, "paper" and
    "lagged"), 0 (k_τ = h_τ^(0), "preliminary"). The last key computed from frames 1..M is k_{M+lag}."""
    return 0 if timing == "preliminary" else 1


def support(steps: int, timing: str) -> np.ndarray:
    """(T, T) bool: True where step t reads the key k_τ (τ <= t; τ < t in the "lagged" timing)."""
    t, tau = np.indices((steps, steps))
    return tau < t if timing == "lagged" else tau <= t


def _reference_agent(agent: CatchAgent) -> CatchAgent:
    """``agent`` itself on the reference backend, else the same agent built on it."""
    if not isinstance(agent, CatchAgent):
        raise TypeError(f"agent must be a CatchAgent (tasks/catch/agent.py), got {type(agent).__name__}")
    if agent.cfg.core != "fw":
        raise ValueError(f"attention weights are a reading of the fast-weights core: agent.cfg.core must be 'fw', "
                         f"got {agent.cfg.core!r} (it has no fast weights to attend with)")
    return agent if agent.core.backend == "numpy" else CatchAgent(agent.cfg, backend="numpy")


def _inner_step(inner_step: object, S: int) -> int:
    if S == 0:
        raise ValueError("the fw core reads its fast weights only in the inner loop, and inner_steps S = 0 has "
                         "none: there is no attention to show")
    if inner_step is None:
        return S
    if isinstance(inner_step, bool) or not isinstance(inner_step, numbers.Integral) or not 1 <= inner_step <= S:
        raise ValueError(f"inner_step must be an integer in 1..S = 1..{S} (None for S), got {inner_step!r}")
    return int(inner_step)


def attention_reads(agent: CatchAgent, params: dict, frames: np.ndarray,
                    inner_step: int | None = None) -> AttentionReads:
    """The attention weights a_{t,τ} of a fw agent on frames, with the keys and queries they weigh.

    a_{t,τ} = η λ^{t-τ} ⟨k_τ, h_t^(s-1)⟩ for τ <= t (module docstring; "lagged": λ^{t-1-τ}, τ < t),
    so that Σ_τ a_{t,τ} k_τ = A_t h_t^(s-1), the memory read of iteration s of step t.

    Parameters
    ----------
    agent : a CatchAgent with core "fw" (on any backend: the values are recomputed by the NumPy
        reference, ``backends.get_core("fw", backend="numpy")``, when it is another)
    params : the agent's parameters
    frames : (E, T, N²), the frames the agent acted on (``rollout.play``'s ``frames``), from the
        zero state
    inner_step : s in 1..S, the iteration whose read is decomposed; None for s = S

    Returns
    -------
    AttentionReads : weights (E, T, T), keys (E, T, H), queries (E, T, H), float64

    Raises
    ------
    ValueError : a non-fw agent (naming its core), S = 0, a bad ``inner_step`` or bad frames
    """
    reference = _reference_agent(agent)
    cfg = reference.core_cfg
    s = _inner_step(inner_step, cfg.inner_steps)
    frames = np.asarray(frames)
    if frames.ndim != 3:
        raise ValueError(f"frames must have shape (E, T, N²) = (E, T, {agent.pixels}), got {frames.shape}")
    if len(frames) == 0:
        raise ValueError(f"frames must hold at least one episode, got shape {frames.shape}")
    keys, queries = [], []
    for start in range(0, len(frames), EPISODES_PER_FORWARD):
        _, cache = reference.forward(params, frames[start:start + EPISODES_PER_FORWARD])
        states = np.asarray(sequence_inner_states(cache[2]), np.float64)  # (E, T, S+1, H): h_t^(s) at [:, t-1, s]
        if cfg.fast_weight_timing == "preliminary":
            keys.append(states[:, :, 0])  # k_τ = h_τ^(0)
        else:
            hs = states[:, :, cfg.inner_steps]  # h_1..h_T
            keys.append(np.concatenate([np.zeros_like(hs[:, :1]), hs[:, :-1]], axis=1))  # k_τ = h_{τ-1}, h_0 = 0
        queries.append(states[:, :, s - 1])
    keys_all, queries_all = np.concatenate(keys), np.concatenate(queries)
    T = frames.shape[1]
    t, tau = np.indices((T, T))
    lag = t - tau - (1 if cfg.fast_weight_timing == "lagged" else 0)  # the power of λ
    mask = support(T, cfg.fast_weight_timing)
    rate = np.where(mask, cfg.fast_lr * np.float64(cfg.decay) ** np.maximum(lag, 0), 0.0)  # η λ^(t-τ), 0⁰ = 1
    scores = np.einsum("eth,euh->etu", queries_all, keys_all)  # ⟨k_τ, h_t^(s-1)⟩
    return AttentionReads(rate * scores, keys_all, queries_all, s)


def attention_weights(agent: CatchAgent, params: dict, frames: np.ndarray,
                      inner_step: int | None = None) -> np.ndarray:
    """a_{t,τ} = η λ^{t-τ} ⟨k_τ, h_t^(s-1)⟩: how much step t attends to past step τ.

    The fast weights A_t = η Σ_{τ<=t} λ^{t-τ} k_τ k_τᵀ make the read of iteration s of step t
    a weighted sum of the keys, A_t h_t^(s-1) = Σ_τ a_{t,τ} k_τ. The key k_τ is h_{τ-1} in the
    paper's timing (h_τ^(0) in the "preliminary" one; the "lagged" one reads A_{t-1}, so
    λ^{t-1-τ} and τ < t); s = S unless ``inner_step`` says otherwise. Module docstring and
    :func:`attention_reads` for the details.

    Parameters
    ----------
    agent : a CatchAgent with core "fw" (any backend; the NumPy reference computes the values)
    params : the agent's parameters
    frames : (E, T, N²) frames played from the zero state
    inner_step : s in 1..S, or None for S

    Returns
    -------
    weights : (E, T, T) float64, weights[e, t-1, τ-1] = a_{t,τ}; zero above the diagonal (and on
        it in the "lagged" timing)

    Raises
    ------
    ValueError : for an agent whose core is not "fw" (the message names the core), for S = 0
    """
    return attention_reads(agent, params, frames, inner_step).weights


def describe(timing: str, inner_step: int, episodes: int) -> str:
    """One line: what the heat map of mean |a_{t,τ}| over ``episodes`` episodes shows."""
    power, key = {"paper": ("t−τ", "h_(τ−1)"), "lagged": ("t−1−τ", "h_(τ−1)"),
                  "preliminary": ("t−τ", "h_τ^(0)")}[timing]
    return (f"attention of step t (rows) on past step τ (columns), mean |η λ^({power}) ⟨k_τ, h_t^({inner_step - 1})⟩| "
            f"over {episodes:,} episodes (key k_τ = {key}, the read of inner step s = {inner_step})")


def attention_text(mean: np.ndarray, timing: str = "paper", blank_after: int | None = None) -> str:
    """The (T, T) map of mean |a_{t,τ}| as rows of digits: 9 for the largest value, round(9 |a| / max)
    elsewhere, blank where step t does not read k_τ. With ``blank_after`` = M < T a line of '-'
    follows row M (the steps below act on blank frames) and a '|' follows column M + lag (the last key
    computed from shown frames only, :func:`key_lag`)."""
    mean = np.abs(np.asarray(mean, np.float64))
    if mean.ndim != 2 or mean.shape[0] != mean.shape[1]:
        raise ValueError(f"mean must be a (T, T) array, got shape {mean.shape}")
    T = mean.shape[0]
    mask = support(T, timing)
    top = float(mean[mask].max()) if mask.any() else 0.0
    digits = np.zeros((T, T), int) if top == 0 else np.rint(9 * mean / top).astype(int)
    row_line = blank_after if blank_after is not None and blank_after < T else None
    col_bar = None if blank_after is None or blank_after + key_lag(timing) >= T else blank_after + key_lag(timing)
    corner = "t\\τ"
    width = max(len(corner), len(str(T)))

    def join(cells: Sequence[str]) -> str:
        return "".join(cell + ("|" if j + 1 == col_bar else " ") for j, cell in enumerate(cells)).rstrip()

    header = join([str((j + 1) % 10) for j in range(T)])
    lines = [f"{corner:>{width}} {header}"]
    for i in range(T):
        lines.append(f"{i + 1:>{width}} " + join([DIGITS[digits[i, j]] if mask[i, j] else " " for j in range(T)]))
        if row_line is not None and i + 1 == row_line:
            lines.append(" " * (width + 1) + "-" * (2 * T - 1))
    notes = [f"9 = {top:.3g}"] + (["columns are τ mod 10"] if T >= 10 else [])
    if row_line is not None:
        notes.append(f"below the '-' line the steps act on blank frames (t > M = {blank_after})")
    if col_bar is not None:
        notes.append(f"right of '|' the keys were written after a blank frame (τ > {col_bar})")
    lines.append("; ".join(notes))
    return "\n".join(lines)


def save_attention_png(path: str | os.PathLike, mean: np.ndarray, episodes: Sequence[np.ndarray] = (), *,
                       timing: str = "paper", blank_after: int | None = None, mean_title: str = "mean |a|",
                       ) -> Path:
    """Write the heat maps of |a_{t,τ}| as a PNG, atomically: ``mean`` (T, T) in the first panel,
    then one panel per (T, T) array of ``episodes``, each with its colour bar; rows the step t,
    columns the past step τ; a dashed line below step M = ``blank_after`` (blank frames after it)
    and one after the column of the last key computed from shown frames (τ = M + :func:`key_lag`).
    Needs matplotlib (the ``plot`` extra): ValueError without it."""
    panels = [np.abs(np.asarray(mean, np.float64))] + [np.abs(np.asarray(a, np.float64)) for a in episodes]
    for k, panel in enumerate(panels):
        if panel.ndim != 2 or panel.shape != panels[0].shape or panel.shape[0] != panel.shape[1]:
            raise ValueError(f"the heat maps must be (T, T) arrays of one shape, got {panel.shape} for panel {k + 1}")
    try:
        from matplotlib.figure import Figure  # no pyplot, so no backend is chosen
    except ImportError:
        raise ValueError("drawing the attention heat map needs matplotlib: "
                         "pip install 'fastweights_np[plot]'") from None
    T = panels[0].shape[0]
    mask = support(T, timing)
    columns = min(len(panels), 3)
    rows = -(-len(panels) // columns)
    fig = Figure(figsize=(4.2 * columns, 3.6 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    titles = [mean_title] + [f"episode {k + 1}" for k in range(len(episodes))]
    ticks = np.arange(1, T + 1, max(1, T // 8))
    for ax, panel, title in zip(axes, panels, titles, strict=False):
        image = ax.imshow(np.ma.masked_where(~mask, panel), cmap="viridis", vmin=0, interpolation="nearest",
                          extent=(0.5, T + 0.5, T + 0.5, 0.5))
        if blank_after is not None and blank_after < T:
            ax.axhline(blank_after + 0.5, color="tab:red", linestyle="--", linewidth=1)
        if blank_after is not None and blank_after + key_lag(timing) < T:
            ax.axvline(blank_after + key_lag(timing) + 0.5, color="tab:red", linestyle="--", linewidth=1)
        ax.set(title=title, xlabel="past step τ", ylabel="step t", xticks=ticks, yticks=ticks)
        fig.colorbar(image, ax=ax, label=r"$|a_{t,\tau}|$")
    for ax in axes[len(panels):]:
        ax.set_axis_off()
    if blank_after is not None and blank_after < T:
        fig.suptitle(f"dashed: frames after M = {blank_after} are blank (rows), last key from shown frames (columns)",
                     fontsize=9)

    def write(f) -> None:
        fig.savefig(f, format="png", dpi=90)

    return atomic_write_bytes(path, write)
