"""Gradient checking against central finite differences, in float64, reported per named tensor.

Finite differences use the five-point central stencil

    D_d f(θ) ≈ (−f(θ + 2εd) + 8 f(θ + εd) − 8 f(θ − εd) + f(θ − 2εd)) / 12ε,

whose truncation error is O(ε⁴) (exact for polynomials of degree ≤ 4, which is how λ and η
enter short sequences), so with ε = 1e-5 (the default) what remains is rounding, about 1e-16·|f|/ε ≈ 1e-11·|f|.

Two ways to compare an analytic gradient ``a`` of a scalar function f with finite differences:

- per entry ("entry"): n_i = D_{e_i} f(θ) for every entry i; the
  tensor's relative error is ‖a − n‖∞ / max(‖a‖∞, ‖n‖∞), i.e. the worst entry's error measured
  against the tensor's largest gradient entry (0 when both are exactly zero);
- along random directions ("direction"): for a unit direction d, the directional derivative
  n = D_d f(θ) is compared with ⟨a, d⟩; the relative error is
  |n − ⟨a, d⟩| / max(‖a‖₂, |n|). Each tensor gets its own directions, and the row "(all)"
  moves every tensor at once.

A tensor passes when its relative error is at most ``tol`` (default 1e-6), or when its absolute
error is below the resolution of the difference quotient itself: its rounding, 32·u·max|f|/ε
with u the unit roundoff of float64 and max|f| over the evaluations made for that tensor (the
stencil's weights times f computed to about 20 units of roundoff; for an f that sums terms
which cancel, such as an op's output against a random upstream gradient, the sum of the
terms' sizes stands in for |f|), plus
its truncation, bounded by how far the three-point quotient (f(θ+ε) − f(θ−ε))/2ε lies from the
five-point one. A gradient that is tiny next to the loss (dL/dA_0 scaled by λ^t, say) cannot be
resolved more finely by any finite difference. The table shows the true relative error and
says "ok (below FD resolution)" for rows that pass only that way.

A tensor that fails at ε is checked again at ε/10 and then ε/100, and the table gives the ε of
the last attempt: a ReLU kink within 2ε of the point makes the quotient average the slopes on
its two sides, an error that goes away as ε shrinks, while a wrong gradient is wrong at every ε.
A retry is held to the resolution at ε where that is finer (a smaller step rounds worse, which
is no reason to pass). Clipping and optimiser steps never take part: f is the loss, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np

from fastweights_np.cores.fast_weights.config import FastWeightsConfig
from fastweights_np.models.canonical import check_inputs, loss_and_grad_unchecked, loss_forward
from fastweights_np.validation import check_labels

Tensors = dict[str, np.ndarray]
DEFAULT_EPS = 1e-5
DEFAULT_TOL = 1e-6
UNIT_ROUNDOFF = float(np.finfo(np.float64).eps) / 2


@dataclass(frozen=True)
class TensorCheck:
    """The comparison for one named tensor."""

    name: str
    shape: tuple[int, ...]
    method: str
    max_abs_error: float
    max_rel_error: float
    tol: float
    resolution: float = 0.0
    eps: float = DEFAULT_EPS

    @property
    def passed_relative(self) -> bool:
        """Passed on the relative criterion alone."""
        return bool(self.max_rel_error <= self.tol)

    @property
    def passed(self) -> bool:
        return self.passed_relative or bool(self.max_abs_error <= self.resolution)

    @property
    def status(self) -> str:
        if self.passed_relative:
            return "ok"
        if self.passed:
            return f"ok (below FD resolution {self.resolution:.1e})"
        return f"FAIL (tol {self.tol:.0e})"


@dataclass
class GradcheckReport:
    """Per-tensor results of a gradient check; ``str(report)`` is a table."""

    rows: list[TensorCheck] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(row.passed for row in self.rows)

    @property
    def worst_rel_error(self) -> float:
        return max((row.max_rel_error for row in self.rows), default=0.0)

    def failures(self) -> list[TensorCheck]:
        return [row for row in self.rows if not row.passed]

    def table(self) -> str:
        header = (
            f"{'tensor':<10} {'shape':<14} {'method':<10} {'eps':>7} {'max abs err':>12} {'max rel err':>12}  status"
        )
        lines = [header, "-" * len(header)]
        for r in self.rows:
            lines.append(
                f"{r.name:<10} {str(r.shape):<14} {r.method:<10} {r.eps:>7.0e} "
                f"{r.max_abs_error:>12.3e} {r.max_rel_error:>12.3e}  {r.status}"
            )
        verdict = "PASSED" if self.passed else f"FAILED: {', '.join(r.name for r in self.failures())}"
        lines.append(f"gradient check {verdict} (worst relative error {self.worst_rel_error:.3e})")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> tuple[float, float]:
    """(‖a − n‖∞, ‖a − n‖∞ / max(‖a‖∞, ‖n‖∞)); the relative part is 0 when both are zero."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    abs_err = float(np.max(np.abs(a - n), initial=0.0))
    scale = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(n), initial=0.0)))
    return abs_err, (abs_err / scale if scale > 0 else 0.0)


def _as_float64(tensors: dict) -> Tensors:
    return {k: np.array(v, dtype=np.float64) for k, v in tensors.items()}


class _Resolution:
    """Tracks what limits the difference quotients of one check: max|f| over the evaluations
    (rounding) and the largest gap between three- and five-point quotients (truncation).

    ``magnitude`` (optional) gives the size of the terms f sums, Σ|terms|, for the rounding
    bound instead of |f|: a sum whose terms cancel is rounded relative to its terms.
    """

    def __init__(self, f: Callable[[Tensors], float], magnitude: Callable[[Tensors], float] | None = None):
        self.f = f
        self.magnitude = magnitude
        self.max_abs_f = 0.0
        self.truncation = 0.0

    def __call__(self, tensors: Tensors) -> float:
        value = self.f(tensors)
        size = abs(value) if self.magnitude is None else max(abs(value), self.magnitude(tensors))
        self.max_abs_f = max(self.max_abs_f, size)
        return value

    def quotient(self, f_at: Callable[[float], float], eps: float) -> float:
        """Five-point central difference of f_at(s) = f(θ + s d) at s = 0.

        (8 (f(ε) − f(−ε)) − (f(2ε) − f(−2ε))) / 12ε; symmetric pairs are differenced first,
        so a function that does not depend on θ gives exactly 0.
        """
        d1 = f_at(eps) - f_at(-eps)
        d2 = f_at(2 * eps) - f_at(-2 * eps)
        five_point = (8 * d1 - d2) / (12 * eps)
        self.truncation = max(self.truncation, abs(d1 / (2 * eps) - five_point))
        return five_point

    def resolution(self, eps: float) -> float:
        return 32 * UNIT_ROUNDOFF * self.max_abs_f / eps + self.truncation


def numerical_gradient(
    f: Callable[[Tensors], float],
    tensors: Tensors,
    name: str,
    eps: float = DEFAULT_EPS,
    tracker: _Resolution | None = None,
) -> np.ndarray:
    """Five-point central differences of f with respect to every entry of ``tensors[name]`` (float64)."""
    tracker = tracker or _Resolution(f)
    theta = tensors[name]
    grad = np.zeros_like(theta)
    for i in np.ndindex(theta.shape):
        saved = theta[i]

        def f_at(step: float, i: tuple = i, saved: float = saved) -> float:
            theta[i] = saved + step
            return tracker(tensors)

        grad[i] = tracker.quotient(f_at, eps)
        theta[i] = saved
    return grad


def directional_derivative(
    f: Callable[[Tensors], float],
    tensors: Tensors,
    direction: Tensors,
    eps: float = DEFAULT_EPS,
    tracker: _Resolution | None = None,
) -> float:
    """Five-point central difference of f along d, given per tensor name (a subset of ``tensors``)."""
    tracker = tracker or _Resolution(f)

    def f_at(step: float) -> float:
        return tracker({**tensors, **{k: tensors[k] + step * d for k, d in direction.items()}})

    return tracker.quotient(f_at, eps)


def check_gradients(
    f: Callable[[Tensors], float],
    tensors: dict,
    analytic: dict,
    *,
    mode: str = "entry",
    eps: float = DEFAULT_EPS,
    tol: float = DEFAULT_TOL,
    directions: int = 3,
    seed: int = 0,
    magnitude: Callable[[Tensors], float] | None = None,
) -> GradcheckReport:
    """Compare ``analytic[name]`` with finite differences of ``f`` for every name in ``analytic``.

    Parameters
    ----------
    f : maps a dict of float64 tensors (the keys of ``tensors``) to a float
    tensors : the point θ at which to check; floats are treated as 0-d tensors
    analytic : the gradient of f at θ for the tensors to check (a subset of ``tensors``)
    mode : "entry", "direction" or "both" (see the module docstring)
    eps : finite-difference step
    tol : largest relative error that passes
    directions : random unit directions per tensor in "direction" mode
    seed : seed of the directions
    magnitude : for an f that is a sum, the sum of its terms' absolute values at a point: the
        scale of f's rounding in the resolution bound (default |f|)

    Returns
    -------
    GradcheckReport with one row per tensor and mode (and "(all)" in direction mode)
    """
    if mode not in ("entry", "direction", "both"):
        raise ValueError(f"mode must be 'entry', 'direction' or 'both', got {mode!r}")
    theta = _as_float64(tensors)
    grads = _as_float64(analytic)
    unknown = sorted(set(grads) - set(theta))
    if unknown:
        raise ValueError(f"analytic has gradients for unknown tensors {unknown}")
    report = GradcheckReport()
    if mode in ("entry", "both"):
        for name, a in grads.items():
            report.rows.append(_retry_smaller(partial(_entry_row, f, theta, name, a, tol, magnitude=magnitude), eps))
    if mode in ("direction", "both"):
        rng = np.random.default_rng(seed)
        for label, names in [(name, [name]) for name in grads] + [("(all)", list(grads))]:
            units = [_unit_direction(rng, theta, names) for _ in range(directions)]
            shape = grads[label].shape if label in grads else ()
            row_at = partial(_direction_row, f, theta, grads, label, shape, units, tol, magnitude=magnitude)
            report.rows.append(_retry_smaller(row_at, eps))
    return report


def _unit_direction(rng: np.random.Generator, theta: Tensors, names: list[str]) -> Tensors:
    """A Gaussian direction over the tensors ``names``, scaled to unit norm jointly."""
    d = {k: rng.standard_normal(theta[k].shape) for k in names}
    norm = np.sqrt(sum(np.sum(v**2) for v in d.values()))
    return {k: v / norm for k, v in d.items()}


def _retry_smaller(row_at: Callable[[float], TensorCheck], eps: float) -> TensorCheck:
    """The check at ε, or if it fails at ε/10, or if that fails too at ε/100.

    A smaller step is there for kinks (truncation); its larger rounding is no reason to pass,
    so a retry is held to the resolution of the check at ε when that is the finer one.
    """
    first = None
    for attempt in (eps, eps / 10, eps / 100):
        row = row_at(attempt)
        if first is None:
            first = row
        else:
            row = replace(row, resolution=min(row.resolution, first.resolution))
        if row.passed:
            break
    return row


def _entry_row(
    f, theta: Tensors, name: str, a: np.ndarray, tol: float, eps: float, magnitude: Callable | None = None
) -> TensorCheck:
    tracker = _Resolution(f, magnitude)
    abs_err, rel_err = relative_error(a, numerical_gradient(f, theta, name, eps, tracker))
    return TensorCheck(name, a.shape, "entry", abs_err, rel_err, tol, tracker.resolution(eps), eps)


def _direction_row(
    f,
    theta: Tensors,
    grads: Tensors,
    label: str,
    shape: tuple,
    directions: list[Tensors],
    tol: float,
    eps: float,
    magnitude: Callable | None = None,
) -> TensorCheck:
    tracker = _Resolution(f, magnitude)
    names = list(directions[0])
    norm_a = float(np.sqrt(sum(np.sum(grads[k] ** 2) for k in names)))
    worst_abs = worst_rel = 0.0
    for d in directions:
        numeric = directional_derivative(f, theta, d, eps, tracker)
        abs_err = abs(numeric - float(sum(np.sum(grads[k] * d[k]) for k in names)))
        scale = max(norm_a, abs(numeric))
        worst_abs = max(worst_abs, abs_err)
        worst_rel = max(worst_rel, abs_err / scale if scale > 0 else 0.0)
    return TensorCheck(label, shape, "direction", worst_abs, worst_rel, tol, tracker.resolution(eps), eps)


def check_op(
    forward: Callable,
    backward: Callable,
    inputs: dict,
    wrt: list[str],
    *,
    seed: int = 0,
    eps: float = DEFAULT_EPS,
    tol: float = DEFAULT_TOL,
) -> GradcheckReport:
    """Check an op's ``backward`` with a random upstream gradient.

    f(θ) = Σ forward(**θ)[0] ⊙ dout for a fixed random ``dout``; its gradient is
    ``backward(dout, cache)``, whose outputs (in order) are named by ``wrt``; None outputs
    (an absent bias, say) are skipped. Inputs that are not in ``wrt`` are held fixed.
    """
    theta = _as_float64(inputs)
    out, cache = forward(**theta)
    rng = np.random.default_rng(seed)
    dout = rng.standard_normal(np.shape(out))
    grads = backward(dout, cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    if len(grads) != len(wrt):
        raise ValueError(f"backward returned {len(grads)} gradients but wrt names {len(wrt)}: {wrt}")
    analytic = {name: g for name, g in zip(wrt, grads, strict=True) if g is not None}

    def f(t: Tensors) -> float:
        return float(np.sum(forward(**t)[0] * dout))

    def magnitude(t: Tensors) -> float:  # f's terms can cancel: its rounding scales with them
        return float(np.sum(np.abs(forward(**t)[0] * dout)))

    return check_gradients(f, theta, analytic, mode="entry", eps=eps, tol=tol, magnitude=magnitude)


def check_model(
    params: dict,
    x: np.ndarray,
    y: np.ndarray,
    cfg: FastWeightsConfig,
    *,
    mode: str = "both",
    eps: float = DEFAULT_EPS,
    tol: float = DEFAULT_TOL,
    directions: int = 3,
    seed: int = 0,
) -> GradcheckReport:
    """Check :func:`fastweights_np.loss_and_grad` for every parameter, λ ("decay") and η ("fast_lr").

    Runs in float64 whatever ``cfg.dtype`` says (params and x are converted).
    """
    cfg = cfg.replace(dtype="float64")
    params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    x = check_inputs(params, np.asarray(x, dtype=np.float64) if isinstance(x, np.ndarray) else x, cfg)
    y = check_labels("y", y, x.shape[0], cfg.output_size)
    _, analytic = loss_and_grad_unchecked(params, x, y, cfg)
    point = dict(params, decay=cfg.decay, fast_lr=cfg.fast_lr)

    def f(t: Tensors) -> float:
        p = {k: v for k, v in t.items() if k not in ("decay", "fast_lr")}
        loss, _ = loss_forward(p, x, y, cfg, decay=float(t["decay"]), fast_lr=float(t["fast_lr"]))
        return loss

    return check_gradients(f, point, analytic, mode=mode, eps=eps, tol=tol, directions=directions, seed=seed)
