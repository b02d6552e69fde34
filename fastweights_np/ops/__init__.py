"""Differentiable ops, each a ``*_forward(...) -> (out, cache)`` / ``*_backward(dout, cache)`` pair.

Every op works on arrays whose leading axes are batch-like (batch, time, ...) and whose last
axis is the feature axis, in any array namespace (``fastweights_np.array_namespace``): each
looks up ``xp`` from its inputs and calls only the array API standard, so NumPy inputs run
NumPy's own code and other namespaces give the same numbers (``tests/test_array_namespace.py``
runs every op under array-api-strict). Derivations: ``docs/math.md`` section 2; tanh:
``docs/variants.md``; the baselines' ops (sigmoid, the complex ops, copy_permute):
``docs/baselines.md``; the actor-critic's losses (``actor_critic.py``): §2.6.
"""

from fastweights_np.ops.activation import activation_backward, activation_forward
from fastweights_np.ops.affine import affine_backward, affine_forward
from fastweights_np.ops.complex_bound import complex_bound_backward, complex_bound_forward
from fastweights_np.ops.complex_mul import complex_mul_backward, complex_mul_forward
from fastweights_np.ops.complex_scale import complex_scale_backward, complex_scale_forward
from fastweights_np.ops.copy_permute import copy_permute_backward, copy_permute_forward
from fastweights_np.ops.embedding import embedding_backward, embedding_forward
from fastweights_np.ops.layernorm import layernorm_backward, layernorm_forward
from fastweights_np.ops.relu import relu_backward, relu_forward
from fastweights_np.ops.sigmoid import sigmoid_backward, sigmoid_forward
from fastweights_np.ops.softmax_xent import softmax_xent_backward, softmax_xent_forward
from fastweights_np.ops.tanh import tanh_backward, tanh_forward

__all__ = [
    "activation_backward",
    "activation_forward",
    "embedding_backward",
    "embedding_forward",
    "affine_backward",
    "affine_forward",
    "complex_bound_backward",
    "complex_bound_forward",
    "complex_mul_backward",
    "complex_mul_forward",
    "complex_scale_backward",
    "complex_scale_forward",
    "copy_permute_backward",
    "copy_permute_forward",
    "layernorm_backward",
    "layernorm_forward",
    "relu_backward",
    "relu_forward",
    "sigmoid_backward",
    "sigmoid_forward",
    "softmax_xent_backward",
    "softmax_xent_forward",
    "tanh_backward",
    "tanh_forward",
]
