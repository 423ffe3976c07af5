"""The detectors' SQL: one module per detector (and the scope of a judgement), each answering
with plain rows or dataclasses, so that :mod:`lineage.detect` needs no SQL of its own."""

from sqlalchemy import Connection as Connection

__all__ = ["Connection"]
