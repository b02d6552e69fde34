"""Golden vectors: everything the reference computes for one small problem, as named arrays.

:func:`golden_vectors` draws a problem (parameters near the paper's initialisation, inputs,
labels) from a seed; :func:`golden_from_inputs` computes the golden vectors for given ones.
Both return the dict that :func:`fastweights_np.oracle.save_golden` writes: the arrays and the
``__manifest__`` (fastweights_np/oracle/format.py). One forward and one backward of the
reference give the states, logits, loss and gradients (read from the forward's cache, not
recomputed); the Adam run then takes k steps on the same batch. Golden vectors are finite: a
problem whose run overflows raises :class:`fastweights_np.finite.NonFiniteError` naming every
non-finite array (and the first non-finite h_t), and nothing is returned.
"""

from __future__ import annotations

import json
from functools import partial

import numpy as np

from fastweights_np import __version__
from fastweights_np.backends import backend_module
from fastweights_np.cores.fast_weights import FastWeightsConfig
from fastweights_np.cores.fast_weights.params import PRELIMINARY_LN_NAMES
from fastweights_np.finite import NonFiniteError, describe_states, non_finite_error, quiet_floating_point
from fastweights_np.models.canonical import (
    check_inputs,
    forward_record,
    init_params,
    loss_backward,
    loss_forward,
    param_shapes,
    reference_loss_and_grad,
)
from fastweights_np.optim import AdamConfig, adam_init, adam_step
from fastweights_np.oracle.compare import is_echo
from fastweights_np.oracle.format import FORMAT_VERSION, MANIFEST_KEY, manifest_array, non_finite_arrays, read_manifest
from fastweights_np.validation import check_labels

_PARAM_MEANINGS = {
    "W": "W (H, H): recurrent slow weights, z_t = W h_{t-1} + C x_t + b",
    "C": "C (H, I): input weights",
    "b": "b (H,): bias of z_t",
    "g": "g (H,): layer-norm gain",
    "beta": "beta (H,): layer-norm bias",
    "g0": "g0 (H,): the preliminary vector's layer-norm gain (ln_params='separate'; g is the inner loop's)",
    "beta0": "beta0 (H,): the preliminary vector's layer-norm bias (ln_params='separate'; beta is the inner loop's)",
    "V": "V (O, H): readout, logits = V h_T + c",
    "c": "c (O,): readout bias",
}


_SCALAR_LN_MEANINGS = {
    "g": "g (1,): layer-norm gain, one number broadcast over the H units (ln_params='scalar')",
    "beta": "beta (1,): layer-norm bias, one number broadcast over the H units (ln_params='scalar')",
}


def array_meaning(name: str, cfg: FastWeightsConfig | None = None) -> str:
    """What the golden array ``name`` holds, in the notation of docs/oracle.md; with ``cfg``, at
    that config (the loss's reduction, the shapes of g and beta)."""
    if cfg is not None and name == "loss" and cfg.loss_reduction == "sum":
        return "sum over the batch of -log softmax(logits_b)[y_b] (loss_reduction='sum')"
    if cfg is not None and name == "h_inner" and cfg.no_inner_loop:
        return ("h_inner[b, t-1, 0] = h_{t-1} (no preliminary vector: no_inner_loop=True; h_0 = 0) and "
                "h_inner[b, t-1, 1] = h_t, shape (B, T, 2, H)")
    group, _, param = name.rpartition(".")
    if cfg is not None and group == "params" and cfg.ln_params == "scalar" and param in _SCALAR_LN_MEANINGS:
        return _SCALAR_LN_MEANINGS[param]
    fixed = {
        "x": "inputs, x[b, t-1] = x_t of sequence b, shape (B, T, I)",
        "y": "integer class labels, shape (B,)",
        "h_inner": "every inner-loop state, h_inner[b, t-1, s] = h_t^(s), s = 0..S "
        "(s = 0: the preliminary vector; s = S: h_t), shape (B, T, S+1, H)",
        "hs": "h_1..h_T, hs[b, t-1] = h_t = h_inner[b, t-1, S], shape (B, T, H)",
        "A_T": "fast weights after the last step (the carried state's A), from A_0 = 0, shape (B, H, H)",
        "logits": "V h_T + c, shape (B, O)",
        "loss": "mean over the batch of -log softmax(logits_b)[y_b]",
        "grad.decay": "d loss / d lambda (decay)",
        "grad.fast_lr": "d loss / d eta (fast_lr)",
        "adam.loss": "loss at the parameters after 0, 1, ..., k Adam steps on this batch (adam.loss[0] = loss)",
    }
    if name in fixed:
        return fixed[name]
    group, _, param = name.rpartition(".")
    if group == "params":
        return _PARAM_MEANINGS[param]
    if group == "grad":
        return f"d loss / d {param}, same shape as params.{param}"
    if group == "adam.params":
        return f"params.{param} after k Adam steps on this batch (decay and fast_lr held fixed)"
    raise KeyError(f"no golden array is called {name!r}")


def _golden_arrays(params: dict, x, y, cfg: FastWeightsConfig, *, adam_steps: int, adam: AdamConfig) -> dict:
    """The golden arrays, in the namespace of the inputs (the manifest is added by the caller)."""
    dtype = cfg.np_dtype
    names = tuple(param_shapes(cfg))  # PARAM_NAMES, plus g0, beta0 with ln_params="separate"
    loss, cache = loss_forward(params, x, y, cfg)
    record = forward_record(cache)
    grads = loss_backward(cache)
    arrays = {"x": x, "y": y}
    arrays.update({f"params.{name}": params[name] for name in names})
    arrays.update({name: record[name] for name in ("h_inner", "hs", "A_T", "logits")})
    arrays["loss"] = np.asarray(loss, dtype=dtype)
    arrays.update({f"grad.{name}": grads[name] for name in names})
    arrays["grad.decay"] = np.asarray(grads["decay"], dtype=dtype)
    arrays["grad.fast_lr"] = np.asarray(grads["fast_lr"], dtype=dtype)
    if adam_steps > 0:
        theta = {name: params[name] for name in names}
        state = adam_init(theta)
        losses = [loss]
        for _ in range(adam_steps):
            theta, state = adam_step(theta, grads, state, adam)
            loss_k, grads = reference_loss_and_grad(theta, x, y, cfg)
            losses.append(loss_k)
        arrays["adam.loss"] = np.asarray(losses, dtype=dtype)
        arrays.update({f"adam.params.{name}": theta[name] for name in names})
    return arrays


EXPORT_ADVICE = (
    "Try: layer norm (layer_norm=True, no --no-layer-norm), a smaller decay λ or fast_lr η, fewer steps T, "
    "smaller parameters (--param-noise); for adam.* alone, a smaller Adam learning rate (--adam-lr)."
)


def non_finite_golden_error(arrays: dict[str, np.ndarray]) -> NonFiniteError | None:
    """The error for golden arrays with an inf or a NaN (None when all are finite): where the
    first non-finite h_t is (time step t of T, example, unit), then every non-finite array with
    its first bad value and index (h_inner's index (b, t-1, s, unit) gives the inner step s)."""
    bad = non_finite_arrays(arrays)
    if not bad:
        return None
    first = describe_states(arrays["hs"])
    where = "; ".join(([first] if first else []) + list(bad.values()))
    return non_finite_error("non-finite golden vectors", "oracle export", f"{where}; golden vectors must be finite",
                            EXPORT_ADVICE)


def golden_from_inputs(
    params: dict,
    x: np.ndarray,
    y: np.ndarray,
    cfg: FastWeightsConfig,
    *,
    adam_steps: int = 3,
    adam: AdamConfig | None = None,
    settings: dict | None = None,
    backend: str = "numpy",
) -> dict[str, np.ndarray]:
    """Golden vectors of the reference at the given parameters and batch.

    Parameters
    ----------
    params, x, y, cfg : as for :func:`fastweights_np.loss_and_grad` (checked the same way);
    adam_steps : k >= 0, the Adam steps to take on this batch (0 leaves out the adam.* arrays)
    adam : Adam's hyperparameters (default: lr 1e-3, β1 0.9, β2 0.999, ε 1e-8)
    settings : extra facts for the manifest's "settings" (how the problem was drawn)
    backend : "numpy", or "cupy" to run the reference's code on a GPU; the file does not
        record it (it describes only the math)

    Returns
    -------
    dict of NumPy arrays (names and meanings: docs/oracle.md) plus "__manifest__"

    Raises
    ------
    NonFiniteError : (``fastweights_np.finite``) when any golden array holds an inf or a NaN
        (the run overflows: no layer norm, λ = η = 1, a long sequence, ...), naming each one and
        the first non-finite h_t; NumPy's overflow warnings are silenced meanwhile
    """
    if backend not in ("numpy", "cupy"):
        raise ValueError(f"golden vectors come from the reference: backend must be numpy or cupy, not {backend!r}")
    x = check_inputs(params, x, cfg)
    y = check_labels("y", y, x.shape[0], cfg.output_size)
    if isinstance(adam_steps, bool) or not isinstance(adam_steps, int) or adam_steps < 0:
        raise ValueError(f"adam_steps must be a non-negative integer, got {adam_steps!r}")
    adam = AdamConfig() if adam is None else adam
    compute = partial(_golden_arrays, adam_steps=adam_steps, adam=adam)
    module = backend_module(backend)
    with quiet_floating_point():  # an overflow is reported below, by name
        arrays = compute(params, x, y, cfg) if module is None else module.run_reference(compute, params, x, y, cfg)
    arrays = {name: np.asarray(a) for name, a in arrays.items()}
    error = non_finite_golden_error(arrays)
    if error is not None:
        raise error
    manifest = {
        "format": FORMAT_VERSION,
        "created_by": f"fastweights_np {__version__}",
        "config": json.loads(cfg.to_json()),
        "settings": dict(settings or {}, batch=int(x.shape[0]), steps=int(x.shape[1]),
                         adam={"steps": adam_steps, "lr": adam.lr, "beta1": adam.beta1,
                               "beta2": adam.beta2, "eps": adam.eps}),
        "arrays": {
            name: {"shape": list(a.shape), "dtype": str(a.dtype), "meaning": array_meaning(name, cfg)}
            for name, a in arrays.items()
        },
    }
    arrays[MANIFEST_KEY] = manifest_array(manifest)
    return arrays


def _noise(rng: np.random.Generator, shape: tuple[int, ...], H: int) -> np.ndarray:
    """N(0, 1) of ``shape``; a (1,) array (ln_params="scalar") takes the first of H draws, as
    many as the (H,) default's, so that later draws do not move."""
    return rng.standard_normal(H)[:1] if shape == (1,) else rng.standard_normal(shape)


def draw_problem(
    cfg: FastWeightsConfig,
    *,
    batch: int = 3,
    steps: int = 5,
    seed: int = 0,
    param_noise: float = 0.1,
    zero_biases: bool = False,
    unit_gain: bool = False,
) -> tuple[dict, np.ndarray, np.ndarray]:
    """A small problem from ``seed``: (params, x, y) in ``cfg.dtype``.

    params = the paper's initialisation (:func:`fastweights_np.init_params`) plus
    ``param_noise`` · N(0, 1) on every entry, so that no entry sits at a special value;
    x ~ N(0, 1) of shape (batch, steps, I); y uniform in [0, O). Drawn in float64, then cast.

    ``zero_biases`` then sets b = 0 and c = 0 exactly (for code without biases), and
    ``unit_gain`` sets layer norm's g = 1 and β = 0 exactly (g0 = 1 and β0 = 0 too, with
    ``ln_params="separate"``; for code without LN parameters); the random draws are the same
    either way, so the other arrays do not change.

    The layer-norm parameter variants draw the same numbers too: with ``ln_params="scalar"`` g
    and β take the first entry of their (H,) noise, and with ``"separate"`` g0 and β0 are drawn
    after x and y; so x, y, W, C, b, V and c are those of the default's problem at the same seed.
    """
    if isinstance(param_noise, bool) or not isinstance(param_noise, int | float) or not param_noise >= 0:
        raise ValueError(f"param_noise must be a number >= 0, got {param_noise!r}")
    for name, value in (("zero_biases", zero_biases), ("unit_gain", unit_gain)):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be True or False, got {value!r}")
    cfg64 = cfg.replace(dtype="float64")
    rng = np.random.default_rng(seed)
    base = init_params(cfg64, seed)
    later = {k: base.pop(k) for k in PRELIMINARY_LN_NAMES if k in base}  # ln_params="separate"
    params = {k: v + param_noise * _noise(rng, v.shape, cfg.hidden_size) for k, v in base.items()}
    x = rng.standard_normal((batch, steps, cfg.input_size))
    y = rng.integers(0, cfg.output_size, batch)
    params.update({k: v + param_noise * rng.standard_normal(v.shape) for k, v in later.items()})
    gains = {"g": 1.0, "beta": 0.0, **({"g0": 1.0, "beta0": 0.0} if later else {})}
    fixed = {**dict.fromkeys(("b", "c") if zero_biases else (), 0.0), **(gains if unit_gain else {})}
    for name, value in fixed.items():
        params[name] = np.full_like(params[name], value)
    return {k: v.astype(cfg.np_dtype) for k, v in params.items()}, x.astype(cfg.np_dtype), y


def golden_vectors(
    cfg: FastWeightsConfig,
    *,
    batch: int = 3,
    steps: int = 5,
    seed: int = 0,
    param_noise: float = 0.1,
    adam_steps: int = 3,
    adam: AdamConfig | None = None,
    backend: str = "numpy",
    zero_biases: bool = False,
    unit_gain: bool = False,
) -> dict[str, np.ndarray]:
    """Golden vectors for the problem :func:`draw_problem` draws; the dict that
    :func:`fastweights_np.oracle.save_golden` writes (``fastweights-np oracle export``).
    ``backend``: as for :func:`golden_from_inputs`; ``zero_biases`` (b = c = 0) and
    ``unit_gain`` (g = 1, β = 0): as for :func:`draw_problem`, recorded in the manifest's
    "settings"."""
    for name, value in (("batch", batch), ("steps", steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    params, x, y = draw_problem(cfg, batch=batch, steps=steps, seed=seed, param_noise=param_noise,
                                zero_biases=zero_biases, unit_gain=unit_gain)
    return golden_from_inputs(
        params, x, y, cfg, adam_steps=adam_steps, adam=adam,
        settings={"seed": seed, "param_noise": param_noise, "zero_biases": zero_biases, "unit_gain": unit_gain},
        backend=backend,
    )


def problem_subset(golden: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Only the problem of golden vectors: x, y and params.*, with the manifest listing just those
    and ``settings["problem_only"] = True`` (``fastweights-np oracle problem``). Users run their
    code on it and hand the result to :func:`fastweights_np.oracle.diagnose` with this file.

    Raises
    ------
    OracleFileError : ``golden`` has no manifest, or one of another format version
    """
    manifest = read_manifest(golden, "the golden dict")
    arrays = {name: a for name, a in golden.items() if name != MANIFEST_KEY and is_echo(name)}
    entries = manifest.get("arrays") if isinstance(manifest.get("arrays"), dict) else {}
    manifest = dict(manifest, settings=dict(manifest.get("settings") or {}, problem_only=True),
                    arrays={name: entry for name, entry in entries.items() if name in arrays})
    arrays[MANIFEST_KEY] = manifest_array(manifest)
    return arrays


def problem_vectors(
    cfg: FastWeightsConfig,
    *,
    batch: int = 3,
    steps: int = 5,
    seed: int = 0,
    param_noise: float = 0.1,
    adam_steps: int = 3,
    adam: AdamConfig | None = None,
    zero_biases: bool = False,
    unit_gain: bool = False,
) -> dict[str, np.ndarray]:
    """The inputs and parameters (x, y, params.*) of the problem :func:`golden_vectors` draws with
    the same arguments, with its manifest (config, settings with ``problem_only``, the arrays'
    meanings) and none of the golden results (:func:`problem_subset`). The reference is run
    once anyway: a problem whose golden vectors would not be finite is refused the same way
    (NonFiniteError), and ``adam_steps`` / ``adam`` are recorded for code that takes Adam steps."""
    return problem_subset(golden_vectors(cfg, batch=batch, steps=steps, seed=seed, param_noise=param_noise,
                                         adam_steps=adam_steps, adam=adam, zero_biases=zero_biases,
                                         unit_gain=unit_gain))
