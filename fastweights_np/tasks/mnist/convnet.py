"""The convolutional baseline of the MNIST task (paper Sec. 4.2, Table 2), on the glimpses.

The paper describes it only as "a three-layer convolutional neural network that uses the same
patches as the glimpses". What follows is our reading of that sentence, not the paper's words:
a first layer of K 7×7 filters shared, as a convolution's are, over the 20 distinct patches
(each filter sees a whole patch: one response per patch and filter), a second layer that
combines a quadrant's five responses (weights shared over the quadrants), a third that combines
the four quadrants, and a softmax readout.

    a_qj   = ReLU(F p_qj + f)                  (B, 4, 5, K)  layer 1, F (K, 49), f (K,)
    u_q    = ReLU(Q [a_q0; ...; a_q4] + q)     (B, 4, K)     layer 2, Q (K, 5K), q (K,)
    v      = ReLU(P [u_1; ...; u_4] + p)       (B, K)        layer 3, P (K, 4K), p (K,)
    logits = V v + c                           (B, 10)       V (10, K), c (10,)

for quadrants q = 1..4 and j = 0..4, where p_q0 = g_q is the quadrant's coarse glimpse and
p_q1..p_q4 are its fine 7×7 sub-quadrants; K = ``hidden_size`` (50 / 100 / 200 in Table 2).
The network takes the (B, 24, 49) glimpse array the RNNs take
(:func:`fastweights_np.tasks.mnist.glimpses.glimpses`) and reads only the steps whose kind
(``STEP_KINDS``) is "coarse" or "fine"; the coarse glimpse repeated at each "integrate" step
is not read a second time.

Parameters are one flat dict: "conv.F", "conv.f" (layer 1), "quadrant.W", "quadrant.b"
(Q, q), "image.W", "image.b" (P, p), "out.W", "out.b" (V, c). Every layer is an affine map and
a ReLU (``fastweights_np.ops``; backward: docs/math.md §2.1-2.2); the concatenations
[a_q0; ...; a_q4] and [u_1; ...; u_4] are row-major reshapes (entry j·K + k of the first is
a_qj[k]), so their backward is the inverse reshape.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from fastweights_np.config_base import check_dtype, check_positive_int
from fastweights_np.models.classifier import Classifier
from fastweights_np.ops import (
    affine_backward,
    affine_forward,
    relu_backward,
    relu_forward,
)
from fastweights_np.tasks.mnist.glimpses import GLIMPSE_PIXELS, NUM_GLIMPSES, QUADRANTS, STEP_KINDS
from fastweights_np.validation import check_float_array

Params = dict[str, np.ndarray]

PATCH_KINDS = ("coarse", "fine")  # the step kinds the network reads


def _patch_steps() -> np.ndarray:
    """(4, 5) step indices of the coarse and fine glimpses, grouped by quadrant, from STEP_KINDS."""
    per_quadrant = np.arange(NUM_GLIMPSES).reshape(len(QUADRANTS), -1)
    kinds = np.array(STEP_KINDS).reshape(per_quadrant.shape)
    keep = np.isin(kinds, PATCH_KINDS)
    if not (keep == keep[0]).all():
        raise AssertionError("every quadrant must have the same kinds of steps")
    return per_quadrant[:, keep[0]]


# PATCH_STEPS[q, j]: the glimpse step holding p_qj, (4, 5) = [[0, 1, 2, 3, 4], [6, ..., 10], ...].
PATCH_STEPS = _patch_steps()
NUM_QUADRANTS, PATCHES_PER_QUADRANT = PATCH_STEPS.shape  # 4, 5


@dataclass(frozen=True)
class ConvNetConfig:
    """K = ``hidden_size`` units in every layer, ``num_classes`` outputs, computed in ``dtype``."""

    hidden_size: int = 100
    num_classes: int = 10
    dtype: str = "float32"

    def __post_init__(self) -> None:
        check_positive_int("hidden_size", self.hidden_size)
        check_positive_int("num_classes", self.num_classes)
        check_dtype("dtype", self.dtype)

    def to_dict(self) -> dict:
        return asdict(self)


def check_glimpses(g: object, name: str = "g") -> np.ndarray:
    """``g`` as a finite floating (B, 24, 49) array, B >= 1; TypeError / ValueError naming
    ``name``, the expected and the actual shape or dtype otherwise."""
    return check_float_array(name, g, (None, NUM_GLIMPSES, GLIMPSE_PIXELS))


def select_patches(g: np.ndarray) -> np.ndarray:
    """The 20 distinct patches of a glimpse array, grouped by quadrant.

    Parameters
    ----------
    g : (B, 24, 49), the glimpses of :func:`fastweights_np.tasks.mnist.glimpses.glimpses`

    Returns
    -------
    patches : (B, 4, 5, 49), patches[:, q, j] = p_qj = g[:, PATCH_STEPS[q, j]]
        (j = 0 the coarse glimpse g_q, j = 1..4 the fine sub-quadrants)
    """
    return check_glimpses(g)[:, PATCH_STEPS]


def _dense_relu_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """ReLU(W x + b) on the last axis: (..., n_in) → (..., n_out)."""
    pre, affine_cache = affine_forward(x, W, b)
    out, relu_cache = relu_forward(pre)
    return out, (affine_cache, relu_cache)


def _dense_relu_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dW, db) of :func:`_dense_relu_forward`."""
    affine_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), affine_cache)


def patch_layer_forward(patches: np.ndarray, F: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Layer 1: the same K filters on every patch, a_qj = ReLU(F p_qj + f).

    Parameters
    ----------
    patches : (B, 4, 5, 49), the p_qj of :func:`select_patches`
    F : (K, 49), f : (K,)

    Returns
    -------
    a : (B, 4, 5, K)
    cache : for :func:`patch_layer_backward`
    """
    return _dense_relu_forward(patches, F, f)


def patch_layer_backward(da: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of layer 1 for ``da`` (B, 4, 5, K), with dpre = da ⊙ [F p + f > 0]:

    dp_qj = Fᵀ dpre_qj,  dF = Σ_{b,q,j} dpre_qj p_qjᵀ,  df = Σ_{b,q,j} dpre_qj.

    Returns
    -------
    dpatches : (B, 4, 5, 49), dF : (K, 49), df : (K,)
    """
    return _dense_relu_backward(da, cache)


def quadrant_layer_forward(a: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Layer 2: each quadrant's five responses combined, u_q = ReLU(Q [a_q0; ...; a_q4] + q).

    Parameters
    ----------
    a : (B, 4, 5, K), layer 1's responses
    W : (K', 5K), the matrix Q shared over the four quadrants; b : (K',), the bias q

    Returns
    -------
    u : (B, 4, K')
    cache : for :func:`quadrant_layer_backward`
    """
    B, n_quadrants, n_patches, K = a.shape
    u, cache = _dense_relu_forward(a.reshape(B, n_quadrants, n_patches * K), W, b)
    return u, (a.shape, cache)


def quadrant_layer_backward(du: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of layer 2 for ``du`` (B, 4, K'), with dpre = du ⊙ [Q x + q > 0], x_q = [a_q0; ...]:

    d[a_q0; ...; a_q4] = Qᵀ dpre_q,  dQ = Σ_{b,q} dpre_q x_qᵀ,  dq = Σ_{b,q} dpre_q.

    Returns
    -------
    da : (B, 4, 5, K), dW : (K', 5K), db : (K',)
    """
    a_shape, dense_cache = cache
    dx, dW, db = _dense_relu_backward(du, dense_cache)
    return dx.reshape(a_shape), dW, db


def image_layer_forward(u: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Layer 3: the four quadrants combined, v = ReLU(P [u_1; ...; u_4] + p).

    Parameters
    ----------
    u : (B, 4, K), layer 2's quadrant vectors
    W : (K', 4K), the matrix P; b : (K',), the bias p

    Returns
    -------
    v : (B, K')
    cache : for :func:`image_layer_backward`
    """
    B, n_quadrants, K = u.shape
    v, cache = _dense_relu_forward(u.reshape(B, n_quadrants * K), W, b)
    return v, (u.shape, cache)


def image_layer_backward(dv: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of layer 3 for ``dv`` (B, K'), with dpre = dv ⊙ [P x + p > 0], x = [u_1; ...; u_4]:

    d[u_1; ...; u_4] = Pᵀ dpre,  dP = Σ_b dpre xᵀ,  dp = Σ_b dpre.

    Returns
    -------
    du : (B, 4, K), dW : (K', 4K), db : (K',)
    """
    u_shape, dense_cache = cache
    dx, dW, db = _dense_relu_backward(dv, dense_cache)
    return dx.reshape(u_shape), dW, db


class ConvNet(Classifier):
    """The model of :class:`ConvNetConfig` on glimpses (B, 24, 49), with forward and backward
    (``logits`` and ``loss_and_grad``: :class:`~fastweights_np.models.classifier.Classifier`)."""

    def __init__(self, cfg: ConvNetConfig):
        if not isinstance(cfg, ConvNetConfig):
            raise TypeError(f"cfg must be a ConvNetConfig, got {type(cfg).__name__}")
        self.cfg = cfg

    # ------------------------------------------------------------------------------ params
    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """{"conv.F": (K, 49), "conv.f": (K,), "quadrant.W": (K, 5K), "quadrant.b": (K,),
        "image.W": (K, 4K), "image.b": (K,), "out.W": (O, K), "out.b": (O,)}."""
        K, O = self.cfg.hidden_size, self.cfg.num_classes
        return {
            "conv.F": (K, GLIMPSE_PIXELS),
            "conv.f": (K,),
            "quadrant.W": (K, PATCHES_PER_QUADRANT * K),
            "quadrant.b": (K,),
            "image.W": (K, NUM_QUADRANTS * K),
            "image.b": (K,),
            "out.W": (O, K),
            "out.b": (O,),
        }

    def init_params(self, seed: int) -> Params:
        """Weights uniform in ±1/sqrt(fan-in) (fan-in = the second axis), drawn in the order of
        :meth:`param_shapes` from ``default_rng([seed, 2])``; biases 0; all in ``cfg.dtype``."""
        rng = np.random.default_rng([seed, 2])
        dt = np.dtype(self.cfg.dtype)
        params = {}
        for name, shape in self.param_shapes().items():
            if len(shape) == 1:
                params[name] = np.zeros(shape, dt)
            else:
                params[name] = (rng.uniform(-1, 1, shape) / np.sqrt(shape[1])).astype(dt)
        return params

    def param_count(self) -> int:
        """Trained parameters: 49K + K + 5K² + K + 4K² + K + OK + O."""
        return sum(int(np.prod(shape)) for shape in self.param_shapes().values())

    # ----------------------------------------------------------------------------- forward
    def forward(self, params: Params, g: np.ndarray) -> tuple[np.ndarray, tuple]:
        """logits (B, O) for glimpses g (B, 24, 49), and the cache for :meth:`backward`.

        g is converted to ``cfg.dtype``; its "integrate" steps are not read.
        """
        patches = select_patches(g).astype(self.cfg.dtype, copy=False)
        a, patch_cache = patch_layer_forward(patches, params["conv.F"], params["conv.f"])
        u, quadrant_cache = quadrant_layer_forward(a, params["quadrant.W"], params["quadrant.b"])
        v, image_cache = image_layer_forward(u, params["image.W"], params["image.b"])
        logits, out_cache = affine_forward(v, params["out.W"], params["out.b"])
        return logits, (patch_cache, quadrant_cache, image_cache, out_cache)

    def backward(self, dlogits: np.ndarray, cache: tuple) -> dict[str, np.ndarray]:
        """Gradients of every parameter for an upstream gradient ``dlogits`` (B, O) on the logits."""
        patch_cache, quadrant_cache, image_cache, out_cache = cache
        dv, d_outW, d_outb = affine_backward(dlogits, out_cache)
        du, d_imageW, d_imageb = image_layer_backward(dv, image_cache)
        da, d_quadW, d_quadb = quadrant_layer_backward(du, quadrant_cache)
        _, dF, df = patch_layer_backward(da, patch_cache)
        return {"conv.F": dF, "conv.f": df, "quadrant.W": d_quadW, "quadrant.b": d_quadb,
                "image.W": d_imageW, "image.b": d_imageb, "out.W": d_outW, "out.b": d_outb}
