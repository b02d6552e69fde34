"""Running the trials of a sweep: each trial is one ``fastweights-np train`` command with its own
run directory and log, run on a local pool of processes (the default) or on a Dask cluster.

``reproduce`` (every experiment: table1, table2, fig5) hands its trials to :func:`run_trials`.
Locally, ``jobs`` trials run at once, each a child process (``python -m fastweights_np train
...``); with ``scheduler`` (the address of a ``dask.distributed`` scheduler, e.g.
``tcp://10.0.0.5:8786``) every trial is a task on the cluster, and each worker thread runs one
child process at a time. Either way a trial's results are its run directory's files: the
cluster's workers must see the same ``--out`` directory (a shared filesystem), and they need
this package installed (``pip install 'fastweights_np[dask]'`` on every machine). A trial is a
pure function of its command (a run is a function of its options and seed), so both paths give
the same results (``tests/test_sweep.py`` checks it against a ``LocalCluster``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastweights_np.files import read_json

# One thread per trial: several trials share the machine's cores.
SINGLE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                        "NUMBA_NUM_THREADS")}


class SchedulerError(ValueError):
    """The Dask scheduler cannot be used: dask.distributed is not installed or does not answer."""


@dataclass(frozen=True)
class Trial:
    """One trial: ``name``, the arguments of ``python -m fastweights_np`` (``arguments``, e.g.
    ``("train", "catch", "--out", ...)``), the run directory it writes and the log its output
    goes to (appended), and environment variables set for it."""

    name: str
    arguments: tuple[str, ...]
    run_dir: str
    log: str
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TrialResult:
    """What a trial returned: its exit status and the run's final.json (None if there is none)."""

    name: str
    returncode: int
    final: dict | None


def run_trial(trial: Trial) -> TrialResult:
    """Run one trial to its end in a child process of this Python (on whichever machine calls it)."""
    Path(trial.log).parent.mkdir(parents=True, exist_ok=True)
    with open(trial.log, "a") as log:
        code = subprocess.run([sys.executable, "-m", "fastweights_np", *trial.arguments], stdout=log,
                              stderr=subprocess.STDOUT, env=dict(os.environ, **trial.env)).returncode
    final_path = Path(trial.run_dir) / "final.json"
    final = read_json(final_path, "the final.json of a finished run") if code == 0 and final_path.exists() else None
    return TrialResult(trial.name, code, final)


def connect(scheduler: str, timeout: str = "10s"):
    """A ``distributed.Client`` of the scheduler at ``scheduler``; SchedulerError saying why not
    (after ``timeout`` without an answer)."""
    try:
        from distributed import Client
    except ImportError:
        raise SchedulerError("--scheduler needs dask.distributed: pip install 'fastweights_np[dask]'") from None
    try:
        return Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise SchedulerError(f"no Dask scheduler answers at {scheduler!r}: {exc}") from None


def run_trials(trials: list[Trial], jobs: int = 1, scheduler: Any = None,
               on_done: Callable[[TrialResult], None] | None = None) -> dict[str, TrialResult]:
    """Run every trial; ``jobs`` at once on this machine, or on the Dask cluster at ``scheduler``.

    Parameters
    ----------
    trials : the trials, in the order to start them
    jobs : trials at once on the local pool (ignored with a scheduler: the cluster's threads decide)
    scheduler : the address of a dask.distributed scheduler, or a client of one from :func:`connect`
        (left open), or None for the local pool
    on_done : called with each result as it comes in (in the order they finish)

    Returns
    -------
    {trial name: TrialResult}. KeyboardInterrupt propagates after the trials not started are
    cancelled (a started trial saves its checkpoint on the signal its process gets locally; on a
    cluster, trials already running run on).
    """
    results: dict[str, TrialResult] = {}

    def collect(result: TrialResult) -> None:
        results[result.name] = result
        if on_done is not None:
            on_done(result)

    if scheduler is not None:
        from distributed import as_completed as dask_completed

        client = connect(scheduler) if isinstance(scheduler, str) else scheduler
        try:
            tag = uuid.uuid4().hex[:8]  # a fresh key per submission: the cluster never hands back an old result
            futures = client.map(run_trial, trials, key=[f"fastweights-np-{t.name}-{tag}" for t in trials])
            try:
                for future in dask_completed(futures):
                    collect(future.result())
            except KeyboardInterrupt:
                client.cancel(futures)
                raise
        finally:
            if isinstance(scheduler, str):
                client.close()
        return results
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(run_trial, t) for t in trials]
        try:
            for future in as_completed(futures):
                collect(future.result())
        except KeyboardInterrupt:
            for future in futures:
                future.cancel()
            raise
    return results
