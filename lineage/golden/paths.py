"""What the declared paths from a system of record to a copy make of a value.

The expectation of a copy is the golden value carried along the declared integrations from
the element's system of record to the copy's system, re-running each carry's transform from
the catalogue. Several paths are fine when they agree; when they disagree, or a step makes
the element from other elements or combines several inputs (``sum``), the expectation is
unknown, with the reason. The paths themselves are the declared graph's
(:meth:`lineage.declared.DeclaredGraph.paths`, built once per registry version).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..declared import MAX_PATHS, DeclaredGraph, Path, Step, declared_graph
from ..errors import TransformError
from ..model.registry import Registry
from ..transforms import parse_transform
from ..verify import HopVerifier


@dataclass(frozen=True, slots=True)
class Expectation:
    """What a golden value yields in a copy's system, or why that cannot be said.

    Attributes:
        value: the expected value as the transforms spell it (``"96.00"``), None when null
            or unknown.
        norm: the same in the element type's canonical form, for comparison.
        path: the declared path followed (None when there is none to follow).
        reason: why the expectation is unknown (None when known).
    """

    value: str | None
    norm: str | None
    path: Path | None
    reason: str | None = None

    @property
    def known(self) -> bool:
        return self.reason is None


CARRIED = 4096
"""Golden values whose carried values :meth:`DeclaredPaths.through` keeps (then forgets all)."""


@dataclass(slots=True)
class _Carried:
    """A value carried along a prefix of steps (or why not), and where each next step
    takes it."""

    value: str | None
    reason: str | None
    after: dict[Step, _Carried] = field(default_factory=dict)


@dataclass(slots=True)
class DeclaredPaths:
    """What the element paths one registry declares make of values (cached).

    Args:
        registry: the declarations.
    """

    registry: Registry
    verifier: HopVerifier = field(init=False)
    graph: DeclaredGraph = field(init=False)
    _carried: dict[tuple[str, str | None], _Carried] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.verifier = HopVerifier(self.registry)
        self.graph = declared_graph(self.registry)

    def paths(self, element: str, source: str, target: str) -> list[Path]:
        """Declared integration paths carrying ``element`` from ``source`` to ``target``
        (see :meth:`lineage.declared.DeclaredGraph.paths`: shortest first, at most
        ``MAX_PATHS + 1``)."""
        return self.graph.paths(element, source, target)

    def through(self, element: str, value: str | None, path: Path) -> Expectation:
        """What ``value`` becomes along ``path`` (unknown, with the reason, when a step
        cannot say).

        Memoized by prefix: the copies along one chain are judged against one golden value,
        each along a longer prefix of the same steps, so each step runs once per value.
        """
        root = self._carried.get((element, value))
        if root is None:
            if len(self._carried) >= CARRIED:
                self._carried.clear()
            root = self._carried[(element, value)] = _Carried(value, None)
        node = root
        for step in path:
            after = node.after.get(step)
            if after is None:
                after = node if node.reason is not None else self._step(element, node.value, step)
                node.after[step] = after
            node = after
        if node.reason is not None:
            return Expectation(None, None, path, node.reason)
        return Expectation(node.value, self.verifier.normalize(element, node.value), path)

    def _step(self, element: str, current: str | None, step: Step) -> _Carried:
        """``current`` carried one ``step`` further, or why it cannot be."""
        if step.inputs != (element,):
            return _Carried(
                None,
                f"{step.integration} makes {element} in {step.target} from "
                f"{', '.join(step.inputs)}, not from {element} itself",
            )
        try:
            call = parse_transform(step.transform)
        except TransformError as exc:
            return _Carried(None, f"{step.integration}: {exc}")
        if call.spec.max_inputs != 1:
            return _Carried(
                None,
                f"{step.integration} uses {call.text}, which combines several inputs "
                "(other records or elements): the golden value alone does not say what "
                "the copy should be",
            )
        try:
            return _Carried(call.apply([current], lookups=self.registry.lookups), None)
        except TransformError as exc:
            return _Carried(
                None, f"{step.integration} {call.text} cannot run on {current!r}: {exc}"
            )

    def expect(self, element: str, value: str | None, source: str, target: str) -> Expectation:
        """What ``value`` of ``element`` in ``source`` becomes in ``target`` by declaration.

        Follows the declared path; several paths are fine when they all yield the same
        value, and make the expectation unknown when they do not.
        """
        if source == target:
            return Expectation(
                None,
                None,
                None,
                f"another key of the system of record {source} holds {element} for the same "
                "business record: which one is the truth is not declared",
            )
        paths = self.paths(element, source, target)
        if not paths:
            return Expectation(
                None,
                None,
                None,
                f"no declared integration path carries {element} from {source} to {target}",
            )
        if len(paths) > MAX_PATHS:
            return Expectation(
                None,
                None,
                None,
                f"more than {MAX_PATHS} declared paths carry {element} from {source} to "
                f"{target}: the expectation is ambiguous",
            )
        outcomes = [self.through(element, value, path) for path in paths]
        first = outcomes[0]
        if len(outcomes) == 1:
            return first
        if all(o.known for o in outcomes) and len({o.norm for o in outcomes}) == 1:
            return first
        shown = "; ".join(
            " -> ".join(str(s) for s in o.path or ())
            + (f" gives {o.value!r}" if o.known else " cannot be computed")
            for o in outcomes
        )
        return Expectation(
            None,
            None,
            None,
            f"{len(paths)} declared paths carry {element} from {source} to {target} and "
            f"disagree ({shown}): the expectation is ambiguous",
        )


__all__ = ["MAX_PATHS", "DeclaredPaths", "Expectation", "Path", "Step"]
