"""Compare another implementation's arrays with golden vectors, tensor by tensor.

An entry of a floating tensor mismatches when |theirs − golden| > atol + rtol · |golden| (or
either is NaN/inf where the other is not equal). The tolerances follow the less precise of the
two dtypes (:data:`TOLERANCES`) unless given. Integer tensors must be equal. Every golden array
must be present with the same shape; arrays in the other file that the golden file lacks are
reported too. The golden side's manifest must agree with its arrays (a golden file that lies
about a shape is refused, not compared). docs/oracle.md explains how to produce a file to compare.

A scalar of shape (1,) (any shape of one element) is accepted against a golden () and compared
as a scalar, with a note on its row. The report adds hints for two common convention slips: every
gradient off by one constant factor (printed: B for a loss summed over the batch instead of
averaged), and a matrix that matches the golden one transposed. Groups select tensors by what
they are (:data:`GROUPS`: "outputs", everything the reference computes; "grads"; "adam").
"""

from __future__ import annotations

import dataclasses
import fnmatch
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from fastweights_np.oracle.format import MANIFEST_KEY, check_manifest, read_manifest

# (rtol, atol) by the lower precision of the two arrays. float64: another float64 implementation
# differs from the reference only by summation order (~1e-13 relative here); float32: a float32
# run of the reference stays well within these on the CLI's default problem (tests/test_oracle.py).
TOLERANCES = {"float64": (1e-7, 1e-10), "float32": (1e-3, 1e-5), "float16": (2e-2, 1e-3)}

# The golden arrays that echo the problem (inputs and parameters) rather than results.
ECHO_NAMES = ("x", "y")
ECHO_PREFIX = "params."

# Selections by what a tensor is: group -> (what it holds, whether it holds a name).
GROUPS = {
    "outputs": ("everything the reference computes: h_inner, hs, A_T, logits, loss, grad.*, adam.* "
                "(not the echoes x, y, params.*)", lambda name: not is_echo(name)),
    "grads": ("the gradients grad.*", lambda name: name.startswith("grad.")),
    "adam": ("the Adam steps adam.*", lambda name: name.startswith("adam.")),
}


def is_echo(name: str) -> bool:
    """Whether the golden array ``name`` echoes the problem (x, y, params.*) instead of a result."""
    return name in ECHO_NAMES or name.startswith(ECHO_PREFIX)


@dataclass(frozen=True)
class TensorComparison:
    """The outcome for one named tensor. ``status``: ok, mismatch, missing, unexpected, shape, dtype."""

    name: str
    status: str
    shape: tuple = ()
    dtype: str = ""
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    mismatches: int = 0
    first_index: tuple | None = None
    golden_value: float | None = None
    their_value: float | None = None
    rtol: float = 0.0
    atol: float = 0.0
    message: str = ""
    tolerance: str = ""  # where rtol, atol came from: "float64", "float32", "float16", "given"; "" if unused
    note: str = ""  # how the tensor was compared, when not as stored (a (1,) scalar)
    hint: str = ""  # a likely cause of the failure (a transposed matrix)

    @property
    def passed(self) -> bool:
        return self.status == "ok"

    def describe(self) -> str:
        """The status column of the report."""
        extra = (f"; {self.note}" if self.note else "") + (f"; hint: {self.hint}" if self.hint else "")
        if self.status == "ok":
            return f"ok ({self.note})" if self.note else "ok"
        if self.status == "mismatch":
            where = ", ".join(str(i) for i in self.first_index)
            return (
                f"MISMATCH: {self.mismatches} entr{'y' if self.mismatches == 1 else 'ies'}, first at [{where}]: "
                f"golden {self.golden_value!r}, theirs {self.their_value!r} (rtol {self.rtol:g}, atol {self.atol:g})"
                f"{extra}"
            )
        return f"{self.status.upper()}: {self.message}{extra}"

    def to_dict(self) -> dict:
        """The row as JSON-ready values (non-finite numbers as the strings "inf", "-inf", "nan")."""
        row = {name: _json_value(value) for name, value in dataclasses.asdict(self).items()}
        row["passed"] = self.passed
        row["description"] = self.describe()
        return row


def _json_value(value):
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


@dataclass
class ComparisonReport:
    """Per-tensor comparisons; ``str(report)`` is the table ``fastweights-np oracle compare`` prints.

    ``hints`` are likely causes found across tensors (all gradients off by one factor; echoes of
    the inputs missing), printed after the rows."""

    rows: list[TensorComparison] = field(default_factory=list)
    golden_name: str = "golden"
    their_name: str = "theirs"
    hints: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(row.passed for row in self.rows)

    def failures(self) -> list[TensorComparison]:
        return [row for row in self.rows if not row.passed]

    def tolerances(self) -> list[dict]:
        """The tolerances the floating rows used: [{"rtol", "atol", "source", "tensors"}], one per
        distinct (rtol, atol, source), in the order of the rows."""
        used: dict[tuple, int] = {}
        for r in self.rows:
            if r.tolerance:
                key = (r.rtol, r.atol, r.tolerance)
                used[key] = used.get(key, 0) + 1
        return [{"rtol": rtol, "atol": atol, "source": source, "tensors": n}
                for (rtol, atol, source), n in used.items()]

    def tolerance_text(self) -> str:
        """'rtol 1e-07, atol 1e-10 (float64)', saying when float32 (or float16) loosened them."""
        parts = []
        used = self.tolerances()
        rtol64, atol64 = TOLERANCES["float64"]
        for entry in used:
            source = entry["source"]
            why = (source if source in ("float64", "given") else
                   f"{source}: looser than float64's rtol {rtol64:g}, atol {atol64:g}, since a side is "
                   f"{source.partition(',')[0]}")
            text = f"rtol {entry['rtol']:g}, atol {entry['atol']:g} ({why})"
            if len(used) > 1:
                text += f" for {entry['tensors']} tensor{'s' if entry['tensors'] != 1 else ''}"
            parts.append(text)
        return "; ".join(parts) if parts else "no floating tensor compared"

    def summary(self) -> str:
        """The last line of the table: PASSED or FAILED, with the tolerances used."""
        if not self.rows:
            return "compare FAILED: no tensor was selected"
        tolerances = f"tolerances {self.tolerance_text()}"
        if self.passed:
            return (f"compare PASSED: all {len(self.rows)} tensors of {self.their_name} match {self.golden_name}; "
                    f"{tolerances}")
        bad = self.failures()
        names = ", ".join(r.name for r in bad)
        return f"compare FAILED: {len(bad)} of {len(self.rows)} tensors ({names}); {tolerances}"

    def table(self) -> str:
        width = max([len("tensor")] + [len(r.name) for r in self.rows])
        header = f"{'tensor':<{width}}  {'shape':<16} {'dtype':<8} {'max abs err':>11} {'max rel err':>11}  status"
        lines = [header, "-" * len(header)]
        for r in self.rows:
            numbers = (
                f"{r.max_abs_error:>11.3e} {r.max_rel_error:>11.3e}"
                if r.status in ("ok", "mismatch")
                else f"{'-':>11} {'-':>11}"
            )
            lines.append(f"{r.name:<{width}}  {str(r.shape):<16} {r.dtype:<8} {numbers}  {r.describe()}")
        lines.extend(f"hint: {hint}" for hint in self.hints)
        lines.append(self.summary())
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """The report as JSON-ready data (``fastweights-np oracle compare --json``): "passed",
        "golden", "theirs", "summary" (the last line of the table), "tolerances", "hints" and
        "rows" (:meth:`TensorComparison.to_dict`)."""
        return {
            "passed": self.passed,
            "golden": self.golden_name,
            "theirs": self.their_name,
            "summary": self.summary(),
            "tolerances": self.tolerances(),
            "hints": list(self.hints),
            "rows": [row.to_dict() for row in self.rows],
        }

    def __str__(self) -> str:
        return self.table()


def tolerances_for(golden_dtype: np.dtype, their_dtype: np.dtype) -> tuple[float, float]:
    """(rtol, atol) for the less precise of two floating dtypes."""
    bits = min(np.finfo(golden_dtype).bits, np.finfo(their_dtype).bits)
    return TOLERANCES[f"float{bits}"] if f"float{bits}" in TOLERANCES else TOLERANCES["float16"]


def _scalar(a: np.ndarray, index: tuple):
    value = a[index]
    return value.item() if hasattr(value, "item") else value


def compare_tensor(
    name: str, golden: np.ndarray, theirs: np.ndarray, rtol: float | None = None, atol: float | None = None
) -> TensorComparison:
    """Compare one tensor (see the module docstring for the rule)."""
    golden, theirs = np.asarray(golden), np.asarray(theirs)
    shape = tuple(golden.shape)
    note = ""
    if golden.ndim == 0 and theirs.ndim > 0 and theirs.size == 1:  # a scalar saved as shape (1,)
        note = f"theirs has shape {tuple(theirs.shape)}, compared as the golden scalar ()"
        theirs = theirs.reshape(())
    if theirs.shape != golden.shape:
        return TensorComparison(name, "shape", shape, str(theirs.dtype),
                                message=f"theirs has shape {tuple(theirs.shape)}, golden has {shape}")
    row = _compare_same_shape(name, golden, theirs, rtol, atol)
    return dataclasses.replace(row, note=note) if note else row


def _compare_same_shape(name: str, golden: np.ndarray, theirs: np.ndarray, rtol: float | None,
                        atol: float | None) -> TensorComparison:
    shape = tuple(golden.shape)
    if golden.dtype.kind in "iub":
        if theirs.dtype.kind not in "iubf" or not np.array_equal(golden, theirs):
            bad = golden != theirs if theirs.dtype.kind in "iubf" else np.ones(shape, bool)
            index = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
            return TensorComparison(name, "mismatch", shape, str(theirs.dtype), mismatches=int(np.sum(bad)),
                                    first_index=index, golden_value=_scalar(golden, index),
                                    their_value=_scalar(theirs, index) if theirs.dtype.kind in "iubf" else None)
        return TensorComparison(name, "ok", shape, str(theirs.dtype))
    if theirs.dtype.kind != "f":
        return TensorComparison(name, "dtype", shape, str(theirs.dtype),
                                message=f"theirs has dtype {theirs.dtype}, a real floating dtype is needed")
    default_rtol, default_atol = tolerances_for(golden.dtype, theirs.dtype)
    bits = min(np.finfo(golden.dtype).bits, np.finfo(theirs.dtype).bits)
    source = "given" if rtol is not None and atol is not None else f"float{bits}" if bits in (32, 64) else "float16"
    if source != "given" and (rtol is not None or atol is not None):
        source += ", partly given"
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    g = golden.astype(np.float64)
    t = theirs.astype(np.float64)
    with np.errstate(invalid="ignore"):
        diff = np.abs(t - g)  # NaN where either is NaN or both are the same infinity
        bad = ~((t == g) | (diff <= atol + rtol * np.abs(g)))
        finite_diff = np.where(np.isfinite(diff), diff, 0.0)
    broken = bool(np.any(bad & ~np.isfinite(diff)))  # a NaN or an infinity that the other side lacks
    rel = np.divide(finite_diff, np.abs(g), out=np.zeros_like(g), where=g != 0)
    max_abs = float("inf") if broken else float(np.max(finite_diff, initial=0.0))
    max_rel = float("inf") if broken else float(np.max(rel, initial=0.0))
    if not np.any(bad):
        return TensorComparison(name, "ok", shape, str(theirs.dtype), max_abs, max_rel, rtol=rtol, atol=atol,
                                tolerance=source)
    index = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
    return TensorComparison(name, "mismatch", shape, str(theirs.dtype), max_abs, max_rel, int(np.sum(bad)), index,
                            _scalar(golden, index), _scalar(theirs, index), rtol, atol, tolerance=source)


def _matches(name: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern) or name.startswith(pattern + ".")


def _selected(name: str, patterns: Sequence[str] | None, groups: Sequence[str] | None = None) -> bool:
    if not patterns and not groups:
        return True
    return any(_matches(name, p) for p in patterns or ()) or any(GROUPS[g][1](name) for g in groups or ())


def check_groups(groups: Sequence[str] | None) -> None:
    """ValueError naming the known groups unless every one of ``groups`` is in :data:`GROUPS`."""
    for group in groups or ():
        if group not in GROUPS:
            raise ValueError(f"groups must be among {tuple(GROUPS)}, got {group!r}")


def unmatched_selections(
    golden: Mapping, theirs: Mapping, only: Sequence[str] | None = None, groups: Sequence[str] | None = None
) -> list[str]:
    """The patterns of ``only`` and the groups that select no array of either side (a typo)."""
    check_groups(groups)
    names = [n for n in (*golden, *theirs) if n != MANIFEST_KEY]
    missing = [p for p in only or () if not any(_matches(n, p) for n in names)]
    return missing + [g for g in groups or () if not any(GROUPS[g][1](n) for n in names)]


def _number(value: float) -> str:
    """A factor as people read it: 6 significant digits, as a float ('128.0', '0.333333')."""
    return repr(float(f"{value:.6g}"))


def transposed_hint(name: str, golden: np.ndarray, theirs: np.ndarray, rtol: float | None,
                    atol: float | None) -> str:
    """'W matches the golden W transposed' when ``theirs`` (a mismatch or a wrong shape) equals
    the golden array with its last two axes swapped, within the tolerances; '' otherwise."""
    golden, theirs = np.asarray(golden), np.asarray(theirs)
    if golden.ndim < 2 or golden.shape[-1] == golden.shape[-2] == 1 or theirs.dtype.kind != "f":
        return ""
    swapped = np.swapaxes(golden, -1, -2)
    if swapped.shape != theirs.shape or not compare_tensor(name, swapped, theirs, rtol, atol).passed:
        return ""
    how = "transposed" if golden.ndim == 2 else "with its last two axes swapped (each matrix transposed)"
    return f"{name} matches the golden {name} {how}"


def gradient_factor_hint(golden: Mapping, theirs: Mapping, rows: Sequence[TensorComparison],
                         rtol: float | None, atol: float | None) -> str:
    """When every compared gradient (grad.*, at least two, one failing) is f × the golden one for
    one factor f ≠ 1 (within the tolerances, f fitted by least squares over all of them): the
    hint naming f, and B when f = B (a loss summed over the batch, not averaged); '' otherwise."""
    grads = [r for r in rows if r.name.startswith("grad.") and r.status in ("ok", "mismatch")]
    if len(grads) < 2 or all(r.passed for r in grads):
        return ""
    pairs = [(np.asarray(golden[r.name], np.float64), np.asarray(theirs[r.name], np.float64).reshape(
        np.shape(golden[r.name]))) for r in grads]
    gg = sum(float(np.sum(g * g)) for g, _ in pairs)
    if gg == 0 or not all(np.isfinite(t).all() for _, t in pairs):
        return ""
    f = sum(float(np.sum(g * t)) for g, t in pairs) / gg
    if not math.isfinite(f) or f == 0:
        return ""
    if not all(compare_tensor(r.name, g * f, t, rtol, atol).passed for r, (g, t) in zip(grads, pairs, strict=True)):
        return ""
    text = f"every gradient ({len(grads)} grad.* tensors) is {_number(f)} × the golden one"
    batch = int(np.shape(golden["x"])[0]) if "x" in golden and np.ndim(golden["x"]) >= 1 else None
    if batch is not None and batch > 1 and abs(f - batch) <= 1e-6 * batch:
        text += f" (B = {batch}): a summed, not averaged, batch loss?"
    elif batch is not None and batch > 1 and abs(f * batch - 1) <= 1e-6:
        text += f" (1/B, B = {batch}): a loss divided by B once more?"
    else:
        text += ": a scaled loss?"
    return text


def _missing_echoes_hint(rows: Sequence[TensorComparison], their_name: str) -> str:
    echoes = [r.name for r in rows if r.status == "missing" and is_echo(r.name)]
    if not echoes:
        return ""
    return (f"{len(echoes)} of the missing arrays only echo the problem's inputs and parameters (x, y, params.*) "
            f"and are not in {their_name}: --outputs (groups=['outputs']) compares only what the code computes")


def compare(
    golden: dict,
    theirs: dict,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    only: Sequence[str] | None = None,
    groups: Sequence[str] | None = None,
    golden_name: str = "golden",
    their_name: str = "theirs",
) -> ComparisonReport:
    """Compare ``theirs`` with golden vectors, tensor by tensor.

    Parameters
    ----------
    golden : the dict of :func:`fastweights_np.oracle.golden_vectors` or
        :func:`fastweights_np.oracle.load_golden` (with its manifest)
    theirs : name → array; a "__manifest__" in it is checked for the format version, else ignored
    rtol, atol : override the dtype-aware tolerances (:data:`TOLERANCES`)
    only : names or glob patterns ("grad.*", "h_inner"); a group name like "grad" selects
        "grad.W", ...; None compares everything. Arrays of ``theirs`` outside the selection are
        ignored.
    groups : names of :data:`GROUPS` ("outputs": everything computed, not the echoes x, y,
        params.*; "grads"; "adam"), selected in addition to ``only``
    golden_name, their_name : how the report names the two sides

    Returns
    -------
    ComparisonReport, with hints (a constant factor on every gradient, a transposed matrix,
    echoes of the inputs missing when nothing was selected); raises
    ``fastweights_np.oracle.OracleFileError`` when the golden dict has no manifest, a manifest
    that disagrees with its arrays (an array's shape or dtype, an array listed but absent or
    present but unlisted: :func:`fastweights_np.oracle.check_manifest`) or when either side has
    another format version; ValueError for an unknown group
    """
    check_groups(groups)
    check_manifest(golden, golden_name)
    if MANIFEST_KEY in theirs:
        read_manifest(theirs, their_name)
    report = ComparisonReport(golden_name=golden_name, their_name=their_name)
    golden_names = [n for n in golden if n != MANIFEST_KEY and _selected(n, only, groups)]
    for name in golden_names:
        if name not in theirs:
            report.rows.append(TensorComparison(name, "missing", tuple(np.shape(golden[name])),
                                                message=f"not in {their_name}"))
            continue
        row = compare_tensor(name, golden[name], theirs[name], rtol, atol)
        if row.status in ("mismatch", "shape"):
            hint = transposed_hint(name, golden[name], theirs[name], rtol, atol)
            row = dataclasses.replace(row, hint=hint) if hint else row
        report.rows.append(row)
    for name in theirs:
        if name != MANIFEST_KEY and name not in golden and _selected(name, only, groups):
            report.rows.append(TensorComparison(name, "unexpected", tuple(np.shape(theirs[name])),
                                                str(np.asarray(theirs[name]).dtype),
                                                message=f"{golden_name} has no array of this name"))
    factor = gradient_factor_hint(golden, theirs, report.rows, rtol, atol)
    echoes = "" if only or groups else _missing_echoes_hint(report.rows, their_name)
    report.hints = [hint for hint in (factor, echoes) if hint]
    return report
