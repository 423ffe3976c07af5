"""What a reading command may name: the systems, elements, integrations and owners a store
knows (declared in its registry or named by its events).

A filter or a place naming nothing known is a mistake, not an empty answer: ``scan --system
Nope`` answering "no findings" would turn a CI gate green by a typo. :func:`require` turns it
into one line that says what exists (or the nearest names when there are many), exit 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..errors import NotFoundError

if TYPE_CHECKING:
    from ..model.registry import Registry
    from ..store import Store

_LISTED = 12  # at most this many names in a message; beyond, the nearest ones
_KINDS = ("system", "element", "integration", "owner")


def _declared(registry: Registry, kind: str) -> set[str]:
    if kind == "system":
        names = {s.name for s in registry.systems}
        for integ in registry.integrations:
            names.update((integ.source, integ.target))
        return names
    if kind == "element":
        return {e.name for e in registry.elements} | {
            name for integ in registry.integrations for c in integ.carries for name in
            (c.element, *c.input_elements)
        }  # fmt: skip
    if kind == "integration":
        return {i.name for i in registry.integrations}
    from ..detect.run import UNOWNED  # noqa: PLC0415 - only owner filters need detection

    owners = {UNOWNED}
    for group in (registry.systems, registry.elements, registry.integrations, registry.waivers):
        owners.update(item.owner for item in group if item.owner)
    return owners


def _recorded(store: Store, kind: str) -> set[str]:
    from ..store.names import recorded_names  # noqa: PLC0415 - loads with the store

    return recorded_names(store, kind)


def _is_recorded(store: Store, kind: str, name: str) -> bool:
    from ..store.names import is_recorded  # noqa: PLC0415 - loads with the store

    return is_recorded(store, kind, name)


def _listing(kind: str, wanted: str, known: Iterable[str]) -> str:
    names = sorted(set(known), key=str.casefold)
    plural = f"{kind}s"
    if not names:
        return f"the store knows no {plural} yet (load a registry or ingest events first)"
    same = [n for n in names if n.casefold() == wanted.casefold()]
    if same:
        return f"did you mean {same[0]!r}? (names are case-sensitive)"
    if len(names) <= _LISTED:
        return f"known {plural}: {', '.join(names)}"
    folded = {n.casefold(): n for n in names}
    near = difflib.get_close_matches(wanted.casefold(), folded, n=5, cutoff=0.5)
    if near:
        shown = ", ".join(folded[n] for n in near)
        return f"nearest of the {len(names)} known {plural}: {shown}"
    return f"{len(names)} {plural} are known, none near it; first: {', '.join(names[:_LISTED])}"


def require(store: Store, kind: str, names: Iterable[str], *, option: str | None = None) -> None:
    """Raise :class:`NotFoundError` unless the store knows every one of ``names``.

    Args:
        store: the store the command reads.
        kind: ``system``, ``element``, ``integration`` or ``owner``.
        names: what the user named.
        option: how the user named it (``--system``), for the message; else the kind.
    """
    if kind not in _KINDS:
        raise ValueError(f"unknown kind {kind!r}: use one of {', '.join(_KINDS)}")
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return
    declared = _declared(store.registry(), kind)
    for name in wanted:
        if name in declared or _is_recorded(store, kind, name):
            continue
        known = declared | _recorded(store, kind)
        if kind == "owner":
            known.discard("(unowned)")
        said = f"{option} {name!r}" if option else f"{kind} {name!r}"
        raise NotFoundError(
            f"{said} names no {kind} this store knows; {_listing(kind, name, known)}"
        )


@contextmanager
def explained(store: Store, system: str, element: str | None = None) -> Iterator[None]:
    """Turn "nothing recorded for this place" into "no such system/element; these exist"
    when the system or the element is what nobody knows (a wrong record key keeps the
    original message)."""
    try:
        yield
    except NotFoundError:
        require(store, "system", [system])
        if element is not None:
            require(store, "element", [element])
        raise
