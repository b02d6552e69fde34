"""Table 1 of the paper: every core at R in {20, 50, 100} on associative retrieval (K = 4).

Every (core, R, seed) is one ``fastweights-np train assoc`` run; ``fastweights-np reproduce
table1`` runs the grid and writes table1.md (our test error beside the paper's, and one row per
run) and table1_curves.png (test NLL against updates).
"""

from __future__ import annotations

from fastweights_np.cores.registry import CORE_NAMES
from fastweights_np.tasks.paper_table import PaperTable

# docs/model.md, Table 1: test error (%) of the paper.
PAPER_TABLE1 = {
    "irnn": {20: 62.11, 50: 60.23, 100: 0.34},
    "lstm": {20: 60.81, 50: 1.85, 100: 0.0},
    "alstm": {20: 60.13, 50: 1.62, 100: 0.0},
    "fw": {20: 1.81, 50: 0.0, 100: 0.0},
}
# Longest runs first, so the last ones to finish are short (per-step cost: A-LSTM >> LSTM ~ fw > IRNN).
TABLE = PaperTable(paper=PAPER_TABLE1, order=("irnn", "lstm", "alstm", "fw"),
                   cost_rank={"alstm": 0, "lstm": 1, "fw": 2, "irnn": 3}, letter="R", examples="sequences (K = 4)")


TABLE1 = TABLE.experiment(
    "table1", "assoc", "the paper's Table 1: every core at R = 20, 50, 100 on associative retrieval",
    models=CORE_NAMES, sizes=[20, 50, 100], curve="test NLL",
    defaults={"steps": 30_000, "eval_every": 1000, "seeds": [0]},
    quick={"steps": 1500, "eval_every": 250},
    figure={"metric": "test_loss", "log_y": True, "title": "Associative retrieval: test NLL"},
)
