"""The oracle: golden vectors of the reference for other implementations, and their comparison.

See docs/oracle.md. ``fastweights-np oracle export`` / ``problem`` / ``compare`` / ``diagnose`` are the
command-line faces.
"""

from fastweights_np.oracle.compare import TOLERANCES, ComparisonReport, TensorComparison, compare, compare_tensor
from fastweights_np.oracle.diagnose import Diagnosis, Mismatch, diagnose
from fastweights_np.oracle.export import (
    array_meaning,
    draw_problem,
    golden_from_inputs,
    golden_vectors,
    problem_subset,
    problem_vectors,
)
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
    "Diagnosis",
    "Mismatch",
    "MissingOracleFileError",
    "OracleFileError",
    "TensorComparison",
    "array_meaning",
    "check_golden",
    "check_manifest",
    "compare",
    "compare_tensor",
    "diagnose",
    "draw_problem",
    "golden_from_inputs",
    "golden_vectors",
    "load_golden",
    "manifest_problems",
    "non_finite_arrays",
    "problem_subset",
    "problem_vectors",
    "read_arrays",
    "read_manifest",
    "save_golden",
]
