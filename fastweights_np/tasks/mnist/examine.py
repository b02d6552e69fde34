"""What ``fastweights-np eval`` shows of an MNIST run beyond its error: the confusion matrix, and a
few misclassified digits drawn with their glimpses outlined (a PNG; matplotlib, an optional extra)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fastweights_np.atomic import atomic_write_bytes
from fastweights_np.tasks.mnist.data import NUM_CLASSES
from fastweights_np.tasks.mnist.glimpses import STEP_KINDS, glimpse_boxes


def predictions(model, params: dict, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """The predicted digit of every image, (n,), in batches."""
    return np.concatenate([np.argmax(model.logits(params, images[i : i + batch_size]), axis=1)
                           for i in range(0, len(images), batch_size)])


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int = NUM_CLASSES) -> np.ndarray:
    """counts[true, predicted], (classes, classes)."""
    counts = np.zeros((classes, classes), np.int64)
    np.add.at(counts, (labels, predicted), 1)
    return counts


def confusion_text(counts: np.ndarray) -> list[str]:
    """The matrix as text: a row per true digit, a column per prediction, and each row's error."""
    width = max(4, len(f"{counts.max():,}") + 1)
    lines = ["  true\\pred" + "".join(f"{d:>{width}}" for d in range(len(counts))) + "   error"]
    for digit, row in enumerate(counts):
        total = row.sum()
        error = 1 - row[digit] / total if total else 0.0
        lines.append(f"  {digit:>9}" + "".join(f"{n:>{width},}" for n in row) + f"  {error:6.2%}")
    return lines


def draw_misclassified(images: np.ndarray, labels: np.ndarray, predicted: np.ndarray, path: Path) -> None:
    """A PNG of the given digits, each titled "true → predicted", with the four quadrants (the coarse
    glimpses, thick) and the sixteen fine glimpses (thin) outlined. ValueError without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Rectangle
    except ImportError:
        raise ValueError("drawing needs matplotlib: pip install 'fastweights_np[plot]'") from None
    n = len(images)
    cols = min(n, 4)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.4 * cols, 2.6 * rows), squeeze=False)
    boxes = glimpse_boxes()
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, true, guess in zip(axes.flat, images, labels, predicted, strict=False):
        ax.imshow(image, cmap="gray_r", vmin=0, vmax=255)
        for kind, (top, left, side) in zip(STEP_KINDS, boxes, strict=True):
            if kind == "integrate":
                continue  # the same box as the coarse glimpse
            coarse = kind == "coarse"
            ax.add_patch(Rectangle((left - 0.5, top - 0.5), side, side, fill=False, zorder=3 if coarse else 2,
                                   edgecolor="tab:blue" if coarse else "tab:orange", linewidth=2 if coarse else 0.6))
        ax.set_title(f"true {true} → {guess}", fontsize=10)
    fig.suptitle("misclassified (blue: coarse glimpses; orange: fine)", fontsize=10)
    fig.tight_layout()

    def write(f) -> None:
        fig.savefig(f, format="png", dpi=100)

    atomic_write_bytes(path, write)
    plt.close(fig)


def examine(model, params: dict, split, out_dir: Path, split_name: str, n: int = 8) -> list[str]:
    """The confusion matrix of ``split`` and, in ``out_dir``, ``misclassified_<split>.png`` with
    up to ``n`` misclassified digits; the lines to print."""
    predicted = predictions(model, params, split.images)
    lines = [f"confusion matrix on the {split_name} split:", *confusion_text(confusion_matrix(split.labels, predicted))]
    wrong = np.flatnonzero(predicted != split.labels)[:n]
    if len(wrong) == 0:
        return [*lines, "no misclassified digit to draw"]
    path = out_dir / f"misclassified_{split_name}.png"
    try:
        draw_misclassified(split.images[wrong], split.labels[wrong], predicted[wrong], path)
    except ValueError as exc:
        return [*lines, f"no figure: {exc}"]
    return [*lines, f"wrote {path} ({len(wrong)} misclassified digits: images {', '.join(map(str, wrong))})"]
