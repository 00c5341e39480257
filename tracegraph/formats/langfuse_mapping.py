"""What each Langfuse field becomes: an observation as a Step, a trace's fields as attributes.

The observation ``type`` decides the kind, and a generic ``SPAN`` takes what
its raw OpenTelemetry attributes (``metadata.attributes``) say it was.  Tokens
come from ``usageDetails`` (else the legacy ``usage``, else flat fields):
Langfuse counts usage types additively (``input`` excludes cache reads, priced
apart) while a :class:`~tracegraph.model.Step` counts all input tokens, so the
parts are added back by :func:`~.usage.whole_tokens`.  A zero cost is
Langfuse's "no price matched", not "free", so a zero is never a cost here.
Retrieved documents are kept when they carry an id.  Metadata is flattened
into the attributes.  A value that cannot be read raises an
:class:`~tracegraph.errors.InputError` naming the field
(``observations[4].startTime``).  Mapping: ``docs/formats/langfuse.md``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from ..errors import InputError
from ..model import DocumentRef, Status, Step, StepKind
from .documents import first_document_id, numeric_score
from .usage import stated_cost, whole_tokens
from .values import maybe_json, time_ns, to_int

__all__ = ["OBSERVATION_TYPES", "observation_step", "trace_attributes", "text_field",
           "join_path", "first_text"]

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


def join_path(prefix: str, name: str) -> str:
    """The path of ``name`` within the object at ``prefix`` (``observations[4].startTime``)."""
    return f"{prefix}.{name}" if prefix else name


def text_field(value: Any, where: str, required: bool = False) -> str:
    """A string field; ``required`` ones must be present and non-empty."""
    if value is None or value == "":
        if required:
            raise InputError(f"{where.rsplit('.', 1)[-1]} is missing", field=where)
        return ""
    if not isinstance(value, str):
        raise InputError(f"expected a string, got {type(value).__name__}", field=where)
    return value


def trace_attributes(trace: dict[str, Any]) -> dict[str, Any]:
    """A trace object's metadata and its other fields (``langfuse.*``) as trace attributes."""
    attributes: dict[str, Any] = {}
    _flatten_metadata(_decoded(trace.get("metadata")), attributes,
                      drop_io=trace.get("input") is not None)
    for key, value in trace.items():
        if key not in ("id", "name", "sessionId", "metadata", "observations") \
                and not _empty(value):
            attributes[f"langfuse.{key}"] = _decoded(value)
    return attributes


def observation_step(obs: dict[str, Any], where: str) -> Step:
    """One observation as a step; raises InputError naming the field under ``where``."""
    def at(name: str) -> str:
        return join_path(where, name)
    step_id = text_field(obs.get("id"), at("id"), True)
    obs_type = text_field(obs.get("type"), at("type"), True).upper()
    level = text_field(obs.get("level"), at("level")).upper() or "DEFAULT"
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
            model=text_field(obs.get("model"), at("model")) or first_text(
                hints, "gen_ai.response.model", "gen_ai.request.model", "llm.model_name")
            or first_text(metadata, "ls_model_name") or None,
            provider=(first_text(hints, "gen_ai.provider.name", "llm.provider",
                                  "gen_ai.system", "llm.system")
                      or first_text(metadata, "ls_provider")).lower() or None)
    if kind == StepKind.TOOL_CALL:
        out = output_value if isinstance(output_value, dict) else {}
        fields.update(
            tool_name=first_text(hints, "gen_ai.tool.name", "tool.name")
            or first_text(out, "name") or text_field(obs.get("name"), at("name")) or None,
            tool_call_id=first_text(hints, "gen_ai.tool.call.id", "tool_call.id")
            or first_text(out, "tool_call_id") or None,
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
        id=step_id, kind=kind, name=text_field(obs.get("name"), at("name"))
        or fields.get("tool_name") or fields.get("model") or obs_type.lower(),
        parent_id=text_field(obs.get("parentObservationId"), at("parentObservationId")) or None,
        start_ns=start, end_ns=end, status=Status.ERROR if error else Status.UNSET,
        error=error, operation=operation or first_text(hints, "gen_ai.operation.name") or None,
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
        raise InputError("expected an object", field=join_path(where, key.rstrip(".")))
    counts: dict[str, int] = {}
    for name, value in details.items():
        try:
            count = to_int(value)
        except ValueError as exc:
            raise InputError(str(exc), field=join_path(where, key + name)) from None
        if count is not None:
            counts[name] = count
    if not counts:
        return {}

    def named(names: tuple[str, ...]) -> int | None:
        found = [v for n, v in counts.items() if n in names]
        return sum(found) if found else None

    def others(prefixes: tuple[str, ...], besides: tuple[str, ...]) -> int | None:
        found = [v for n, v in counts.items() if n.startswith(prefixes) and n not in besides]
        return sum(found) if found else None

    # A stated total equal to the sum of every type means the types are disjoint parts
    # (Langfuse's own rule); otherwise ``input``/``output`` already hold the whole.
    total = counts.pop("total", None)
    cache_read, cache_write, reasoning = named(_CACHE_READ), named(_CACHE_WRITE), \
        named(_REASONING)
    if total is not None and total != sum(counts.values()):
        return {"input_tokens": counts.get("input"), "output_tokens": counts.get("output"),
                "cached_input_tokens": cache_read, "cache_write_tokens": cache_write,
                "reasoning_tokens": reasoning}
    return whole_tokens(
        input_parts=others(("input", "prompt", "cache"), _CACHE_READ + _CACHE_WRITE),
        output_parts=others(("output", "completion"), _REASONING),
        cache_read=cache_read, cache_write=cache_write, reasoning=reasoning)


def _cost(obs: dict[str, Any], where: str) -> Decimal | None:
    """The first positive stated total (else the sum of the parts); zero is not a price."""
    details, usage = obs.get("costDetails") or {}, obs.get("usage")
    if not isinstance(details, dict):
        raise InputError("expected an object", field=join_path(where, "costDetails"))
    candidates = [(f"costDetails.{k}", v) for k, v in details.items()]
    candidates += [(k, obs.get(k)) for k in ("totalCost", "calculatedTotalCost")]
    candidates += [("usage.totalCost", usage.get("totalCost"))] \
        if isinstance(usage, dict) else []
    found, parts = None, Decimal(0)
    for name, value in candidates:
        try:
            amount = stated_cost(value)
        except ValueError as exc:
            raise InputError(str(exc), field=join_path(where, name)) from None
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
        doc_id = first_document_id(v for k in ("id", "document_id", "doc_id", "node_id", "id_")
                                   for v in (item.get(k), meta.get(k)))
        if doc_id is None:
            continue
        title = item.get("title", meta.get("title"))
        documents.append(DocumentRef(
            id=doc_id, title=title if isinstance(title, str) else None,
            score=numeric_score(item.get("score",
                                         item.get("relevance_score", meta.get("score")))),
            content=first_text(item, "page_content", "content", "text") or None,
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


def first_text(values: Any, *keys: str) -> str:
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
