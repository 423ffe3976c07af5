"""Template filters for text written for people: prose that never breaks inside a code,
a record key or a date."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

WHOLE = re.compile(r"(?<!\S)(?=\S*?\S[-/:]\S)\S+")
"""A word holding a hyphen, slash or colon between characters (``competing-origin``,
``W-5008-2``, ``2026-11-18T16:10:00Z``, ``Shop/order.unit_price/W-5008-2``): browsers would
break a line after its hyphen. Tried at the start of a word only: a pattern free to start
anywhere finds the same words, but tries each character of a word without a separator again
(twice the time on a page of 500 findings)."""

TRAILING = re.compile(r"[.,;:!?]+$")
"""Punctuation ending a sentence or a clause after such a word: it stays out of the word's
box, so the box is the word itself, and the line never breaks before it (a comma or a full
stop cannot start a line)."""

_SEPARATED = re.compile(r"\S[-/:]\S")


def nobreak(text: object) -> Markup:
    """``text`` escaped, each code-like word wrapped so that it stays on one line.

    Punctuation that follows the word (``competing-origin,``) is left after the wrapper: it
    is not part of the code, and it keeps to the word's line.
    """
    raw = str(text)
    parts: list[str] = []
    done = 0
    for match in WHOLE.finditer(raw):
        word = match.group(0)
        tail = TRAILING.search(word)
        if tail is not None and tail.start() > 0:
            word, end = word[: tail.start()], tail.group(0)
        else:
            end = ""
        if not _SEPARATED.search(word):  # the punctuation was the only separator
            word, end = match.group(0), ""
        parts.append(str(escape(raw[done : match.start()])))
        parts.append(f'<span class="nw">{escape(word)}</span>{escape(end)}')
        done = match.end()
    parts.append(str(escape(raw[done:])))
    return Markup("".join(parts))  # noqa: S704 - every piece escaped above
