"""Check a JAX fast-weights implementation against the reference's golden vectors.

    python examples/check_jax_against_golden.py                       # the whole walk-through
    python examples/check_jax_against_golden.py golden.npz theirs.npz # check one golden file

Without arguments it works in a temporary folder: it exports two golden files with the
command line (the paper's model, and a non-default variant: the lagged timing with the
preliminary vector layer-normalised and no ε, as TensorFlow-style cells compute it), runs the
JAX model below on each, compares with ``fastweights-np oracle compare --outputs`` (states,
logits, loss, every gradient and the Adam steps), and finally runs ``fastweights-np oracle
diagnose`` on the variant's outputs against the paper's problem, which names the variant.
With a golden file it runs the model on that file and compares. Exit status 0 when every
comparison passes (and the diagnosis names the variant), 1 otherwise; 0 with a one-line
message when JAX is not installed (nothing is checked then).

The model is a from-scratch transcription of the paper's equations (docs/variants.md §1), as a
user would write it: nothing of fastweights_np's math is imported. It reads the problem
(x, y, params.*) and the model's options from the golden file, gets every gradient from
``jax.grad`` (λ and η included), takes the manifest's Adam steps with a hand-written Adam, and
writes its arrays under the golden names.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

try:
    import jax
    import jax.numpy as jnp
except ImportError:
    print("jax is not installed (pip install jax); this example checked nothing")
    sys.exit(0)

jax.config.update("jax_enable_x64", True)  # the golden files are float64

SUPPORTED = {"ln_axis": "example", "ln_params": "shared", "no_inner_loop": False}
SCALARS = ("decay", "fast_lr")


# ---- the implementation under test: about 40 lines of JAX ------------------------------------
def run_model(P: dict, x, y, cfg: dict) -> tuple:
    """Loss and (h_inner, A_T, logits) of the fast-weights RNN with layer norm (Ba et al. 2016)."""
    f = jax.nn.relu if cfg["activation"] == "relu" else jnp.tanh
    B, T = x.shape[0], x.shape[1]
    H = cfg["hidden_size"]

    def ln(v):  # statistics over the H units of one example; ε inside the square root
        mu = v.mean(-1, keepdims=True)
        var = ((v - mu) ** 2).mean(-1, keepdims=True)
        return P["g"] * (v - mu) / jnp.sqrt(var + cfg["ln_eps"]) + P["beta"]

    h = jnp.zeros((B, H), x.dtype)
    A = jnp.zeros((B, H, H), x.dtype)
    inner = []
    for t in range(T):
        A_next = P["decay"] * A + P["fast_lr"] * jnp.einsum("bi,bj->bij", h, h)  # λ A + η h_{t-1} h_{t-1}ᵀ
        M = A_next if cfg["fast_weight_timing"] == "paper" else A  # "lagged" reads A_{t-1}
        z = h @ P["W"].T + x[:, t] @ P["C"].T + P["b"]  # W h_{t-1} + C x_t + b
        states = [f(ln(z)) if cfg["ln_preliminary"] else f(z)]  # h_t^(0)
        for _ in range(cfg["inner_steps"]):
            v = z + jnp.einsum("bij,bj->bi", M, states[-1])
            states.append(f(ln(v)) if cfg["layer_norm"] else f(v))  # h_t^(s)
        inner.append(jnp.stack(states, 1))
        h, A = states[-1], A_next
    logits = h @ P["V"].T + P["c"]
    losses = jax.nn.logsumexp(logits, -1) - jnp.take_along_axis(logits, y[:, None], 1)[:, 0]
    loss = losses.sum() if cfg["loss_reduction"] == "sum" else losses.mean()
    return loss, (jnp.stack(inner, 1), A, logits)


def adam(P: dict, trained: tuple, loss_grad, steps: int, lr: float, b1: float, b2: float, eps: float):
    """Kingma & Ba's Algorithm 1 on the parameters named in ``trained``; the losses on the way."""
    m = {k: jnp.zeros_like(P[k]) for k in trained}
    v = {k: jnp.zeros_like(P[k]) for k in trained}
    losses = []
    for k in range(1, steps + 1):
        loss, grads = loss_grad(P)
        losses.append(loss)
        P = dict(P)
        for n in trained:
            m[n] = b1 * m[n] + (1 - b1) * grads[n]
            v[n] = b2 * v[n] + (1 - b2) * grads[n] ** 2
            P[n] = P[n] - lr * (m[n] / (1 - b1**k)) / (jnp.sqrt(v[n] / (1 - b2**k)) + eps)
    losses.append(loss_grad(P)[0])
    return P, jnp.stack(losses)
# ----------------------------------------------------------------------------------------------


def check_jax(golden_path: str | Path, out_path: str | Path) -> None:
    """Run the model on the golden file's problem and write its arrays to ``out_path``."""
    g = np.load(golden_path, allow_pickle=False)
    manifest = json.loads(str(g["__manifest__"]))
    cfg, settings = manifest["config"], manifest["settings"]
    unsupported = {k: cfg[k] for k, v in SUPPORTED.items() if cfg.get(k, v) != v}
    unsupported.update({k: settings[k] for k in ("tokens", "readout") if settings.get(k) not in (None, "linear")})
    if unsupported or cfg["fast_weight_timing"] not in ("paper", "lagged"):
        raise SystemExit(f"this transcription covers the paper and lagged timings with per-example layer norm "
                         f"only; {golden_path} has {unsupported or cfg['fast_weight_timing']}")
    dtype = np.dtype(cfg["dtype"])
    P = {k[len("params."):]: jnp.asarray(g[k]) for k in g.files if k.startswith("params.")}
    P.update({k: jnp.asarray(cfg[k], dtype) for k in SCALARS})
    x, y = jnp.asarray(g["x"]), jnp.asarray(g["y"])
    weights = tuple(k for k in P if k not in SCALARS)

    loss_fn = jax.jit(lambda P: run_model(P, x, y, cfg))
    grad_fn = jax.jit(jax.value_and_grad(lambda P: run_model(P, x, y, cfg)[0]))
    loss, (h_inner, A_T, logits) = loss_fn(P)
    grads = grad_fn(P)[1]
    theirs = {"h_inner": h_inner, "hs": h_inner[:, :, -1], "A_T": A_T, "logits": logits, "loss": loss}
    theirs.update({f"grad.{k}": v for k, v in grads.items()})
    spec = settings["adam"]
    if spec["steps"] > 0:
        trained = weights + (SCALARS if spec.get("train_scalars") else ())
        P_k, losses = adam(P, trained, grad_fn, spec["steps"], spec["lr"], spec["beta1"], spec["beta2"], spec["eps"])
        theirs["adam.loss"] = losses
        theirs.update({f"adam.params.{k}": P_k[k] for k in trained})
    np.savez(out_path, **{k: np.asarray(v) for k, v in theirs.items()})


def oracle(*args: str) -> int:
    """Run ``fastweights-np oracle ARGS`` (as ``python -m fastweights_np``), showing what it prints."""
    print("$ fastweights-np oracle " + " ".join(args), flush=True)
    return subprocess.run([sys.executable, "-m", "fastweights_np", "oracle", *args]).returncode


def walk_through(folder: Path) -> int:
    """Export, run, compare the paper's model and a variant; diagnose the variant."""
    variant = ["--timing", "lagged", "--ln-preliminary", "--ln-eps", "0"]
    failed = 0
    for name, options in (("paper", []), ("lagged", variant)):
        golden, theirs = folder / f"golden_{name}.npz", folder / f"theirs_{name}.npz"
        failed |= oracle("export", *options, "--out", str(golden))
        check_jax(golden, theirs)
        print(f"wrote {theirs} (JAX {jax.__version__})")
        failed |= oracle("compare", str(golden), str(theirs), "--outputs")
    # Their variant's outputs, diagnosed against the paper's problem (the same x, y, params.*).
    problem = folder / "problem.npz"
    failed |= oracle("problem", "--out", str(problem))
    run = subprocess.run([sys.executable, "-m", "fastweights_np", "oracle", "diagnose", str(problem),
                          str(folder / "theirs_lagged.npz"), "--json"], capture_output=True, text=True)
    found = json.loads(run.stdout) if run.stdout.strip() else {}
    failed |= oracle("diagnose", str(problem), str(folder / "theirs_lagged.npz"))
    named = found.get("variant", {})
    if not (found.get("matched") and named.get("fast_weight_timing") == "lagged" and named.get("ln_preliminary")):
        print(f"diagnose did not name the lagged variant: {found.get('summary', run.stderr)}")
        failed = 1
    print("JAX example: every comparison PASSED" if not failed else "JAX example: FAILED (see above)")
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    if len(argv) >= 1 and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    if not argv:
        with tempfile.TemporaryDirectory() as folder:
            return walk_through(Path(folder))
    golden, out = argv[0], argv[1] if len(argv) > 1 else "theirs.npz"
    check_jax(golden, out)
    print(f"wrote {out} (JAX {jax.__version__})")
    return oracle("compare", golden, out, "--outputs")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
