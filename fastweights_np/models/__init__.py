"""Models: a core with its head(s) and loss.

- ``canonical``: the model the oracle pins down, the fast-weights core and a linear readout of
  h_T with softmax cross-entropy (``fastweights_np.loss_and_grad``);
- ``core_readout``: any registered core with the same readout (gradient checks of every core);
- ``files``: the canonical model's parameters saved with their config in one ``.npz``.

Task models (``tasks/<name>/model.py``) are built from the same pieces: a core obtained with
:func:`fastweights_np.backends.get_core`, heads from :mod:`fastweights_np.heads`, ops.
"""
