"""Langfuse trace exports: a trace and its observations, as the UI and the API give them.

Shapes (each a JSON document, array element or JSONL line): ``{"trace", "observations"}``
(the UI download merged with its log view), ``{"traces", "observations"}``, the
``GET /api/public/traces/{id}`` trace with embedded ``observations``, and bare
observations, grouped by ``traceId`` across the file.  An export is complete, so
each trace is emitted whole and checked as a tree: a duplicate id, a cycle or a
parent missing from the export rejects that trace with one :class:`InputError`
naming the field (``observations[4].startTime``); other traces still come through.
Langfuse counts usage types additively (``input`` excludes cache reads, priced
apart) while a :class:`Step` counts all input tokens, cached ones included, so the
parts are added back.  A zero cost is Langfuse's "no price matched", not "free".
Mapping: ``docs/formats/langfuse.md``.
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

_TYPE_KIND = {"GENERATION": StepKind.LLM, "EMBEDDING": StepKind.LLM, "TOOL": StepKind.TOOL_CALL,
              "RETRIEVER": StepKind.RETRIEVAL, "AGENT": StepKind.AGENT, "EVENT": StepKind.EVENT,
              **dict.fromkeys(("SPAN", "CHAIN", "GUARDRAIL", "EVALUATOR"), StepKind.CHAIN)}
OBSERVATION_TYPES = frozenset(_TYPE_KIND)
_LEVELS = ("DEBUG", "DEFAULT", "WARNING", "ERROR")
# What a generic span's raw attributes say it really was (OpenInference, OTel GenAI).
_SPAN_KINDS = {"LLM": StepKind.LLM, "EMBEDDING": StepKind.LLM, "TOOL": StepKind.TOOL_CALL,
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
_FLAT_USAGE = (("input", "promptTokens"), ("output", "completionTokens"),
               ("total", "totalTokens"), ("input", "inputUsage"), ("output", "outputUsage"),
               ("total", "totalUsage"))
_CONSUMED = frozenset({"id", "traceId", "parentObservationId", "name", "startTime",
                       "endTime", "model", "input", "output", "metadata"})


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
    for record in records:
        if isinstance(record, InputError):
            yield record
            continue
        try:
            value = record.decode()
        except orjson.JSONDecodeError as exc:
            yield InputError(f"invalid JSON: {exc}", source=source, record=record.label)
            continue
        items = enumerate(value) if isinstance(value, list) else [(None, value)]
        for k, item in items:
            prefix = "" if k is None else f"[{k}]"
            try:
                if not isinstance(item, dict):
                    raise InputError("expected a Langfuse export or observation object, got "
                                     f"{type(item).__name__}", field=prefix)
                if "traceId" in item and "type" in item \
                        and not {"observations", "trace", "traces"} & item.keys():
                    trace_id = _text(item.get("traceId"), _join(prefix, "traceId"), True)
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


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


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
    """Split one export object into per-trace groups; shape faults reject the record."""
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
            raise InputError("expected a list of observations", field=where)
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
                group.fault = InputError(f"trace {trace_id!r} is not among this export's "
                                         "traces", field=_join(path, "traceId"))
            elif trace_id and trace_id != group.trace_id:
                group.fault = group.fault or InputError(
                    f"observation belongs to trace {trace_id!r}, not {group.trace_id!r}",
                    field=_join(path, "traceId"))
            group.observations.append((label, path, obs))

    if "traces" in item:
        traces = item["traces"]
        if not isinstance(traces, list):
            raise InputError("expected a list", field=_join(prefix, "traces"))
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
            steps.append(_step(obs, path))
        ids = {s.id for s in steps}
        problems = structure_problems(steps) + [
            (i, "parentObservationId", f"no observation {s.parent_id!r} in this trace")
            for i, s in enumerate(steps) if s.parent_id and s.parent_id not in ids]
        if problems:
            i, name, message = min(problems)
            record, path, _ = group.observations[i]
            name = {"parent_id": "parentObservationId"}.get(name, name)
            more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
            raise InputError(message + more, field=_join(path, name))
        return _trace(group, tuple(steps))
    except InputError as exc:
        return InputError(f"{exc.message} (trace {group.trace_id!r})", source=source,
                          record=exc.record or record, field=exc.field,
                          trace_id=group.trace_id)


def _trace(group: _Group, steps: tuple[Step, ...]) -> Trace:
    trace = group.trace or {}
    attributes: dict[str, Any] = {}
    _flatten_metadata(_decoded(trace.get("metadata")), attributes,
                      drop_io=trace.get("input") is not None)
    for key, value in trace.items():
        if key not in ("id", "name", "sessionId", "metadata", "observations") \
                and not _empty(value):
            attributes[f"langfuse.{key}"] = _decoded(value)
    workflow = _text(trace.get("name"), "name") or _first_text(attributes, "workflow")
    stated = _first_text(attributes, "outcome").lower()
    outcome = Outcome(stated) if stated in {o.value for o in Outcome} else None
    return Trace(id=group.trace_id, source_format=NAME, steps=steps, partial=False,
                 workflow=workflow or None, outcome=outcome,
                 outcome_reason=_first_text(attributes, "outcome_reason") or None
                 if outcome else None, attributes=attributes,
                 session_id=_text(trace.get("sessionId"), "sessionId") or None)


def _step(obs: dict[str, Any], where: str) -> Step:
    """One observation as a step; raises InputError naming the field under ``where``."""
    def at(name: str) -> str:
        return _join(where, name)
    step_id = _text(obs.get("id"), at("id"), True)
    obs_type = _text(obs.get("type"), at("type"), True).upper()
    level = _text(obs.get("level"), at("level")).upper() or "DEFAULT"
    if level not in _LEVELS:
        raise InputError(f"unknown level {obs.get('level')!r}; expected one of "
                         f"{', '.join(_LEVELS)}", field=at("level"))
    times: list[int | None] = []
    for key in ("startTime", "endTime"):
        try:
            times.append(time_ns(obs.get(key)))
        except ValueError as exc:
            raise InputError(str(exc), field=at(key)) from None
    start, end = times
    if start is not None and end is not None and end < start:
        raise InputError("endTime is before startTime", field=at("endTime"))
    attributes = {f"langfuse.{k}": v for k, v in obs.items()
                  if k not in _CONSUMED and not _empty(v)}
    metadata = _decoded(obs.get("metadata"))
    _flatten_metadata(metadata, attributes, drop_io=False)
    hints = metadata.get("attributes") if isinstance(metadata, dict) else None
    hints = hints if isinstance(hints, dict) else {}
    # OpenInference copies input/output into its attributes; ADK's tool spans have
    # them only there (their own are ``{}``).  Keep one copy.
    values = []
    for key in ("input", "output"):
        own, copy = obs.get(key), hints.get(f"{key}.value")
        if copy is not None and (_empty(own) or own == maybe_json(copy)):
            attributes.pop(f"{key}.value", None)
        values.append(maybe_json(copy if _empty(own) and copy is not None else own))
    input_value, output_value = values
    kind, operation = _kind(obs_type, hints, output_value)
    fields: dict[str, Any] = _tokens(obs, where)
    if kind != StepKind.LLM and not any(fields.values()):
        fields = {}  # Langfuse zeroes usage on spans; zero there is "none"
    if kind == StepKind.LLM:
        fields.update(
            model=_text(obs.get("model"), at("model")) or _first_text(
                hints, "gen_ai.response.model", "gen_ai.request.model", "llm.model_name")
            or _first_text(metadata, "ls_model_name") or None,
            provider=(_first_text(hints, "gen_ai.provider.name", "llm.provider",
                                  "gen_ai.system", "llm.system")
                      or _first_text(metadata, "ls_provider")).lower() or None)
    if kind == StepKind.TOOL_CALL:
        out = output_value if isinstance(output_value, dict) else {}
        fields.update(
            tool_name=_first_text(hints, "gen_ai.tool.name", "tool.name")
            or _first_text(out, "name") or _text(obs.get("name"), at("name")) or None,
            tool_call_id=_first_text(hints, "gen_ai.tool.call.id", "tool_call.id")
            or _first_text(out, "tool_call_id") or None,
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
        message = attributes.pop("langfuse.statusMessage", None)
        error = message if isinstance(message, str) else "observation level ERROR"
    return Step(
        id=step_id, kind=kind, name=_text(obs.get("name"), at("name"))
        or fields.get("tool_name") or fields.get("model") or obs_type.lower(),
        parent_id=_text(obs.get("parentObservationId"), at("parentObservationId")) or None,
        start_ns=start, end_ns=end, status=Status.ERROR if error else Status.UNSET,
        error=error, operation=operation or _first_text(hints, "gen_ai.operation.name") or None,
        cost=_cost(obs, where), attributes=attributes, raw=obs, **fields)


def _kind(obs_type: str, hints: dict[str, Any], output: Any) -> tuple[StepKind, str | None]:
    """The kind of an observation type; generic spans take what their attributes say."""
    kind = _TYPE_KIND.get(obs_type, StepKind.CHAIN)
    operation = "embeddings" if obs_type == "EMBEDDING" else None
    if obs_type in ("SPAN", "CHAIN"):
        span_kind = str(hints.get("openinference.span.kind", "")).upper()
        op = hints.get("gen_ai.operation.name")
        if span_kind in _SPAN_KINDS:
            kind = _SPAN_KINDS[span_kind]
            operation = "embeddings" if span_kind == "EMBEDDING" else None
        elif isinstance(op, str) and op in _OPERATION_KINDS:
            kind = _OPERATION_KINDS[op]
        elif isinstance(hints.get("gen_ai.agent.name"), str):
            kind = StepKind.AGENT
        elif isinstance(output, dict) and output.get("type") == "tool" \
                and "tool_call_id" in output:  # a LangChain ToolMessage: only tools make one
            kind = StepKind.TOOL_CALL
    return kind, operation


def _tokens(obs: dict[str, Any], where: str) -> dict[str, Any]:
    """Token fields from ``usageDetails``, else the legacy ``usage``, else flat fields."""
    details, key = obs.get("usageDetails"), "usageDetails."
    if not details:
        details, key = obs.get("usage"), "usage."
        if isinstance(details, dict):
            details = {k: details[k] for k in ("input", "output", "total") if k in details}
    if not details:
        details, key = {name: obs[flat] for name, flat in _FLAT_USAGE
                        if obs.get(flat) is not None}, ""
    if not isinstance(details, dict):
        raise InputError("expected an object", field=_join(where, key.rstrip(".")))
    counts: dict[str, int] = {}
    for name, value in details.items():
        try:
            count = to_int(value)
        except ValueError as exc:
            raise InputError(str(exc), field=_join(where, key + name)) from None
        if count is not None:
            counts[name] = count
    if not counts:
        return {}

    def part(names: tuple[str, ...], prefixes: tuple[str, ...] = ()) -> int | None:
        found = [v for n, v in counts.items() if n in names or n.startswith(prefixes)]
        return sum(found) if found else None

    # A stated total equal to the sum of every type means the types are disjoint parts
    # (Langfuse's own rule); otherwise ``input``/``output`` already hold the whole.
    total = counts.pop("total", None)
    additive = total is None or total == sum(counts.values())
    return {"input_tokens": part(_CACHE_READ + _CACHE_WRITE, ("input", "prompt", "cache"))
            if additive else counts.get("input"),
            "output_tokens": part(_REASONING, ("output", "completion"))
            if additive else counts.get("output"),
            "cached_input_tokens": part(_CACHE_READ), "cache_write_tokens": part(_CACHE_WRITE),
            "reasoning_tokens": part(_REASONING)}


def _cost(obs: dict[str, Any], where: str) -> Decimal | None:
    """The first positive stated total (else the sum of the parts); zero is not a price."""
    details, usage = obs.get("costDetails") or {}, obs.get("usage")
    if not isinstance(details, dict):
        raise InputError("expected an object", field=_join(where, "costDetails"))
    candidates = [(f"costDetails.{k}", v) for k, v in details.items()]
    candidates += [(k, obs.get(k)) for k in ("totalCost", "calculatedTotalCost")]
    candidates += [("usage.totalCost", usage.get("totalCost"))] \
        if isinstance(usage, dict) else []
    found, parts = None, Decimal(0)
    for name, value in candidates:
        try:
            amount = to_decimal(value)
        except ValueError as exc:
            raise InputError(str(exc), field=_join(where, name)) from None
        if amount is not None and amount < 0:
            raise InputError(f"cost is negative ({amount})", field=_join(where, name))
        if amount is None or amount == 0:
            continue
        if name.startswith("costDetails.") and name != "costDetails.total":
            parts += amount
        elif found is None:
            found = amount
    return found if found is not None else (parts or None)


def _documents(output: Any, hints: dict[str, Any]) -> tuple[DocumentRef, ...]:
    """Retrieved documents that carry an id (LangChain, LlamaIndex, OpenInference shapes)."""
    if isinstance(output, dict):
        output = next((output[k] for k in ("documents", "results", "nodes", "source_nodes")
                       if isinstance(output.get(k), list)), [output])
    items = list(output) if isinstance(output, list) else []
    flat: dict[int, dict[str, Any]] = {}  # retrieval.documents.0.document.id, ...
    for key, value in hints.items():
        head, _, rest = key.removeprefix("retrieval.documents.").partition(".document.")
        if key.startswith("retrieval.documents.") and head.isdigit():
            flat.setdefault(int(head), {})[rest] = value
    documents = []
    for item in items + [flat[i] for i in sorted(flat)]:
        item = item.get("node", item) if isinstance(item, dict) else item
        if not isinstance(item, dict):
            continue
        meta: Any = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
        doc_id = next((v for k in ("id", "document_id", "doc_id", "node_id", "id_")
                       for v in (item.get(k), meta.get(k))
                       if isinstance(v, (str, int)) and not isinstance(v, bool) and v != ""),
                      None)
        if doc_id is None:
            continue
        score = item.get("score", item.get("relevance_score", meta.get("score")))
        title = item.get("title", meta.get("title"))
        documents.append(DocumentRef(
            id=str(doc_id), title=title if isinstance(title, str) else None,
            score=float(score) if isinstance(score, (int, float))
            and not isinstance(score, bool) else None,
            content=_first_text(item, "page_content", "content", "text") or None,
            metadata=meta or None))
    return tuple(documents)


def _flatten_metadata(metadata: Any, into: dict[str, Any], *, drop_io: bool) -> None:
    """Raw OTel attributes keep their names, resource and scope get prefixes, and the
    user's own keys come last, stepping aside (``metadata.``) on a clash."""
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        metadata = {"metadata": metadata}
    for group, prefix in (("attributes", ""), ("resourceAttributes", "resource."),
                          ("scope", "scope.")):
        if isinstance(metadata.get(group), dict):
            into.update((prefix + k, v) for k, v in metadata[group].items()
                        if not (drop_io and k in ("input.value", "output.value")))
    for key, value in metadata.items():
        if not (key in ("attributes", "resourceAttributes", "scope") and isinstance(value, dict)):
            into["metadata." + key if key in into else key] = value


def _first_text(values: Any, *keys: str) -> str:
    found = (values.get(k) for k in keys) if isinstance(values, dict) else ()
    return next((v for v in found if isinstance(v, str) and v), "")


def _decoded(value: Any) -> Any:
    """UI downloads write trace metadata, input and output as JSON text: decode it."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "[", '"'):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}
