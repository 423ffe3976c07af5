"""Every link between the project's documents lands: the file exists, and the heading an
anchor names is there (anchors made as GitHub makes them from a heading's text)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ["README.md", "CHANGELOG.md", "docs/CONTRACT.md"]
LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} (.+)$")


def anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the headings of ``path`` (a repeated one gets ``-1``, ...)."""
    seen: Counter[str] = Counter()
    found: set[str] = set()
    in_code = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        match = None if in_code else HEADING.match(line)
        if match is None:
            continue
        slug = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-")
        found.add(slug if not seen[slug] else f"{slug}-{seen[slug]}")
        seen[slug] += 1
    return found


def test_github_anchors_are_made_as_github_makes_them() -> None:
    readme = anchors(ROOT / "README.md")
    assert "a-live-stream-producer--lineage-ingest--" in readme
    assert {"performance", "performance-1"} <= readme  # a heading used twice


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_link_to_a_file_or_heading_of_the_project_lands(document: str) -> None:
    path = ROOT / document
    broken = []
    for target in LINK.findall(path.read_text(encoding="utf-8")):
        if "://" in target or target.startswith("mailto:"):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target} (no such heading)")
    assert broken == []
