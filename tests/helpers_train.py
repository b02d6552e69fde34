"""Test-only helpers for the trainers."""


class InterruptAt:
    """A model that raises KeyboardInterrupt (as Ctrl-C would) in the given training step."""

    def __init__(self, model, step):
        self.model, self.step, self.calls = model, step, 0

    def __getattr__(self, name):
        return getattr(self.model, name)

    def loss_and_grad(self, params, x, y):
        self.calls += 1
        if self.calls == self.step:
            raise KeyboardInterrupt
        return self.model.loss_and_grad(params, x, y)
