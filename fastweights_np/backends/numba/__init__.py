"""The Numba backend: compiled, batch-parallel kernels for the fast-weights core and the
IRNN and LSTM baselines.

Selected per call, not by a config: ``fastweights_np.backends.get_core(name, backend="numba")``
for the cores "fw", "irnn" and "lstm" (:func:`core`), and ``fastweights_np.loss_and_grad(...,
backend="numba")`` / ``hidden_states(..., backend="numba")`` for the canonical model
(:func:`model_loss_and_grad`, one fused kernel). They return what the NumPy reference returns
(tests/test_numba_backend.py and tests/test_numba_baselines.py hold them equal). The fast-weights
core is the paper's model only (``fast_weight_timing="paper"``, ``activation="relu"``); the other
variants run on the reference. The kernels do not look for inf or NaN: ``get_core`` checks the
records of :func:`core` and ``loss_and_grad`` the fused kernel's results
(``fastweights_np.finite.NonFiniteError``, located by a replay on the reference on failure);
dλ and dη are NumPy scalars of the config's dtype. Modules:

- ``activation``: f(LN(v)) and its backward for one example, and the W h products
- ``matrix``: one example's forward and BPTT; ``attention``: one time step of a chunk's
- ``kernels``: the batch-parallel kernels (prange over the batch), forward, backward and the
  fused training step, one set per form
- ``arguments``: the kernels' arguments grouped by meaning (weights, options, the forward's
  tape, the chunks' gradients, an optional fast-weight matrix, the readout)
- ``inputs``: the drive C x_t + b, with a gather (not a product) for one-hot inputs
- ``arrays``: arrays as the kernels take them (contiguous, one dtype), placeholders, λ's powers
- ``readout``: V h_T + c, softmax cross-entropy and their backward in one compiled pass
- ``sequence``: the entry points with the reference's signatures
- ``threads``: BLAS on one thread inside the kernels (always) and beside them (training loops)
- ``workspace``: the arrays ``loss_and_grad`` allocates, kept between calls of the same shapes
- ``lstm``: the LSTM's step, forward and BPTT, and its batch kernels
- ``guards``: the shapes the kernels index by, made sure of before they run (the input
  checks themselves are ``get_core``'s, the same for every backend)
- ``cache``: Numba's on-disk cache, invalidated by an edit to any module here (not only the
  kernel's own file)
- ``baselines``: the IRNN's and the LSTM's entry points (``get_core("irnn", backend="numba")``,
  ``get_core("lstm", ...)``; tests/test_numba_baselines.py); the IRNN runs in the fast-weights kernels
"""

import dataclasses

from fastweights_np.backends.numba.cache import register

register()  # before any module here compiles (or loads) a kernel

from fastweights_np.backends.numba.baselines import (  # noqa: E402
    baseline_sequence_backward,
    baseline_sequence_forward,
    core_functions,
)
from fastweights_np.backends.numba.sequence import (  # noqa: E402
    BACKEND,
    model_loss_and_grad,
    sequence_backward,
    sequence_forward,
)
from fastweights_np.cores.registry import Core  # noqa: E402

# name -> (sequence_forward, sequence_backward), with the reference cores' signatures
CORE_FUNCTIONS = {
    "fw": (sequence_forward, sequence_backward),
    "irnn": core_functions("irnn"),
    "lstm": core_functions("lstm"),
}
CORES = tuple(CORE_FUNCTIONS)


def core(reference: Core) -> Core:
    """The reference core record ``reference`` computed by the Numba kernels (the backend
    interface of :mod:`fastweights_np.backends`): same signatures and results; the caches are
    this backend's own; unchecked (``fastweights_np.backends.get_core`` adds the input checks,
    the same as every backend's, and the non-finite checks; called directly, the functions make
    sure of the shapes their kernels index by, ``guards.py``). ValueError for a core without
    kernels (the A-LSTM)."""
    if reference.name not in CORE_FUNCTIONS:
        raise ValueError(f"backend {BACKEND!r} has the cores {CORES}, not {reference.name!r}: use backend 'numpy'")
    forward, backward = CORE_FUNCTIONS[reference.name]
    return dataclasses.replace(reference, backend=BACKEND, sequence_forward=forward, sequence_backward=backward)


__all__ = [
    "CORES",
    "baseline_sequence_backward",
    "baseline_sequence_forward",
    "core",
    "model_loss_and_grad",
    "sequence_backward",
    "sequence_forward",
]
