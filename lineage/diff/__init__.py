"""``lineage diff``: the semantic changes between two registries, and their blast radius.

A pull request that moves the truth of an element, adds a writer, drops an owner or changes
a transform is named before it merges, each change with a stable code (:data:`DIFF_CODES`),
a severity, the file and line (HEAD's, BASE's for removals) and the owners to ask. With a
store, :func:`blast_radius` adds what each change touches in the recorded data.

>>> changes = diff_registries(read_side("origin/main", ["registry/"]).registry,
...                           read_side("HEAD", ["registry/"]).registry)  # doctest: +SKIP
"""

from __future__ import annotations

from .codes import DIFF_CODES as DIFF_CODES
from .compare import diff_registries as diff_registries
from .source import Side as Side
from .source import read_side as read_side

__all__ = ["DIFF_CODES", "Side", "diff_registries", "read_side"]
