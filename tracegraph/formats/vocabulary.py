"""Span attributes to :class:`~tracegraph.model.Step` fields, once, for both vocabularies.

Two attribute vocabularies describe the same model calls, tool calls and
retrievals: the OpenTelemetry GenAI semantic conventions (``gen_ai.*``, current
and deprecated names) and OpenInference (``openinference.span.kind``,
``llm.*``, flattened ``llm.input_messages.0.message.role`` keys).  Every span
reader (OTLP/JSON, span-record exports) decodes its container and calls
:func:`step_from_span`, so a rule such as "the response model wins over the
request model" holds in one place.

This module decides which attribute means which field; the shapes within a
field have modules of their own: messages (:mod:`.messages`), retrieved
documents (:mod:`.documents`), flattened lists (:mod:`.flattened`), token
counts and cost (:mod:`.typed_attributes`, :mod:`.usage`).

Nothing is dropped: an attribute that no field took stays in
``Step.attributes``; an alias that lost to a preferred name stays too when its
value differs (``gen_ai.request.model`` when the response model differs).

The mapping runs once per span on the import's hot path: one pass over the
attribute keys sorts them into known / flattened-list / other, and only known
keys get any further work.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

from ..model import Status, Step, StepKind
from .documents import span_documents
from .flattened import INDEXED_PREFIXES, Indexed, flatten_attributes
from .messages import span_messages
from .typed_attributes import FIELD_CONVERTERS, FIELD_TYPES, attribute_text
from .usage import priced
from .values import MAX_COUNT, maybe_json

__all__ = [
    "SpanEvent",
    "step_from_span",
    "status_from_code",
    "session_id_of",
    "agent_name_of",
    "trace_attributes_of",
    "flatten_attributes",
    "OPENINFERENCE_KINDS",
]


class SpanEvent(NamedTuple):
    """A span event as both readers decode it."""

    name: str
    time_ns: int | None
    attributes: dict[str, Any]


_K = StepKind
_OPERATION_KIND: dict[str, StepKind] = {
    "chat": _K.LLM, "text_completion": _K.LLM, "generate_content": _K.LLM,
    "embeddings": _K.LLM, "retrieval": _K.RETRIEVAL, "execute_tool": _K.TOOL_CALL,
    "invoke_agent": _K.AGENT, "create_agent": _K.AGENT, "invoke_workflow": _K.CHAIN,
}
OPENINFERENCE_KINDS: dict[str, StepKind] = {
    "LLM": _K.LLM, "EMBEDDING": _K.LLM, "RETRIEVER": _K.RETRIEVAL,
    "RERANKER": _K.RETRIEVAL, "TOOL": _K.TOOL_CALL, "AGENT": _K.AGENT,
    "CHAIN": _K.CHAIN, "GUARDRAIL": _K.CHAIN, "EVALUATOR": _K.CHAIN,
    "UNKNOWN": _K.CHAIN, "PROMPT": _K.CONTEXT,
}
# span kinds whose meaning the step kind keeps whole; the others stay as attributes
_LOSSLESS_OI_KINDS = frozenset({"LLM", "RETRIEVER", "TOOL", "AGENT", "CHAIN"})

_STATUS_BY_CODE: dict[Any, Status] = {
    0: Status.UNSET, 1: Status.OK, 2: Status.ERROR,
    "0": Status.UNSET, "1": Status.OK, "2": Status.ERROR,
    "STATUS_CODE_UNSET": Status.UNSET, "STATUS_CODE_OK": Status.OK,
    "STATUS_CODE_ERROR": Status.ERROR, "UNSET": Status.UNSET, "OK": Status.OK,
    "ERROR": Status.ERROR, "unset": Status.UNSET, "ok": Status.OK, "error": Status.ERROR,
    None: Status.UNSET, "": Status.UNSET,
}

# Alias groups, preferred name first.
_MODEL = ("gen_ai.response.model", "gen_ai.request.model", "llm.response.model_name",
          "llm.model_name", "llm.request.model_name", "embedding.model_name",
          "reranker.model_name")
_PROVIDER = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
_INPUT_TOKENS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens",
                 "llm.token_count.prompt")
_OUTPUT_TOKENS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens",
                  "llm.token_count.completion")
_CACHE_READ = ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens",
               "llm.token_count.prompt_details.cache_read")
_CACHE_WRITE = ("gen_ai.usage.cache_creation.input_tokens",
                "gen_ai.usage.cache_creation_input_tokens",
                "llm.token_count.prompt_details.cache_write")
_REASONING = ("gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens",
              "llm.token_count.completion_details.reasoning")
_COST = ("gen_ai.usage.cost", "llm.cost.total")
_TOOL_NAME = ("gen_ai.tool.name", "tool.name")
_TOOL_CALL_ID = ("gen_ai.tool.call.id", "tool_call.id", "tool.id")
_SINGLES = ("gen_ai.operation.name", "openinference.span.kind", "error.type",
            "gen_ai.tool.call.arguments", "gen_ai.tool.call.result",
            "gen_ai.retrieval.documents", "gen_ai.retrieval.query.text",
            "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
            "gen_ai.prompt", "gen_ai.completion", "input.value", "input.mime_type",
            "output.value", "output.mime_type")
_SINGLE_KEYS = frozenset(_SINGLES)
_ALIAS_GROUPS: dict[str, tuple[str, ...]] = {
    "model": _MODEL, "provider": _PROVIDER, "input_tokens": _INPUT_TOKENS,
    "output_tokens": _OUTPUT_TOKENS, "cached_input_tokens": _CACHE_READ,
    "cache_write_tokens": _CACHE_WRITE, "reasoning_tokens": _REASONING, "cost": _COST,
    "tool_name": _TOOL_NAME, "tool_call_id": _TOOL_CALL_ID,
}
_ALIAS: dict[str, tuple[str, int]] = {
    key: (field, rank) for field, keys in _ALIAS_GROUPS.items()
    for rank, key in enumerate(keys)}
"""Attribute key → (Step field, preference rank; 0 wins)."""

def status_from_code(code: Any) -> Status:
    """A span status from OTLP's numeric code, its enum name, or Phoenix's ``OK``/``ERROR``."""
    try:
        return _STATUS_BY_CODE[code]
    except (KeyError, TypeError):
        raise ValueError(f"unknown status code {code!r}") from None


def session_id_of(attributes: dict[str, Any]) -> str | None:
    """The session a span belongs to: OpenInference ``session.id`` or ``gen_ai.conversation.id``."""
    value = attributes.get("session.id") or attributes.get("gen_ai.conversation.id")
    return str(value) if value not in (None, "") else None


def agent_name_of(attributes: dict[str, Any]) -> str | None:
    """The agent a span names (GenAI ``gen_ai.agent.name``, OpenInference ``agent.name``)."""
    value = attributes.get("gen_ai.agent.name") or attributes.get("agent.name")
    return value if isinstance(value, str) and value else None


_Found = tuple[int, str, Any]
"""(rank, attribute key, value) of the best alias seen so far for a field."""


def _keep_losers(found: dict[str, _Found], losers: list[_Found],
                 rest: dict[str, Any]) -> None:
    """Aliases that lost keep their place in the attributes when they say something else."""
    for _, key, value in losers:
        if found[_ALIAS[key][0]][2] != value:
            rest[key] = value


def _content(known: dict[str, Any], value_key: str, mime_key: str) -> Any:
    """``input.value`` / ``output.value``, decoded when its mime type says JSON."""
    value = known.pop(value_key)
    mime = known.pop(mime_key, None)
    if isinstance(mime, str) and "json" in mime:
        return maybe_json(value)
    return value


def step_from_span(*, span_id: str, parent_id: str | None, name: str,
                   start_ns: int | None, end_ns: int | None, status: Status,
                   status_message: str | None, attributes: dict[str, Any],
                   events: Sequence[SpanEvent] = (), raw: Any = None) -> Step:
    """One :class:`Step` from a decoded span, in either vocabulary.

    ``attributes`` is a flat map (dotted keys, decoded values); it is not
    modified.  Raises :class:`InputError` whose ``field`` is the attribute key
    when a value cannot be read (``gen_ai.usage.input_tokens: "abc"``).
    """
    known: dict[str, Any] = {}
    found: dict[str, _Found] = {}
    losers: list[_Found] = []
    rest: dict[str, Any] = {}
    indexed: Indexed = {}
    for key, value in attributes.items():
        role = _ROLES.get(key) or _role(key)
        if role is _OTHER:
            rest[key] = value
        elif role.__class__ is tuple:
            if value is None:
                rest[key] = value
                continue
            field, rank = role
            current = found.get(field)
            if current is None:
                found[field] = (rank, key, value)
            elif rank < current[0]:
                losers.append(current)
                found[field] = (rank, key, value)
            else:
                losers.append((rank, key, value))
        elif role is _SINGLE:
            known[key] = value
        else:
            indexed.setdefault(role, []).append((key[len(role):], value))
    if losers:
        _keep_losers(found, losers, rest)

    fields: dict[str, Any] = {"id": span_id, "name": name, "parent_id": parent_id,
                              "start_ns": start_ns, "end_ns": end_ns, "raw": raw,
                              "attributes": rest}
    for field, (_, key, value) in found.items():
        cls = value.__class__
        if cls is FIELD_TYPES[field] and (
                cls is str or (cls is int and 0 <= value <= MAX_COUNT)):
            fields[field] = value  # already the right type: the common case
        else:
            fields[field] = FIELD_CONVERTERS[field](key, value)
    if "cost" in fields:  # a stated $0 on a call that used tokens is unpriced, not free
        fields["cost"] = priced(fields["cost"], input_tokens=fields.get("input_tokens"),
                                output_tokens=fields.get("output_tokens"))
    kind = None
    error_type = None
    if known:
        kind = _kind(known, fields, rest)
        if "error.type" in known:
            error_type = attribute_text("error.type", known.pop("error.type"))
            if error_type is not None and status == Status.UNSET:
                status = Status.ERROR
    if known or indexed:
        _content_fields(known, indexed, fields, kind, span_id)
    fields["kind"] = kind or _infer_kind(fields)
    error = status_message or None
    if error is not None and status != Status.ERROR:
        rest["otel.status_description"] = error
        error = None
    if events:
        error_type, error = _read_events(events, fields, rest, status, error_type, error)
    if status is not Status.UNSET:
        fields["status"] = status
    if error_type is not None:
        fields["error_type"] = error_type
    if error is not None:
        fields["error"] = error
    if known:
        rest.update(known)
    for prefix, items in indexed.items():
        for suffix, value in items:
            rest[prefix + suffix] = value
    return Step(**fields)


def _kind(known: dict[str, Any], fields: dict[str, Any],
          rest: dict[str, Any]) -> StepKind | None:
    """The kind the span states: GenAI operation name first, then OpenInference span kind."""
    operation = known.pop("gen_ai.operation.name", None)
    kind = None
    if operation is not None:
        operation = fields["operation"] = attribute_text("gen_ai.operation.name", operation)
        kind = _OPERATION_KIND.get(operation) if operation else None
    oi_kind_raw = known.pop("openinference.span.kind", None)
    if oi_kind_raw is not None:
        oi_kind = oi_kind_raw.upper() if isinstance(oi_kind_raw, str) else None
        oi_step_kind = OPENINFERENCE_KINDS.get(oi_kind) if oi_kind else None
        kind = kind or oi_step_kind
        if oi_kind not in _LOSSLESS_OI_KINDS or kind != oi_step_kind:
            rest["openinference.span.kind"] = oi_kind_raw
        if operation is None and oi_kind == "EMBEDDING":
            fields["operation"] = "embeddings"
    return kind



def _content_fields(known: dict[str, Any], indexed: Indexed,
                    fields: dict[str, Any], kind: StepKind | None, span_id: str) -> None:
    """Documents, tool arguments and results, inputs and outputs."""
    documents = span_documents(known, indexed, span_id)
    if documents:
        fields["documents"] = documents
    if "gen_ai.tool.call.arguments" in known:
        fields["arguments"] = maybe_json(known.pop("gen_ai.tool.call.arguments"))
    if "gen_ai.tool.call.result" in known:
        fields["result"] = maybe_json(known.pop("gen_ai.tool.call.result"))
    input_value, output_value = span_messages(known, indexed)
    if kind == StepKind.TOOL_CALL:
        if "arguments" not in fields and "input.value" in known:
            fields["arguments"] = _content(known, "input.value", "input.mime_type")
        if "result" not in fields and "output.value" in known:
            fields["result"] = _content(known, "output.value", "output.mime_type")
    if input_value is None and "gen_ai.retrieval.query.text" in known:
        input_value = known.pop("gen_ai.retrieval.query.text")
    if input_value is None and "input.value" in known:
        input_value = _content(known, "input.value", "input.mime_type")
    if output_value is None and "output.value" in known:
        output_value = _content(known, "output.value", "output.mime_type")
    if input_value is not None:
        fields["input"] = input_value
    if output_value is not None:
        fields["output"] = output_value


def _read_events(events: Sequence[SpanEvent], fields: dict[str, Any], rest: dict[str, Any],
                 status: Status, error_type: str | None,
                 error: str | None) -> tuple[str | None, str | None]:
    """Exceptions fill in a failed span's error; content events its input and output.

    Events no field took are kept in the attributes as ``events``.
    """
    kept: list[dict[str, Any]] = []
    for event in events:
        consumed = False
        if event.name == "exception" and status == Status.ERROR:
            error_type = error_type or attribute_text(
                "exception.type", event.attributes.get("exception.type"))
            error = error or attribute_text(
                "exception.message", event.attributes.get("exception.message"))
        elif event.name in _CONTENT_EVENTS:
            consumed = _content_event(event, fields)
        if not consumed:
            kept.append({"name": event.name, "time_ns": event.time_ns,
                         "attributes": event.attributes})
    if kept and "events" not in rest:
        rest["events"] = kept
    return error_type, error


_OTHER = "other"
_SINGLE = "single"
_ROLES: dict[str, Any] = {}
"""Attribute key → its role: ``_OTHER``, ``_SINGLE``, an alias ``(field, rank)``, or the
prefix of a flattened list.  Filled as keys are met; instrumentations repeat a
small set of keys, so this replaces three tests per attribute with one lookup."""
_ROLES_LIMIT = 50_000


def _role(key: str) -> Any:
    role: Any = _ALIAS.get(key)
    if role is None:
        role = _SINGLE if key in _SINGLE_KEYS else _OTHER
        if role is _OTHER and key.startswith(INDEXED_PREFIXES):
            for prefix in INDEXED_PREFIXES:
                if key.startswith(prefix) and key[len(prefix):len(prefix) + 1].isdigit():
                    role = prefix
                    break
    if len(_ROLES) < _ROLES_LIMIT:
        _ROLES[key] = role
    return role


def _infer_kind(fields: dict[str, Any]) -> StepKind:
    """A kind for spans that state none: what their attributes describe."""
    if "model" in fields or "input_tokens" in fields or "output_tokens" in fields:
        return StepKind.LLM
    if "tool_name" in fields or "tool_call_id" in fields:
        return StepKind.TOOL_CALL
    if "documents" in fields:
        return StepKind.RETRIEVAL
    return StepKind.CHAIN


_CONTENT_EVENTS = frozenset({"gen_ai.content.prompt", "gen_ai.content.completion",
                             "gen_ai.client.inference.operation.details"})


def _content_event(event: SpanEvent, fields: dict[str, Any]) -> bool:
    """Older instrumentations put prompts and completions on span events."""
    attrs = event.attributes
    consumed = False
    if "input" not in fields:
        for key in ("gen_ai.input.messages", "gen_ai.prompt"):
            if key in attrs:
                fields["input"], consumed = maybe_json(attrs[key]), True
                break
    if "output" not in fields:
        for key in ("gen_ai.output.messages", "gen_ai.completion"):
            if key in attrs:
                fields["output"], consumed = maybe_json(attrs[key]), True
                break
    return consumed


_NOT_SEGMENTS = ("events",)


def trace_attributes_of(root: Step, resource: dict[str, Any] | None = None) -> dict[str, Any]:
    """A trace's attributes in span formats: the resource's, then the root span's own.

    OpenTelemetry has no trace-level attributes; users put what describes the
    run (``claim.type``, ``ticket.priority``) on the root span, and the
    resource says where it ran.  Attributes the vocabulary consumed into Step
    fields are not among ``root.attributes``; tracegraph's own directives
    (``tracegraph.outcome``) are not segments and are left out.
    """
    attributes = dict(resource or {})
    for key, value in root.attributes.items():
        if key not in _NOT_SEGMENTS and not key.startswith("tracegraph."):
            attributes[key] = value
    return attributes
