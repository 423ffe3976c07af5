"""Where the OpenLineage conformance corpus lives: ``$LINEAGE_CONFORMANCE_DIR``, else the copy
in ``tests/conformance/openlineage`` (origin and licence in its ``ORIGIN.md``)."""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONFORMANCE = Path(
    os.environ.get("LINEAGE_CONFORMANCE_DIR") or HERE / "conformance" / "openlineage"
)
SPEC = CONFORMANCE / "spec"
CORPUS = sorted(CONFORMANCE.glob("*.jsonl"))
