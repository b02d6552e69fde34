"""Optimisers. They update parameters from gradients and stay outside any function whose
gradient is checked."""

from fastweights_np.optim.adam import AdamConfig, AdamState, adam_init, adam_step, load_adam, save_adam
from fastweights_np.optim.rmsprop import (
    RMSPropConfig,
    RMSPropState,
    load_rmsprop,
    rmsprop_init,
    rmsprop_step,
    save_rmsprop,
)
from fastweights_np.optim.schedule import SCHEDULES, learning_rate

__all__ = ["AdamConfig", "AdamState", "adam_init", "adam_step", "load_adam", "save_adam",
           "RMSPropConfig", "RMSPropState", "rmsprop_init", "rmsprop_step", "load_rmsprop", "save_rmsprop",
           "SCHEDULES", "learning_rate"]
