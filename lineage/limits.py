"""Limits on what one event may carry, enforced where events enter the tracker.

A value, key or number beyond these limits costs memory and time out of all proportion (a
12-byte ``"1e999999999"`` is a billion digits once written out) or cannot be stored at all
(PostgreSQL refuses NUL characters, and index entries beyond about 2.7 kB). Each event beyond
a limit is rejected on its own with a reason; the rest of its batch is kept.

Every limit can be changed with an environment variable, read once when the tracker starts:

=============================  =======  ==================================================
variable                       default  what it bounds
=============================  =======  ==================================================
``LINEAGE_MAX_VALUE_LENGTH``   10000    characters of a value (and of actor, error,
                                        transform and source texts)
``LINEAGE_MAX_KEY_BYTES``      512      UTF-8 bytes of an id, system, element, record key
                                        or integration name (they are indexed)
``LINEAGE_MAX_DIGITS``         100      significant digits of a number on an integer or
                                        decimal element
``LINEAGE_MAX_EXPONENT``       1000     size of a number's decimal exponent: at most
                                        ``1e1000`` and at least ``1e-1000`` (also the bound
                                        of all transform arithmetic)
=============================  =======  ==================================================

Fixed by the formats rather than by a setting: JSON nesting deeper than the parser's 200
levels, NUL characters, unpaired UTF-16 surrogates, NaN and Infinity, and times outside
years 1 to 9999 in UTC are always rejected.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, fields

__all__ = ["LIMITS", "Limits", "text_problem"]

_VARIABLES = {
    "value_length": "LINEAGE_MAX_VALUE_LENGTH",
    "key_bytes": "LINEAGE_MAX_KEY_BYTES",
    "digits": "LINEAGE_MAX_DIGITS",
    "exponent": "LINEAGE_MAX_EXPONENT",
}


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits in force (see the module docstring for each)."""

    value_length: int = 10_000
    key_bytes: int = 512
    digits: int = 100
    exponent: int = 1000

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Limits:
        """The defaults, changed by the ``LINEAGE_MAX_*`` variables set in ``environ``.

        A variable that is not a positive whole number is ignored with a warning.
        """
        chosen: dict[str, int] = {}
        for spec in fields(cls):
            variable = _VARIABLES[spec.name]
            text = environ.get(variable)
            if text is None or not text.strip():
                continue
            try:
                number = int(text)
            except ValueError:
                number = 0
            if number <= 0:
                warnings.warn(
                    f"{variable}={text!r} is not a positive whole number; "
                    f"using the default {spec.default}",
                    RuntimeWarning,
                    stacklevel=2,
                )
                continue
            chosen[spec.name] = number
        return cls(**chosen)


LIMITS = Limits.from_environ(os.environ)
"""The limits this process enforces, from the environment when it started."""


def text_problem(text: str, what: str) -> str | None:
    """Why ``text`` cannot be stored (a NUL or an unpaired surrogate), or None.

    Args:
        text: any text an event carries.
        what: how to name it in the reason (``"record"``, ``"value"``, ...).
    """
    if "\x00" in text:
        return f"{what} holds a NUL character (\\u0000), which cannot be stored; remove it"
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError as exc:
            return (
                f"{what} holds an unpaired UTF-16 surrogate ({text[exc.start]!r}) at "
                f"character {exc.start}, which is not text; send valid UTF-8"
            )
    return None
