"""Where the per-line cost of ingest goes: validation against the bound of any parse fast path.

For the lines :func:`benchmarks.common.generate_events` writes (the ingest benchmark's), one
process, no database, each step timed alone over the same lines (best of ``--repeat``):

- ``orjson.loads``: decoding the JSON alone, the floor of any parse "fast path" (which must
  still check the structure and build the event);
- ``EVENT_ADAPTER.validate_json``: what ingest runs, pydantic-core's full validation into the
  event models;
- ``RowMaker.prepare``: making the table rows of the validated events (ids, digests,
  canonical values, each hop's transform re-run);

- ``RowMaker.prepare_json``: the fast path, which makes the rows of a well-formed hop from
  its decoded JSON without the event model (a write, or any line it cannot vouch for, takes
  the validated path: it answers None after decoding);

so the share any fast path could save is ``validate_json - orjson.loads`` over validation
and preparation together, and the last columns show what ``prepare_json`` saves.

    python benchmarks/parse.py --events 20000
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson

from benchmarks.common import ROOT, generate_events, machine, registry_yaml, table
from lineage.model.events import EVENT_ADAPTER
from lineage.registry import load_registry
from lineage.store.rows import RowMaker


def best(step: Callable[[], Any], repeat: int) -> float:
    """The least CPU time of ``repeat`` runs, with the cyclic collector paused (as ingest
    pauses it: otherwise its passes over the many objects made are what is measured)."""
    times = []
    gc.disable()
    try:
        for _ in range(repeat):
            started = time.process_time()
            step()
            times.append(time.process_time() - started)
    finally:
        gc.enable()
    return min(times)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000, help="hops to generate")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each step; the best")
    args = parser.parse_args(argv)
    lines = [line.encode() for line in generate_events(args.events, as_json=True)]
    folder = ROOT / "benchmarks" / "results" / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    registry_file = folder / "parse-registry.yaml"
    registry_file.write_text(registry_yaml(20), encoding="utf-8")
    maker = RowMaker(load_registry([registry_file]))
    validate = EVENT_ADAPTER.validate_json
    events = [validate(line) for line in lines]
    now = time.time_ns() // 1000
    kinds = {"write": [i for i, e in enumerate(events) if e.kind == "write"],
             "hop": [i for i, e in enumerate(events) if e.kind == "hop"]}  # fmt: skip
    rows = []
    for kind, picked in kinds.items():
        subset = [lines[i] for i in picked]
        parsed = [events[i] for i in picked]
        decode = best(lambda s=subset: [orjson.loads(x) for x in s], args.repeat)
        full = best(lambda s=subset: [validate(x) for x in s], args.repeat)
        prepare = best(lambda p=parsed: [maker.prepare(e, now) for e in p], args.repeat)
        quick = best(lambda s=subset: [maker.prepare_json(x, now) for x in s], args.repeat)
        taken = sum(maker.prepare_json(x, now) is not None for x in subset)
        count = len(subset)
        per = [round(t / count * 1e6, 1) for t in (decode, full, prepare, full + prepare)]
        bound = (full - decode) / (full + prepare)
        # the lines it leaves take the validated path after it
        total = quick + (full + prepare) * (count - taken) / count
        fast_per = round(total / count * 1e6, 1)
        saved = 1 - total / (full + prepare)
        rows.append([kind, count, *per, f"{bound:.0%}", taken, fast_per, f"{saved:.0%}"])
    headers = ["kind", "lines", "orjson.loads us", "validate_json us", "prepare us",
               "validated path us", "decoding only would save", "fast path taken",
               "fast path us", "saved"]  # fmt: skip
    command = "python benchmarks/parse.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print(f"$ {command.strip()}")
    print(f"# {machine()}; load average {os.getloadavg()[0]:.1f}; CPU time, best of {args.repeat}")
    print(table(headers, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
