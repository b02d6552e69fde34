"""reproduce table1 on a tiny grid: runs, reuses finished runs, writes the table and the figure."""

import json

import pytest

from fastweights_np.cli import main
from fastweights_np.cli.plot import line_styles, run_key, run_labels
from fastweights_np.tasks.assoc.reproduce import PAPER_TABLE1

TINY = ["--extra", "--train-size", "300", "--val-size", "100", "--test-size", "100"]


def test_reproduce_a_tiny_grid(tmp_path, capsys):
    out = tmp_path / "t1"
    args = ["reproduce", "table1", "--quick", "--cores", "irnn", "fw", "--sizes", "4", "--out", str(out)]
    assert main([*args, *TINY]) == 0
    table = (out / "table1.md").read_text()
    assert "| IRNN |" in table and "| Fast weights |" in table and "R=4 ours" in table
    assert "1,500 Adam updates" in table and "on 100 sequences" in table
    assert "every run with `--train-size 300 --val-size 100 --test-size 100`" in table
    assert json.loads((out / "fw-R4-s0" / "final.json").read_text())["step"] == 1500
    assert "| fw-R4-s0 |" in table and "| irnn-R4-s0 |" in table and "Wall time of this invocation" in table
    capsys.readouterr()
    assert main([*args, *TINY]) == 0  # a second call reuses the finished runs
    assert "(2 already done)" in capsys.readouterr().err
    assert "Every run was finished before this invocation" in (out / "table1.md").read_text()
    pytest.importorskip("matplotlib")
    assert (out / "table1_curves.png").stat().st_size > 1000


def test_first_below_finds_the_first_evaluation_under_a_threshold(tmp_path):
    from fastweights_np.tasks.experiment import first_below

    log = tmp_path / "metrics.jsonl"
    records = [{"step": 0, "val_error": 0.9}, {"step": 500, "val_error": 0.009, "elapsed_s": 60.0},
               {"step": 1000, "val_error": 0.002}, {"step": 1000, "final": True, "test_error": 0.001}]
    log.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    assert first_below(log, "val_error", 0.01)["step"] == 500
    assert first_below(log, "val_error", 0.001) is None


def test_paper_numbers_are_table1():
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


def test_line_styles_tell_every_core_and_size_apart(tmp_path):
    runs = []
    for core in ("irnn", "lstm", "alstm", "fw"):
        for hidden in (20, 50, 100):
            run = tmp_path / f"{core}-R{hidden}"
            run.mkdir()
            (run / "run.json").write_text(json.dumps({"options": {"core": core, "hidden": hidden, "seed": 0}}))
            runs.append(run_key(run))
    styles = line_styles(runs)
    assert len({(s["color"], s["linestyle"]) for s in styles}) == 12
    assert {s["color"] for s in styles[:3]} == {"C0"} and [s["linestyle"] for s in styles[:3]] == ["-", "--", ":"]
    # one core: a colour per run
    assert [s["color"] for s in line_styles(runs[:3])] == ["C0", "C1", "C2"]


def test_runs_that_differ_only_by_seed_get_their_own_colour_and_label():
    keys = [("fw", 20, 0), ("fw", 20, 1), ("irnn", 20, 0)]
    assert run_labels(keys) == ["Fast weights R=20 seed 0", "Fast weights R=20 seed 1", "IRNN R=20"]
    assert [s["color"] for s in line_styles(keys)] == ["C0", "C1", "C2"]
