"""Check a PyTorch fast-weights implementation against the reference's golden vectors.

    python examples/check_pytorch_against_golden.py                        # the whole walk-through
    python examples/check_pytorch_against_golden.py golden.npz theirs.npz  # check one golden file

Without arguments it works in a temporary folder: it exports two golden files with the
command line (the paper's model, and the variant that a public PyTorch port computes,
docs/variants.md §1 and §5: the "preliminary" timing, layer-norm statistics over the batch
axis, no ε, λ and η trained by the optimiser), runs the PyTorch model below on each, compares
with ``fastweights-np oracle compare --outputs`` (states, logits, loss, every gradient and the
Adam steps), and finally runs ``fastweights-np oracle diagnose`` on the variant's outputs
against the paper's problem, which names the variant and calls its layer norm what it is. With
a golden file it runs the model on that file and compares. Exit status 0 when every comparison
passes (and the diagnosis names the variant), 1 otherwise; 0 with a one-line message when
PyTorch is not installed (nothing is checked then).

The model is a from-scratch transcription of the paper's equations, as a user would write it:
nothing of fastweights_np's math is imported. It reads the problem (x, y, params.*) and the
model's options from the golden file, gets every gradient from autograd (λ and η included),
takes the manifest's Adam steps with ``torch.optim.Adam``, and writes its arrays under the
golden names.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

try:
    import torch
except ImportError:
    print("torch is not installed (pip install torch==2.13.0); this example checked nothing")
    sys.exit(0)

SUPPORTED = {"ln_params": "shared", "no_inner_loop": False}
SCALARS = ("decay", "fast_lr")


# ---- the implementation under test: about 40 lines of PyTorch --------------------------------
def run_model(P: dict, x: torch.Tensor, y: torch.Tensor, cfg: dict) -> tuple:
    """Loss and (h_inner, A_T, logits) of the fast-weights RNN with layer norm (Ba et al. 2016)."""
    f = torch.relu if cfg["activation"] == "relu" else torch.tanh
    B, T, H = x.shape[0], x.shape[1], cfg["hidden_size"]
    axis = 0 if cfg["ln_axis"] == "batch" else -1  # "batch": each unit over the batch (a bug, §5)

    def ln(v):  # ε inside the square root
        mu = v.mean(axis, keepdim=True)
        var = ((v - mu) ** 2).mean(axis, keepdim=True)
        return P["g"] * (v - mu) / torch.sqrt(var + cfg["ln_eps"]) + P["beta"]

    def outer(k):  # one outer product k kᵀ per sequence
        return k[:, :, None] * k[:, None, :]

    h = torch.zeros(B, H, dtype=x.dtype)
    A = torch.zeros(B, H, H, dtype=x.dtype)
    inner = []
    for t in range(T):
        d = x[:, t] @ P["C"].T + P["b"]  # C x_t + b
        z = h @ P["W"].T + d  # W h_{t-1} + C x_t + b
        p = f(ln(z)) if cfg["ln_preliminary"] else f(z)  # h_t^(0)
        timing = cfg["fast_weight_timing"]
        A_next = P["decay"] * A + P["fast_lr"] * outer(p if timing == "preliminary" else h)
        M = A if timing == "lagged" else A_next  # "lagged" reads A_{t-1}
        sustained = p @ P["W"].T + d if timing == "preliminary" else z
        states = [p]
        for _ in range(cfg["inner_steps"]):
            v = sustained + (M @ states[-1][:, :, None])[:, :, 0]
            states.append(f(ln(v)) if cfg["layer_norm"] else f(v))  # h_t^(s)
        inner.append(torch.stack(states, 1))
        h, A = states[-1], A_next
    logits = h @ P["V"].T + P["c"]
    loss = torch.nn.functional.cross_entropy(logits, y, reduction=cfg["loss_reduction"])
    return loss, (torch.stack(inner, 1), A, logits)
# ----------------------------------------------------------------------------------------------


def check_torch(golden_path: str | Path, out_path: str | Path) -> None:
    """Run the model on the golden file's problem and write its arrays to ``out_path``."""
    g = np.load(golden_path, allow_pickle=False)
    manifest = json.loads(str(g["__manifest__"]))
    cfg, settings = manifest["config"], manifest["settings"]
    unsupported = {k: cfg[k] for k, v in SUPPORTED.items() if cfg.get(k, v) != v}
    unsupported.update({k: settings[k] for k in ("tokens", "readout") if settings.get(k) not in (None, "linear")})
    if unsupported:
        raise SystemExit(f"this transcription covers shared layer-norm parameters, the inner loop, real-valued x "
                         f"and the linear readout only; {golden_path} has {unsupported}")
    dtype = getattr(torch, cfg["dtype"])
    cfg = {"ln_axis": "example", "loss_reduction": "mean", **cfg}
    P = {k[len("params."):]: torch.tensor(g[k], requires_grad=True) for k in g.files if k.startswith("params.")}
    P.update({k: torch.tensor(cfg[k], dtype=dtype, requires_grad=True) for k in SCALARS})
    x, y = torch.tensor(g["x"]), torch.tensor(g["y"])

    loss, (h_inner, A_T, logits) = run_model(P, x, y, cfg)
    loss.backward()
    theirs = {"h_inner": h_inner, "hs": h_inner[:, :, -1], "A_T": A_T, "logits": logits, "loss": loss}
    # cloned: the Adam steps' backward adds to .grad; unused parameters (g, beta without LN) have none
    theirs.update({f"grad.{k}": torch.zeros_like(p) if p.grad is None else p.grad.clone() for k, p in P.items()})
    spec = settings["adam"]
    if spec["steps"] > 0:
        trained = [k for k in P if k not in SCALARS or spec.get("train_scalars")]
        opt = torch.optim.Adam([P[k] for k in trained], lr=spec["lr"], betas=(spec["beta1"], spec["beta2"]),
                               eps=spec["eps"])
        losses = []
        for _ in range(spec["steps"]):
            opt.zero_grad()
            step_loss = run_model(P, x, y, cfg)[0]
            step_loss.backward()
            opt.step()
            losses.append(step_loss)
        losses.append(run_model(P, x, y, cfg)[0])
        theirs["adam.loss"] = torch.stack(losses)
        theirs.update({f"adam.params.{k}": P[k] for k in trained})
    np.savez(out_path, **{k: v.detach().numpy() for k, v in theirs.items()})


def oracle(*args: str) -> int:
    """Run ``fastweights-np oracle ARGS`` (as ``python -m fastweights_np``), showing what it prints."""
    print("$ fastweights-np oracle " + " ".join(args), flush=True)
    return subprocess.run([sys.executable, "-m", "fastweights_np", "oracle", *args]).returncode


def walk_through(folder: Path) -> int:
    """Export, run, compare the paper's model and the PyTorch port's variant; diagnose the variant."""
    variant = ["--timing", "preliminary", "--ln-axis", "batch", "--ln-eps", "0"]
    failed = 0
    for name, options in (("paper", []), ("port", variant)):
        golden, theirs = folder / f"golden_{name}.npz", folder / f"theirs_{name}.npz"
        failed |= oracle("export", *options, "--train-scalars", "--out", str(golden))
        check_torch(golden, theirs)
        print(f"wrote {theirs} (PyTorch {torch.__version__})")
        failed |= oracle("compare", str(golden), str(theirs), "--outputs")
    # Their variant's outputs, diagnosed against the paper's problem (the same x, y, params.*).
    problem = folder / "problem.npz"
    failed |= oracle("problem", "--train-scalars", "--out", str(problem))
    run = subprocess.run([sys.executable, "-m", "fastweights_np", "oracle", "diagnose", str(problem),
                          str(folder / "theirs_port.npz"), "--json"], capture_output=True, text=True)
    found = json.loads(run.stdout) if run.stdout.strip() else {}
    failed |= oracle("diagnose", str(problem), str(folder / "theirs_port.npz"))
    named = found.get("variant", {})
    expected = {"fast_weight_timing": "preliminary", "ln_axis": "batch", "ln_eps": 0.0}
    if not (found.get("matched") and all(named.get(k) == v for k, v in expected.items())):
        print(f"diagnose did not name the port's variant: {found.get('summary', run.stderr)}")
        failed = 1
    print("PyTorch example: every comparison PASSED" if not failed else "PyTorch example: FAILED (see above)")
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    if len(argv) >= 1 and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    if not argv:
        with tempfile.TemporaryDirectory() as folder:
            return walk_through(Path(folder))
    golden, out = argv[0], argv[1] if len(argv) > 1 else "theirs.npz"
    check_torch(golden, out)
    print(f"wrote {out} (PyTorch {torch.__version__})")
    return oracle("compare", golden, out, "--outputs")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
