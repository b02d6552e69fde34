"""Training: trainer kinds (supervised.py; registry.py names them) and the pieces they share:
clipping (clip.py), checkpoints that resume exactly (checkpoint.py), run directories
(run_dir.py), the progress bar (progress.py); Adam and schedules are in fastweights_np.optim."""
