"""The fast-weights core (matrix form) one time step at a time, its state carried in place:
what an agent acting step by step needs (``tasks/catch/acting.py``).

One step t for every example b of the batch, the same math as one step of
``matrix.matrix_forward_example`` (it IS that function, called with T = 1):

    A_t = λ A_{t-1} + η h_{t-1} h_{t-1}ᵀ                  (Eq. 1, in place in A[b])
    z_t = W h_{t-1} + d_t
    h^(0) = f(z_t),  h^(s) = f(LN(z_t + A_t h^(s-1))),  h_t = h^(S)

A ``sequence_forward(params, x, cfg, state0)`` of T = 1 (``sequence.py``) computes the same
numbers bit for bit (tests/test_catch_fast_path.py holds them equal); what this path leaves out
is the per-call work around them: the input checks of ``get_core`` (done once per episode by
the caller), a fresh (B, H, H) A_T and the copy of A_{t-1} into it, a fresh tape per step.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from fastweights_np.backends.numba.activation import FASTMATH
from fastweights_np.backends.numba.arguments import Weights
from fastweights_np.backends.numba.arrays import contiguous
from fastweights_np.backends.numba.inputs import drive_forward
from fastweights_np.backends.numba.kernels import chunk_rows, example_tape, n_chunks
from fastweights_np.backends.numba.matrix import matrix_forward_example
from fastweights_np.backends.numba.sequence import (
    KERNEL_DIVISION_ERRORS,
    check_paper_model,
    new_tape,
    raise_zero_variance,
    step_options,
)
from fastweights_np.backends.numba.threads import kernel_threads
from fastweights_np.backends.numba.workspace import FRESH
from fastweights_np.cores.fast_weights.config import FastWeightsConfig
from fastweights_np.cores.fast_weights.sequence import CORE_PARAM_NAMES, FastWeightsState
from fastweights_np.errors import NonFiniteError


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def matrix_step_kernel(n, drive, weights, options, A, tape):
    """One time step of the matrix form for every example, A carried in place.

    Parameters
    ----------
    n : number of chunks of the batch (``kernels.n_chunks``)
    drive : (B, 1, H), d_t = C x_t + b
    weights, options : ``arguments.Weights``, ``arguments.Options`` (of T = 1)
    A : (B, H, H), A_{t-1} on entry, A_t on exit
    tape : ``arguments.Tape`` of T = 1: past[:, 0] = h_{t-1} on entry, past[:, 1] = h_t on exit
    """
    B, _, H = drive.shape
    for c in prange(n):
        b0, b1 = chunk_rows(c, n, B)
        z = np.empty(H, drive.dtype)
        a = np.empty(H, drive.dtype)
        for b in range(b0, b1):
            matrix_forward_example(drive[b], weights, options, A[b], example_tape(tape, b), z, a)


class MatrixStepper:
    """The fast-weights core of ``cfg`` (matrix form, the paper's model) stepped over a batch
    of B sequences from the zero state, the state (h_t (B, H), A_t (B, H, H)) kept here.

    ``params`` are the core's own, checked by the caller (``Core.check_sequence_inputs``) and
    not changed while this stepper is used. Each :meth:`step` returns h_t as the (B, 1, H) view
    ``past[:, 1:]`` of a (B, 2, H) array, the same layout as ``sequence_forward``'s hs of T = 1.

    With ``cfg.ln_eps`` = 0, a layer-norm input of variance exactly 0 raises the reference's
    ``NonFiniteError`` (the same message as backend "numpy", at time step t = the step's number
    since the zero state); to replay the step, A_{t-1} is copied before each step then only.
    """

    def __init__(self, params: dict[str, np.ndarray], cfg: FastWeightsConfig, batch: int):
        check_paper_model(cfg)
        if cfg.form != "matrix":
            raise ValueError(f"cfg.form must be 'matrix' for MatrixStepper, got {cfg.form!r}")
        self.cfg, self.batch, self.params, self.t = cfg, batch, params, 0
        dtype, H = cfg.np_dtype, cfg.hidden_size
        W, self.C, self.b, g, beta = (contiguous(params[name], dtype) for name in CORE_PARAM_NAMES)
        self.weights = Weights(W, g, beta)
        self.options = step_options(cfg, 1, None, None)[2]
        self.A = np.zeros((batch, H, H), dtype)
        self.h = np.zeros((batch, H), dtype)
        self.chunks = n_chunks(batch)

    def step(self, x: np.ndarray) -> np.ndarray:
        """h_t (B, 1, H) for the inputs x_t (B, 1, I), C-contiguous of cfg's dtype."""
        drive, _ = drive_forward(contiguous(x, self.cfg.np_dtype), self.C, self.b)
        tape = new_tape(FRESH, self.cfg, self.batch, 1, self.h)
        A_prev = self.A.copy() if self.cfg.ln_eps == 0 else None
        self.t += 1
        try:
            with kernel_threads():
                matrix_step_kernel(self.chunks, drive, self.weights, self.options, self.A, tape)
        except KERNEL_DIVISION_ERRORS:
            if A_prev is not None:
                self._raise_zero_variance(x, A_prev)
            raise
        self.h = tape.past[:, 1]
        return tape.past[:, 1:]

    def _raise_zero_variance(self, x: np.ndarray, A_prev: np.ndarray) -> None:
        """The reference's error for this step (``sequence.raise_zero_variance`` on T = 1 from
        (h_{t-1}, A_{t-1})), its time step the one since the zero state."""
        state0 = FastWeightsState(self.h.copy(), A_prev)
        try:
            raise_zero_variance(self.params, x, self.cfg, state0, None, None)
        except NonFiniteError as exc:  # located "time step t = 1 of T = 1" by the replay of T = 1
            raise exc.at_time_step(self.t) from None
