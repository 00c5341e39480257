"""Langfuse trace exports: a trace and its observations, as the UI and the API give them.

Shapes read (each a JSON document, an element of a JSON array, or a JSONL line):

* ``{"trace": {...}, "observations": [...]}`` — the UI's download merged with its
  log view (what Langfuse's own seeder keeps as framework traces);
* ``{"traces": [...], "observations": [...]}`` — several traces in one export;
* ``{"id": ..., "observations": [...]}`` — ``GET /api/public/traces/{id}``;
* bare observations (objects with ``id``, ``traceId`` and ``type``), grouped by
  ``traceId`` across the whole file.

An export is a complete document, so each trace is emitted whole
(``partial=False``) and checked as a tree: a duplicate observation id, a parent
cycle or a parent that is not in the export rejects that trace with one
:class:`InputError` naming the field (``observations[4].startTime``); the other
traces of the file still come through.  Langfuse writes usage types additively
(``input`` excludes cache reads, which it prices separately), while a
:class:`Step` counts all input tokens with ``cached_input_tokens`` as a part of
them, so the reader adds the parts back.  A zero cost is Langfuse's "no price
matched", not "free", and is never taken as a stated cost.  See
``docs/formats/langfuse.md`` for the field mapping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterator

import orjson

from ..errors import InputError
from ..model import DocumentRef, Outcome, Status, Step, StepKind, Trace, structure_problems
from .records import JsonRecord
from .values import maybe_json, time_ns, to_decimal, to_int

__all__ = ["NAME", "sniff", "read", "OBSERVATION_TYPES"]

NAME = "langfuse"

_TYPE_KIND = {
    "GENERATION": StepKind.LLM, "EMBEDDING": StepKind.LLM, "TOOL": StepKind.TOOL_CALL,
    "RETRIEVER": StepKind.RETRIEVAL, "AGENT": StepKind.AGENT, "EVENT": StepKind.EVENT,
    "SPAN": StepKind.CHAIN, "CHAIN": StepKind.CHAIN, "GUARDRAIL": StepKind.CHAIN,
    "EVALUATOR": StepKind.CHAIN,
}
OBSERVATION_TYPES = frozenset(_TYPE_KIND)
_LEVELS = frozenset({"DEBUG", "DEFAULT", "WARNING", "ERROR"})
# What a generic SPAN's raw attributes say it really was (OpenInference, OTel GenAI).
_SPAN_KIND_HINTS = {"LLM": StepKind.LLM, "EMBEDDING": StepKind.LLM, "TOOL": StepKind.TOOL_CALL,
                    "RETRIEVER": StepKind.RETRIEVAL, "AGENT": StepKind.AGENT}
_OPERATION_KINDS = {"execute_tool": StepKind.TOOL_CALL, "chat": StepKind.LLM,
                    "text_completion": StepKind.LLM, "generate_content": StepKind.LLM,
                    "embeddings": StepKind.LLM, "invoke_agent": StepKind.AGENT,
                    "create_agent": StepKind.AGENT}
_CACHE_READ = ("input_cached_tokens", "cache_read_input_tokens", "input_cache_read",
               "prompt_details.cache_read", "cached_tokens", "cache_read")
_CACHE_WRITE = ("cache_creation_input_tokens", "input_cache_creation", "input_cache_write",
                "cache_write_input_tokens", "prompt_details.cache_write", "cache_creation")
_REASONING = ("output_reasoning", "output_reasoning_tokens", "completion_details.reasoning",
              "reasoning_tokens")
_CONSUMED = frozenset({"id", "traceId", "parentObservationId", "name", "startTime",
                       "endTime", "model", "input", "output", "metadata"})


def sniff(first: Any) -> bool:
    """An export object (``observations`` beside a trace) or a bare observation."""
    if isinstance(first, list) and first:
        first = first[0]
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
    """One trace being assembled: its trace object and observations with their paths."""

    trace_id: str
    record: str
    trace: dict[str, Any] | None = None
    observations: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    fault: InputError | None = None


def read(records: Iterator[JsonRecord | InputError], *,
         source: str) -> Iterator[Trace | InputError]:
    """Traces of Langfuse records; bare observations are emitted after the last record."""
    loose: dict[str, _Group] = {}
    for record in records:
        if isinstance(record, InputError):
            yield record
            continue
        try:
            value = record.decode()
        except orjson.JSONDecodeError as exc:
            yield InputError(f"invalid JSON: {exc}", source=source, record=record.label)
            continue
        items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
        for k, item in items:
            prefix = "" if k is None else f"[{k}]"
            try:
                if not isinstance(item, dict):
                    raise InputError(f"expected a Langfuse export or observation object, "
                                     f"got {type(item).__name__}", field=prefix)
                if _looks_like_observation(item):
                    trace_id = _text(item.get("traceId"), _join(prefix, "traceId"), True)
                    group = loose.setdefault(trace_id, _Group(trace_id, record.label))
                    group.observations.append((record.label, prefix, item))
                    continue
                groups = _export_groups(item, record.label, prefix)
            except InputError as exc:
                yield exc.located(source=source, record=record.label)
                continue
            for group in groups:
                yield _build(group, source)
    for group in loose.values():
        yield _build(group, source)


def _looks_like_observation(item: dict[str, Any]) -> bool:
    return "traceId" in item and "type" in item and not (
        {"observations", "trace", "traces"} & item.keys())


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix and not name.startswith("[") else prefix + name


def _text(value: Any, where: str, required: bool = False) -> str:
    """A string field; ``required`` ones must be present and non-empty."""
    if value is None or value == "":
        if required:
            raise InputError(f"{where.rsplit('.', 1)[-1]} is missing", field=where)
        return ""
    if not isinstance(value, str):
        raise InputError(f"expected a string, got {type(value).__name__}", field=where)
    return value


def _export_groups(item: dict[str, Any], label: str, prefix: str) -> list[_Group]:
    """Split one export object into per-trace groups (trace object + observations)."""
    groups: dict[str, _Group] = {}

    def add_trace(trace: Any, where: str, embedded: bool) -> _Group:
        if not isinstance(trace, dict):
            raise InputError(f"expected a trace object, got {type(trace).__name__}", field=where)
        trace_id = _text(trace.get("id"), _join(where, "id"), True)
        if trace_id in groups:
            groups[trace_id].fault = InputError(f"duplicate trace id {trace_id!r}",
                                                field=_join(where, "id"))
        group = groups.setdefault(trace_id, _Group(trace_id, label, trace))
        if embedded and trace.get("observations") is not None:
            add_observations(trace["observations"], _join(where, "observations"), group)
        return group

    def add_observations(observations: Any, where: str, default: _Group | None) -> None:
        if not isinstance(observations, list):
            raise InputError(f"expected a list, got {type(observations).__name__}", field=where)
        for i, obs in enumerate(observations):
            path = f"{where}[{i}]"
            if not isinstance(obs, dict):
                raise InputError(f"expected an observation object, got {type(obs).__name__}"
                                 " (the trace list API gives ids only; export one trace with "
                                 "GET /api/public/traces/{id})", field=path)
            trace_id = _text(obs.get("traceId"), _join(path, "traceId"), default is None)
            group = default or groups.get(trace_id)
            if group is None:
                group = groups.setdefault(trace_id, _Group(trace_id, label))
                group.fault = group.fault or InputError(
                    f"trace {trace_id!r} is not among this export's traces",
                    field=_join(path, "traceId"))
            elif trace_id and trace_id != group.trace_id:
                group.fault = group.fault or InputError(
                    f"observation belongs to trace {trace_id!r}, not {group.trace_id!r}",
                    field=_join(path, "traceId"))
            group.observations.append((label, path, obs))

    if "traces" in item:
        traces = item["traces"]
        if not isinstance(traces, list):
            raise InputError(f"expected a list, got {type(traces).__name__}",
                             field=_join(prefix, "traces"))
        for j, trace in enumerate(traces):
            add_trace(trace, _join(prefix, f"traces[{j}]"), embedded=True)
        only = next(iter(groups.values())) if len(groups) == 1 else None
        add_observations(item.get("observations", []), _join(prefix, "observations"), only)
    elif "trace" in item:
        group = add_trace(item["trace"], _join(prefix, "trace"),
                          embedded="observations" not in item)
        add_observations(item.get("observations", []), _join(prefix, "observations"), group)
    elif isinstance(item.get("observations"), list):
        add_trace(item, prefix, embedded=True)
    else:
        keys = ", ".join(sorted(item)[:8])
        raise InputError("not a Langfuse export: expected trace + observations, traces + "
                         f"observations, a trace with observations, or an observation; got "
                         f"keys {keys}", field=prefix)
    return list(groups.values())


def _build(group: _Group, source: str) -> Trace | InputError:
    """The trace of one group, or the first thing wrong with it (nothing partial)."""
    record = group.record  # the record being read when a fault is raised
    try:
        if group.fault is not None:
            raise group.fault
        steps: list[Step] = []
        paths: list[str] = []
        for record, path, obs in group.observations:
            steps.append(_step(obs, path))
            paths.append(path)
        record = group.record
        problems = structure_problems(steps)
        ids = {s.id for s in steps}
        problems += [(i, "parent_id", f"no observation {s.parent_id!r} in this trace")
                     for i, s in enumerate(steps) if s.parent_id and s.parent_id not in ids]
        if problems:
            i, name, message = min(problems)
            record = group.observations[i][0]
            name = {"parent_id": "parentObservationId"}.get(name, name)
            more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
            raise InputError(message + more, field=_join(paths[i], name))
        return _trace(group, tuple(steps))
    except InputError as exc:
        return InputError(f"{exc.message} (trace {group.trace_id!r})", source=source,
                          record=exc.record or record, field=exc.field,
                          trace_id=group.trace_id)


def _trace(group: _Group, steps: tuple[Step, ...]) -> Trace:
    trace = group.trace or {}
    metadata = _decoded(trace.get("metadata"))
    attributes: dict[str, Any] = {}
    if metadata is not None:
        _flatten_metadata(metadata if isinstance(metadata, dict) else {"metadata": metadata},
                          attributes, drop_io=trace.get("input") is not None)
    for key, value in trace.items():
        if key not in ("id", "name", "sessionId", "metadata", "observations") \
                and not _empty(value):
            attributes[f"langfuse.{key}"] = _decoded(value)
    workflow = _text(trace.get("name"), "name") or attributes.get("workflow")
    stated = attributes.get("outcome")
    outcome = Outcome(stated.lower()) if isinstance(stated, str) \
        and stated.lower() in {o.value for o in Outcome} else None
    reason = attributes.get("outcome_reason") if outcome else None
    return Trace(id=group.trace_id, source_format=NAME, steps=steps, partial=False,
                 workflow=workflow if isinstance(workflow, str) and workflow else None,
                 outcome=outcome, outcome_reason=reason if isinstance(reason, str) else None,
                 attributes=attributes,
                 session_id=_text(trace.get("sessionId"), "sessionId") or None)


def _step(obs: dict[str, Any], where: str) -> Step:
    """One observation as a step; raises InputError naming the field at ``where``."""
    def at(name: str) -> str:
        return _join(where, name)

    step_id = _text(obs.get("id"), at("id"), True)
    obs_type = _text(obs.get("type"), at("type"), True).upper()
    level = _text(obs.get("level"), at("level")).upper() or "DEFAULT"
    if level not in _LEVELS:
        raise InputError(f"unknown level {obs.get('level')!r}; expected one of "
                         f"{', '.join(sorted(_LEVELS))}", field=at("level"))
    times: list[int | None] = []
    for key in ("startTime", "endTime"):
        try:
            times.append(time_ns(obs.get(key)))
        except ValueError as exc:
            raise InputError(str(exc), field=at(key)) from None
    start, end = times
    if start is not None and end is not None and end < start:
        raise InputError("endTime is before startTime", field=at("endTime"))
    status_message = obs.get("statusMessage")
    metadata = _decoded(obs.get("metadata"))
    attributes: dict[str, Any] = {}
    for key, value in obs.items():
        if key not in _CONSUMED and not _empty(value):
            attributes[f"langfuse.{key}"] = value
    if metadata is not None:
        _flatten_metadata(metadata if isinstance(metadata, dict) else {"metadata": metadata},
                          attributes, drop_io=False)
    hints = metadata.get("attributes") if isinstance(metadata, dict) else None
    hints = hints if isinstance(hints, dict) else {}
    # OpenInference copies input/output into its attributes; ADK's tool spans have
    # them only there (the observation's own are ``{}``).  Keep one copy.
    values = []
    for key in ("input", "output"):
        own, copy = obs.get(key), hints.get(f"{key}.value")
        if copy is not None and (_empty(own) or own == maybe_json(copy)):
            attributes.pop(f"{key}.value", None)
        values.append(maybe_json(copy if _empty(own) and copy is not None else own))
    input_value, output_value = values
    kind, operation = _kind(obs_type, hints, output_value)
    fields: dict[str, Any] = {}
    if kind == StepKind.LLM:
        model = _text(obs.get("model"), at("model")) or _first_text(
            hints, "gen_ai.response.model", "gen_ai.request.model", "llm.model_name")
        provider = _first_text(hints, "gen_ai.provider.name", "llm.provider", "gen_ai.system",
                               "llm.system") or _first_text(metadata, "ls_provider")
        fields.update(model=model or _first_text(metadata, "ls_model_name") or None,
                      provider=provider.lower() or None)
    tokens = _tokens(obs, where)
    if kind != StepKind.LLM and not any(tokens.values()):
        tokens = {}
    fields.update(tokens)
    if kind == StepKind.TOOL_CALL:
        tool_output = output_value if isinstance(output_value, dict) else {}
        fields.update(
            tool_name=_first_text(hints, "gen_ai.tool.name", "tool.name")
            or _first_text(tool_output, "name") or _text(obs.get("name"), at("name")) or None,
            tool_call_id=_first_text(hints, "gen_ai.tool.call.id", "tool_call.id")
            or _first_text(tool_output, "tool_call_id") or None,
            arguments=input_value if input_value is not None else maybe_json(
                hints.get("gen_ai.tool.call.arguments", hints.get("tool_arguments"))),
            result=output_value if output_value is not None else maybe_json(
                hints.get("gen_ai.tool.call.result", hints.get("tool_response"))))
    else:
        fields.update(input=input_value, output=output_value)
    if kind == StepKind.RETRIEVAL:
        fields["documents"] = _documents(output_value, hints)
    error = None
    if level == "ERROR":
        error = status_message if isinstance(status_message, str) else None
        attributes.pop("langfuse.statusMessage", None)
    name = _text(obs.get("name"), at("name"))
    return Step(
        id=step_id, kind=kind,
        name=name or fields.get("tool_name") or fields.get("model") or obs_type.lower(),
        parent_id=_text(obs.get("parentObservationId"), at("parentObservationId")) or None,
        start_ns=start, end_ns=end, status=Status.ERROR if level == "ERROR" else Status.UNSET,
        error=error or ("observation level ERROR" if level == "ERROR" else None),
        operation=operation or _first_text(hints, "gen_ai.operation.name") or None,
        cost=_cost(obs, where), attributes=attributes, raw=obs, **fields)


def _kind(obs_type: str, hints: dict[str, Any], output: Any) -> tuple[StepKind, str | None]:
    """The step kind of a type; generic spans take what their raw attributes say."""
    operation = "embeddings" if obs_type == "EMBEDDING" else None
    kind = _TYPE_KIND.get(obs_type, StepKind.CHAIN)
    if obs_type in ("SPAN", "CHAIN"):
        span_kind = hints.get("openinference.span.kind")
        op = hints.get("gen_ai.operation.name")
        if isinstance(span_kind, str) and span_kind.upper() in _SPAN_KIND_HINTS:
            kind = _SPAN_KIND_HINTS[span_kind.upper()]
            operation = "embeddings" if span_kind.upper() == "EMBEDDING" else None
        elif isinstance(op, str) and op in _OPERATION_KINDS:
            kind = _OPERATION_KINDS[op]
        elif isinstance(hints.get("gen_ai.agent.name"), str):
            kind = StepKind.AGENT
        elif isinstance(output, dict) and output.get("type") == "tool" \
                and "tool_call_id" in output:  # a LangChain ToolMessage: only tools make one
            kind = StepKind.TOOL_CALL
    return kind, operation


def _tokens(obs: dict[str, Any], where: str) -> dict[str, int | None]:
    """Token fields from ``usageDetails`` (else legacy ``usage``, else flat fields)."""
    details, key = obs.get("usageDetails"), "usageDetails"
    if not details:
        details, key = obs.get("usage"), "usage"
        if isinstance(details, dict):
            details = {k: details[k] for k in ("input", "output", "total") if k in details}
    if not details:
        key = ""
        details = {name: obs[flat] for name, flats in (
            ("input", ("inputUsage", "promptTokens")), ("output", ("outputUsage", "completionTokens")),
            ("total", ("totalUsage", "totalTokens"))) for flat in flats if obs.get(flat) is not None}
    if not isinstance(details, dict):
        raise InputError(f"expected an object, got {type(details).__name__}",
                         field=_join(where, key))
    counts: dict[str, int] = {}
    for name, value in details.items():
        try:
            count = to_int(value)
        except ValueError as exc:
            raise InputError(str(exc), field=_join(where, f"{key}.{name}" if key else name)) \
                from None
        if count is not None:
            counts[name] = count
    if not counts:
        return {}

    def part(names: tuple[str, ...]) -> int | None:
        found = [counts[n] for n in names if n in counts]
        return sum(found) if found else None

    total = counts.pop("total", None)
    additive = total is None or total == sum(counts.values())
    inputs = [v for n, v in counts.items() if n.startswith(("input", "prompt", "cache"))
              or n in _CACHE_READ + _CACHE_WRITE]
    outputs = [v for n, v in counts.items() if n.startswith(("output", "completion"))
               or n in _REASONING]
    return {
        "input_tokens": (sum(inputs) if inputs else None) if additive else counts.get("input"),
        "output_tokens": (sum(outputs) if outputs else None) if additive
        else counts.get("output"),
        "cached_input_tokens": part(_CACHE_READ),
        "cache_write_tokens": part(_CACHE_WRITE),
        "reasoning_tokens": part(_REASONING),
    }


def _cost(obs: dict[str, Any], where: str) -> Decimal | None:
    """The first positive stated cost; a zero means "no price matched" in Langfuse."""
    details = obs.get("costDetails")
    if details is not None and not isinstance(details, dict):
        raise InputError(f"expected an object, got {type(details).__name__}",
                         field=_join(where, "costDetails"))
    usage: Any = obs.get("usage") if isinstance(obs.get("usage"), dict) else {}
    parts: list[Decimal] = []
    candidates: list[tuple[str, Any]] = [(f"costDetails.{k}", v)
                                         for k, v in (details or {}).items()]
    candidates += [(k, obs.get(k)) for k in ("totalCost", "calculatedTotalCost")]
    candidates.append(("usage.totalCost", usage.get("totalCost")))
    found: Decimal | None = None
    for name, value in candidates:
        try:
            amount = to_decimal(value)
        except ValueError as exc:
            raise InputError(str(exc), field=_join(where, name)) from None
        if amount is None:
            continue
        if amount < 0:
            raise InputError(f"cost is negative ({amount})", field=_join(where, name))
        if name.startswith("costDetails.") and name != "costDetails.total":
            parts.append(amount)
        elif found is None and amount > 0:
            found = amount
    if found is None and sum(parts, Decimal(0)) > 0:
        found = sum(parts, Decimal(0))
    return found


def _documents(output: Any, hints: dict[str, Any]) -> tuple[DocumentRef, ...]:
    """Retrieved documents that carry an id (LangChain, LlamaIndex, OpenInference shapes)."""
    if isinstance(output, dict):
        output = next((output[k] for k in ("documents", "results", "nodes", "source_nodes")
                       if isinstance(output.get(k), list)), [output])
    items = list(output) if isinstance(output, list) else []
    flat: dict[int, dict[str, Any]] = {}
    for key, value in hints.items():
        head, _, rest = key.removeprefix("retrieval.documents.").partition(".document.")
        if key.startswith("retrieval.documents.") and head.isdigit():
            flat.setdefault(int(head), {})[rest] = value
    items += [flat[i] for i in sorted(flat)]
    documents = []
    for item in items:
        item = item.get("node", item) if isinstance(item, dict) else item
        if not isinstance(item, dict):
            continue
        meta: Any = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
        doc_id = next((v for k in ("id", "document_id", "doc_id", "node_id", "id_")
                       for v in (item.get(k), meta.get(k)) if isinstance(v, (str, int))
                       and not isinstance(v, bool) and v != ""), None)
        if doc_id is None:
            continue
        score = item.get("score", item.get("relevance_score", meta.get("score")))
        content = next((item[k] for k in ("page_content", "content", "text")
                        if isinstance(item.get(k), str)), None)
        title = item.get("title", meta.get("title"))
        documents.append(DocumentRef(
            id=str(doc_id), title=title if isinstance(title, str) else None,
            score=float(score) if isinstance(score, (int, float))
            and not isinstance(score, bool) else None,
            content=content, metadata=meta or None))
    return tuple(documents)


def _flatten_metadata(metadata: dict[str, Any], into: dict[str, Any], *, drop_io: bool) -> None:
    """Raw OTel attributes keep their names; resource and scope get prefixes; the
    user's own keys come last and step aside (``metadata.``) on a name clash."""
    attrs = metadata.get("attributes")
    if isinstance(attrs, dict):
        for key, value in attrs.items():
            if not (drop_io and key in ("input.value", "output.value")):
                into[key] = value
    for group, prefix in (("resourceAttributes", "resource."), ("scope", "scope.")):
        if isinstance(metadata.get(group), dict):
            into.update((prefix + k, v) for k, v in metadata[group].items())
    for key, value in metadata.items():
        if key in ("attributes", "resourceAttributes", "scope") \
                and isinstance(value, dict):
            continue
        into["metadata." + key if key in into else key] = value


def _first_text(values: Any, *keys: str) -> str:
    if not isinstance(values, dict):
        return ""
    return next((v for k in keys if isinstance(v := values.get(k), str) and v), "")


def _decoded(value: Any) -> Any:
    """UI downloads write trace metadata, input and output as JSON text: decode it."""
    if isinstance(value, str) and value.strip()[:1] in ('{', '[', '"'):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}
