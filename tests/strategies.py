"""Hypothesis strategies and random points shared by the reference's tests."""

from __future__ import annotations

import os

import numpy as np
from hypothesis import strategies as st

from fastweights_np import FastWeightsConfig, init_params


def examples(n: int) -> int:
    """``n`` hypothesis examples, times FW_EXAMPLES_SCALE (default 1) for a longer hunt by hand:
    ``FW_EXAMPLES_SCALE=20 python -m pytest tests/test_model_gradients.py``."""
    return max(1, round(n * float(os.environ.get("FW_EXAMPLES_SCALE", "1"))))


def random_params(cfg: FastWeightsConfig, seed: int, scale: float = 0.3) -> dict[str, np.ndarray]:
    """The paper's initialisation plus Gaussian noise, so no entry sits at a special value
    (beta = 0 would put an H = 1 layer-norm output exactly on ReLU's kink)."""
    rng = np.random.default_rng(seed + 1000)
    return {
        k: (v + scale * rng.standard_normal(v.shape)).astype(cfg.np_dtype)
        for k, v in init_params(cfg, seed).items()
    }


def random_batch(cfg: FastWeightsConfig, batch: int, steps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed + 2000)
    x = rng.standard_normal((batch, steps, cfg.input_size)).astype(cfg.np_dtype)
    y = rng.integers(0, cfg.output_size, batch)
    return x, y


# Where finite differences can resolve a gradient at all. λ and η are drawn from {0, 1} and
# [0.05, 1]: at η = 1e-277 (which hypothesis finds) the gradients that η multiplies sit far
# below the rounding noise of central differences, so no check can say anything there.
# Likewise layer norm over H = 2 units maps every input to about ±g + β; its Jacobian is
# O(ε/|v_1 − v_2|³), about 1e-5 of the other gradients, which central differences cannot
# resolve to 1e-6, so random draws skip H = 2 with layer norm (test_ops checks that LN at a
# point where its Jacobian is not negligible).
unit_scalars = st.sampled_from([0.0, 1.0]) | st.floats(0.05, 1.0)


def hidden_sizes(max_hidden: int, layer_norm: bool) -> st.SearchStrategy[int]:
    sizes = [h for h in range(1, max_hidden + 1) if not (layer_norm and h == 2)]
    return st.sampled_from(sizes)


@st.composite
def configs(
    draw, max_hidden: int = 5, max_input: int = 3, max_inner: int = 3, form=None, layer_norm=None
) -> FastWeightsConfig:
    """Small configs over every option of the reference (``form``, ``layer_norm``: fixed if given)."""
    layer_norm = draw(st.booleans()) if layer_norm is None else layer_norm
    ln_preliminary = draw(st.booleans())
    return FastWeightsConfig(
        input_size=draw(st.integers(1, max_input)),
        hidden_size=draw(hidden_sizes(max_hidden, layer_norm or ln_preliminary)),
        output_size=draw(st.integers(1, 4)),
        decay=draw(unit_scalars),
        fast_lr=draw(unit_scalars),
        inner_steps=draw(st.integers(0, max_inner)),
        layer_norm=layer_norm,
        ln_preliminary=ln_preliminary,
        form=draw(st.sampled_from(["matrix", "attention"])) if form is None else form,
    )


@st.composite
def problems(draw, max_batch: int = 3, max_steps: int = 4, **config_kwargs):
    """(cfg, params, x, y) with hypothesis-drawn sizes and options, float64."""
    cfg = draw(configs(**config_kwargs))
    batch = draw(st.integers(1, max_batch))
    steps = draw(st.integers(1, max_steps))
    seed = draw(st.integers(0, 2**16))
    params = random_params(cfg, seed)
    x, y = random_batch(cfg, batch, steps, seed)
    return cfg, params, x, y


def stable_problems(max_batch: int = 3, max_steps: int = 6, max_hidden: int = 5, **config_kwargs):
    """Like :func:`problems`, but without layer norm only short runs (T <= 3, S <= 2): Eq. 2
    grows like (η|h|²)^(S·T) and overflows on longer ones, which is the model, not the code."""
    with_ln = problems(max_batch, max_steps, max_hidden=max_hidden, layer_norm=True, **config_kwargs)
    without_ln = problems(max_batch, 3, max_hidden=max_hidden, max_inner=2, layer_norm=False, **config_kwargs)
    return with_ln | without_ln
