"""The Numba backend: compiled, batch-parallel kernels for the fast-weights core and the
IRNN and LSTM baselines.

Selected with ``FastWeightsConfig(..., backend="numba")``; then ``fastweights_np.loss_and_grad``,
``hidden_states``, ``sequence_forward`` and ``sequence_backward`` run here and return what
the NumPy reference returns (tests/test_numba_backend.py holds them equal). Modules:

- ``activation``: f(LN(v)) and its backward for one example, and the W h products
- ``matrix``: one example's forward and BPTT; ``attention``: one time step of a chunk's
- ``kernels``: the batch-parallel forward and backward kernels (prange over the batch)
- ``inputs``: the drive C x_t + b, with a gather (not a product) for one-hot inputs
- ``arrays``: arrays as the kernels take them (contiguous, one dtype), placeholders, λ's powers
- ``readout``: V h_T + c, softmax cross-entropy and their backward in one compiled pass
- ``sequence``: the entry points with the reference's signatures
- ``threads``: BLAS on one thread inside the kernels (always) and beside them (training loops)
- ``workspace``: the arrays ``loss_and_grad`` allocates, kept between calls of the same shapes
- ``lstm``: the LSTM's step, forward and BPTT, and its batch kernels
- ``cache``: Numba's on-disk cache, invalidated by an edit to any module here (not only the
  kernel's own file)
- ``baselines``: the IRNN's and the LSTM's entry points (``IRNNConfig(..., backend="numba")``,
  ``LSTMConfig(...)``; tests/test_numba_baselines.py); the IRNN runs in the fast-weights kernels
"""

from fastweights_np.backends.numba.cache import register

register()  # before any module here compiles (or loads) a kernel

from fastweights_np.backends.numba.baselines import baseline_sequence_backward, baseline_sequence_forward  # noqa: E402
from fastweights_np.backends.numba.sequence import loss_and_grad, sequence_backward, sequence_forward  # noqa: E402

__all__ = [
    "baseline_sequence_backward",
    "baseline_sequence_forward",
    "loss_and_grad",
    "sequence_backward",
    "sequence_forward",
]
