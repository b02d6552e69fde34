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
from fastweights_np.cores.fast_weights import FastWeightsConfig, sequence_backward, sequence_forward
from fastweights_np.cores.fast_weights import param_shapes as core_param_shapes
from fastweights_np.cores.fast_weights.params import PRELIMINARY_LN_NAMES
from fastweights_np.cores.fast_weights.sequence import sequence_inner_states
from fastweights_np.finite import NonFiniteError, describe_states, non_finite_error, quiet_floating_point
from fastweights_np.heads import linear_head_backward, linear_head_forward, mlp_head_backward, mlp_head_forward
from fastweights_np.models.canonical import (
    check_inputs,
    forward_record,
    init_params,
    loss_backward,
    loss_forward,
    loss_scale,
    param_shapes,
    reference_loss_and_grad,
)
from fastweights_np.ops import softmax_xent_backward, softmax_xent_forward
from fastweights_np.ops.embedding import embedding_backward, embedding_forward
from fastweights_np.optim import AdamConfig, adam_init, adam_step
from fastweights_np.oracle.compare import is_echo
from fastweights_np.oracle.format import FORMAT_VERSION, MANIFEST_KEY, manifest_array, non_finite_arrays, read_manifest
from fastweights_np.validation import check_float_array, check_labels, check_params

READOUTS = ("linear", "mlp")
# The paper's MLP readout (Sec. 4.1): 100 ReLU units between h_T and the logits.
PAPER_READOUT_HIDDEN = 100
SCALAR_NAMES = ("decay", "fast_lr")

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


_OPTION_MEANINGS = {
    "params.E": "E (V, I): token embedding, x_t = E[x[b, t-1]] (tokens=V)",
    "params.W1": "W1 (F, H): the MLP readout's hidden layer, a = ReLU(W1 h_T + b1) (readout='mlp')",
    "params.b1": "b1 (F,): the MLP readout's hidden bias (readout='mlp')",
    "adam.params.decay": "lambda (decay) after k Adam steps on this batch (train_scalars=True: trained too)",
    "adam.params.fast_lr": "eta (fast_lr) after k Adam steps on this batch (train_scalars=True: trained too)",
}


def array_meaning(name: str, cfg: FastWeightsConfig | None = None, *, readout: str = "linear",
                  tokens: bool = False, train_scalars: bool = False) -> str:
    """What the golden array ``name`` holds, in the notation of docs/oracle.md; with ``cfg``, at
    that config (the loss's reduction, the shapes of g and beta); ``readout``, ``tokens`` and
    ``train_scalars``: the export options of :func:`golden_vectors` the file was written with."""
    if readout == "mlp" and name in ("params.V", "logits"):
        return ("V (O, F): the MLP readout's output layer, logits = V a + c" if name == "params.V"
                else "V ReLU(W1 h_T + b1) + c (readout='mlp'), shape (B, O)")
    if tokens and name == "x":
        return "integer token ids, x[b, t-1] = the id of x_t in [0, V), shape (B, T); x_t = E[id] (tokens=V)"
    if name in _OPTION_MEANINGS:
        return _OPTION_MEANINGS[name]
    if train_scalars and name.startswith("adam.params."):
        return f"params.{name[len('adam.params.'):]} after k Adam steps on this batch (decay and fast_lr trained too)"
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


def extended_param_shapes(cfg: FastWeightsConfig, *, tokens: int | None = None, readout: str = "linear",
                          readout_hidden: int = PAPER_READOUT_HIDDEN) -> dict[str, tuple[int, ...]]:
    """Every parameter's shape with the export options: E (V, I) first with ``tokens`` = V; the
    core's W, C, b, g, beta (g0, beta0); W1 (F, H) and b1 (F,) then V (O, F) with ``readout`` =
    "mlp" (F = ``readout_hidden``), else V (O, H); c (O,). The defaults give
    :func:`fastweights_np.models.canonical.param_shapes`."""
    H, O = cfg.hidden_size, cfg.output_size
    shapes = {"E": (tokens, cfg.input_size)} if tokens is not None else {}
    shapes.update(core_param_shapes(cfg))
    if readout == "mlp":
        shapes.update(W1=(readout_hidden, H), b1=(readout_hidden,), V=(O, readout_hidden))
    else:
        shapes["V"] = (O, H)
    shapes["c"] = (O,)
    return shapes


def _extended_loss(params: dict, x, y, cfg: FastWeightsConfig, readout: str, *, decay=None, fast_lr=None):
    """Loss, forward record and gradients of the model with a token embedding in front (when
    ``params`` has E: x holds ids and x_t = E[id]) and the linear or MLP readout of h_T."""
    tokens = "E" in params
    xe, embedding_cache = embedding_forward(x, params["E"]) if tokens else (x, None)
    core = {name: params[name] for name in core_param_shapes(cfg)}
    (hs, state), core_cache = sequence_forward(core, xe, cfg, decay=decay, fast_lr=fast_lr)
    if readout == "mlp":
        logits, head_cache = mlp_head_forward(hs, params["W1"], params["b1"], params["V"], params["c"], "last")
    else:
        logits, head_cache = linear_head_forward(hs, params["V"], params["c"], "last")
    loss, xent_cache = softmax_xent_forward(logits, y)
    scale = loss_scale(cfg, logits.shape[0])
    if scale != 1.0:
        loss = loss * scale
    record = {"h_inner": sequence_inner_states(core_cache), "hs": hs, "A_T": state.A, "logits": logits}
    dlogits = softmax_xent_backward(scale, xent_cache)
    if readout == "mlp":
        dhs, dW1, db1, dV, dc = mlp_head_backward(dlogits, head_cache)
        head = {"W1": dW1, "b1": db1, "V": dV, "c": dc}
    else:
        dhs, dV, dc = linear_head_backward(dlogits, head_cache)
        head = {"V": dV, "c": dc}
    core_grads, dx, _ = sequence_backward((dhs, None), core_cache)
    grads = {"E": embedding_backward(dx, embedding_cache)} if tokens else {}
    grads.update({name: core_grads[name] for name in core})
    grads.update(head, decay=core_grads["decay"], fast_lr=core_grads["fast_lr"])
    return loss, record, grads


def _golden_arrays(params: dict, x, y, cfg: FastWeightsConfig, *, adam_steps: int, adam: AdamConfig,
                   readout: str = "linear", train_scalars: bool = False) -> dict:
    """The golden arrays, in the namespace of the inputs (the manifest is added by the caller)."""
    dtype = cfg.np_dtype
    extended = readout != "linear" or "E" in params
    names = tuple(params) if extended else tuple(param_shapes(cfg))  # PARAM_NAMES (+ g0, beta0)
    if extended:
        loss, record, grads = _extended_loss(params, x, y, cfg, readout)
    else:
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
        if train_scalars:  # λ and η are Adam parameters too, of shape ()
            theta.update({name: np.asarray(getattr(cfg, name), dtype=dtype) for name in SCALAR_NAMES})
        state = adam_init(theta)
        losses = [loss]
        for _ in range(adam_steps):
            theta, state = adam_step(theta, grads, state, adam)
            weights = {name: theta[name] for name in names}
            scalars = {name: float(theta[name]) for name in SCALAR_NAMES} if train_scalars else {}
            if extended:
                loss_k, _, grads = _extended_loss(weights, x, y, cfg, readout, **scalars)
            else:
                loss_k, grads = reference_loss_and_grad(weights, x, y, cfg, **scalars)
            losses.append(loss_k)
        arrays["adam.loss"] = np.asarray(losses, dtype=dtype)
        arrays.update({f"adam.params.{name}": theta[name] for name in names})
        if train_scalars:
            arrays.update({f"adam.params.{name}": np.asarray(theta[name], dtype=dtype) for name in SCALAR_NAMES})
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
    readout: str = "linear",
    train_scalars: bool = False,
) -> dict[str, np.ndarray]:
    """Golden vectors of the reference at the given parameters and batch.

    Parameters
    ----------
    params, x, y, cfg : as for :func:`fastweights_np.loss_and_grad` (checked the same way);
        with an embedding ``params["E"]`` (V, I), x holds integer token ids (B, T) in [0, V)
        and x_t = E[id] (grad.E is exported); with ``readout="mlp"``, params holds W1 (F, H),
        b1 (F,) and V (O, F) (:func:`extended_param_shapes`)
    adam_steps : k >= 0, the Adam steps to take on this batch (0 leaves out the adam.* arrays)
    adam : Adam's hyperparameters (default: lr 1e-3, β1 0.9, β2 0.999, ε 1e-8)
    settings : extra facts for the manifest's "settings" (how the problem was drawn)
    backend : "numpy", or "cupy" to run the reference's code on a GPU; the file does not
        record it (it describes only the math)
    readout : "linear" (logits = V h_T + c, the default) or "mlp" (logits = V ReLU(W1 h_T +
        b1) + c, the paper's Sec. 4.1 readout)
    train_scalars : with True, λ (decay) and η (fast_lr) are Adam parameters too, updated by
        their gradients like the weights (adam.params.decay, adam.params.fast_lr exported);
        by default they stay fixed

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
    if readout not in READOUTS:
        raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}")
    if not isinstance(train_scalars, bool):
        raise ValueError(f"train_scalars must be True or False, got {train_scalars!r}")
    extended = readout != "linear" or (isinstance(params, dict) and "E" in params)
    if extended:
        params, x, tokens, hidden = _check_extended_inputs(params, x, cfg, readout)
    else:
        x, tokens, hidden = check_inputs(params, x, cfg), None, None
    y = check_labels("y", y, x.shape[0], cfg.output_size)
    if isinstance(adam_steps, bool) or not isinstance(adam_steps, int) or adam_steps < 0:
        raise ValueError(f"adam_steps must be a non-negative integer, got {adam_steps!r}")
    adam = AdamConfig() if adam is None else adam
    compute = partial(_golden_arrays, adam_steps=adam_steps, adam=adam, readout=readout, train_scalars=train_scalars)
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
            name: {"shape": list(a.shape), "dtype": str(a.dtype),
                   "meaning": array_meaning(name, cfg, readout=readout, tokens=extended and tokens is not None,
                                            train_scalars=train_scalars)}
            for name, a in arrays.items()
        },
    }
    # The options are recorded only when used: a default export's manifest is as it always was.
    if train_scalars:
        manifest["settings"]["adam"]["train_scalars"] = True
    if extended and tokens is not None:
        manifest["settings"]["tokens"] = tokens
    if readout != "linear":
        manifest["settings"].update(readout=readout, readout_hidden=hidden)
    arrays[MANIFEST_KEY] = manifest_array(manifest)
    return arrays


def _check_extended_inputs(params: object, x: object, cfg: FastWeightsConfig,
                           readout: str) -> tuple[dict, np.ndarray, int | None, int | None]:
    """Check the parameters (:func:`extended_param_shapes`) and x of a model with an embedding
    or the MLP readout; return (params in that order, x, V or None, F or None)."""
    if not isinstance(cfg, FastWeightsConfig):
        raise TypeError(f"cfg must be a FastWeightsConfig, got {type(cfg).__name__}")
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict of arrays, got {type(params).__name__}")
    for name in ("E", "W1") if readout == "mlp" else ("E",):
        a = params.get(name)
        if name in params and (not isinstance(a, np.ndarray) or a.ndim != 2 or a.shape[0] < 1):
            raise ValueError(f"params[{name!r}] must be a 2-d array with at least one row, got "
                             f"{getattr(a, 'shape', type(a).__name__)}")
    tokens = int(params["E"].shape[0]) if "E" in params else None
    hidden = int(params["W1"].shape[0]) if readout == "mlp" and "W1" in params else PAPER_READOUT_HIDDEN
    shapes = extended_param_shapes(cfg, tokens=tokens, readout=readout, readout_hidden=hidden)
    check_params(params, shapes, cfg.np_dtype)
    params = {name: params[name] for name in shapes}
    if tokens is None:
        return params, check_float_array("x", x, (None, None, cfg.input_size), cfg.np_dtype), None, hidden
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.integer) or x.ndim != 2 or 0 in x.shape:
        raise ValueError(f"x must be integer token ids of shape (B, T) with params['E'] (an embedding of V = "
                         f"{tokens} rows), got {getattr(x, 'dtype', type(x).__name__)} of shape "
                         f"{getattr(x, 'shape', '?')}")
    if x.min() < 0 or x.max() >= tokens:
        bad = x[(x < 0) | (x >= tokens)][0]
        raise ValueError(f"x must hold token ids in [0, V = {tokens}) (the rows of params['E']), got {int(bad)}")
    return params, x, tokens, hidden if readout == "mlp" else None


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
    tokens: int | None = None,
    readout: str = "linear",
    readout_hidden: int = PAPER_READOUT_HIDDEN,
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

    ``tokens`` = V replaces x by integer ids (B, T) uniform in [0, V) and adds the embedding
    E (V, I) ~ N(0, 1) (x_t = E[id] has the default's distribution); ``readout="mlp"`` adds
    W1 (F, H) uniform in ±1/sqrt(H) and b1 = 0 and replaces V by (O, F) uniform in ±1/sqrt(F)
    (F = ``readout_hidden``, the paper's 100 by default), each plus ``param_noise`` · N(0, 1)
    (b1 = 0 exactly with ``zero_biases``). Both are drawn after everything else, so y, W, C, b,
    g, beta and c stay the default's.
    """
    if tokens is not None and (isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 1):
        raise ValueError(f"tokens must be None or a positive integer V (the vocabulary size), got {tokens!r}")
    if readout not in READOUTS:
        raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}")
    if isinstance(readout_hidden, bool) or not isinstance(readout_hidden, int) or readout_hidden < 1:
        raise ValueError(f"readout_hidden must be a positive integer F, got {readout_hidden!r}")
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
    if tokens is None and readout == "linear":
        return {k: v.astype(cfg.np_dtype) for k, v in params.items()}, x.astype(cfg.np_dtype), y
    H, O, F = cfg.hidden_size, cfg.output_size, readout_hidden
    if tokens is not None:
        x = rng.integers(0, tokens, (batch, steps))
        params["E"] = rng.standard_normal((tokens, cfg.input_size))
    if readout == "mlp":
        params["W1"] = rng.uniform(-1.0, 1.0, (F, H)) / np.sqrt(H) + param_noise * rng.standard_normal((F, H))
        params["b1"] = np.zeros(F) if zero_biases else param_noise * rng.standard_normal(F)
        params["V"] = rng.uniform(-1.0, 1.0, (O, F)) / np.sqrt(F) + param_noise * rng.standard_normal((O, F))
    shapes = extended_param_shapes(cfg, tokens=tokens, readout=readout, readout_hidden=F)
    params = {k: params[k].astype(cfg.np_dtype) for k in shapes}
    return params, x if tokens is not None else x.astype(cfg.np_dtype), y


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
    train_scalars: bool = False,
    tokens: int | None = None,
    readout: str = "linear",
    readout_hidden: int = PAPER_READOUT_HIDDEN,
) -> dict[str, np.ndarray]:
    """Golden vectors for the problem :func:`draw_problem` draws; the dict that
    :func:`fastweights_np.oracle.save_golden` writes (``fastweights-np oracle export``).
    ``backend`` and ``train_scalars`` (λ and η trained by the Adam steps): as for
    :func:`golden_from_inputs`; ``zero_biases`` (b = c = 0), ``unit_gain`` (g = 1, β = 0),
    ``tokens`` (integer inputs and an embedding E of V rows), ``readout`` ("linear" or "mlp")
    and ``readout_hidden`` (F): as for :func:`draw_problem`. All are recorded in the manifest's
    "settings" (the last four only when not the default: "tokens", "readout",
    "readout_hidden", and "train_scalars" in "adam")."""
    for name, value in (("batch", batch), ("steps", steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    params, x, y = draw_problem(cfg, batch=batch, steps=steps, seed=seed, param_noise=param_noise,
                                zero_biases=zero_biases, unit_gain=unit_gain, tokens=tokens, readout=readout,
                                readout_hidden=readout_hidden)
    return golden_from_inputs(
        params, x, y, cfg, adam_steps=adam_steps, adam=adam,
        settings={"seed": seed, "param_noise": param_noise, "zero_biases": zero_biases, "unit_gain": unit_gain},
        backend=backend, readout=readout, train_scalars=train_scalars,
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
    **options,
) -> dict[str, np.ndarray]:
    """The inputs and parameters (x, y, params.*) of the problem :func:`golden_vectors` draws with
    the same arguments, with its manifest (config, settings with ``problem_only``, the arrays'
    meanings) and none of the golden results (:func:`problem_subset`). The reference is run
    once anyway: a problem whose golden vectors would not be finite is refused the same way
    (NonFiniteError), and ``adam_steps`` / ``adam`` are recorded for code that takes Adam steps.
    ``options``: the other keywords of :func:`golden_vectors` (``train_scalars``, ``tokens``,
    ``readout``, ``readout_hidden``)."""
    return problem_subset(golden_vectors(cfg, batch=batch, steps=steps, seed=seed, param_noise=param_noise,
                                         adam_steps=adam_steps, adam=adam, zero_biases=zero_biases,
                                         unit_gain=unit_gain, **options))
