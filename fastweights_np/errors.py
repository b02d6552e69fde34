"""The package's error for inf, NaN and 0/0 (a leaf module: the ops raise it, everything imports it)."""

from __future__ import annotations


class NonFiniteError(FloatingPointError):
    """A computation produced inf or NaN, or would divide 0 by 0; the message says what, where,
    and what to try.

    Parameters
    ----------
    message : what happened ("layer norm with ln_eps = 0 would divide 0 by 0"), or the whole text
    detail : the rest of the text (the tensor, the row, what to do), after the locations
    where : locations, outermost first ("time step t = 3 of T = 5", "inner step s = 1 of S = 2"),
        added by the loops the error passes through (:meth:`located`)

    The text is ``message [at where, ...]: detail``, or ``message (at where, ...)`` without detail.
    """

    def __init__(self, message: str, *, detail: str | None = None, where: tuple[str, ...] = ()) -> None:
        self.message, self.detail, self.where = message, detail, tuple(where)
        at = ", ".join(self.where)
        if detail is None:
            text = f"{message} (at {at})" if at else message
        else:
            text = f"{message}{f' at {at}' if at else ''}: {detail}"
        super().__init__(text)

    def located(self, where: str) -> NonFiniteError:
        """The same error with ``where`` (an enclosing loop's position) before its locations."""
        return type(self)(self.message, detail=self.detail, where=(where, *self.where))

    def at_time_step(self, t: int) -> NonFiniteError:
        """The same error at time step ``t`` of a sequence computed one step at a time (its own
        "time step t = 1 of T = 1", from the replay of that one step, replaced)."""
        inner = tuple(w for w in self.where if not w.startswith("time step "))
        return type(self)(self.message, detail=self.detail, where=(f"time step t = {t}", *inner))

    def __reduce__(self):  # pickled (process pools, Dask) with its parts, not only its text
        return _rebuild, (type(self), self.message, self.detail, self.where)


def _rebuild(cls: type, message: str, detail: str | None, where: tuple[str, ...]) -> NonFiniteError:
    return cls(message, detail=detail, where=where)
