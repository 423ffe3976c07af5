"""Template filters for text written for people: prose that never breaks inside a code,
a record key or a date."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

WHOLE = re.compile(r"\S*\S[-/:]\S+")
"""A word holding a hyphen, slash or colon between characters (``competing-origin``,
``W-5008-2``, ``2026-11-18T16:10:00Z``, ``Shop/order.unit_price/W-5008-2``): browsers would
break a line after its hyphen."""


def nobreak(text: object) -> Markup:
    """``text`` escaped, each code-like word wrapped so that it stays on one line."""
    escaped = str(escape(text))
    return Markup(WHOLE.sub(lambda m: f'<span class="nw">{m.group(0)}</span>', escaped))  # noqa: S704 - escaped above
