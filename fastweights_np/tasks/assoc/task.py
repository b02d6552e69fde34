"""The associative-retrieval task's record: its options, how a run is built from them, its
metric (cross-entropy and error of the digit), how ``eval`` shows a sequence, and Table 1."""

from __future__ import annotations

import numpy as np

from fastweights_np.tasks.assoc.data import SPLIT_SIZES, decode, make_assoc_splits
from fastweights_np.tasks.assoc.model import FW_TASK_DEFAULTS, AssocModel, AssocModelConfig
from fastweights_np.tasks.assoc.reproduce import TABLE1
from fastweights_np.tasks.batches import split_batches
from fastweights_np.tasks.metrics import classification_metric
from fastweights_np.tasks.options import (
    Option,
    backend_of,
    core_options,
    integer,
    model_options,
    positive_int,
    resolve_model_options,
)
from fastweights_np.tasks.task import SupervisedRun, Task

OPTIONS = (
    Option("num_pairs", 4, "K, key-value pairs per sequence", positive_int),
    Option("train_size", SPLIT_SIZES["train"], "training sequences", positive_int),
    Option("val_size", SPLIT_SIZES["val"], "validation sequences", positive_int),
    Option("test_size", SPLIT_SIZES["test"], "test sequences", positive_int),
    Option("data_seed", 0, "seed of the data set", integer),
)
MODEL_OPTIONS = model_options(core="fw", hidden=50, dtype="float32", fw_defaults=FW_TASK_DEFAULTS)
# The paper's budget for this task: 30,000 Adam updates of batch 128 at lr 1e-3.
TRAINER_DEFAULTS = {"steps": 30_000, "batch_size": 128, "lr": 1e-3, "eval_every": 500}


def build(options: dict) -> SupervisedRun:
    """The model, the three splits and the training batches named by complete options."""
    o = options
    model_cfg = AssocModelConfig(core=o["core"], hidden_size=o["hidden"], dtype=o["dtype"],
                                 core_options=core_options(o))
    model = AssocModel(model_cfg, backend=backend_of(o))
    sizes = {"train": o["train_size"], "val": o["val_size"], "test": o["test_size"]}
    data = make_assoc_splits(seed=o["data_seed"], num_pairs=o["num_pairs"], sizes=sizes)
    label = f"{o['core']} R={o['hidden']}"
    return SupervisedRun(
        model=model,
        splits=data,
        batches=split_batches(data["train"], o["batch_size"]),
        info={"model": model_cfg.to_dict(), "data": {"num_pairs": o["num_pairs"], "seed": o["data_seed"],
                                                      "sizes": sizes}},
        label=label,
        title=f"associative retrieval K={o['num_pairs']}: {label}, {model.param_count():,} parameters",
    )


def upgrade_run_info(info: dict) -> dict:
    """run.json of an earlier version: the backend was a field of the core's config (it is the
    model's constructor argument now, and stays in "options"); the key is dropped."""
    model = info.get("model", {})
    if "backend" not in model.get("core_options", {}):
        return info
    core_options = {k: v for k, v in model["core_options"].items() if k != "backend"}
    return dict(info, model=dict(model, core_options=core_options))


def show(model: AssocModel, params: dict, split, n: int) -> list[str]:
    """The first ``n`` sequences of ``split`` with the predicted and the true digit."""
    x, y = split.x[:n], split.y[:n]
    predicted = np.argmax(model.logits(params, x), axis=1)
    return [f"  {decode(row)} -> {guess}  (target {target})  {'ok' if guess == target else 'WRONG'}"
            for row, target, guess in zip(x, y, predicted, strict=True)]


TASK = Task(
    name="assoc",
    help="associative retrieval (paper Sec. 4.1, Table 1)",
    description=(
        "Train a model on associative retrieval: K key-value pairs, '??', a key; predict its digit "
        "(paper Sec. 4.1). The model is a 100-d embedding, one recurrent core of R units, 100 ReLU "
        "units and a softmax; Adam on mini-batches; the parameters with the best validation error "
        "are kept and their test error reported. The run directory gets run.json, metrics.jsonl "
        "(one line per evaluation), checkpoint.npz (atomic) and final.json. Ctrl-C saves and "
        "stops; --resume continues exactly where the run stopped."
    ),
    trainer="supervised",
    options=OPTIONS,
    model_options=MODEL_OPTIONS,
    trainer_defaults=TRAINER_DEFAULTS,
    resolve=resolve_model_options,
    build=build,
    metric=classification_metric,
    show=show,
    experiments={TABLE1.name: TABLE1},
    upgrade_run_info=upgrade_run_info,
)
