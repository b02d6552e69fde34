"""Damaged, missing and foreign files: every loader of the package fails with a FileFormatError
that names the file, what is wrong and what was expected; never a bare zipfile / JSON / NumPy
error, never a hint to load pickles; the command line answers with exit status 2 and no traceback."""

from __future__ import annotations

import gzip
import json
import pickle
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from fastweights_np import FastWeightsConfig, init_params, load_params, save_params
from fastweights_np.cli import main
from fastweights_np.files import FileFormatError, MissingFileError, read_bytes, read_json, read_jsonl, read_npz
from fastweights_np.optim.adam import AdamConfig, adam_init, load_adam, save_adam
from fastweights_np.oracle import OracleFileError, golden_vectors, load_golden, read_arrays, save_golden
from fastweights_np.tasks.mnist.data import (
    SPLIT_SIZES,
    MnistCacheError,
    MnistSplit,
    load_cache,
    load_pickle,
    read_idx,
    save_cache,
)
from fastweights_np.tasks.paper_table import FINAL_EXPECTED, read_record

CFG = FastWeightsConfig(input_size=3, hidden_size=4, output_size=2, inner_steps=1)
NPZ_FAULTS = ("missing", "directory", "empty", "truncated", "text", "object array", "pickle", "npy", "torch zip",
              "wrong format")
WHAT_IS_WRONG = {  # fault -> words of the message that say what is wrong
    "missing": "does not exist (no such file)",
    "directory": "is a directory, not a file",
    "empty": "is empty (0 bytes)",
    "truncated": "is a truncated or damaged .npz archive",
    "text": "is text, not an .npz archive",
    "object array": "of Python objects, which cannot be read without pickles (fastweights_np never loads pickles)",
    "pickle": "is a Python pickle (as pickle.dump or torch.save write), not an .npz archive "
              "(fastweights_np never loads pickles)",
    "npy": "is a single .npy array (numpy.save), not an .npz archive",
    "torch zip": "its member 'archive/data.pkl' is not a .npy array",
}


# --------------------------------------------------------------------------- good files of each kind
def _params(path: Path) -> Path:
    return save_params(path, init_params(CFG, 0), CFG)


def _adam(path: Path) -> Path:
    params = init_params(CFG, 0)
    return save_adam(path, adam_init(params), AdamConfig())


def _golden(path: Path) -> Path:
    return save_golden(path, golden_vectors(CFG, batch=2, steps=3, adam_steps=1))


@pytest.fixture(scope="module")
def cache_file(tmp_path_factory) -> Path:
    zeros = {n: MnistSplit(np.zeros((k, 28, 28), np.uint8), np.zeros(k, np.int64)) for n, k in SPLIT_SIZES.items()}
    return save_cache(tmp_path_factory.mktemp("cache") / "mnist.npz", zeros)


# loader name -> (load(path), write a good file at path (None: a module-wide file), words of the
# expectation, the error class, words of the wrong-format fault)
LOADERS = {
    "load_params": (load_params, _params, "a fastweights_np.params/1 file", FileFormatError,
                    "is not a fastweights_np.params/1 file (format: fastweights_np.adam/1)"),
    "load_adam": (load_adam, _adam, "a fastweights_np.adam/1 file", FileFormatError,
                  "is not a fastweights_np.adam/1 file (format: fastweights_np.params/1)"),
    "load_golden": (load_golden, _golden, "golden vectors (fastweights_np.oracle/1)", OracleFileError,
                    "has no __manifest__ entry"),
    "read_arrays": (read_arrays, _golden, "an .npz of arrays named like the golden file's", OracleFileError,
                    None),  # any .npz of arrays is of the right format
    "load_cache": (load_cache, None, "the MNIST cache (mnist.npz)", MnistCacheError, "keys"),
}


def _write_fault(path: Path, fault: str, good: Path, wrong: Path) -> None:
    """Put the file with ``fault`` at ``path``; ``good`` is a valid file of the loader's kind and
    ``wrong`` a valid .npz of another kind."""
    if fault == "directory":
        path.mkdir()
    elif fault == "empty":
        path.write_bytes(b"")
    elif fault == "truncated":
        data = good.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif fault == "text":
        path.write_text("W,b\n0.1,0.2\n")
    elif fault == "object array":
        np.savez(path, a=np.array([{}], dtype=object))
    elif fault == "pickle":  # what torch.save's legacy format or a pickle.dump of a state dict is
        path.write_bytes(pickle.dumps({"W": [[0.0, 1.0]], "b": [0.0]}))
    elif fault == "npy":
        with open(path, "wb") as f:
            np.save(f, np.zeros(3))
    elif fault == "torch zip":  # torch.save's current format: a zip archive of pickles
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("archive/data.pkl", pickle.dumps({"W": 0}))
    elif fault == "wrong format":
        shutil.copy(wrong, path)
    else:
        assert fault == "missing"


@pytest.mark.parametrize("loader, fault", [(loader, fault) for loader in LOADERS for fault in NPZ_FAULTS
                                           if fault != "wrong format" or LOADERS[loader][4] is not None])
def test_npz_loaders_name_the_file_the_fault_and_what_was_expected(tmp_path, cache_file, loader, fault):
    load, write_good, expected, error, wrong_words = LOADERS[loader]
    good = cache_file if write_good is None else write_good(tmp_path / "good.npz")
    wrong = _adam(tmp_path / "adam.npz") if loader == "load_params" else _params(tmp_path / "params.npz")
    path = tmp_path / "bad.npz"
    _write_fault(path, fault, good, wrong)
    with pytest.raises(FileFormatError) as info:
        load(path)
    message = str(info.value)
    assert str(path) in message, message
    assert "allow_pickle" not in message and "Traceback" not in message
    assert (WHAT_IS_WRONG.get(fault) or wrong_words) in message, message
    if loader == "load_cache" and fault in ("missing", "directory"):
        assert type(info.value) is MissingFileError  # no cache to delete
    else:
        assert isinstance(info.value, error), type(info.value)
    assert isinstance(info.value, MissingFileError) == (fault in ("missing", "directory"))
    if isinstance(info.value, MissingFileError):
        assert isinstance(info.value, FileNotFoundError)
    if fault != "wrong format" or loader in ("load_params", "load_adam"):
        assert f"; expected {expected}" in message, message
    if isinstance(info.value, MnistCacheError):
        assert message.endswith("Delete it and it will be rebuilt.")


def test_read_npz_returns_every_array_and_refuses_a_damaged_member(tmp_path):
    np.savez(tmp_path / "a.npz", x=np.arange(3), s=np.array("text"))
    arrays = read_npz(tmp_path / "a.npz", "a test archive")
    assert list(arrays) == ["x", "s"] and arrays["x"].tolist() == [0, 1, 2] and str(arrays["s"]) == "text"
    data = bytearray((tmp_path / "a.npz").read_bytes())
    data[data.find(b"\x93NUMPY") + 90] ^= 0xFF  # a flipped byte inside the first array's data
    (tmp_path / "b.npz").write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match="b.npz is a truncated or damaged .npz archive .*Bad CRC-32"):
        read_npz(tmp_path / "b.npz", "a test archive")


# --------------------------------------------------------------------------- JSON and JSON lines
def test_read_json_faults(tmp_path):
    path = tmp_path / "run.json"
    for content, words in ((None, "does not exist"), (b"", "is empty (0 bytes)"),
                           (b'{"options": {"hidden": 4,\n "core": }}', "is not valid JSON at line 2, column 10"),
                           (b'{"a": "\xff"}', "is not UTF-8 text")):
        path.unlink(missing_ok=True)
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(FileFormatError) as info:
            read_json(path, "a run.json")
        assert str(info.value).startswith(f"{path} {words}") and str(info.value).endswith("; expected a run.json")
    path.write_text('{"a": [1, 2]}')
    assert read_json(path, "a run.json") == {"a": [1, 2]}


def test_read_jsonl_skips_a_torn_last_line_and_refuses_any_other_bad_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text("")
    assert read_jsonl(path, "a log") == []
    path.write_text('{"step": 0}\n\n{"step": 10}\n{"step": 20, "val_')
    assert read_jsonl(path, "a log") == [{"step": 0}, {"step": 10}]
    with pytest.raises(FileFormatError, match=r"jsonl is not valid JSON at line 4, column 14 .*; expected a log"):
        read_jsonl(path, "a log", torn_last_line="error")
    path.write_text('{"step": 0}\n{"step": 1\n{"step": 20}\n')
    with pytest.raises(FileFormatError, match=r"metrics.jsonl is not valid JSON at line 2, column 11"):
        read_jsonl(path, "a log")
    path.write_text('{"step": 0}\n[1, 2]\n')
    with pytest.raises(FileFormatError, match=r"metrics.jsonl has an array at line 2, not a JSON object"):
        read_jsonl(path, "a log")
    with pytest.raises(ValueError, match="torn_last_line must be one of"):
        read_jsonl(path, "a log", torn_last_line="warn")
    with pytest.raises(MissingFileError, match="nothing.jsonl does not exist"):
        read_jsonl(tmp_path / "nothing.jsonl", "a log")


def test_read_record_wants_an_object_with_its_keys(tmp_path):
    path = tmp_path / "final.json"
    path.write_text("[1]")
    with pytest.raises(FileFormatError, match=f"final.json holds no JSON object; expected {FINAL_EXPECTED}"):
        read_record(path, FINAL_EXPECTED, ("step",))
    path.write_text('{"step": 3}')
    with pytest.raises(FileFormatError, match="final.json has no 'test_error'"):
        read_record(path, FINAL_EXPECTED, ("step", "test_error"))
    assert read_record(path, FINAL_EXPECTED, ("step",)) == {"step": 3}


# --------------------------------------------------------------------------- MNIST's other sources
def test_mnist_sources_name_a_missing_or_damaged_file(tmp_path):
    with pytest.raises(MissingFileError, match="t10k-labels-idx1-ubyte does not exist"):
        read_idx(tmp_path / "t10k-labels-idx1-ubyte")
    with pytest.raises(MissingFileError, match="mnist.pkl.gz does not exist"):
        load_pickle(tmp_path / "mnist.pkl.gz")
    torn = tmp_path / "labels.gz"
    torn.write_bytes(gzip.compress(b"\0\0\x08\x01\0\0\0\x02\x01\x02")[:-6])
    with pytest.raises(ValueError, match=f"{torn}: not complete gzip data"):
        read_idx(torn)
    assert read_bytes(torn, "x") == torn.read_bytes()


# --------------------------------------------------------------------------- the command line
@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    """A finished tiny associative-retrieval run (run.json, metrics.jsonl, checkpoint.npz, final.json)."""
    run = tmp_path_factory.mktemp("runs") / "run"
    assert main(["train", "assoc", "--hidden", "4", "--backend", "numpy", "--steps", "4", "--eval-every", "2",
                 "--batch-size", "8", "--train-size", "40",
                 "--val-size", "20", "--test-size", "20", "--out", str(run), "--no-progress"]) == 0
    return run


@pytest.fixture
def run_copy(trained_run, tmp_path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    return run


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_plot_skips_a_torn_last_line_and_names_a_torn_middle_line(run_copy, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    metrics = run_copy / "metrics.jsonl"
    lines = metrics.read_text().splitlines()
    assert len(lines) >= 3
    png = tmp_path / "curves.png"
    metrics.write_text("\n".join(lines) + '\n{"step": 6, "val_er')  # interrupted while logging
    code, out, err = _cli(capsys, "plot", str(run_copy), "--out", str(png), "--metric", "val_error")
    assert code == 0 and png.read_bytes()[:4] == b"\x89PNG", err
    lines[1] = lines[1][: len(lines[1]) // 2]
    metrics.write_text("\n".join(lines) + "\n")
    code, _, err = _cli(capsys, "plot", str(run_copy), "--out", str(png))
    assert code == 2 and f"{metrics} is not valid JSON at line 2" in err and "metrics.jsonl of a" in err, err
    assert err.startswith("fastweights-np plot: error: ") and "Traceback" not in err
    (run_copy / "run.json").write_text("{")  # only the legend needs it: the directory's name instead
    metrics.write_text("\n".join(lines[:1]) + "\n")
    assert _cli(capsys, "plot", str(run_copy), "--out", str(png))[0] == 0


@pytest.mark.parametrize("name, fault", [
    ("run.json", "invalid JSON"), ("run.json", "directory"), ("run.json", "no options"),
    ("checkpoint.npz", "truncated"), ("checkpoint.npz", "text"), ("checkpoint.npz", "pickle"),
    ("checkpoint.npz", "wrong format"), ("checkpoint.npz", "empty"), ("checkpoint.npz", "directory"),
])
def test_eval_names_a_damaged_file_of_the_run(run_copy, tmp_path, capsys, name, fault):
    path = run_copy / name
    good = tmp_path / "good"
    shutil.move(path, good)
    if fault == "invalid JSON":
        path.write_text(good.read_text()[:-5])
    elif fault == "no options":
        path.write_text(json.dumps({"task": "assoc"}))
    else:
        _write_fault(path, fault, good, _params(tmp_path / "params.npz"))
    code, out, err = _cli(capsys, "eval", str(run_copy), "--show", "0")
    assert code == 2 and out == "", (out, err)
    assert err.startswith("fastweights-np eval: error: ") and str(path) in err, err
    assert "allow_pickle" not in err and "Traceback" not in err


def test_reproduce_reads_final_json_through_the_loader(run_copy, capsys):
    from fastweights_np.cli.reproduce import _finished

    assert _finished(run_copy, 4) and not _finished(run_copy, 5)
    (run_copy / "final.json").write_text('{"step": 4')
    with pytest.raises(FileFormatError, match="final.json is not valid JSON at line 1"):
        _finished(run_copy, 4)


def test_the_command_line_reports_a_bad_file_without_a_traceback(tmp_path):
    bad = tmp_path / "golden.npz"
    bad.write_bytes(pickle.dumps({"h": [0.0]}))
    result = subprocess.run([sys.executable, "-m", "fastweights_np", "oracle", "describe", str(bad)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert f"{bad} is a Python pickle" in result.stderr and "never loads pickles" in result.stderr
    assert "allow_pickle" not in result.stderr
