"""Registry checks: one small module per check (or tight family), registered in one list.

Each check is a function ``(Registry) -> Iterable[Finding]`` (see :data:`Check`). Adding a
check is one new module and one line in :data:`CHECKS`.
"""

from __future__ import annotations

from ...model.findings import Finding
from ...model.registry import Registry
from .backflow import backflow_into_system_of_record
from .base import Check as Check
from .curation import missing_fallback, missing_purpose, pass_through
from .declarations import duplicate_declaration, undeclared_element, unknown_system
from .openlineage_fields import ambiguous_dataset_field, unknown_mapped_system, unmapped_element
from .openlineage_jobs import ambiguous_job
from .openlineage_namespaces import ambiguous_namespace
from .owners import missing_owner
from .reachability import unreachable_copy
from .system_of_record import missing_system_of_record, multiple_systems_of_record
from .transforms import unknown_transform

CHECKS: list[Check] = [
    missing_system_of_record,
    multiple_systems_of_record,
    undeclared_element,
    unknown_system,
    duplicate_declaration,
    missing_owner,
    unknown_transform,
    backflow_into_system_of_record,
    unreachable_copy,
    missing_purpose,
    missing_fallback,
    pass_through,
    ambiguous_namespace,
    ambiguous_job,
    unknown_mapped_system,
    ambiguous_dataset_field,
    unmapped_element,
]
"""Every registered registry check, in the order ``lineage check`` runs them."""


def run_checks(registry: Registry) -> list[Finding]:
    """Every finding of every registered check, before waivers, sorted (severity, file, line)."""
    findings = [finding for check in CHECKS for finding in check(registry)]
    return sorted(findings, key=Finding.sort_key)


__all__ = ["CHECKS", "Check", "run_checks"]
