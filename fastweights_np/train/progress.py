"""The progress bar of a training run (tqdm), or nothing when it is turned off."""

from __future__ import annotations


class Progress:
    """A tqdm bar over ``total`` steps starting at ``initial``; every method is a no-op when
    ``enabled`` is False."""

    def __init__(self, total: int, initial: int = 0, enabled: bool = True, unit: str = "step"):
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=initial, unit=unit, unit_scale=unit != "step", dynamic_ncols=True,
                            mininterval=0.5)

    def update(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def show(self, **values: str) -> None:
        """Values beside the bar (e.g. loss, val_err), drawn at the next refresh."""
        if self.bar is not None:
            self.bar.set_postfix(**values, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
