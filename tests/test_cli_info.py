"""``fastweights-np info`` and the variant options of ``fastweights-np gradcheck``."""

import numpy as np

from fastweights_np.backends.cupy import cupy_status
from fastweights_np.cli import main


def test_info_prints_versions_threading_and_cupy_status(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"numpy             {np.__version__}" in out
    assert "numba threading   layer " in out and " threads of NUMBA_NUM_THREADS=" in out
    usable, reason = cupy_status()
    assert f"cupy backend      {'usable' if usable else 'NOT usable'}: {reason}" in out


def test_gradcheck_cli_takes_the_variant_options(capsys):
    code = main(["gradcheck", "--hidden", "4", "--steps", "3", "--inner-steps", "1", "--batch", "2",
                 "--timing", "preliminary", "--activation", "tanh", "--form", "attention", "--mode", "direction"])
    out = capsys.readouterr().out
    assert code == 0 and "timing=preliminary activation=tanh" in out and "gradient check PASSED" in out
