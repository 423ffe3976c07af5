"""Where the OpenLineage conformance corpus lives: ``$LINEAGE_CONFORMANCE_DIR``, else
``../shared/conformance/openlineage`` beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE = Path(
    os.environ.get("LINEAGE_CONFORMANCE_DIR")
    or ROOT.parent / "shared" / "conformance" / "openlineage"
)
SPEC = CONFORMANCE / "spec"
CORPUS = sorted(CONFORMANCE.glob("*.jsonl"))
