"""Recurrent cores. Each exposes ``sequence_forward(params, x, cfg, state0) -> ((hs, state), cache)``
and ``sequence_backward((dhs, dstate), cache) -> (grads, dx, dstate0)``."""
