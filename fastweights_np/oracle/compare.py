"""Compare another implementation's arrays with golden vectors, tensor by tensor.

An entry of a floating tensor mismatches when |theirs − golden| > atol + rtol · |golden| (or
either is NaN/inf where the other is not equal). The tolerances follow the less precise of the
two dtypes (:data:`TOLERANCES`) unless given. Integer tensors must be equal. Every golden array
must be present with the same shape; arrays in the other file that the golden file lacks are
reported too. The golden side's manifest must agree with its arrays (a golden file that lies
about a shape is refused, not compared). docs/oracle.md explains how to produce a file to compare.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from fastweights_np.oracle.format import MANIFEST_KEY, check_manifest, read_manifest

# (rtol, atol) by the lower precision of the two arrays. float64: another float64 implementation
# differs from the reference only by summation order (~1e-13 relative here); float32: a float32
# run of the reference stays well within these on the CLI's default problem (tests/test_oracle.py).
TOLERANCES = {"float64": (1e-7, 1e-10), "float32": (1e-3, 1e-5), "float16": (2e-2, 1e-3)}


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

    @property
    def passed(self) -> bool:
        return self.status == "ok"

    def describe(self) -> str:
        """The status column of the report."""
        if self.status == "ok":
            return "ok"
        if self.status == "mismatch":
            where = ", ".join(str(i) for i in self.first_index)
            return (
                f"MISMATCH: {self.mismatches} entr{'y' if self.mismatches == 1 else 'ies'}, first at [{where}]: "
                f"golden {self.golden_value!r}, theirs {self.their_value!r} (rtol {self.rtol:g}, atol {self.atol:g})"
            )
        return f"{self.status.upper()}: {self.message}"


@dataclass
class ComparisonReport:
    """Per-tensor comparisons; ``str(report)`` is the table ``fastweights-np oracle compare`` prints."""

    rows: list[TensorComparison] = field(default_factory=list)
    golden_name: str = "golden"
    their_name: str = "theirs"

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(row.passed for row in self.rows)

    def failures(self) -> list[TensorComparison]:
        return [row for row in self.rows if not row.passed]

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
        if self.passed:
            lines.append(f"compare PASSED: all {len(self.rows)} tensors of {self.their_name} match {self.golden_name}")
        elif not self.rows:
            lines.append("compare FAILED: no tensor was selected")
        else:
            bad = self.failures()
            lines.append(
                f"compare FAILED: {len(bad)} of {len(self.rows)} tensors ({', '.join(r.name for r in bad)})"
            )
        return "\n".join(lines)

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
    if theirs.shape != golden.shape:
        return TensorComparison(name, "shape", shape, str(theirs.dtype),
                                message=f"theirs has shape {tuple(theirs.shape)}, golden has {shape}")
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
        return TensorComparison(name, "ok", shape, str(theirs.dtype), max_abs, max_rel, rtol=rtol, atol=atol)
    index = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
    return TensorComparison(name, "mismatch", shape, str(theirs.dtype), max_abs, max_rel, int(np.sum(bad)), index,
                            _scalar(golden, index), _scalar(theirs, index), rtol, atol)


def _selected(name: str, patterns: Sequence[str] | None) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(name, p) or name.startswith(p + ".") for p in patterns)


def compare(
    golden: dict,
    theirs: dict,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    only: Sequence[str] | None = None,
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
    golden_name, their_name : how the report names the two sides

    Returns
    -------
    ComparisonReport; raises ``fastweights_np.oracle.OracleFileError`` when the golden dict
    has no manifest, a manifest that disagrees with its arrays (an array's shape or dtype, an
    array listed but absent or present but unlisted: :func:`fastweights_np.oracle.check_manifest`)
    or when either side has another format version
    """
    check_manifest(golden, golden_name)
    if MANIFEST_KEY in theirs:
        read_manifest(theirs, their_name)
    report = ComparisonReport(golden_name=golden_name, their_name=their_name)
    golden_names = [n for n in golden if n != MANIFEST_KEY and _selected(n, only)]
    for name in golden_names:
        if name not in theirs:
            report.rows.append(TensorComparison(name, "missing", tuple(np.shape(golden[name])),
                                                message=f"not in {their_name}"))
        else:
            report.rows.append(compare_tensor(name, golden[name], theirs[name], rtol, atol))
    for name in theirs:
        if name != MANIFEST_KEY and name not in golden and _selected(name, only):
            report.rows.append(TensorComparison(name, "unexpected", tuple(np.shape(theirs[name])),
                                                str(np.asarray(theirs[name]).dtype),
                                                message=f"{golden_name} has no array of this name"))
    return report
