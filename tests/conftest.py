"""Shared test settings: hypothesis profiles and float64 helpers."""

import os

from hypothesis import HealthCheck, settings

# CI runs derandomised, so a failure there is reproducible; a counterexample found anywhere is
# pinned as a named regression test (tests/test_regressions.py).
settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
