"""Table 2 of the paper: every model at 50, 100 and 200 hidden units on MNIST with glimpses.

Every (model, H, seed) is one ``fastweights-np train mnist`` run; ``fastweights-np reproduce
table2`` runs the grid and writes table2.md (our test error beside the paper's, and one row per
run) and table2_curves.png (test error against updates).
"""

from __future__ import annotations

from fastweights_np.tasks.mnist.model import MODELS
from fastweights_np.tasks.paper_table import PaperTable

# docs/model.md, Table 2: test error (%) of the paper.
PAPER_TABLE2 = {
    "irnn": {50: 12.95, 100: 1.95, 200: 1.42},
    "lstm": {50: 12.0, 100: 1.55, 200: 1.10},
    "convnet": {50: 1.81, 100: 1.00, 200: 0.9},
    "fw": {50: 7.21, 100: 1.30, 200: 0.85},
}
# Longest runs first (per-step cost: LSTM > fw > IRNN > ConvNet, benchmarks/bench_glimpses.py).
TABLE = PaperTable(paper=PAPER_TABLE2, order=("irnn", "lstm", "convnet", "fw"),
                   cost_rank={"lstm": 0, "fw": 1, "irnn": 2, "convnet": 3}, letter="H", examples="MNIST test images",
                   threshold=0.02)

TABLE2 = TABLE.experiment(
    "table2", "mnist", "the paper's Table 2: every model at 50, 100, 200 hidden units on MNIST with glimpses",
    models=MODELS, sizes=[50, 100, 200], curve="test error",
    defaults={"steps": 20_000, "eval_every": 1000, "seeds": [0]},
    quick={"steps": 300, "eval_every": 100},
    figure={"metric": "test_error", "log_y": True, "title": "MNIST with glimpses: test error"},
)
