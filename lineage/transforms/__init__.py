"""The transform catalogue: named deterministic functions the tracker can re-run.

Public API (implemented in the submodules):

- ``parse_transform(text, catalogue=None) -> TransformCall``: parse ``"multiply(1.2)"``;
  raises :class:`lineage.errors.TransformError` for an unknown name or bad arguments.
- ``TransformCall.apply(inputs, *, out_type=ElementType.STRING, lookups=None) -> str | None``:
  re-run the transform on input values (text as stored); raises ``TransformError`` when the
  inputs do not fit (e.g. ``multiply`` on ``"abc"``).
- ``Catalogue`` / ``DEFAULT_CATALOGUE`` / ``register(...)``: the extensible registry.
- ``normalize(value, kind) -> str | None``: the canonical text of a value for its element
  type, so that equal values compare equal as strings (decimal ``"120.00"`` -> ``"120"``).
- ``values_equal(a, b, kind) -> bool``.
- ``rule_violations(value, rules, kind) -> list[str]``: which element rules a value breaks.

Also: ``Param`` (a parameter declaration for ``register``), ``ApplyContext`` (what a
registered function taking ``context`` receives) and ``TransformSpec`` (a catalogue entry).
"""

from __future__ import annotations

from .catalogue import DEFAULT_CATALOGUE as DEFAULT_CATALOGUE
from .catalogue import Catalogue as Catalogue
from .catalogue import TransformCall as TransformCall
from .catalogue import parse_transform as parse_transform
from .catalogue import register as register
from .rules import rule_violations as rule_violations
from .spec import ApplyContext as ApplyContext
from .spec import Param as Param
from .spec import TransformSpec as TransformSpec
from .values import normalize as normalize
from .values import values_equal as values_equal

__all__ = [
    "DEFAULT_CATALOGUE",
    "ApplyContext",
    "Catalogue",
    "Param",
    "TransformCall",
    "TransformSpec",
    "normalize",
    "parse_transform",
    "register",
    "rule_violations",
    "values_equal",
]
