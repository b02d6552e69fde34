"""The partially observable Catch game (paper Sec. 4.4, App. A.3; docs/catch.md): the vectorised
environment (``env.py``), text and image rendering (``render.py``) and, where gymnasium is
installed, a Gymnasium environment (``gym_env.py``, imported by nothing here)."""

CORES = ("fw", "irnn", "lstm")  # the cores of the paper's three agents (irnn: its "ReLU RNN")
