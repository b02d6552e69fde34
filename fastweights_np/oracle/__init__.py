"""The oracle: golden vectors of the reference for other implementations, and their comparison.

See docs/oracle.md. ``fastweights-np oracle export`` / ``compare`` are the command-line faces.
"""

from fastweights_np.oracle.compare import TOLERANCES, ComparisonReport, TensorComparison, compare, compare_tensor
from fastweights_np.oracle.export import array_meaning, draw_problem, golden_from_inputs, golden_vectors
from fastweights_np.oracle.format import (
    FORMAT_VERSION,
    MANIFEST_KEY,
    MissingOracleFileError,
    OracleFileError,
    check_golden,
    check_manifest,
    load_golden,
    manifest_problems,
    non_finite_arrays,
    read_arrays,
    read_manifest,
    save_golden,
)

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST_KEY",
    "TOLERANCES",
    "ComparisonReport",
    "MissingOracleFileError",
    "OracleFileError",
    "TensorComparison",
    "array_meaning",
    "check_golden",
    "check_manifest",
    "compare",
    "compare_tensor",
    "draw_problem",
    "golden_from_inputs",
    "golden_vectors",
    "load_golden",
    "manifest_problems",
    "non_finite_arrays",
    "read_arrays",
    "read_manifest",
    "save_golden",
]
