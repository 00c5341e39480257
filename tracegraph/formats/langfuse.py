"""Langfuse trace exports: a trace and its observations, as the UI and the API give them.

Shapes (each a JSON document, array element or JSONL line): ``{"trace", "observations"}``
(the UI download merged with its log view), ``{"traces", "observations"}``, the
``GET /api/public/traces/{id}`` trace with embedded ``observations``, and bare
observations, grouped by ``traceId`` across the file.  An export is complete, so
each trace is emitted whole and checked as a tree: a duplicate id, a cycle or a
parent missing from the export rejects that trace with one :class:`InputError`
naming the field (``observations[4].startTime``); other traces still come through.
This module finds the traces and checks them; what each field becomes (tokens
added back up, a zero cost read as "no price matched") is
:mod:`.langfuse_mapping`.  Mapping: ``docs/formats/langfuse.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from ..errors import InputError
from ..model import Outcome, Step, Trace, structure_problems
from .decoded_records import decoded_records
from .langfuse_mapping import OBSERVATION_TYPES, first_text, join_path, observation_step, \
    text_field, trace_attributes
from .records import JsonRecord

__all__ = ["NAME", "sniff", "read", "OBSERVATION_TYPES"]

NAME = "langfuse"


def sniff(first: Any) -> bool:
    """An export object (``observations`` beside a trace) or a bare observation."""
    first = first[0] if isinstance(first, list) and first else first
    if not isinstance(first, dict):
        return False
    if isinstance(first.get("observations"), list):
        return (isinstance(first.get("trace"), dict) or isinstance(first.get("traces"), list)
                or isinstance(first.get("id"), str))
    kind = first.get("type")
    return (isinstance(first.get("id"), str) and isinstance(first.get("traceId"), str)
            and isinstance(kind, str) and kind.upper() in OBSERVATION_TYPES
            and "startTime" in first)


@dataclass
class _Group:
    """One trace being assembled: its trace object, and observations with their places."""

    trace_id: str
    record: str
    trace: dict[str, Any] | None = None
    observations: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    fault: InputError | None = None


def read(records: Iterator[JsonRecord | InputError], *,
         source: str) -> Iterator[Trace | InputError]:
    """Traces of Langfuse records; bare observations come after the last record."""
    loose: dict[str, _Group] = {}
    for record in decoded_records(records, source=source):
        if isinstance(record, InputError):
            yield record
            continue
        value = record.value
        items = enumerate(value) if isinstance(value, list) else [(None, value)]
        for k, item in items:
            prefix = "" if k is None else f"[{k}]"
            try:
                if not isinstance(item, dict):
                    raise InputError("expected a Langfuse export or observation object, got "
                                     f"{type(item).__name__}", field=prefix)
                if "traceId" in item and "type" in item \
                        and not {"observations", "trace", "traces"} & item.keys():
                    trace_id = text_field(item.get("traceId"), join_path(prefix, "traceId"), True)
                    loose.setdefault(trace_id, _Group(trace_id, record.label)) \
                        .observations.append((record.label, prefix, item))
                    continue
                groups = _export_groups(item, record.label, prefix)
            except InputError as exc:
                yield exc.located(source=source, record=record.label)
                continue
            for group in groups:
                yield _build(group, source)
    for group in loose.values():
        yield _build(group, source)


def _export_groups(item: dict[str, Any], label: str, prefix: str) -> list[_Group]:
    """Split one export object into per-trace groups; shape faults reject the record."""
    groups: dict[str, _Group] = {}

    def add_trace(trace: Any, where: str, embedded: bool) -> _Group:
        if not isinstance(trace, dict):
            raise InputError(f"expected a trace object, got {type(trace).__name__}", field=where)
        trace_id = text_field(trace.get("id"), join_path(where, "id"), True)
        if trace_id in groups:
            groups[trace_id].fault = InputError(f"duplicate trace id {trace_id!r}",
                                                field=join_path(where, "id"))
        group = groups.setdefault(trace_id, _Group(trace_id, label, trace))
        if embedded and trace.get("observations") is not None:
            add_observations(trace["observations"], join_path(where, "observations"), group)
        return group

    def add_observations(observations: Any, where: str, default: _Group | None) -> None:
        if not isinstance(observations, list):
            raise InputError("expected a list of observations", field=where)
        for i, obs in enumerate(observations):
            path = f"{where}[{i}]"
            if not isinstance(obs, dict):
                raise InputError(f"expected an observation object, got {type(obs).__name__}"
                                 " (the trace list API gives ids only; export one trace with "
                                 "GET /api/public/traces/{id})", field=path)
            trace_id = text_field(obs.get("traceId"), join_path(path, "traceId"), default is None)
            group = default or groups.get(trace_id)
            if group is None:
                group = groups.setdefault(trace_id, _Group(trace_id, label))
                group.fault = InputError(f"trace {trace_id!r} is not among this export's "
                                         "traces", field=join_path(path, "traceId"))
            elif trace_id and trace_id != group.trace_id:
                group.fault = group.fault or InputError(
                    f"observation belongs to trace {trace_id!r}, not {group.trace_id!r}",
                    field=join_path(path, "traceId"))
            group.observations.append((label, path, obs))

    if "traces" in item:
        traces = item["traces"]
        if not isinstance(traces, list):
            raise InputError("expected a list", field=join_path(prefix, "traces"))
        for j, trace in enumerate(traces):
            add_trace(trace, join_path(prefix, f"traces[{j}]"), embedded=True)
        only = next(iter(groups.values())) if len(groups) == 1 else None
        add_observations(item.get("observations", []), join_path(prefix, "observations"), only)
    elif "trace" in item:
        group = add_trace(item["trace"], join_path(prefix, "trace"),
                          embedded="observations" not in item)
        add_observations(item.get("observations", []), join_path(prefix, "observations"), group)
    elif isinstance(item.get("observations"), list):
        add_trace(item, prefix, embedded=True)
    else:
        raise InputError("not a Langfuse export (trace + observations, traces + observations, "
                         "a trace with observations, or an observation); its keys: "
                         + ", ".join(sorted(item)[:8]), field=prefix)
    return list(groups.values())


def _build(group: _Group, source: str) -> Trace | InputError:
    """The trace of one group, or the first thing wrong with it (nothing partial)."""
    record = group.record  # the record being read when a fault is raised
    try:
        if group.fault is not None:
            raise group.fault
        steps: list[Step] = []
        for record, path, obs in group.observations:
            steps.append(observation_step(obs, path))
        ids = {s.id for s in steps}
        problems = structure_problems(steps) + [
            (i, "parentObservationId", f"no observation {s.parent_id!r} in this trace")
            for i, s in enumerate(steps) if s.parent_id and s.parent_id not in ids]
        if problems:
            i, name, message = min(problems)
            record, path, _ = group.observations[i]
            name = {"parent_id": "parentObservationId"}.get(name, name)
            more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
            raise InputError(message + more, field=join_path(path, name))
        return _trace(group, tuple(steps))
    except InputError as exc:
        return InputError(f"{exc.message} (trace {group.trace_id!r})", source=source,
                          record=exc.record or record, field=exc.field,
                          trace_id=group.trace_id)


def _trace(group: _Group, steps: tuple[Step, ...]) -> Trace:
    """The trace of a group whose steps are read and checked."""
    trace = group.trace or {}
    attributes = trace_attributes(trace)
    workflow = text_field(trace.get("name"), "name") or first_text(attributes, "workflow")
    stated = first_text(attributes, "outcome").lower()
    outcome = Outcome(stated) if stated in {o.value for o in Outcome} else None
    return Trace(id=group.trace_id, source_format=NAME, steps=steps, partial=False,
                 workflow=workflow or None, outcome=outcome,
                 outcome_reason=first_text(attributes, "outcome_reason") or None
                 if outcome else None, attributes=attributes,
                 session_id=text_field(trace.get("sessionId"), "sessionId") or None)
