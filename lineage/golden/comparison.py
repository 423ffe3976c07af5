"""The verdict of a copy against the golden value: one pure function, no I/O.

Both directions come down to one comparison in one place (values in the element type's
canonical form):

- a copy **downstream** of the system of record is compared where it is: its value against
  what the golden value yields there (and what earlier golden values yielded there);
- a copy **upstream** is compared in the system of record: what its value yields there
  against the golden value (and earlier golden values).

Equal to the truth: ``agrees``; equal to one of the earlier truths: ``stale`` (the first,
newest, that matches); anything else: ``divergent``. Kept in one function so that a rules
core can take it over whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

Verdict = Literal["agrees", "stale", "divergent"]


def verdict(
    compared: str | None, truth: str | None, earlier: Iterable[str | None]
) -> tuple[Verdict, int | None]:
    """Judge ``compared`` against ``truth``; ``earlier``: the earlier truths, newest first.

    Returns:
        The verdict, and for ``stale`` the position in ``earlier`` of the truth it matches
        (None otherwise). ``earlier`` is read lazily: only as far as the first match.

    Example:
        >>> verdict("60.00", "96.00", ["60.00"])
        ('stale', 0)
    """
    if compared == truth:
        return "agrees", None
    for number, value in enumerate(earlier):
        if value == compared:
            return "stale", number
    return "divergent", None


__all__ = ["Verdict", "verdict"]
