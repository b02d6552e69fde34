"""Diagnose: which known recurrence does another implementation compute? (docs/oracle.md §7)

Given another implementation's outputs (any subset of the computed golden arrays: h_inner, hs,
A_T, logits, loss, grad.*, adam.*) for the inputs and parameters of a golden file (or of a
problem file from ``fastweights-np oracle problem``), :func:`diagnose` recomputes the reference
in float64 under the known variants (docs/variants.md) and reports the one their code computes,
the per-tensor errors under it (the rows of :func:`fastweights_np.oracle.compare`) and, in
plain words, how it differs from the golden file's model. When nothing matches within the
tolerances, it reports the closest variant and the first mismatch under it (tensor, time step,
inner step, example).

The search, in stages, each stopping once a variant matches (after the other variants with as
few differences from the golden config, so that ties are decided by the smaller error):

1. structure, on the forward outputs (h_inner, hs, A_T, logits) at the golden file's ε:
   ``fast_weight_timing`` × ``no_inner_loop`` × ``inner_steps`` × ``layer_norm`` ×
   ``ln_preliminary`` × ``ln_axis`` × ``ln_params`` × ``activation`` × W (and C, V where square)
   used transposed, the variants with fewest differences first (a few hundred forwards of about
   1 ms on the default problem); with no forward output, on loss and gradients, with
   ``loss_reduction`` too;
2. ε in :data:`EPSILONS` for the :data:`TOP` closest structures;
3. ``loss_reduction`` with loss, gradients and Adam steps, for the closest of stage 2.

Variants are ranked by the mean over the compared tensors of log10 of the relative error
‖theirs − reference‖ / ‖reference‖ (clipped to [1e-17, 10]; a tensor of the wrong shape or
that the variant lacks counts as 10): a wrong structure is off by 1e-2..1, a wrong ε by 1e-6..1e-3,
rounding by 1e-13.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from fastweights_np.cores.fast_weights import FastWeightsConfig
from fastweights_np.cores.fast_weights.config import ACTIVATIONS, LN_AXES, LN_PARAMS, LOSS_REDUCTIONS, TIMINGS
from fastweights_np.finite import quiet_floating_point
from fastweights_np.models.canonical import forward_record, loss_backward, loss_forward, param_shapes
from fastweights_np.optim import AdamConfig
from fastweights_np.oracle.compare import (
    ComparisonReport,
    TensorComparison,
    _json_value,
    compare,
    compare_tensor,
    is_echo,
)
from fastweights_np.oracle.export import golden_from_inputs
from fastweights_np.oracle.format import (
    MANIFEST_KEY,
    OracleFileError,
    check_golden,
    load_golden,
    read_arrays,
    read_manifest,
)

__all__ = [
    "EPSILONS",
    "SEARCHED_FIELDS",
    "Diagnosis",
    "Mismatch",
    "Variant",
    "diagnose",
    "explain",
]

# The layer-norm ε tried (stage 2), with the golden file's own.
EPSILONS = (0.0, 1e-12, 1e-6, 1e-5, 1e-3)
# How many of the closest structures stage 2 tries every ε on, and stage 3 every loss reduction.
TOP = 3
# The config fields the search varies (the golden file's others, such as λ, η and form, are kept).
SEARCHED_FIELDS = ("fast_weight_timing", "no_inner_loop", "inner_steps", "layer_norm", "ln_preliminary",
                   "ln_axis", "ln_eps", "ln_params", "activation", "loss_reduction")
# The paper's values of the searched fields (ε and S: the paper's are whatever the golden file has).
PAPER = {"fast_weight_timing": "paper", "no_inner_loop": False, "layer_norm": True, "ln_preliminary": False,
         "ln_axis": "example", "ln_params": "shared", "activation": "relu", "loss_reduction": "mean"}
FORWARD_NAMES = ("h_inner", "hs", "A_T", "logits")
TRANSPOSABLE = ("W", "C", "V")
_ALL_PARAMS = ("W", "C", "b", "g", "beta", "g0", "beta0", "V", "c")
# Every array name some variant computes.
COMPUTED_NAMES = (*FORWARD_NAMES, "loss", *(f"grad.{p}" for p in (*_ALL_PARAMS, "decay", "fast_lr")),
                  "adam.loss", *(f"adam.params.{p}" for p in (*_ALL_PARAMS, "decay", "fast_lr")))
# Export options (manifest settings) of models that diagnose does not search: setting -> its default.
UNSEARCHED_SETTINGS = {"tokens": None, "readout": "linear"}
_EPS_NAMES = {0.0: "no ε", 1e-12: "TensorFlow's default", 1e-5: "PyTorch's default",
              1e-3: "Keras's LayerNormalization default"}
_WORST = 1.0  # log10 of the largest relative error counted


@dataclass(frozen=True)
class Variant:
    """A candidate recurrence: a config (float64), and the weights its code uses transposed."""

    cfg: FastWeightsConfig
    transposed: tuple[str, ...] = ()

    def differences(self, base: FastWeightsConfig) -> dict[str, object]:
        """The searched fields whose value differs from ``base``'s: field -> this variant's value."""
        return {name: getattr(self.cfg, name) for name in SEARCHED_FIELDS
                if getattr(self.cfg, name) != getattr(base, name)}

    def distance(self, base: FastWeightsConfig) -> int:
        """How many choices differ from ``base``: differing fields plus transposed weights."""
        return len(self.differences(base)) + len(self.transposed)

    def label(self, base: FastWeightsConfig) -> str:
        """'fast_weight_timing='lagged', ln_eps=1e-12, W transposed', or 'the golden file's model'."""
        parts = [f"{name}={value!r}" for name, value in self.differences(base).items()]
        parts += [f"{name} transposed" for name in self.transposed]
        return ", ".join(parts) if parts else "the golden file's model"


@dataclass(frozen=True)
class Mismatch:
    """Where theirs first leaves the reference under the closest variant (earliest time step and
    inner step first; then A_T, logits, loss, the gradients, the Adam steps)."""

    tensor: str
    index: tuple | None = None
    time_step: int | None = None  # t, 1-based, of the arrays with a time axis (h_inner, hs)
    inner_step: int | None = None  # s of h_inner (0: the preliminary vector); S for hs
    example: int | None = None
    golden_value: float | None = None
    their_value: float | None = None
    text: str = ""

    def to_dict(self) -> dict:
        return {"tensor": self.tensor, "index": None if self.index is None else list(self.index),
                "time_step": self.time_step, "inner_step": self.inner_step, "example": self.example,
                "golden_value": _json_value(self.golden_value), "their_value": _json_value(self.their_value),
                "text": self.text}


@dataclass
class Diagnosis:
    """What :func:`diagnose` found; ``str(diagnosis)`` is what ``fastweights-np oracle diagnose`` prints.

    Attributes
    ----------
    matched : whether the variant reproduces every compared tensor within compare's tolerances
    variant : the searched config fields whose value differs from the golden file's (empty for
        the golden file's own model), their values
    transposed : the weights their code uses transposed ("W": h W instead of W h)
    config, golden_config : the variant's full config and the golden file's (float64)
    explanation : one plain-words sentence per differing option
    report : the per-tensor comparison of theirs with the reference under the variant
    first_mismatch : when not matched, where theirs first leaves the closest variant
    also_matching : other variants that match as well (labels), when the problem cannot tell
    notes : arrays not used, echoes that differ from the golden file's, options not tried
    tried : how many variants were computed; seconds : how long the search took
    """

    matched: bool
    variant: dict[str, object]
    transposed: tuple[str, ...]
    config: FastWeightsConfig
    golden_config: FastWeightsConfig
    explanation: list[str]
    report: ComparisonReport
    first_mismatch: Mismatch | None = None
    also_matching: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tried: int = 0
    seconds: float = 0.0
    golden_name: str = "golden"
    their_name: str = "theirs"

    @property
    def is_golden_model(self) -> bool:
        """Whether the variant is the golden file's own model (no differing option)."""
        return not self.variant and not self.transposed

    def model_text(self) -> str:
        """'the paper's model', 'the golden file's model (...)' or the differing options."""
        if self.is_golden_model:
            own = Variant(self.golden_config).differences(_paper_config(self.golden_config))
            if not own:
                return "the paper's model (the golden file's)"
            shown = ", ".join(f"{k}={v!r}" for k, v in own.items())
            return f"the golden file's model ({shown})"
        return "the golden file's model with " + Variant(self.config, self.transposed).label(self.golden_config)

    def summary(self) -> str:
        """The first line: MATCH or NO MATCH, the variant, how many were tried in how long."""
        tried = f"{self.tried} variants tried in {self.seconds:.2f} s"
        if self.matched:
            return f"diagnose MATCH: {self.their_name} computes {self.model_text()}; {tried}"
        return (f"diagnose NO MATCH: no known variant computes {self.their_name} within the tolerances; "
                f"the closest is {self.model_text()}; {tried}")

    def __str__(self) -> str:
        lines = [self.summary()]
        if self.explanation:
            lines.append("how it differs from the golden file's model:" if self.golden_config != _paper_config(
                self.golden_config) else "how it differs from the paper:")
            lines.extend(f"  - {sentence}" for sentence in self.explanation)
        lines.extend(f"also matching: {label}" for label in self.also_matching)
        if self.first_mismatch is not None:
            lines.append(f"first mismatch under it: {self.first_mismatch.text}")
        lines.extend(f"note: {note}" for note in self.notes)
        lines.append("per-tensor errors under it:")
        lines.append(self.report.table())
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-ready (``fastweights-np oracle diagnose --json``)."""
        return {
            "matched": self.matched,
            "summary": self.summary(),
            "golden": self.golden_name,
            "theirs": self.their_name,
            "variant": dict(self.variant),
            "transposed": list(self.transposed),
            "model": self.model_text(),
            "explanation": list(self.explanation),
            "first_mismatch": None if self.first_mismatch is None else self.first_mismatch.to_dict(),
            "also_matching": list(self.also_matching),
            "notes": list(self.notes),
            "config": json.loads(self.config.to_json()),
            "golden_config": json.loads(self.golden_config.to_json()),
            "tried": self.tried,
            "seconds": self.seconds,
            "report": self.report.to_dict(),
        }


def _paper_config(cfg: FastWeightsConfig) -> FastWeightsConfig:
    """``cfg`` with the paper's values of the searched fields (its own ε, S, sizes, λ, η)."""
    return cfg.replace(**PAPER)


def _eps(value: float) -> str:
    """'1e-12 (TensorFlow's default)', '0 (no ε)', '1e-6'."""
    name = _EPS_NAMES.get(value)
    text = f"{value:g}".replace("e-0", "e-").replace("e+0", "e+")
    return text + (f" ({name})" if name else "")


def explain(name: str, value: object, base: FastWeightsConfig, *, batch: int,
            cfg: FastWeightsConfig | None = None) -> str:
    """One plain-words sentence for the option ``name`` = ``value`` where the golden config
    ``base`` has another value (``name`` may also be "transposed:W", "transposed:C", "transposed:V").

    Parameters
    ----------
    name : a field of :data:`SEARCHED_FIELDS`, or "transposed:<weight>"
    value : their value of it
    base : the golden file's config
    batch : B, for the sum loss's factor
    cfg : their whole config, when known (no_inner_loop's sentence names the memory its timing reads)

    Returns
    -------
    str, e.g. "the fast weights lag one step: step t reads A_{t-1}, ..."
    """
    was = getattr(base, name, None)
    if name == "fast_weight_timing":
        return {
            "lagged": "the fast weights lag one step: step t reads A_{t-1} (which holds only h_1..h_{t-2}), "
                      "not the A_t = λ A_{t-1} + η h_{t-1} h_{t-1}ᵀ of the paper",
            "preliminary": "the fast weights are written with the preliminary vector: A_t = λ A_{t-1} + η h_t^(0) "
                           "h_t^(0)ᵀ, read at step t, and the inner loop's sustained term is W h_t^(0) + C x_t + b "
                           "instead of W h_{t-1} + C x_t + b",
            "paper": f"the fast weights follow the paper: step t reads A_t = λ A_{{t-1}} + η h_{{t-1}} h_{{t-1}}ᵀ "
                     f"(the golden file: {was!r})",
        }[value]
    if name == "no_inner_loop":
        if value:
            memory = "A_{t-1}" if (cfg or base).fast_weight_timing == "lagged" else "A_t"
            return (f"there is no preliminary vector and no inner loop: h_t = f(LN(W h_{{t-1}} + C x_t + b + "
                    f"{memory} h_{{t-1}})), one application per step reading the memory with h_{{t-1}}")
        return "it has the preliminary vector and the inner loop h_t^(s) = f(LN(z_t + A_t h_t^(s-1))) " \
               "(the golden file: no_inner_loop=True)"
    if name == "inner_steps":
        return f"the inner loop runs S = {value} iteration{'s' if value != 1 else ''}, the golden file's {was}"
    if name == "layer_norm":
        return ("the inner loop has no layer norm: h_t^(s) = f(z_t + A_t h_t^(s-1)) (paper Eq. 2)" if not value
                else "the inner loop is layer-normalised: h_t^(s) = f(LN(z_t + A_t h_t^(s-1))) (paper Eq. 5; "
                     "the golden file has none)")
    if name == "ln_preliminary":
        return ("the preliminary vector is layer-normalised too: h_t^(0) = f(LN(z_t)) instead of f(z_t)" if value
                else "the preliminary vector is not layer-normalised: h_t^(0) = f(z_t), not f(LN(z_t))")
    if name == "ln_axis":
        return ("layer-norm statistics are taken over the batch axis: this is batch normalisation; examples in a "
                "batch are not independent" if value == "batch"
                else "layer-norm statistics are taken over the H units of each example (the paper's), not over "
                     "the batch")
    if name == "ln_eps":
        return f"layer norm uses ε = {_eps(value)}, the golden file {_eps(was)}"
    if name == "ln_params":
        return {
            "separate": "the preliminary vector's layer norm has its own gain and bias g0, β0 (params.g0, "
                        "params.beta0); the paper's model shares one g, β",
            "scalar": "layer norm's gain and bias are scalars (shape (1,), one number broadcast over the H units; "
                      "here params.g[0] and params.beta[0], as `oracle export --ln-params scalar` draws them)",
            "shared": f"layer norm's gain and bias are one pair g, β of shape (H,), shared by every layer norm "
                      f"(the golden file: {was!r})",
        }[value]
    if name == "activation":
        return f"the nonlinearity f is {value}, not {was}"
    if name == "loss_reduction":
        return (f"the loss is summed over the batch, not averaged: every gradient is B = {batch} times the paper's"
                if value == "sum" else
                f"the loss is averaged over the batch, not summed: every gradient is 1/B = 1/{batch} of the "
                f"golden file's")
    if name.startswith("transposed:"):
        weight = name.partition(":")[2]
        return {
            "W": "W is used transposed (h W instead of W h: z_t = Wᵀ h_{t-1} + C x_t + b)",
            "C": "C is used transposed (x C instead of C x: z_t = W h_{t-1} + Cᵀ x_t + b)",
            "V": "V is used transposed (h V instead of V h: logits = Vᵀ h_T + c)",
        }[weight]
    raise ValueError(f"name must be one of {SEARCHED_FIELDS} or 'transposed:W|C|V', got {name!r}")


def _is_number_array(a: object) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind in "iuf"


class _Search:
    """The golden problem in float64, and the reference's outputs under variants (cached)."""

    def __init__(self, golden: Mapping, theirs: Mapping, cfg: FastWeightsConfig, source: str,
                 their_name: str) -> None:
        self.base = cfg.replace(dtype="float64")
        self.notes: list[str] = []
        missing = [n for n in ("x", "y", *(f"params.{p}" for p in param_shapes(cfg))) if n not in golden]
        if missing:
            raise OracleFileError(f"{source} lacks {', '.join(missing)}: diagnose needs the inputs and parameters "
                                  f"of a golden or problem file (x, y, params.*)")
        self.x = np.asarray(golden["x"], np.float64)
        self.y = np.asarray(golden["y"])
        self.params = {p: np.asarray(golden[f"params.{p}"], np.float64) for p in param_shapes(cfg)}
        self.batch = int(self.x.shape[0])
        self.g0 = self._preliminary_ln(golden, theirs, their_name)
        self.runs = 0
        self.cache: dict[tuple, dict | None] = {}
        self.train_scalars = False

    def _preliminary_ln(self, golden: Mapping, theirs: Mapping, their_name: str) -> dict | None:
        H = self.base.hidden_size
        for side, arrays in (("golden", golden), (their_name, theirs)):
            found = {p: arrays.get(f"params.{p}") for p in ("g0", "beta0")}
            if all(_is_number_array(a) and a.shape == (H,) for a in found.values()):
                if side != "golden":
                    self.notes.append(f"ln_params='separate' uses params.g0 and params.beta0 of {their_name} (the "
                                      f"preliminary layer norm's parameters, which the golden file lacks)")
                return {p: a.astype(np.float64) for p, a in found.items()}
        if any(f"grad.{p}" in theirs for p in ("g0", "beta0")):
            self.notes.append(f"{their_name} holds grad.g0 or grad.beta0 but neither file holds params.g0 and "
                              f"params.beta0 of shape ({H},): ln_params='separate' was not tried (save the values "
                              f"your code used as params.g0, params.beta0)")
        return None

    def params_for(self, variant: Variant) -> dict[str, np.ndarray]:
        """The golden parameters as the variant's code uses them (LN parameters reshaped, weights
        transposed)."""
        cfg, H = variant.cfg, variant.cfg.hidden_size
        p = {k: self.params[k] for k in ("W", "C", "b", "V", "c")}
        g, beta = self.params["g"], self.params["beta"]
        if cfg.ln_params == "scalar":
            g, beta = g[:1], beta[:1]
        elif g.shape == (1,):
            g, beta = np.full(H, g[0]), np.full(H, beta[0])
        p.update(g=g, beta=beta)
        if cfg.ln_params == "separate":
            p.update(self.g0)
        for name in variant.transposed:
            p[name] = np.ascontiguousarray(p[name].T)
        return p

    def _untranspose(self, variant: Variant, arrays: dict) -> dict:
        """Gradients and Adam's parameters back in the golden layout: code that uses Wᵀ of its
        stored W gets dL/dW = (dL/dWᵀ)ᵀ."""
        for name in variant.transposed:
            for key in (f"grad.{name}", f"adam.params.{name}", f"params.{name}"):
                if key in arrays:
                    arrays[key] = np.ascontiguousarray(np.asarray(arrays[key]).T)
        return arrays

    def outputs(self, variant: Variant, *, grads: bool) -> dict | None:
        """h_inner, hs, A_T, logits, loss (and grad.* with ``grads``) under the variant; None
        when its run is not finite."""
        key = (variant, grads)
        if key not in self.cache:
            self.runs += 1
            self.cache[key] = self._outputs(variant, grads)
        return self.cache[key]

    def _outputs(self, variant: Variant, grads: bool) -> dict | None:
        try:
            with quiet_floating_point():
                loss, cache = loss_forward(self.params_for(variant), self.x, self.y, variant.cfg)
                arrays = dict(forward_record(cache), loss=np.asarray(loss))
                if grads:
                    arrays.update({f"grad.{k}": np.asarray(v) for k, v in loss_backward(cache).items()})
        except (FloatingPointError, ValueError, ZeroDivisionError):
            return None
        if not all(np.isfinite(a).all() for a in arrays.values()):
            return None
        return self._untranspose(variant, arrays)

    def golden(self, variant: Variant, adam_steps: int, adam: AdamConfig) -> dict | None:
        """The full golden dict (with its manifest) under the variant; None when not finite. The
        Adam steps train λ and η too when the golden file's were (``train_scalars``)."""
        key = (variant, "golden", adam_steps)
        if key not in self.cache:
            self.runs += 1
            try:
                arrays = golden_from_inputs(self.params_for(variant), self.x, self.y, variant.cfg,
                                            adam_steps=adam_steps, adam=adam, train_scalars=self.train_scalars)
            except (FloatingPointError, ValueError):
                arrays = None
            self.cache[key] = None if arrays is None else self._untranspose(variant, arrays)
        return self.cache[key]


def _score(reference: Mapping | None, theirs: Mapping, names: list[str]) -> tuple[bool, float]:
    """(every named tensor within compare's tolerances, mean log10 relative error)."""
    if reference is None:
        return False, _WORST
    total, passed = 0.0, True
    for name in names:
        g = reference.get(name)
        t = np.asarray(theirs[name])
        if g is None or t.dtype.kind not in "iuf":
            total, passed = total + _WORST, False
            continue
        g = np.asarray(g, np.float64)
        if t.size == g.size == 1:
            t = t.reshape(g.shape)
        if t.shape != g.shape:
            total, passed = total + _WORST, False
            continue
        with np.errstate(invalid="ignore", over="ignore"):
            err = float(np.linalg.norm(t.astype(np.float64) - g)) / max(float(np.linalg.norm(g)), 1e-300)
        total += _WORST if not math.isfinite(err) else min(math.log10(max(err, 1e-17)), _WORST)
        passed = passed and compare_tensor(name, g, t).passed  # compare's rule and dtype-aware tolerances
    return passed, total / max(len(names), 1)


def _structures(base: FastWeightsConfig, inner_steps: tuple[int, ...], separate: bool,
                transposable: tuple[str, ...], reductions: tuple[str, ...]) -> list[Variant]:
    """Every valid structural variant (at the golden ε), fewest differences from ``base`` first."""
    found: dict[Variant, None] = {}
    subsets = [c for k in range(len(transposable) + 1) for c in itertools.combinations(transposable, k)]
    for timing, nil, pre, ln, axis, lnp, act, s, red in itertools.product(
            TIMINGS, (False, True), (False, True), (True, False), LN_AXES, LN_PARAMS, ACTIVATIONS, inner_steps,
            reductions):
        if lnp == "separate" and not separate:
            continue
        s = 1 if nil else s
        uses_ln = pre or (ln and s > 0)
        fields = {"fast_weight_timing": timing, "no_inner_loop": nil, "ln_preliminary": pre, "layer_norm": ln,
                  "ln_axis": axis if uses_ln else base.ln_axis, "ln_params": lnp if uses_ln else base.ln_params,
                  "activation": act, "inner_steps": s, "loss_reduction": red}
        if fields["ln_params"] == "separate" and not pre:
            continue
        try:
            cfg = base.replace(**fields)
        except ValueError:
            continue
        for subset in subsets:
            found.setdefault(Variant(cfg, subset), None)
    return sorted(found, key=lambda v: v.distance(base))  # stable: the grid's order within a distance


def _search(search: _Search, theirs: Mapping, candidates: list[Variant], names: list[str], evaluate) -> list:
    """Score ``candidates`` (fewest differences first) on ``names``; stop after the distance at
    which one matched. Returns [(passed, score, distance, variant)] sorted best first."""
    results = []
    stop_at = None
    for variant in candidates:
        distance = variant.distance(search.base)
        if stop_at is not None and distance > stop_at:
            break
        passed, score = _score(evaluate(variant), theirs, names)
        results.append((passed, score, distance, variant))
        if passed and stop_at is None:
            stop_at = distance
    return sorted(results, key=_rank)


def _rank(result: tuple) -> tuple:
    passed, score, distance, _ = result
    return (not passed, distance if passed else 0, score)


def _best_distinct(results: list, k: int) -> list[Variant]:
    """The first ``k`` variants of ranked results: only the matching ones when any match."""
    if results and results[0][0]:
        return [v for passed, _, d, v in results if passed and d == results[0][2]]
    return [v for _, _, _, v in results[:k]]


def _uses_ln(cfg: FastWeightsConfig) -> bool:
    return cfg.ln_preliminary or (cfg.layer_norm and cfg.inner_steps > 0)


def _time_axis_mismatch(row: TensorComparison, golden: np.ndarray, theirs: np.ndarray) -> Mismatch:
    """The earliest (time step, inner step) slice of h_inner (B, T, S+1, H) or hs (B, T, H) out
    of tolerance, and the first example and unit in it."""
    g, t = np.asarray(golden, np.float64), np.asarray(theirs, np.float64)
    T = g.shape[1]
    inner = range(g.shape[2]) if row.name == "h_inner" else (None,)
    for step, s in itertools.product(range(T), inner):
        slot = (slice(None), step) if s is None else (slice(None), step, s)
        part = compare_tensor(row.name, g[slot], t[slot], row.rtol, row.atol)
        if part.passed:
            continue
        b, *rest = part.first_index
        index = (b, step, *rest) if s is None else (b, step, s, *rest)
        S = g.shape[2] - 1 if s is not None else None
        inner_text = "" if s is None else (f", inner step s = {s} of S = {S}"
                                           + (" (the preliminary vector)" if s == 0 else ""))
        text = (f"{row.name} at time step t = {step + 1} of T = {T}{inner_text}, example {b} of B = {g.shape[0]}, "
                f"unit {rest[-1]} (index [{', '.join(map(str, index))}]): reference {part.golden_value!r}, "
                f"theirs {part.their_value!r}")
        return Mismatch(row.name, index, step + 1, s, b, part.golden_value, part.their_value, text)
    return Mismatch(row.name, row.first_index, text=f"{row.name}: {row.describe()}")


def first_mismatch(report: ComparisonReport, reference: Mapping, theirs: Mapping) -> Mismatch | None:
    """Where theirs first leaves ``reference``: the earliest time step (and inner step) of
    h_inner / hs out of tolerance; else the first failing row of the report (A_T, logits, loss,
    grad.*, adam.*, in the golden order)."""
    failing = report.failures()
    timed = [_time_axis_mismatch(r, reference[r.name], theirs[r.name]) for r in failing
             if r.name in ("h_inner", "hs") and r.status == "mismatch"]
    timed = [m for m in timed if m.time_step is not None]
    if timed:
        S = np.shape(reference["h_inner"])[2] - 1 if "h_inner" in reference else 0
        return min(timed, key=lambda m: (m.time_step, S if m.inner_step is None else m.inner_step,
                                         m.tensor != "h_inner"))
    for row in failing:
        if row.status == "mismatch" and row.name not in ("h_inner", "hs"):
            where = ", ".join(map(str, row.first_index))
            return Mismatch(row.name, row.first_index, golden_value=row.golden_value, their_value=row.their_value,
                            text=f"{row.name} at index [{where}]: reference {row.golden_value!r}, theirs "
                                 f"{row.their_value!r} ({row.mismatches} entr{'y' if row.mismatches == 1 else 'ies'} "
                                 f"out of tolerance)")
    for row in failing:
        return Mismatch(row.name, text=f"{row.name}: {row.describe()}")
    return None


def _load(source: str | os.PathLike | Mapping, name: str, kind: str) -> tuple[dict, str]:
    if isinstance(source, Mapping):
        return dict(source), name
    if not isinstance(source, str | os.PathLike):
        raise TypeError(f"{kind} must be a path or a dict of arrays, got {type(source).__name__}")
    return (load_golden(source) if kind == "golden" else read_arrays(source)), str(source)


def diagnose(
    golden: str | os.PathLike | Mapping,
    theirs: str | os.PathLike | Mapping,
    *,
    golden_name: str = "golden",
    their_name: str = "theirs",
) -> Diagnosis:
    """Which known variant of the recurrence computes ``theirs`` from the golden file's problem.

    Parameters
    ----------
    golden : a golden file (``oracle export``) or a problem file (``oracle problem``): its path, or
        its dict of arrays with the manifest; only x, y, params.* and the manifest's config and
        Adam settings are used
    theirs : another implementation's arrays (path of an .npz or name -> array): any subset of
        h_inner, hs, A_T, logits, loss, grad.*, adam.* (names as in the golden file); with
        ln_params="separate" code, params.g0 and params.beta0 too if the golden file lacks them
    golden_name, their_name : how the report names the two sides (a path given names itself)

    Returns
    -------
    Diagnosis : the variant (config fields differing from the golden file's, weights used
        transposed), whether it matches, its per-tensor errors, a sentence per difference, and
        the first mismatch under the closest variant when none matches

    Raises
    ------
    OracleFileError : a file that cannot be read (as ``compare``'s: not an .npz, a torch.save
        file, ...), a golden file without x, y or params.*, or a manifest of another version
    ValueError : theirs holds none of the arrays that diagnose compares
    """
    started = time.perf_counter()
    golden, golden_name = _load(golden, golden_name, "golden")
    theirs, their_name = _load(theirs, their_name, "theirs")
    theirs = {k: v if k == MANIFEST_KEY else np.asarray(v) for k, v in theirs.items()}
    manifest = check_golden(golden, golden_name)
    if MANIFEST_KEY in theirs:
        read_manifest(theirs, their_name)
    try:
        cfg = FastWeightsConfig.from_json(json.dumps(manifest.get("config")))
    except (ValueError, TypeError) as exc:
        raise OracleFileError(f"{golden_name}: the manifest's config is not a FastWeightsConfig: {exc}") from None
    settings = manifest.get("settings") if isinstance(manifest.get("settings"), dict) else {}
    unsearched = {k: settings[k] for k, default in UNSEARCHED_SETTINGS.items() if settings.get(k, default) != default}
    if unsearched:
        shown = ", ".join(f"{k}={v!r}" for k, v in unsearched.items())
        raise OracleFileError(f"{golden_name} was exported with {shown}: diagnose searches the variants of the "
                              f"canonical model (real-valued x, the linear readout) only and does not search "
                              f"these; compare with `fastweights-np oracle compare` instead (docs/oracle.md §1)")
    names = [n for n in COMPUTED_NAMES if n in theirs]
    if not names:
        held = ", ".join(n for n in theirs if n != MANIFEST_KEY) or "no arrays"
        raise ValueError(f"theirs ({their_name}) must hold some of the arrays diagnose compares (h_inner, hs, A_T, "
                         f"logits, loss, grad.*, adam.*), but it holds: {held}")
    search = _Search(golden, theirs, cfg, golden_name, their_name)
    base = search.base
    ignored = [n for n in theirs if n != MANIFEST_KEY and n not in COMPUTED_NAMES and not is_echo(n)]
    if ignored:
        search.notes.append(f"not used (no golden array has these names): {', '.join(ignored)}")

    # Stage 1: structure, on the forward outputs (else on loss and gradients, the reduction included).
    forward = [n for n in names if n in FORWARD_NAMES]
    stage_names = forward or [n for n in names if n == "loss" or n.startswith("grad.")]
    inner = _inner_step_options(base, theirs)
    H = base.hidden_size
    square = tuple(n for n in TRANSPOSABLE if search.params[n].shape == (H, H))
    reductions = (base.loss_reduction,) if forward or not stage_names else LOSS_REDUCTIONS
    structures = _structures(base, inner, search.g0 is not None, square, reductions)
    grads = not forward

    def run(variant: Variant) -> dict | None:
        return search.outputs(variant, grads=grads)

    results = _search(search, theirs, structures, stage_names, run) if stage_names else []
    best = _best_distinct(results, TOP) if results else [Variant(base)]

    # Stage 2: ε for the closest structures (all of them at the distance of a match).
    if stage_names and not results[0][0]:
        with_eps = [Variant(v.cfg.replace(ln_eps=eps), v.transposed) for v in best if _uses_ln(v.cfg)
                    for eps in sorted({*EPSILONS, base.ln_eps})]
        kept = [r for r in results if r[3] in best and not _uses_ln(r[3].cfg)]
        results = sorted(kept + _search(search, theirs, sorted(with_eps, key=lambda v: v.distance(base)),
                                        stage_names, run), key=_rank)
        best = _best_distinct(results, TOP)

    # Stage 3: the loss reduction, with loss, gradients and the Adam steps.
    adam_names = [n for n in names if n.startswith("adam.")]
    adam_steps, adam = _adam_settings(settings) if adam_names else (0, AdamConfig())
    adam_spec = settings.get("adam") if isinstance(settings.get("adam"), dict) else {}
    search.train_scalars = adam_spec.get("train_scalars") is True
    final_names = names
    if any(n not in FORWARD_NAMES for n in names):
        candidates = sorted({Variant(v.cfg.replace(loss_reduction=r), v.transposed): None
                             for v in best for r in LOSS_REDUCTIONS}, key=lambda v: v.distance(base))
        results = _search(search, theirs, candidates, final_names,
                          lambda v: search.golden(v, adam_steps, adam))
    chosen = results[0][3] if results else best[0]
    also = [v.label(base) for passed, _, d, v in results[1:] if passed and results[0][0] and d == results[0][2]]

    reference = search.golden(chosen, adam_steps, adam)
    if reference is None:  # the variant's Adam steps overflow: compare without them
        reference = search.golden(chosen, 0, adam) or search.golden(Variant(base), 0, adam)
    report = compare(reference, theirs, only=list(names), golden_name="the reference under it",
                     their_name=their_name)
    matched = report.passed
    search.notes.extend(_echo_notes(search, chosen, theirs, their_name))
    differences = chosen.differences(base)
    explanation = [explain(k, v, base, batch=search.batch, cfg=chosen.cfg) for k, v in differences.items()
                   if not (k == "inner_steps" and differences.get("no_inner_loop"))]
    explanation += [explain(f"transposed:{w}", True, base, batch=search.batch) for w in chosen.transposed]
    return Diagnosis(
        matched=matched, variant=differences, transposed=chosen.transposed, config=chosen.cfg, golden_config=base,
        explanation=explanation, report=report,
        first_mismatch=None if matched else first_mismatch(report, reference, theirs),
        also_matching=also, notes=search.notes, tried=search.runs, seconds=time.perf_counter() - started,
        golden_name=golden_name, their_name=their_name,
    )


def _inner_step_options(base: FastWeightsConfig, theirs: Mapping) -> tuple[int, ...]:
    """S from theirs' h_inner (B, T, S+1, H) when it has that shape; else the golden S and its
    neighbours."""
    h = theirs.get("h_inner")
    if isinstance(h, np.ndarray) and h.ndim == 4 and h.shape[2] >= 1:
        return (h.shape[2] - 1,)
    S = base.inner_steps
    return tuple(s for s in (S, S - 1, S + 1) if s >= 0)


def _adam_settings(settings: dict) -> tuple[int, AdamConfig]:
    adam = settings.get("adam") if isinstance(settings.get("adam"), dict) else {}
    steps = adam.get("steps", 3)
    steps = steps if isinstance(steps, int) and not isinstance(steps, bool) and steps >= 0 else 3
    try:
        return steps, AdamConfig(**{k: adam[k] for k in ("lr", "beta1", "beta2", "eps") if k in adam})
    except (TypeError, ValueError):
        return steps, AdamConfig()


def _echo_notes(search: _Search, variant: Variant, theirs: Mapping, their_name: str) -> list[str]:
    """A note for each echo in theirs (x, params.*) that differs from what the variant used."""
    used = search.params_for(variant)
    for name in variant.transposed:
        used[name] = used[name].T
    expected = {"x": search.x, "y": search.y, **{f"params.{k}": v for k, v in used.items()}}
    notes = []
    for name, value in expected.items():
        if name not in theirs:
            continue
        t = np.asarray(theirs[name])
        if t.shape != value.shape or t.dtype.kind not in "iuf" or not np.allclose(t, value, rtol=1e-6, atol=1e-12):
            shown = f"{tuple(t.shape)}" if t.shape != value.shape else "other values"
            notes.append(f"{name} of {their_name} ({shown}) is not the golden file's {name} "
                         f"{tuple(value.shape)}: did your code run on the golden inputs and parameters?")
    return notes
