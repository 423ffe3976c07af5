"""Reading a live stream of lines: each line as it comes, and a mark where the stream paused.

``producer | lineage ingest -`` may run for days with a few events a minute. Read the way a
file is read, those events waited in a batch of 20,000 (or, into an empty store, in one bulk
transaction until the end of the input) and nobody saw them, nor their findings, until the
stream ended. :func:`paced_lines` reads a stream that can block (a pipe, a FIFO, a terminal,
a socket) without blocking on a line: when the input goes quiet for :data:`QUIET` seconds, or
when :data:`WITHIN` seconds have passed since the first line after the last mark, it yields a
:class:`Pause`, and the writer commits what it holds there (:func:`lineage.store.writer.
ingest_lines`); the command then judges in the background while it reads on. It yields one
too, after any read of the input, when the caller says someone waits for the lines read so
far (``wanted``: the command's judging process is idle), so that the judgement never waits
for a batch to fill while lines are there to judge.

A regular file never blocks: it is read as a file, batched by size, with no marks. Where
``select`` cannot wait on a file descriptor (Windows pipes), a stream is read as a file too.
On Linux the wait is ``poll``'s, which takes a descriptor of any number.
"""

from __future__ import annotations

import os
import select
import stat
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

#: Seconds without a new line after which a stream counts as paused.
QUIET = 0.2
#: Seconds after which lines read since the last pause are committed even if none stops.
WITHIN = 1.0
#: The share of its time the reader may spend waiting for lines while a stream still counts
#: as poured in like a file (a ``cat`` of one: the command, not the producer, sets the pace),
#: which a first load into an empty store takes in one bulk transaction.
POURED = 0.1
_READ = 1 << 16


@dataclass(frozen=True, slots=True)
class Pause:
    """A mark between two lines of a live stream: commit what was read before it.

    Attributes:
        quiet: the input stopped for :data:`QUIET` seconds (else :data:`WITHIN` passed).
        lines: lines read since the previous mark.
        seconds: seconds since the first of them was read.
        waited: of those, the seconds the reader waited for the input.
        wanted: the caller asked for it (``paced_lines``' ``wanted``): someone waits for
            the lines read so far. Such a mark leaves the pace alone: the next one counts
            ``lines``, ``seconds`` and ``waited`` from the same mark as this one.
    """

    quiet: bool
    lines: int
    seconds: float
    waited: float = 0.0
    wanted: bool = False

    @property
    def slow(self) -> bool:
        """Whether a producer sets the pace, not the reader: the input stopped, or the reader
        waited for it more than :data:`POURED` of the time (a file poured in keeps it busy)."""
        return self.quiet or self.waited > POURED * self.seconds


def is_live(stream: IO[bytes]) -> bool:
    """Whether reading ``stream`` can block: anything but a regular file (a pipe, a FIFO, a
    terminal, a socket), where the platform can wait on it."""
    if sys.platform == "win32":
        return False
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (OSError, ValueError):  # no descriptor (an in-memory stream): read as a file
        return False
    return not stat.S_ISREG(mode)


def paced_lines(
    stream: IO[bytes],
    *,
    quiet: float = QUIET,
    within: float = WITHIN,
    wanted: Callable[[], bool] | None = None,
) -> Iterator[bytes | Pause]:
    """The lines of ``stream`` (each ending with its newline, the last one perhaps without),
    with a :class:`Pause` wherever the input paused for ``quiet`` seconds or ``within``
    seconds passed since the first line after the previous mark, and, with ``wanted``, after
    a read of the input that ended lines when ``wanted()`` is true (asked once a read, up to
    64 KiB of lines: a few hundred).

    Reads the file descriptor directly (``stream`` must not have been read from), so no lock
    of the stream object is held while it waits: worker processes forked meanwhile can close
    their copy of standard input.

    Example:
        >>> import os
        >>> read, write = os.pipe()
        >>> _ = os.write(write, b'{"a": 1}\\n'); os.close(write)
        >>> list(paced_lines(os.fdopen(read, "rb")))
        [b'{"a": 1}\\n']
    """
    fd = stream.fileno()
    rest: list[bytes] = []  # the line under way, not ended yet
    first: float | None = None  # when the first line after the last mark was read
    count = 0
    waited = 0.0  # since then, waiting for the input
    while True:
        now = time.monotonic()
        if first is None:
            wait: float | None = None  # nothing read since the last mark: block
        else:
            wait = max(0.0, min(quiet, within - (now - first)))
        ready = _ready(fd, wait)
        if first is not None:
            waited += time.monotonic() - now
        if not ready:
            assert first is not None  # only a bounded wait times out
            now = time.monotonic()
            yield Pause(quiet=wait == quiet, lines=count, seconds=now - first, waited=waited)
            first, count, waited = None, 0, 0.0
            continue
        data = os.read(fd, _READ)
        if not data:
            break
        end = data.rfind(b"\n")
        if end < 0:  # within a line: kept in parts, joined once (a long line stays linear)
            rest.append(data)
            continue
        lines = (b"".join(rest) + data[:end] if rest else data[:end]).split(b"\n")
        rest = [data[end + 1 :]] if end + 1 < len(data) else []
        if first is None:
            first = time.monotonic()
        count += len(lines)
        for line in lines:
            yield line + b"\n"
        now = time.monotonic()
        if now - first >= within:
            yield Pause(quiet=False, lines=count, seconds=now - first, waited=waited)
            first, count, waited = None, 0, 0.0
        elif wanted is not None and wanted():
            # the pace since the last mark goes on: a reader's mark tells it, and ends none
            yield Pause(False, count, now - first, waited, wanted=True)
    if rest:
        yield b"".join(rest)


def _ready(fd: int, timeout: float | None) -> bool:
    """Whether ``fd`` can be read without blocking within ``timeout`` seconds (None: wait);
    a signal does not cut the wait short (PEP 475). On Linux ``poll``, which waits on any
    descriptor (``select`` only on those below 1024, ``FD_SETSIZE``); elsewhere ``select``
    (macOS's ``poll`` does not wait on terminals)."""
    if _POLL:
        waiting = select.poll()
        waiting.register(fd, select.POLLIN)
        return bool(waiting.poll(None if timeout is None else timeout * 1000))
    readable, _, _ = select.select([fd], [], [], timeout)
    return bool(readable)


_POLL = sys.platform.startswith("linux") and hasattr(select, "poll")


__all__ = ["POURED", "QUIET", "WITHIN", "Pause", "is_live", "paced_lines"]
