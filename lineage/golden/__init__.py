"""The golden record: the truth of a business record, and how far each copy agrees with it.

This is the one place where golden values and expected copies are computed. The steward's
question (:func:`golden`, ``lineage golden``) and the ``conflicting-truth`` detector both go
through :class:`Judge`.

For each element of a business record:

- the **golden value** is what the element's system of record holds for it, in the system
  of record's key of the record (the record's keys are found by
  :func:`lineage.store.records.record_links`);
- each **copy** (the element held under another key of the record) is compared with the
  **expected** value: the golden value carried along the *declared* integration path from the
  system of record to the copy's system, re-running each carry's transform
  (``ERP -> BI multiply(1.2)`` then ``BI -> Portal round(2)``);
- a copy **agrees** when it equals the expected value (compared by the element's type), is
  **stale** when it equals what an earlier golden value would have yielded through the same
  path, and is **divergent** otherwise;
- a copy **upstream** of the system of record (the system of origin, and every system between
  it and the system of record) is judged the other way: its own value is carried along the
  declared path *to* the system of record, and what it yields there is compared with the
  golden value (``agrees``), an earlier golden value (``stale``), or neither (``divergent``,
  with the value it yields). Which way a system stands is decided from the declarations
  alone (:mod:`lineage.declared`), and the verdict is the rules core's
  (:func:`lineage.rules.copy_verdict`).

When the declarations give no way to compute the expectation (no declared path joins the two
systems in either direction, several paths that disagree, a transform that combines several
inputs, no golden value) the copy is **unknown**, with the reason: the tracker does not
guess.
"""

from __future__ import annotations

from ..declared import DeclaredGraph as DeclaredGraph
from ..declared import Direction as Direction
from ..declared import Step as Step
from ..declared import declared_graph as declared_graph
from .judge import STALE_LOOKBACK as STALE_LOOKBACK
from .judge import Judge as Judge
from .judge import as_micros as as_micros
from .judge import golden as golden
from .judge import golden_record as golden_record
from .judge import judged_copies as judged_copies
from .paths import DeclaredPaths as DeclaredPaths
from .paths import Expectation as Expectation
from .record import STATUSES as STATUSES
from .record import Copy as Copy
from .record import GoldenElement as GoldenElement
from .record import GoldenRecord as GoldenRecord
from .record import Status as Status

__all__ = [
    "STALE_LOOKBACK",
    "STATUSES",
    "Copy",
    "DeclaredGraph",
    "DeclaredPaths",
    "Direction",
    "Expectation",
    "GoldenElement",
    "GoldenRecord",
    "Judge",
    "Status",
    "Step",
    "as_micros",
    "declared_graph",
    "golden",
    "golden_record",
    "judged_copies",
]
