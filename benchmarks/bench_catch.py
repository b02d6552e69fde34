"""Environment frames per second of the Catch agent's training update, as ``fastweights-np train
catch`` runs it, for every core on the NumPy reference and the Numba kernels, side by side.

    PYTHONPATH=$PWD python benchmarks/bench_catch.py [--size 16] [--episodes 32] [--rounds 9] [--threads 1]

Each agent is built by the task from the options ``train`` would resolve (``task.build``); an
update is what the actor-critic trainer does (``train/actor_critic.py: _update``): play E
episodes acting step by step, the returns, the loss and every gradient through the whole
episodes, clipping, the RMSProp step. Frames per update: E·N. Updates are timed in rounds, one of
every agent per round in turn, so that the machine's load drifts over all of them alike; each
cell is the median over the rounds; beside it, the time of playing the episodes alone (timed
separately: the part of the update spent acting step by step). The row "numba (reference
acting)" acts by ``rollout.StepActor`` (``agent.act`` through the checked core at every step)
instead of the agent's faster ``actor`` (``tasks/catch/acting.py``): the update before it.
Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
if "--threads" in sys.argv:  # before NumPy starts its thread pool
    os.environ["OPENBLAS_NUM_THREADS"] = sys.argv[sys.argv.index("--threads") + 1]

import numpy as np  # noqa: E402
from common import machine  # noqa: E402

from fastweights_np.cli.train import options_of_command  # noqa: E402
from fastweights_np.tasks.catch.task import TASK  # noqa: E402
from fastweights_np.tasks.rollout import ReferenceActing, play  # noqa: E402
from fastweights_np.train import actor_critic as ac  # noqa: E402

REFERENCE_ACTING = "(reference acting)"  # a backend label's suffix: act by StepActor, not agent.actor


def agent_update(core: str, backend: str, size: int, episodes: int):
    """A function running one update of this agent and returning (seconds, acting seconds);
    ``backend`` may carry further options ("numba --form attention") and end in
    :data:`REFERENCE_ACTING`; otherwise the task's defaults (fw: the matrix form on Numba, the
    attention form on NumPy) and the agent's own ``actor``."""
    reference_acting = backend.endswith(REFERENCE_ACTING)
    backend = backend.removesuffix(REFERENCE_ACTING).strip()
    options = options_of_command("catch", ["--core", core, "--backend", *backend.split(), "--size", str(size),
                                           "--episodes", str(episodes), "--out", "unused"])
    run = TASK.build(options)
    if reference_acting:
        run = dataclasses.replace(run, agent=ReferenceActing(run.agent))
    cfg = ac.config_from_options(options)
    _, update = ac._optimizer(cfg)
    env = run.make_env(episodes)
    state = ac._fresh(run.agent, cfg, {})

    def once() -> tuple[float, float]:
        nonlocal state
        began = time.perf_counter()
        play(run.agent, state.params, env, episodes, np.random.default_rng([0, 9, state.step]))
        acted = time.perf_counter() - began
        began = time.perf_counter()
        state = ac._update(run.agent, env, cfg, update, state, None, None)
        return time.perf_counter() - began, acted

    return once


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=16)
    p.add_argument("--episodes", type=int, default=32)
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument("--threads", default="1")
    args = p.parse_args(argv)
    cells = [(core, backend) for core in ("fw", "irnn", "lstm") for backend in ("numpy", "numba")]
    cells.insert(2, ("fw", "numba --form attention"))
    cells.insert(2, ("fw", f"numba {REFERENCE_ACTING}"))
    updates = {cell: agent_update(*cell, args.size, args.episodes) for cell in cells}
    for once in updates.values():  # compile, warm up
        once()
    times: dict = {cell: [] for cell in cells}
    for _ in range(args.rounds):
        for cell, once in updates.items():
            times[cell].append(once())
    frames = args.episodes * args.size
    print(f"# {machine()}; BLAS threads {args.threads}; N = {args.size}, E = {args.episodes}, float32; "
          f"median of {args.rounds} rounds\n")
    print("| core | backend | ms per update | playing alone (of it) | frames per second | / numpy |")
    print("|---|---|---:|---:|---:|---:|")
    for core, backend in cells:
        t, acting = (float(np.median([r[i] for r in times[(core, backend)]])) for i in (0, 1))
        base = float(np.median([r[0] for r in times[(core, "numpy")]]))  # the reference's, default form
        print(f"| {core} | {backend} | {1e3 * t:.1f} | {1e3 * acting:.1f} | {frames / t:,.0f} | {base / t:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
