"""OpenLineage jobs judged like every other flow, through the registry's mapping.

A job's datasets are placed in systems by their namespaces (``openlineage_namespaces``), its
column lineage in elements by dataset fields (``openlineage_fields``), and the job itself in
integrations (``openlineage_jobs``). Then:

- a job no integration claims that moves data between two different mapped systems is an
  ``undeclared-integration`` naming the job (one finding per job and route);
- a job an integration claims that reads or writes, in a mapped system, a dataset or field
  outside what its integrations carry is an ``undeclared-integration`` naming the job and the
  integration (one finding per job, every such dataset in the evidence);
- a run of a claimed job whose latest state is FAIL or ABORT is a ``failed-delivery`` of its
  integration, with the run's ``errorMessage`` facet when present.

Namespaces and jobs the registry does not map are not judged (``lineage stats`` lists them).
A registry that maps nothing costs the scan nothing; a judgement of a batch reads only the
jobs the batch ran (by key), never every job.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..interop.observed import JobSeen, observe, routes_of
from ..model.findings import Finding
from ..model.registry import Integration, Registry
from ..rules import failed_run_message, job_outside_message, owner, undeclared_job_message
from .base import ScanContext
from .common import when


def observed_flows(ctx: ScanContext) -> Iterator[Finding]:
    """``undeclared-integration`` and ``failed-delivery`` from OpenLineage jobs."""
    registry = ctx.registry
    if not registry.maps_openlineage:
        return
    # a judgement of a batch reads the jobs the batch ran: the findings its scope covers
    # (lineage.detect.scope.covers) are those naming one of them
    jobs = ctx.scope.jobs if ctx.scope is not None else None
    seen = observe(ctx.conn, as_of=ctx.as_of, jobs=jobs)
    for job in seen.jobs.values():
        integrations = registry.integrations_of_job(job.job)
        if integrations:
            yield from _outside(registry, job, integrations)
            yield from _failed(registry, job, integrations[0])
        else:
            yield from _undeclared(registry, job)


def _seen(job: JobSeen) -> dict[str, object]:
    return {
        "job": job.job,
        "events": job.events,
        "runs": job.runs,
        "first_at": when(job.first),
        "last_at": when(job.last),
    }


def _undeclared(registry: Registry, job: JobSeen) -> Iterator[Finding]:
    for (source, target), route in sorted(routes_of(registry, job).items()):
        declared = [
            i.name for i in registry.integrations if (i.source, i.target) == (source, target)
        ]
        element = next(iter(route.elements)) if len(route.elements) == 1 else None
        yield Finding.of(
            "undeclared-integration",
            undeclared_job_message(
                job.job,
                (source, target),
                elements=route.elements,
                reads=route.reads,
                writes=route.writes,
                declared_between=declared,
            ),
            owner=owner(registry, element=element, system=target),
            element=element,
            system=target,
            evidence={
                **_seen(job),
                "source": source,
                "target": target,
                "reads": sorted(route.reads),
                "writes": sorted(route.writes),
                "elements": sorted(route.elements),
                "declared_between": declared,
            },
        )


def _outside(
    registry: Registry, job: JobSeen, integrations: list[Integration]
) -> Iterator[Finding]:
    """Datasets and fields the job touched in mapped systems that its integrations don't carry."""
    outside = outside_declarations(registry, job, integrations)
    if not outside:
        return
    integration = integrations[0]
    yield Finding.of(
        "undeclared-integration",
        job_outside_message(job.job, [i.name for i in integrations], outside),
        owner=owner(registry, integration=integration.name, system=integration.target),
        integration=integration.name,
        system=integration.target,
        evidence={**_seen(job), "outside": list(dict.fromkeys(outside))},
    )


def _failed(registry: Registry, job: JobSeen, integration: Integration) -> Iterator[Finding]:
    for run in job.failed_runs():
        yield Finding.of(
            "failed-delivery",
            failed_run_message(
                run.run_id,
                job.job,
                integration.name,
                state=run.state,
                at=when(run.at),
                error=run.error,
            ),
            owner=owner(registry, integration=integration.name, system=integration.target),
            integration=integration.name,
            system=integration.target,
            event=run.run_id,
            evidence={
                "job": job.job,
                "run": run.run_id,
                "state": run.state,
                "at": when(run.at),
                "error": run.error,
                "programming_language": run.language,
            },
        )


def outside_declarations(
    registry: Registry, job: JobSeen, integrations: list[Integration]
) -> list[str]:
    """What an OpenLineage job touched in mapped systems outside what its integrations
    declare, each in words (``reads ns/name in S, which it does not read from``): the
    evidence of ``undeclared-integration`` for a claimed job, and the integration page's."""
    targets = {i.target for i in integrations}
    sources = {i.source for i in integrations} | targets
    carried = {(i.target, c.element) for i in integrations for c in i.carries}
    read_from = {
        (i.source, name) for i in integrations for c in i.carries for name in c.input_elements
    }
    outside: list[str] = []
    for namespace, name in sorted(job.outputs):
        system = registry.system_of_namespace(namespace)
        if system is None:
            continue
        if system not in targets:
            outside.append(f"writes {namespace}/{name} in {system}, which it does not deliver to")
            continue
        held = registry.fields_of(system, name)
        if not any((system, element) in carried for element in held.values()):
            outside.append(f"writes {namespace}/{name} in {system}, which holds nothing it carries")
    for namespace, name in sorted(job.inputs):
        system = registry.system_of_namespace(namespace)
        if system is None:
            continue
        if system not in sources:
            outside.append(f"reads {namespace}/{name} in {system}, which it does not read from")
            continue
        held = registry.fields_of(system, name)
        if system not in targets and not any(
            (system, element) in read_from for element in held.values()
        ):
            outside.append(f"reads {namespace}/{name} in {system}, which holds nothing it carries")
    for flow in sorted(job.flows, key=lambda f: (f.target_dataset, f.target_field)):
        system = registry.system_of_namespace(flow.target_namespace)
        if system not in targets:
            continue
        element = registry.element_at(system, flow.target_dataset, flow.target_field)
        if element is not None and (system, element) not in carried:
            outside.append(
                f"writes {element} ({flow.target_dataset}.{flow.target_field}) in {system}, "
                "which it does not carry"
            )
    return outside
