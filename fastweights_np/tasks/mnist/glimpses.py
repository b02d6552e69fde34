"""The 24 glimpses of an MNIST digit at two scales (paper Sec. 4.2, Fig. 3), in a fixed order.

The 28×28 image is cut into four 14×14 quadrants q = top-left, top-right, bottom-left,
bottom-right. Each quadrant is shown as six 7×7 glimpses (4 × 6 = 24):

    step 6q + 0   coarse      g_q  = the quadrant mean-pooled 2×2 to 7×7
    step 6q + j   fine        p_qj = its j-th 7×7 sub-quadrant, j = 1..4 in the same order
    step 6q + 5   integrate   g_q  again (the integration step reads the coarse glimpse)

The locations are given, not learned. The paper states the two scales, the quadrants and the
24 patches; the order within a quadrant and the repeated coarse glimpse at the integration step
are our reading of its Fig. 3 (docs/mnist.md). Each glimpse is flattened row-major to 49 values;
pixels are scaled to [0, 1].
"""

from __future__ import annotations

import numpy as np

IMAGE_SIZE = 28
GLIMPSE_SIZE = 7
GLIMPSE_PIXELS = GLIMPSE_SIZE * GLIMPSE_SIZE  # 49
QUADRANTS = ("top-left", "top-right", "bottom-left", "bottom-right")
# (row, column) of the top-left corner of quadrant q within a square of side 2s.
_CORNERS = ((0, 0), (0, 1), (1, 0), (1, 1))
QUADRANT_STEPS = ("coarse", "fine", "fine", "fine", "fine", "integrate")
STEP_KINDS: tuple[str, ...] = QUADRANT_STEPS * len(QUADRANTS)  # the fixed schedule of the 24 steps
NUM_GLIMPSES = len(STEP_KINDS)  # 24


def check_images(images: object, name: str = "images") -> np.ndarray:
    """``images`` as a (B, 28, 28) array of uint8 or floating pixels; TypeError / ValueError naming
    ``name``, the expected and the actual shape or dtype otherwise."""
    if not isinstance(images, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of shape (B, 28, 28), got {type(images).__name__}")
    if images.dtype != np.uint8 and not np.issubdtype(images.dtype, np.floating):
        raise TypeError(f"{name} must hold uint8 pixels (0..255) or floating pixels (0..1), got dtype {images.dtype}")
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE) or images.shape[0] == 0:
        raise ValueError(f"{name} must have shape (B, 28, 28) with B >= 1, got {images.shape}")
    return images


def glimpse_boxes() -> np.ndarray:
    """Where each glimpse looks: (24, 3) rows (top, left, side) in image pixels; a coarse or
    integration glimpse covers its 14×14 quadrant, a fine one a 7×7 square."""
    boxes = []
    for qr, qc in _CORNERS:
        top, left = 2 * GLIMPSE_SIZE * qr, 2 * GLIMPSE_SIZE * qc
        boxes.append((top, left, 2 * GLIMPSE_SIZE))
        boxes += [(top + GLIMPSE_SIZE * r, left + GLIMPSE_SIZE * c, GLIMPSE_SIZE) for r, c in _CORNERS]
        boxes.append((top, left, 2 * GLIMPSE_SIZE))
    return np.array(boxes, dtype=np.int64)


def glimpses(images: np.ndarray, dtype: str | np.dtype = "float32") -> np.ndarray:
    """The glimpse sequence of a batch of images.

    Parameters
    ----------
    images : (B, 28, 28), uint8 pixels 0..255 (scaled by 1/255) or floating pixels in [0, 1]
    dtype : the dtype of the glimpses

    Returns
    -------
    (B, 24, 49) : step 6q + 0 and 6q + 5 the coarse glimpse g_q, steps 6q + 1..4 the fine p_qj
    """
    images = check_images(images)
    pixels = images.astype(dtype) / 255 if images.dtype == np.uint8 else images.astype(dtype)
    B, s = len(pixels), GLIMPSE_SIZE
    # image row = 14 qr + 7 r + fr (quadrant, sub-quadrant, pixel), and the same for columns.
    blocks = pixels.reshape(B, 2, 2, s, 2, 2, s)  # (B, qr, r, fr, qc, c, fc)
    fine = blocks.transpose(0, 1, 4, 2, 5, 3, 6)  # (B, qr, qc, r, c, fr, fc)
    fine = fine.reshape(B, 4, 4, GLIMPSE_PIXELS)  # (B, quadrant, sub-quadrant, 49)
    # Mean-pool 2×2: image row = 14 qr + 2 i + a (i = 0..6, a = 0..1).
    coarse = pixels.reshape(B, 2, s, 2, 2, s, 2).mean(axis=(3, 6))  # (B, qr, i, qc, j)
    coarse = coarse.transpose(0, 1, 3, 2, 4).reshape(B, 4, 1, GLIMPSE_PIXELS)
    sequence = np.concatenate([coarse, fine, coarse], axis=2)  # (B, 4, 6, 49)
    return np.ascontiguousarray(sequence.reshape(B, NUM_GLIMPSES, GLIMPSE_PIXELS))
