"""Option declarations: what a task, its model, a trainer or an experiment takes from the command line.

An :class:`Option` names a key of a run's options dict (``num_pairs`` is ``--num-pairs``), its
default, how a command-line string becomes its value, and a help line. The command line builds
its parsers from these declarations (``fastweights_np/cli``); tasks and trainers never see
argparse. The value parsers here raise ``ValueError`` with a message naming what is allowed.

The model option group (:func:`model_options`) is the one every task that trains a recurrent
core (fw, irnn, lstm, alstm) under a readout declares: the core, R, the fast-weights options,
dtype and the backend; :func:`resolve_model_options` fills in its derived defaults and
:func:`core_options` turns it into the core's config fields.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from fastweights_np.cores.registry import CORE_NAMES


# ----------------------------------------------------------------------------------- values
def _number(kind, text: str, ok, allowed: str):
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"expected {allowed}, got {text!r}") from None
    if not ok(value):
        raise ValueError(f"expected {allowed}, got {text!r}")
    return value


def integer(text: str) -> int:
    return _number(int, text, lambda v: True, "an integer")


def positive_int(text: str) -> int:
    return _number(int, text, lambda v: v >= 1, "a positive integer")


def nonneg_int(text: str) -> int:
    return _number(int, text, lambda v: v >= 0, "a non-negative integer")


def positive_float(text: str) -> float:
    return _number(float, text, lambda v: v > 0, "a positive number")


def nonneg_float(text: str) -> float:
    return _number(float, text, lambda v: v >= 0, "a non-negative number")


def unit_interval(text: str) -> float:
    return _number(float, text, lambda v: 0 <= v <= 1, "a number in [0, 1]")


# ---------------------------------------------------------------------------------- options
@dataclass(frozen=True)
class Option:
    """One option of a run (or of an experiment).

    name : the key in the options dict; on the command line ``--`` + name with ``-`` for ``_``
    default : its value when not given (None: absent, or derived by the task's ``resolve``)
    help : one line; the command line appends "(default ...)" from ``default_text`` or ``default``
    parse : command-line string -> value, raising ValueError with a message (None for a switch)
    choices : the allowed values, or None
    switch : a flag without a value (True when given)
    many : takes one or more values (a list; experiments' grids)
    default_text : how the default is described in the help (e.g. "none", "0.9, the paper's")
    """

    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] | None = None
    choices: tuple | None = None
    switch: bool = False
    many: bool = False
    default_text: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def with_defaults(options: tuple[Option, ...], defaults: dict[str, Any]) -> tuple[Option, ...]:
    """``options`` with the defaults in ``defaults`` (a task's values for its trainer's options)."""
    names = {o.name for o in options}
    unknown = sorted(set(defaults) - names)
    if unknown:
        raise ValueError(f"defaults for unknown options {unknown}; the options are {sorted(names)}")
    return tuple(replace(o, default=defaults[o.name], default_text=None) if o.name in defaults else o
                 for o in options)


def default_options(options: tuple[Option, ...]) -> dict[str, Any]:
    """{name: default} of ``options`` (a switch defaults to False)."""
    return {o.name: (bool(o.default) if o.switch else o.default) for o in options}


# ------------------------------------------------------------------------ the model's group
# How the models are named in figures and tables (the paper's names).
DISPLAY_NAMES = {"irnn": "IRNN", "lstm": "LSTM", "alstm": "A-LSTM", "fw": "Fast weights", "convnet": "ConvNet"}
# Backends a task model can train with (the CuPy path covers the canonical model only).
TRAIN_BACKENDS = ("numpy", "numba")
FW_ONLY = ("decay", "fast_lr", "inner_steps", "form")
# Cores with Numba kernels: --backend applies to them (the A-LSTM runs on the reference). It defaults to
# numba where the kernels are the faster (fw); the IRNN's and LSTM's kernels cost about what the reference
# does at the paper's sizes (benchmarks/bench_baselines.py, docs/performance.md), so they default to numpy.
NUMBA_CORES = ("fw", "irnn", "lstm")
NUMBA_DEFAULT_CORES = ("fw",)


def model_options(*, core: str = "fw", hidden: int = 50, dtype: str = "float32",
                  fw_defaults: dict[str, float] | None = None,
                  cores: tuple[str, ...] = CORE_NAMES) -> tuple[Option, ...]:
    """The options of one recurrent core under a readout: core (one of ``cores``), R, dtype, the
    fw core's options (their defaults, given by the task's model when absent, are named by
    ``fw_defaults`` in the help: decay, fast_lr, inner_steps), no_layer_norm and backend."""
    fw = dict(fw_defaults or {})

    def fw_default(name: str, extra: str = "") -> str | None:
        return None if name not in fw else f"{fw[name]:g}{extra}"

    return (
        Option("core", core, "recurrent core", choices=cores),
        Option("hidden", hidden, "R, recurrent units", positive_int),
        Option("dtype", dtype, "floating-point type of parameters and activations", choices=("float32", "float64")),
        Option("decay", None, "fw: λ", unit_interval, default_text=fw_default("decay", ", the paper's for this task")),
        Option("fast_lr", None, "fw: η", positive_float, default_text=fw_default("fast_lr")),
        Option("inner_steps", None, "fw: S", nonneg_int, default_text=fw_default("inner_steps")),
        Option("form", None, "fw: how A_t h is computed", choices=("matrix", "attention"), default_text="attention"),
        Option("no_layer_norm", False, "no layer norm in the core", switch=True),
        Option("backend", None,
               "fw, irnn, lstm: the NumPy reference or the compiled Numba kernels; alstm: numpy only",
               choices=TRAIN_BACKENDS,
               default_text="numba for fw, where it is the faster; numpy for irnn and lstm, see docs/performance.md"),
    )


def resolve_model_options(options: dict) -> dict:
    """``options`` with the model group's derived defaults: the attention form for fw (cheaper
    than the matrix form while T < R) and the Numba kernels where they are the faster."""
    options = dict(options)
    if options["core"] == "fw":
        options["form"] = options["form"] or "attention"
    if options["core"] in NUMBA_DEFAULT_CORES:
        options["backend"] = options["backend"] or "numba"  # the compiled kernels, tested equal to the reference
    return options


def core_options(options: dict) -> dict:
    """The core config's fields named by the model group's options (ValueError on fw-only
    options given to another core, and on the Numba backend for a core without kernels)."""
    core = options["core"]
    if core != "fw":
        given = [name for name in FW_ONLY if options[name] is not None]
        if given:
            raise ValueError(f"--{given[0].replace('_', '-')} applies to the fw core only, not to {core}")
    if options["backend"] == "numba" and core not in NUMBA_CORES:
        raise ValueError(
            f"--backend numba is available for the {', '.join(NUMBA_CORES)} cores only, not for {core} "
            "(it runs on the NumPy reference): leave --backend out or pass --backend numpy"
        )
    fields = {k: options[k] for k in FW_ONLY if options[k] is not None}
    if options["no_layer_norm"]:
        fields["layer_norm"] = False
    return fields


def backend_of(options: dict) -> str:
    """The backend the model group's options name ("numpy" when none is)."""
    return options.get("backend") or "numpy"
