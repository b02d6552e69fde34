"""Optimisers. They update parameters from gradients and stay outside any function whose
gradient is checked."""

from fastweights_np.optim.adam import AdamConfig, AdamState, adam_init, adam_step, load_adam, save_adam
from fastweights_np.optim.schedule import SCHEDULES, learning_rate

__all__ = ["AdamConfig", "AdamState", "adam_init", "adam_step", "load_adam", "save_adam", "SCHEDULES", "learning_rate"]
