"""reproduce table1 on a tiny grid: runs, reuses finished runs, writes the table and the figure."""

import json

import pytest

from fastweights_np.cli import main
from fastweights_np.cli.reproduce import PAPER_TABLE1

TINY = ["--extra", "--train-size", "300", "--val-size", "100", "--test-size", "100"]


def test_reproduce_a_tiny_grid(tmp_path, capsys):
    out = tmp_path / "t1"
    args = ["reproduce", "table1", "--quick", "--cores", "irnn", "fw", "--sizes", "4", "--out", str(out)]
    assert main([*args, *TINY]) == 0
    table = (out / "table1.md").read_text()
    assert "| IRNN |" in table and "| Fast weights |" in table and "R=4 ours" in table
    assert "1,500 Adam updates" in table and "on 100 sequences" in table
    assert json.loads((out / "fw-R4-s0" / "final.json").read_text())["step"] == 1500
    capsys.readouterr()
    assert main([*args, *TINY]) == 0  # a second call reuses the finished runs
    assert "(2 already done)" in capsys.readouterr().err
    pytest.importorskip("matplotlib")
    assert (out / "table1_curves.png").stat().st_size > 1000


def test_paper_numbers_are_design_md_table1():
    assert PAPER_TABLE1["fw"] == {20: 1.81, 50: 0.0, 100: 0.0}
    assert PAPER_TABLE1["irnn"][20] == 62.11 and PAPER_TABLE1["lstm"][50] == 1.85 and PAPER_TABLE1["alstm"][50] == 1.62


def test_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    run = tmp_path / "run"
    assert main(["train", "assoc", "--hidden", "4", "--steps", "20", "--eval-every", "10", "--train-size", "200",
                 "--val-size", "50", "--test-size", "50", "--out", str(run), "--no-progress"]) == 0
    png = tmp_path / "curves.png"
    assert main(["plot", str(run), "--out", str(png), "--metric", "val_error"]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["plot", str(tmp_path / "missing"), "--out", str(png)]) == 2
    assert "metrics.jsonl is missing" in capsys.readouterr().err
