"""Measuring one change against the recorded data (the store side of :mod:`.blast`)."""

from __future__ import annotations

from typing import Any

from ..model.findings import Finding
from ..model.registry import Registry
from ..store.blast import Recorded
from ..store.schema import iso
from ..transforms import normalize, rule_violations
from ..verify import HopVerifier
from .blast import Window

__all__ = ["Measure"]

_DAY = 86_400_000_000


class Measure:
    """Fills one change's ``blast`` from the recorded data, on one read connection."""

    def __init__(
        self, data: Recorded, clock: int | None, base: Registry, head: Registry, window: Window
    ) -> None:
        self.data = data
        self.clock = clock
        self.base = base
        self.head = head
        self.window = window
        self.since = (clock - window.days * _DAY) if clock is not None else 0
        self.until = clock if clock is not None else 0

    def one(self, found: Finding) -> Finding:
        blast: dict[str, Any] = {
            "known": True,
            "clock": iso(self.clock) if self.clock is not None else None,
            "days": self.window.days,
            "held": self.held(found),
        }
        notes = [self.held_text(blast["held"])]
        code = found.code
        subject = found.subject
        if code == "transform-changed" and subject.integration and subject.element:
            rerun = self.rerun(found)
            blast["rerun"] = rerun
            notes.append(_rerun_text(rerun, self.window.days))
        if code == "system-of-record-moved" and subject.element:
            golden = self.golden(found)
            blast["golden"] = golden
            notes.append(
                f"{golden['records']} golden records of {subject.element} move their truth "
                f"from {golden['from']} to {golden['to']}"
            )
        if code in ("rule-tightened", "rule-loosened", "type-changed") and subject.element:
            rules = self.rules(found)
            blast["rules"] = rules
            notes.append(_rules_text(rules, self.window.days))
        if code in ("integration-removed", "carry-removed", "integration-renamed"):
            hops = self.integration_hops(found)
            blast["hops"] = hops
            name = "under the old name" if code == "integration-renamed" else "on it"
            notes.append(
                f"{_hops(hops)} recorded {name} in the last {self.window.days} days: hops like "
                "them would be undeclared"
            )
        note = "; ".join(n for n in notes if n)
        blast["summary"] = note
        message = found.message + (f" [blast: {note}]" if note else "")
        evidence = {**found.evidence, "blast": blast}
        return found.model_copy(update={"message": message, "evidence": evidence})

    # --- what the systems concerned hold ------------------------------------------------

    def held(self, found: Finding) -> list[dict[str, Any]]:
        systems: list[str] = list(found.evidence.get("systems") or [])
        element = found.subject.element
        places: list[dict[str, Any]] = []
        for system in systems:
            if element:
                held = self.data.held_in_place(system, element)
                places.append(
                    {
                        "system": system,
                        "element": element,
                        "records": held.records,
                        "values": held.values,
                    }
                )
            elif found.subject.integration:
                for carried in self._carried(found.subject.integration):
                    held = self.data.held_in_place(system, carried)
                    if held.values:
                        places.append(
                            {
                                "system": system,
                                "element": carried,
                                "records": held.records,
                                "values": held.values,
                            }
                        )
            else:
                held = self.data.held_in_system(system)
                places.append(
                    {
                        "system": system,
                        "element": None,
                        "records": held.records,
                        "values": held.values,
                    }
                )
        return places

    def _carried(self, integration: str) -> list[str]:
        found: list[str] = []
        for registry in (self.head, self.base):
            integ = registry.integration(integration)
            if integ is not None:
                found += [c.element for c in integ.carries if c.element not in found]
        return found

    @staticmethod
    def held_text(places: list[dict[str, Any]]) -> str:
        by_system: dict[str, list[str]] = {}
        for place in places:
            what = f"{place['element']} " if place["element"] else ""
            by_system.setdefault(place["system"], []).append(
                f"{place['values']} {what}values in {place['records']} records"
            )
        return ", ".join(
            f"{system} holds {', '.join(parts)}" for system, parts in by_system.items()
        )

    # --- a changed transform, re-run over the recorded hops -----------------------------

    def rerun(self, found: Finding) -> dict[str, Any]:
        integration = found.subject.integration
        element = found.subject.element
        assert integration is not None and element is not None
        before, after = found.evidence["before"], found.evidence["after"]
        target = found.subject.system or ""
        result: dict[str, Any] = {
            "integration": integration,
            "element": element,
            "since": iso(self.since) if self.clock is not None else None,
            "recorded": 0,
            "rerun": 0,
            "truncated": False,
            "values_differ": 0,
            "verify_changes": 0,
            "cannot_run": 0,
            "reason": None,
            "examples": [],
        }
        if self.clock is None:
            return result
        total, hops = self.data.hops_of(
            integration,
            target,
            element,
            since=self.since,
            until=self.until,
            limit=self.window.max_hops,
        )
        inputs = self.data.hop_inputs([h.event_id for h in hops])
        old_check, new_check = HopVerifier(self.base), HopVerifier(self.head)
        kind = new_check.element_type(element)
        result.update(recorded=total, rerun=len(hops), truncated=total > len(hops))
        for hop in hops:
            values = [i.value for i in inputs.get(hop.event_id, [])]
            _, was, _ = old_check.rerun(before["transform"], values, element, hop.value)
            expected, now, why = new_check.rerun(after["transform"], values, element, hop.value)
            if was != now:
                result["verify_changes"] += 1
            if expected is None:
                # the new transform is unknown or fails on these inputs: nothing to compare
                result["cannot_run"] += 1
                result["reason"] = result["reason"] or why
            elif not now:
                result["values_differ"] += 1
                if len(result["examples"]) < self.window.examples:
                    result["examples"].append(
                        {
                            "event": hop.event_id,
                            "record": hop.record,
                            "at": iso(hop.at),
                            "inputs": values,
                            "recorded": normalize(hop.value, kind),
                            "would_be": expected,
                        }
                    )
        return result

    # --- rules or type changed: the values recorded lately, judged both ways -------------

    def rules(self, found: Finding) -> dict[str, Any]:
        name = found.subject.element
        assert name is not None
        old, new = self.base.element(name), self.head.element(name)
        result: dict[str, Any] = {
            "checked": 0,
            "recorded": 0,
            "truncated": False,
            "newly_rejected": 0,
            "newly_accepted": 0,
            "examples": [],
        }
        if self.clock is None or old is None or new is None:
            return result
        old_rules = [r for e in self.base.elements if e.name == name for r in e.rules]
        new_rules = [r for e in self.head.elements if e.name == name for r in e.rules]
        systems = [s for s in found.evidence.get("systems") or [] if s]
        for system in systems:
            total, rows = self.data.values_in(
                system, name, since=self.since, until=self.until, limit=self.window.max_hops
            )
            result["recorded"] += total
            result["checked"] += len(rows)
            result["truncated"] = result["truncated"] or total > len(rows)
            for row in rows:
                was = bool(rule_violations(row.value, old_rules, old.type))
                now = rule_violations(row.value, new_rules, new.type)
                if now and not was:
                    result["newly_rejected"] += 1
                    if len(result["examples"]) < self.window.examples:
                        result["examples"].append(
                            {
                                "event": row.event_id,
                                "system": system,
                                "record": row.record,
                                "value": row.value,
                                "reason": now[0],
                            }
                        )
                elif was and not now:
                    result["newly_accepted"] += 1
        return result

    # --- a moved system of record ---------------------------------------------------------

    def golden(self, found: Finding) -> dict[str, Any]:
        element = found.subject.element
        assert element is not None
        old, new = found.evidence["before"], found.evidence["after"]
        records = self.data.held_in_place(old, element).records if old else 0
        examples = self.data.record_keys(old, element, self.window.examples) if old else []
        return {"from": old, "to": new, "records": records, "examples": examples}

    # --- hops on an integration that goes away --------------------------------------------

    def integration_hops(self, found: Finding) -> int:
        integration = (
            found.evidence["before"]
            if found.code == "integration-renamed"
            else (found.subject.integration)
        )
        integ = self.base.integration(found.subject.integration or "") or self.head.integration(
            found.subject.integration or ""
        )
        if self.clock is None or integ is None or not isinstance(integration, str):
            return 0
        elements = (
            [found.subject.element] if found.subject.element else [c.element for c in integ.carries]
        )
        return sum(
            self.data.hops_on_integration(
                integration, integ.target, e, since=self.since, until=self.until
            )
            for e in elements
            if e
        )


def _rules_text(rules: dict[str, Any], days: int) -> str:
    if not rules["recorded"]:
        return f"no value recorded in the last {days} days to judge"
    share = (
        f"{rules['checked']} of {rules['recorded']}"
        if rules["truncated"]
        else str(rules["checked"])
    )
    text = (
        f"of {share} values recorded in the last {days} days, {rules['newly_rejected']} would "
        f"now break its rules and {rules['newly_accepted']} would now pass"
    )
    if rules["examples"]:
        first = rules["examples"][0]
        text += f" (e.g. {first['system']} {first['record']}: {first['reason']})"
    return text


def _hops(count: int) -> str:
    return f"{count} hop" if count == 1 else f"{count} hops"


def _rerun_text(rerun: dict[str, Any], days: int) -> str:
    if not rerun["recorded"]:
        return f"no hop recorded on it in the last {days} days to re-run"
    share = (
        f"{rerun['rerun']} of {rerun['recorded']}" if rerun["truncated"] else str(rerun["rerun"])
    )
    text = (
        f"re-run over {share} hops of the last {days} days: {rerun['values_differ']} values "
        f"would differ, {_hops(rerun['verify_changes'])} would verify differently"
    )
    if rerun["cannot_run"]:
        text += f"; the new transform cannot run on {rerun['cannot_run']} of them"
    if rerun["examples"]:
        first = rerun["examples"][0]
        text += (
            f" (e.g. {first['record']}: {first['recorded']} recorded, "
            f"{first['would_be']} under the new transform)"
        )
    return text
