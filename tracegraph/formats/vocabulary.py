"""Span attributes to :class:`~tracegraph.model.Step` fields, once, for both vocabularies.

Two attribute vocabularies describe the same model calls, tool calls and
retrievals: the OpenTelemetry GenAI semantic conventions (``gen_ai.*``, current
and deprecated names) and OpenInference (``openinference.span.kind``,
``llm.*``, flattened ``llm.input_messages.0.message.role`` keys).  Every span
reader (OTLP/JSON, span-record exports) decodes its container and calls
:func:`step_from_span`, so a rule such as "the response model wins over the
request model" holds in one place.

Messages are normalised to the GenAI message schema
(``{"role", "parts": [{"type": "text", "content"}, {"type": "tool_call", "id",
"name", "arguments"}, {"type": "tool_call_response", "id", "response"}]}``)
whichever vocabulary they came in, so the analyzer reads one shape.

Nothing is dropped: an attribute that no field took stays in
``Step.attributes``; an alias that lost to a preferred name stays too when its
value differs (``gen_ai.request.model`` when the response model differs).

The mapping runs once per span on the import's hot path: one pass over the
attribute keys sorts them into known / flattened-list / other, and only known
keys get any further work.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any, Callable, NamedTuple, Sequence

from ..errors import InputError
from ..model import DocumentRef, Status, Step, StepKind
from .values import maybe_json, to_decimal, to_int

__all__ = [
    "SpanEvent",
    "step_from_span",
    "status_from_code",
    "session_id_of",
    "agent_name_of",
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


# GenAI attributes of type ``any``: structured values, never flattened further.
_STRUCTURED = frozenset({
    "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
    "gen_ai.tool.call.arguments", "gen_ai.tool.call.result", "gen_ai.tool.definitions",
    "gen_ai.retrieval.documents", "gen_ai.memory.records", "gen_ai.response.finish_reasons",
    "gen_ai.request.stop_sequences", "gen_ai.request.encoding_formats",
    "gen_ai.tool_definitions.raw", "gen_ai.prompt", "gen_ai.completion",
    "input.value", "output.value", "metadata", "tag.tags",
})


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


def flatten_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """Nested attribute maps (Phoenix's ``{"llm": {"model_name": ..}}``) to dotted keys.

    Lists of objects are flattened with their index (``llm.input_messages.0.message.role``),
    the OpenInference wire form; GenAI ``any``-typed attributes (messages, tool
    arguments, retrieved documents) keep their structure.
    """
    if not any(type(v) is dict or type(v) is list for v in attributes.values()):
        return attributes
    flat: dict[str, Any] = {}
    _flatten_into(flat, "", attributes)
    return flat


def _flatten_into(flat: dict[str, Any], prefix: str, value: Any) -> None:
    if prefix in _STRUCTURED:
        flat[prefix] = value
    elif type(value) is dict and value:
        for key, item in value.items():
            _flatten_into(flat, f"{prefix}.{key}" if prefix else str(key), item)
    elif type(value) is list and value and prefix \
            and all(type(item) is dict for item in value):
        for index, item in enumerate(value):
            _flatten_into(flat, f"{prefix}.{index}", item)
    else:
        flat[prefix] = value


_Found = tuple[int, str, Any]
"""(rank, attribute key, value) of the best alias seen so far for a field."""


def _keep_losers(found: dict[str, _Found], losers: list[_Found],
                 rest: dict[str, Any]) -> None:
    """Aliases that lost keep their place in the attributes when they say something else."""
    for _, key, value in losers:
        if found[_ALIAS[key][0]][2] != value:
            rest[key] = value


def _count_field(key: str, value: Any) -> int | None:
    try:
        return to_int(value)
    except ValueError as exc:
        raise InputError(str(exc), field=key) from None


def _text(key: str | None, value: Any) -> str | None:
    if key is None or value is None:
        return None
    if isinstance(value, (dict, list)):
        raise InputError(f"expected a string, got {type(value).__name__}", field=key)
    return str(value)


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
    indexed: dict[str, list[tuple[str, Any]]] = {}
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
        if cls is _FIELD_TYPES[field] and (cls is str or (cls is int and value >= 0)):
            fields[field] = value  # already the right type: the common case
        else:
            fields[field] = _FIELD_CONVERTERS[field](key, value)
    kind = None
    error_type = None
    if known:
        kind = _kind(known, fields, rest)
        if "error.type" in known:
            error_type = _text("error.type", known.pop("error.type"))
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
        operation = fields["operation"] = _text("gen_ai.operation.name", operation)
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


def _content_fields(known: dict[str, Any], indexed: dict[str, list[tuple[str, Any]]],
                    fields: dict[str, Any], kind: StepKind | None, span_id: str) -> None:
    """Documents, tool arguments and results, inputs and outputs."""
    documents = _documents(known, indexed, span_id)
    if documents:
        fields["documents"] = documents
    if "gen_ai.tool.call.arguments" in known:
        fields["arguments"] = maybe_json(known.pop("gen_ai.tool.call.arguments"))
    if "gen_ai.tool.call.result" in known:
        fields["result"] = maybe_json(known.pop("gen_ai.tool.call.result"))
    input_value, output_value = _messages(known, indexed)
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
            error_type = error_type or _text("exception.type",
                                             event.attributes.get("exception.type"))
            error = error or _text("exception.message",
                                   event.attributes.get("exception.message"))
        elif event.name in _CONTENT_EVENTS:
            consumed = _content_event(event, fields)
        if not consumed:
            kept.append({"name": event.name, "time_ns": event.time_ns,
                         "attributes": event.attributes})
    if kept and "events" not in rest:
        rest["events"] = kept
    return error_type, error


def _cost(key: str, value: Any) -> Decimal | None:
    """An explicit cost in USD; negative or non-numeric costs are rejected."""
    try:
        cost = to_decimal(value)
    except ValueError as exc:
        raise InputError(str(exc), field=key) from None
    if cost is not None and cost < 0:
        raise InputError(f"a cost cannot be negative, got {cost}", field=key)
    return cost


_FIELD_CONVERTERS: dict[str, Callable[[str, Any], Any]] = {
    "model": _text, "provider": _text, "tool_name": _text, "tool_call_id": _text,
    "input_tokens": _count_field, "output_tokens": _count_field,
    "cached_input_tokens": _count_field, "cache_write_tokens": _count_field,
    "reasoning_tokens": _count_field, "cost": _cost,
}
_FIELD_TYPES: dict[str, type] = {
    "model": str, "provider": str, "tool_name": str, "tool_call_id": str,
    "input_tokens": int, "output_tokens": int, "cached_input_tokens": int,
    "cache_write_tokens": int, "reasoning_tokens": int, "cost": Decimal,
}
"""The type a field's value already has when no conversion is needed."""


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


def _documents(known: dict[str, Any], indexed: dict[str, list[tuple[str, Any]]],
               span_id: str) -> tuple[DocumentRef, ...]:
    if "gen_ai.retrieval.documents" in known:
        value = maybe_json(known["gen_ai.retrieval.documents"])
        if not isinstance(value, list):
            raise InputError(f"expected a list of documents, got {type(value).__name__}",
                             field="gen_ai.retrieval.documents")
        del known["gen_ai.retrieval.documents"]
        return document_refs(value, span_id=span_id, field="gen_ai.retrieval.documents")
    for prefix in ("retrieval.documents.", "reranker.output_documents."):
        if prefix in indexed:
            items, leftovers = unflatten(indexed.pop(prefix))
            if leftovers:
                indexed[prefix] = leftovers
            return oi_documents(items, span_id=span_id, field=prefix.rstrip("."))
    return ()


def _messages(known: dict[str, Any],
              indexed: dict[str, list[tuple[str, Any]]]) -> tuple[Any, Any]:
    """Input and output of a model call, in the GenAI message schema where possible."""
    input_value: Any = None
    output_value: Any = None
    if "gen_ai.input.messages" in known:
        input_value = maybe_json(known.pop("gen_ai.input.messages"))
    elif "llm.input_messages." in indexed:
        input_value = _rebuilt(indexed, "llm.input_messages.", oi_messages)
    elif "gen_ai.prompt." in indexed:
        input_value = _rebuilt(indexed, "gen_ai.prompt.", messages_from_indexed)
    elif "gen_ai.prompt" in known:
        input_value = maybe_json(known.pop("gen_ai.prompt"))
    elif "llm.prompts." in indexed:
        input_value = _rebuilt(indexed, "llm.prompts.", _texts("prompt.text"))
    if "gen_ai.output.messages" in known:
        output_value = maybe_json(known.pop("gen_ai.output.messages"))
    elif "llm.output_messages." in indexed:
        output_value = _rebuilt(indexed, "llm.output_messages.", oi_messages)
    elif "gen_ai.completion." in indexed:
        output_value = _rebuilt(indexed, "gen_ai.completion.", messages_from_indexed)
    elif "gen_ai.completion" in known:
        output_value = maybe_json(known.pop("gen_ai.completion"))
    elif "llm.choices." in indexed:
        output_value = _rebuilt(indexed, "llm.choices.", _texts("completion.text"))
    if "gen_ai.system_instructions" in known and (input_value is None
                                                  or isinstance(input_value, list)):
        instructions = maybe_json(known.pop("gen_ai.system_instructions"))
        parts = instructions if isinstance(instructions, list) else \
            [{"type": "text", "content": instructions}]
        input_value = [{"role": "system", "parts": parts}] + (input_value or [])
    return input_value, output_value


def _texts(field: str) -> Any:
    def convert(items: list[Any]) -> list[Any]:
        return [item.get(field) if isinstance(item, dict) else item for item in items]
    return convert


def _rebuilt(indexed: dict[str, list[tuple[str, Any]]], prefix: str, convert: Any) -> Any:
    items, leftovers = unflatten(indexed.pop(prefix))
    if leftovers:
        indexed[prefix] = leftovers
    return convert(items)


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


def derived_document_id(content: Any, *, span_id: str, index: int) -> str:
    """An id for a retrieved document that has none: its content's hash, else its place.

    The same passage retrieved by two traces is then one ``Document`` node.
    """
    if isinstance(content, str) and content:
        return "sha256:" + hashlib.sha256(content.encode()).hexdigest()[:16]
    return f"{span_id}#{index}"


# --- flattened lists (OpenInference, OpenLLMetry) and the message schema -------------

INDEXED_PREFIXES: tuple[str, ...] = (
    "llm.input_messages.", "llm.output_messages.", "retrieval.documents.",
    "reranker.output_documents.", "llm.prompts.", "llm.choices.",
    "gen_ai.prompt.", "gen_ai.completion.",
)


class _Node(dict[Any, Any]):
    """A container being rebuilt from flattened keys (as opposed to a leaf value)."""


def _segments(suffix: str) -> list[int | str]:
    """``0.message.tool_calls.1.tool_call.id`` → ``[0, "message.tool_calls", 1, "tool_call.id"]``."""
    out: list[int | str] = []
    name: list[str] = []
    for part in suffix.split("."):
        if part.isdigit():
            if name:
                out.append(".".join(name))
                name = []
            out.append(int(part))
        else:
            name.append(part)
    if name:
        out.append(".".join(name))
    return out


def unflatten(items: list[tuple[str, Any]]) -> tuple[list[Any], list[tuple[str, Any]]]:
    """Rebuild a list from its flattened keys (suffixes after the list's prefix).

    Returns the list and the items that contradict the others (a key that is
    both a value and a container), which the caller keeps as attributes.
    """
    root = _Node()
    leftovers: list[tuple[str, Any]] = []
    for suffix, value in items:
        path = _segments(suffix)
        node = root
        for segment in path[:-1]:
            child = node.get(segment)
            if child is None:
                child = node[segment] = _Node()
            elif not isinstance(child, _Node):
                break
            node = child
        else:
            if path[-1] in node:
                leftovers.append((suffix, value))
            else:
                node[path[-1]] = value
            continue
        leftovers.append((suffix, value))
    result = _materialize(root)
    return (result if isinstance(result, list) else [result]), leftovers


def _materialize(node: Any) -> Any:
    if not isinstance(node, _Node):
        return node
    if node and all(type(key) is int for key in node):
        return [_materialize(node[key]) for key in sorted(node)]
    return {str(key): _materialize(value) for key, value in node.items()}


def _oi_content_part(content: dict[str, Any]) -> dict[str, Any]:
    kind = content.get("message_content.type")
    if kind in ("text", "reasoning", None) and "message_content.text" in content:
        return {"type": kind or "text", "content": content["message_content.text"]}
    for modality in ("image", "audio", "video"):
        url = content.get(f"message_content.{modality}.{modality}.url")
        if url is not None:
            return {"type": "uri", "modality": modality, "uri": url}
    return {"type": kind or "unknown",
            **{k.removeprefix("message_content."): v for k, v in content.items()
               if k != "message_content.type"}}


def _tool_call_part(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    part: dict[str, Any] = {"type": "tool_call"}
    if call_id is not None:
        part["id"] = str(call_id)
    part["name"] = name
    part["arguments"] = maybe_json(arguments)
    return part


def oi_messages(items: list[Any]) -> list[Any]:
    """OpenInference messages (``message.role``, ``message.contents``…) as GenAI messages."""
    messages: list[Any] = []
    for item in items:
        if not isinstance(item, dict):
            messages.append(item)
            continue
        role = item.get("message.role")
        parts: list[dict[str, Any]] = []
        for content in item.get("message.contents") or ():
            if isinstance(content, dict):
                parts.append(_oi_content_part(content))
        text = item.get("message.content")
        answered = item.get("message.tool_call_id")
        if text is not None:
            if answered is not None and role in ("tool", "function"):
                parts.append({"type": "tool_call_response", "id": str(answered),
                              "response": text})
            else:
                parts.append({"type": "text", "content": text})
        for call in item.get("message.tool_calls") or ():
            if isinstance(call, dict):
                parts.append(_tool_call_part(call.get("tool_call.id"),
                                             call.get("tool_call.function.name"),
                                             call.get("tool_call.function.arguments")))
        if item.get("message.function_call_name") is not None:
            parts.append(_tool_call_part(None, item["message.function_call_name"],
                                         item.get("message.function_call_arguments_json")))
        message: dict[str, Any] = {"role": role, "parts": parts}
        if item.get("message.name") is not None:
            message["name"] = item["message.name"]
        messages.append(message)
    return messages


def messages_from_indexed(items: list[Any]) -> list[Any]:
    """OpenLLMetry's ``gen_ai.prompt.0.role`` / ``.content`` / ``.tool_calls.0.name`` lists."""
    messages: list[Any] = []
    for item in items:
        if not isinstance(item, dict):
            messages.append(item)
            continue
        role = item.get("role")
        parts: list[dict[str, Any]] = []
        content = item.get("content")
        if content is not None:
            if item.get("tool_call_id") is not None and role == "tool":
                parts.append({"type": "tool_call_response", "id": str(item["tool_call_id"]),
                              "response": content})
            else:
                parts.append({"type": "text", "content": content})
        for call in item.get("tool_calls") or ():
            if isinstance(call, dict):
                parts.append(_tool_call_part(call.get("id"), call.get("name"),
                                             call.get("arguments")))
        message: dict[str, Any] = {"role": role, "parts": parts}
        if item.get("finish_reason") is not None:
            message["finish_reason"] = item["finish_reason"]
        messages.append(message)
    return messages


def _document(item: Any, *, span_id: str, index: int, field: str,
              keys: tuple[str, str, str, str, str]) -> DocumentRef:
    """One retrieved document; ``keys`` name its id, content, score, metadata, title."""
    if not isinstance(item, dict):
        raise InputError(f"expected a document object, got {type(item).__name__}",
                         field=f"{field}[{index}]")
    id_key, content_key, score_key, metadata_key, title_key = keys
    content = item.get(content_key)
    doc_id = item.get(id_key)
    score = item.get(score_key)
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
        try:
            score = float(score)
        except (TypeError, ValueError):
            raise InputError(f"expected a numeric score, got {score!r}",
                             field=f"{field}[{index}].{score_key}") from None
    metadata = maybe_json(item.get(metadata_key))
    extra = {k: v for k, v in item.items()
             if k not in keys and v is not None}
    if metadata is not None and not isinstance(metadata, dict):
        extra[metadata_key] = metadata
        metadata = None
    if extra:
        metadata = {**(metadata or {}), **extra}
    return DocumentRef(
        id=str(doc_id) if doc_id not in (None, "") else
        derived_document_id(content, span_id=span_id, index=index),
        title=_text(f"{field}[{index}].{title_key}", item.get(title_key)),
        score=None if score is None else float(score),
        content=content if isinstance(content, str) or content is None else str(content),
        metadata=metadata or None)


_GENAI_DOC_KEYS = ("id", "content", "score", "metadata", "title")
_OI_DOC_KEYS = ("document.id", "document.content", "document.score", "document.metadata",
                "document.title")


def document_refs(items: list[Any], *, span_id: str, field: str) -> tuple[DocumentRef, ...]:
    """GenAI ``gen_ai.retrieval.documents`` entries (``id``, ``score``, anything else)."""
    return tuple(_document(item, span_id=span_id, index=i, field=field, keys=_GENAI_DOC_KEYS)
                 for i, item in enumerate(items))


def oi_documents(items: list[Any], *, span_id: str, field: str) -> tuple[DocumentRef, ...]:
    """OpenInference ``retrieval.documents.N.document.*`` entries."""
    return tuple(_document(item, span_id=span_id, index=i, field=field, keys=_OI_DOC_KEYS)
                 for i, item in enumerate(items))
