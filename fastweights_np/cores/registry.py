"""Every recurrent core behind one interface: the reference records.

Tasks and models obtain a core through :func:`fastweights_np.backends.get_core`, which gives a
copy of these records whose functions check their results (a non-finite value raises
``fastweights_np.finite.NonFiniteError``), computed by the NumPy reference or by a backend. The
records here hold the reference's functions themselves: pure math, unchecked.

A :class:`Core` record holds, for one core:

    config_class                      its frozen, validated config
    make_config(I, H, O, **options)   a config from the sizes every task knows
    param_shapes(cfg)                 name -> shape of the core's slow (trained) parameters
    init_core_params(cfg, seed)       those parameters, initialised (nothing else: no readout)
    sequence_forward(params, x, cfg, state0=None) -> ((hs (B, T, H), state_T), cache)
    sequence_backward((dhs, dstate_T or None), cache) -> (grads, dx (B, T, I), dstate0 or None)
    state_class, zero_state(cfg, batch, dtype)   the carried state, a NamedTuple with h first
    check_sequence_inputs(params, x, cfg, state0), check_dout(dout, cfg, batch, steps)
                                      what sequence_forward / sequence_backward take, checked
                                      (the checked records of ``backends.get_core`` call them)
    param_count(cfg)                  the number of slow parameters that affect the output
    backend                           which code computes it: "numpy" here (the reference)

Each core lives in ``cores/<name>/`` laid out the same way (config, params, step, sequence) and
its package exports the functions above by name; :func:`_core` builds its record.

``grads`` holds one array per parameter name (the fast-weights core adds "decay" and
"fast_lr", the gradients with respect to λ and η, which are not trained: NumPy scalars of the
parameters' dtype, np.float32 or np.float64).

Cores: "fw" (fast weights, Ba et al. 2016), "irnn" (Le, Jaitly & Hinton 2015), "lstm" (with
optional layer norm, Ba, Kiros & Hinton 2016), "alstm" (Danihelka et al. 2016).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from fastweights_np.config_base import check_positive_int
from fastweights_np.cores import alstm, irnn, lstm
from fastweights_np.cores import fast_weights as fw
from fastweights_np.validation import check_float_array, check_params


@dataclass(frozen=True)
class Core:
    """One recurrent core's interface (see the module docstring)."""

    name: str
    description: str
    config_class: type
    state_class: type
    param_shapes: Callable[[Any], dict[str, tuple[int, ...]]]
    init_core_params: Callable[[Any, int], dict[str, np.ndarray]]
    sequence_forward: Callable
    sequence_backward: Callable
    zero_state: Callable[[Any, int, np.dtype], NamedTuple]
    used_params: Callable[[Any], tuple[str, ...]] | None = None  # None: every parameter
    output_size_in_config: bool = False
    backend: str = "numpy"

    def make_config(self, input_size: int, hidden_size: int, output_size: int, **options: Any) -> Any:
        """The core's config for inputs of size I, H hidden units and O outputs.

        Only the fast-weights config records ``output_size`` (its canonical model includes
        the readout); for the baselines it is checked and the readout keeps it (V is O×H).
        ``options`` are the config's other fields.
        """
        if self.output_size_in_config:
            return self.config_class(input_size=input_size, hidden_size=hidden_size, output_size=output_size, **options)
        check_positive_int("output_size", output_size)
        return self.config_class(input_size=input_size, hidden_size=hidden_size, **options)

    def param_count(self, cfg: Any) -> int:
        """Number of slow (trained) parameters that can change the core's output at ``cfg``.

        For the baselines that is every parameter; the fast-weights core always carries g and
        β, which count only when layer norm is used somewhere (inner loop with S >= 1, or
        the preliminary vector). λ and η are hyperparameters and never count.
        """
        shapes = self.param_shapes(cfg)
        used = tuple(shapes) if self.used_params is None else self.used_params(cfg)
        return int(sum(np.prod(shapes[name], dtype=np.int64) for name in used))

    def check_config(self, cfg: object) -> None:
        """Raise TypeError unless ``cfg`` is this core's config class."""
        if not isinstance(cfg, self.config_class):
            expected = self.config_class.__name__
            raise TypeError(f"cfg must be a {expected} for core {self.name!r}, got {type(cfg).__name__}")

    def check_state(self, name: str, state: object, batch: int, cfg: Any) -> NamedTuple:
        """Check a carried state: a ``state_class`` (or plain tuple) of arrays with the shapes of
        ``zero_state(cfg, batch)``, finite; returned as ``state_class`` in cfg's dtype."""
        fields = self.state_class._fields
        if not isinstance(state, tuple) or len(state) != len(fields):
            raise TypeError(
                f"{name} must be a {self.state_class.__name__}({', '.join(fields)}) or a tuple of "
                f"{len(fields)} arrays, got {type(state).__name__}"
                + (f" of length {len(state)}" if isinstance(state, tuple) else "")
            )
        zero = self.zero_state(cfg, batch, cfg.np_dtype)
        parts = [
            check_float_array(f"{name}.{field}", part, like.shape, cfg.np_dtype)
            for field, part, like in zip(fields, state, zero, strict=True)
        ]
        return self.state_class(*parts)

    def check_inputs(
        self, params: object, x: object, cfg: object, state0: object = None
    ) -> tuple[np.ndarray, NamedTuple | None]:
        """Check what ``sequence_forward`` takes: cfg, the core's params, x (B, T, I) and an
        optional state0 together.

        params must hold exactly the core's keys (``param_shapes(cfg)``), x must have B, T >= 1
        and I = ``cfg.input_size``, state0 the shapes of ``zero_state(cfg, B)`` (a ``state_class``
        or a plain tuple of its arrays). Returns x and state0 (as ``state_class``) in cfg's dtype.
        The dtype rule
        (:func:`fastweights_np.validation.check_float_array`): x and state0 of the other float
        dtype (float64 for a float32 config, float32 for float64) are converted to cfg's dtype,
        a copy; integer, complex and bool arrays are refused (TypeError), and so are non-finite
        values (ValueError). The params must have cfg's dtype exactly (TypeError otherwise).
        Errors name the argument, what was expected and what was given.
        """
        self.check_config(cfg)
        check_params(params, self.param_shapes(cfg), cfg.np_dtype)
        x = check_float_array("x", x, (None, None, cfg.input_size), cfg.np_dtype)
        if state0 is not None:
            state0 = self.check_state("state0", state0, x.shape[0], cfg)
        return x, state0

    def own_params(self, params: object, cfg: Any) -> object:
        """The core's own parameters out of ``params``, a dict that may hold others too (the
        canonical model's readout V and c, say): those of its keys that ``param_shapes(cfg)``
        has (:meth:`check_inputs` names any that are missing). ``params`` itself when it is not
        a mapping or ``cfg`` not this core's config (:meth:`check_inputs` refuses them)."""
        if not isinstance(params, Mapping) or not isinstance(cfg, self.config_class):
            return params
        shapes = self.param_shapes(cfg)
        return {name: value for name, value in params.items() if name in shapes}

    def check_sequence_inputs(
        self, params: object, x: object, cfg: object, state0: object = None
    ) -> tuple[dict[str, np.ndarray], np.ndarray, NamedTuple | None]:
        """Check what ``sequence_forward`` takes, as :meth:`check_inputs` does, except that
        params may hold keys besides the core's (they are left out: :meth:`own_params`).

        Returns (the core's params, x, state0), x and state0 converted as :meth:`check_inputs` says.
        """
        self.check_config(cfg)
        if isinstance(params, Mapping):
            shapes = self.param_shapes(cfg)
            missing = sorted(set(shapes) - set(params))
            if missing:
                raise ValueError(f"params must hold the {self.name!r} core's parameters {sorted(shapes)} (other keys "
                                 f"are left out); missing {missing}")
        params = self.own_params(params, cfg)
        x, state0 = self.check_inputs(params, x, cfg, state0)
        return params, x, state0

    def check_dout(
        self, dout: object, cfg: Any, batch: int, steps: int
    ) -> tuple[np.ndarray, NamedTuple | None]:
        """Check what ``sequence_backward`` takes besides the cache, for a forward over ``batch``
        sequences of ``steps`` steps at ``cfg``: dout = (dhs, dstate).

        dhs must be (B, T, H) (the shape of the forward's hs), dstate None or the final state's
        gradient with the shapes of ``zero_state(cfg, B)``: a ``state_class`` or a plain tuple
        of its arrays. Returns (dhs, dstate as ``state_class`` or None) in cfg's dtype, by the
        rule of :meth:`check_inputs` (the other float dtype converted; integer, complex and bool
        arrays and non-finite values refused). Errors name the argument, what was expected and
        what was given.
        """
        if not isinstance(dout, tuple) or len(dout) != 2:
            raise TypeError(
                f"dout must be a pair (dhs, dstate or None), got {type(dout).__name__}"
                + (f" of length {len(dout)}" if isinstance(dout, tuple) else "")
            )
        dhs, dstate = dout
        dhs = check_float_array("dhs", dhs, (batch, steps, cfg.hidden_size), cfg.np_dtype)
        if dstate is not None:
            dstate = self.check_state("dstate", dstate, batch, cfg)
        return dhs, dstate


def _core(
    name: str, description: str, package: ModuleType, config_class: type, state_class: type, **options: Any
) -> Core:
    """The record of the core whose package (``cores/<name>/``) exports the interface's functions by name."""
    return Core(
        name=name,
        description=description,
        config_class=config_class,
        state_class=state_class,
        param_shapes=package.param_shapes,
        init_core_params=package.init_core_params,
        sequence_forward=package.sequence_forward,
        sequence_backward=package.sequence_backward,
        zero_state=package.zero_state,
        **options,
    )


CORES: dict[str, Core] = {
    core.name: core
    for core in (
        _core(
            "fw",
            "fast weights with layer norm (Ba, Hinton, Mnih, Leibo & Ionescu 2016)",
            fw,
            fw.FastWeightsConfig,
            fw.FastWeightsState,
            used_params=fw.used_params,
            output_size_in_config=True,
        ),
        _core("irnn", "IRNN, ReLU RNN with W = 0.5·I at init (Le, Jaitly & Hinton 2015)", irnn, irnn.IRNNConfig,
              irnn.IRNNState),
        _core("lstm", "LSTM, optionally layer-normalized (Ba, Kiros & Hinton 2016)", lstm, lstm.LSTMConfig,
              lstm.LSTMState),
        _core("alstm", "Associative LSTM (Danihelka, Wayne, Uria, Kalchbrenner & Graves 2016)", alstm,
              alstm.ALSTMConfig, alstm.ALSTMState),
    )
}
CORE_NAMES = tuple(CORES)


def get_core(name: str) -> Core:
    """The reference core called ``name``; ValueError naming the known cores otherwise.

    (For a backend's version: :func:`fastweights_np.backends.get_core`.)"""
    if name not in CORES:
        raise ValueError(f"core must be one of {CORE_NAMES}, got {name!r}")
    return CORES[name]


# Rows of the parameter-count table: (core, config options beyond the sizes). The A-LSTM's
# defaults (4 copies, 3 heads: the fast-weights paper's baseline) are spelled out because
# its count depends on n_heads.
TABLE_VARIANTS: tuple[tuple[str, dict], ...] = (
    ("fw", {}),
    ("irnn", {}),
    ("irnn", {"layer_norm": True}),
    ("lstm", {}),
    ("lstm", {"layer_norm": True}),
    ("alstm", {"n_copies": 4, "n_heads": 3}),
    ("alstm", {"n_copies": 4, "n_heads": 3, "layer_norm": True}),
    ("alstm", {"n_copies": 4, "n_heads": 1}),
)


def param_count_table(
    input_size: int, hidden_sizes: Iterable[int], variants: Iterable[tuple[str, dict]] = TABLE_VARIANTS
) -> list[tuple[str, str, list[int]]]:
    """Slow-parameter counts of each core variant at each hidden size H (readout not included).

    Returns
    -------
    rows : (core name, "layer_norm=..., <the variant's other options>", [count at each H])
    """
    hidden_sizes = list(hidden_sizes)
    rows = []
    for name, options in variants:
        core = get_core(name)
        cfgs = [core.make_config(input_size, H, 1, **options) for H in hidden_sizes]
        shown = {"layer_norm": cfgs[0].layer_norm, **{k: v for k, v in options.items() if k != "layer_norm"}}
        rows.append((name, ", ".join(f"{k}={v}" for k, v in shown.items()), [core.param_count(c) for c in cfgs]))
    return rows


def format_param_count_table(input_size: int, hidden_sizes: Iterable[int]) -> str:
    """:func:`param_count_table` as a Markdown table."""
    hidden_sizes = list(hidden_sizes)
    lines = [
        "| core | options | " + " | ".join(f"H={H}" for H in hidden_sizes) + " |",
        "|---|---|" + "---:|" * len(hidden_sizes),
    ]
    for name, options, counts in param_count_table(input_size, hidden_sizes):
        lines.append(f"| {name} | {options} | " + " | ".join(f"{n:,}" for n in counts) + " |")
    return "\n".join(lines)
