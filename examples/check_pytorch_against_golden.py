"""Check a PyTorch fast-weights implementation against the reference's golden vectors.

    fastweights-np oracle export --out golden.npz        # H=8, T=5, S=2, paper timing, float64
    python examples/check_pytorch_against_golden.py golden.npz theirs.npz
    fastweights-np oracle compare golden.npz theirs.npz --only h_inner --only A_T --only logits \
        --only loss --only 'grad.*'

The model below is a short PyTorch transcription of the paper's equations (docs/variants.md,
timing "paper", ReLU, LN in the inner loop); autograd gives the gradients, including those of
λ and η. It reads everything it needs from the golden file and writes its own arrays under the
golden names.
"""

import json
import sys

import numpy as np

try:
    import torch
except ImportError:
    sys.exit("this example needs PyTorch (pip install torch); nothing was checked")

golden_path = sys.argv[1] if len(sys.argv) > 1 else "golden.npz"
out_path = sys.argv[2] if len(sys.argv) > 2 else "theirs.npz"
g = np.load(golden_path, allow_pickle=False)
cfg = json.loads(str(g["__manifest__"]))["config"]
variant = (cfg["fast_weight_timing"], cfg["activation"], cfg["layer_norm"], cfg["ln_preliminary"])
if variant != ("paper", "relu", True, False):
    sys.exit(f"this transcription covers the default variant only, the golden file has {variant}")

# ---- the implementation under test: about 20 lines of PyTorch ------------------------------
P = {k: torch.tensor(g[f"params.{k}"], requires_grad=True) for k in ("W", "C", "b", "g", "beta", "V", "c")}
lam = torch.tensor(cfg["decay"], dtype=torch.float64, requires_grad=True)
eta = torch.tensor(cfg["fast_lr"], dtype=torch.float64, requires_grad=True)
x, y = torch.tensor(g["x"]), torch.tensor(g["y"])
B, T, H = x.shape[0], x.shape[1], cfg["hidden_size"]


def ln(v):
    return torch.nn.functional.layer_norm(v, (H,), P["g"], P["beta"], cfg["ln_eps"])


h = torch.zeros(B, H, dtype=torch.float64)
A = torch.zeros(B, H, H, dtype=torch.float64)
inner = []
for t in range(T):
    A = lam * A + eta * h[:, :, None] * h[:, None, :]  # A_t = λ A_{t-1} + η h_{t-1} h_{t-1}ᵀ
    z = h @ P["W"].T + x[:, t] @ P["C"].T + P["b"]  # z_t = W h_{t-1} + C x_t + b
    states = [torch.relu(z)]  # h_t^(0)
    for _ in range(cfg["inner_steps"]):
        states.append(torch.relu(ln(z + (A @ states[-1][:, :, None])[:, :, 0])))  # h_t^(s)
    inner.append(torch.stack(states, 1))
    h = states[-1]
logits = h @ P["V"].T + P["c"]
loss = torch.nn.functional.cross_entropy(logits, y)
loss.backward()
# ---------------------------------------------------------------------------------------------

theirs = {"h_inner": torch.stack(inner, 1), "A_T": A, "logits": logits, "loss": loss}
theirs = {k: v.detach().numpy() for k, v in theirs.items()}
theirs.update({f"grad.{k}": p.grad.numpy() for k, p in P.items()})
theirs.update({"grad.decay": lam.grad.numpy(), "grad.fast_lr": eta.grad.numpy()})
np.savez(out_path, **theirs)
print(f"wrote {out_path}; check it with:\n  fastweights-np oracle compare {golden_path} {out_path} "
      "--only h_inner --only A_T --only logits --only loss --only 'grad.*'")
