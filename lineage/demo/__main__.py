"""``python -m lineage.demo --write``: regenerate ``lineage/fixtures/demo/events.jsonl``.

``--check`` exits 1 when the committed file differs from what the generator writes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import events_text

DEFAULT = Path(__file__).resolve().parent.parent / "fixtures" / "demo" / "events.jsonl"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lineage.demo", description="Write or check the demo company's events."
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="write the events file")
    action.add_argument("--check", action="store_true", help="exit 1 if the file is outdated")
    parser.add_argument("--path", type=Path, default=DEFAULT, help=f"default: {DEFAULT}")
    args = parser.parse_args(argv)
    text = events_text()
    if args.write:
        args.path.write_text(text, encoding="utf-8")
        print(f"wrote {text.count(chr(10))} events to {args.path}")
        return 0
    current = args.path.read_text(encoding="utf-8") if args.path.exists() else ""
    if current != text:
        print(f"{args.path} is out of date: run python -m lineage.demo --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
