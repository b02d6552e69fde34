"""Training: deterministic mini-batches, gradient clipping, Adam, checkpoints that resume exactly."""
