"""OTLP/JSON: ``ExportTraceServiceRequest`` documents, one per file or one per line.

This is what an OpenTelemetry exporter sends to ``/v1/traces`` and what the
collector's file exporter writes (one request per line).  The encoding is the
protobuf JSON mapping: trace and span ids as hex strings, 64-bit integers
(``startTimeUnixNano``, ``intValue``) as decimal strings, attribute values
wrapped in ``AnyValue`` objects (``{"stringValue": "chat"}``).

A request carries spans of many traces, and one trace's spans arrive spread
over many requests (an exporter flushes batches; the root span ends last).  So
each record yields one ``partial`` :class:`Trace` fragment per trace id it
holds, and the store merges fragments by step id.  A bad span rejects its
trace's fragment from that record only (one :class:`InputError` naming the
field), so one broken exporter batch never costs the other traces in it.

Attribute meaning (GenAI or OpenInference vocabulary) is decided in
:mod:`.vocabulary`, and attribute values and ids are decoded in
:mod:`.otlp_encoding`; this module walks the request to its spans.
"""

from __future__ import annotations

from typing import Any, Iterator

from ..errors import InputError
from ..model import Outcome, Step, Trace
from .decoded_records import decoded_records
from .otlp_encoding import SpanDecodeError, decode_any_value, decode_attributes, normalize_id
from .records import JsonRecord
from .vocabulary import SpanEvent, agent_name_of, session_id_of, status_from_code, \
    step_from_span, trace_attributes_of

__all__ = ["NAME", "sniff", "read", "read_request", "decode_any_value", "decode_attributes",
           "normalize_id", "SpanDecodeError"]

NAME = "otlp"

_OUTCOME_ATTRIBUTE = "tracegraph.outcome"
"""A root-span attribute that states the business outcome outright (``success``/``failure``)."""


def sniff(first: Any) -> bool:
    """An OTLP request is an object with a ``resourceSpans`` list."""
    if isinstance(first, list) and first:
        first = first[0]
    return isinstance(first, dict) and (
        isinstance(first.get("resourceSpans"), list)
        or isinstance(first.get("resource_spans"), list))


def read(records: Iterator[JsonRecord | InputError], *,
         source: str) -> Iterator[Trace | InputError]:
    """Trace fragments (and errors) of OTLP/JSON records, one record at a time."""
    for record in decoded_records(records, source=source):
        if isinstance(record, InputError):
            yield record
        else:
            yield from read_request(record.value, source=source, record=record.label)


def read_request(request: Any, *, source: str, record: str) -> Iterator[Trace | InputError]:
    """The fragments of one decoded ``ExportTraceServiceRequest`` (also used by ``/v1/traces``)."""
    if not isinstance(request, dict):
        yield InputError(f"expected an ExportTraceServiceRequest object, got "
                         f"{type(request).__name__}", source=source, record=record)
        return
    resource_spans = _get(request, "resourceSpans", "resource_spans")
    if not isinstance(resource_spans, list):
        yield InputError("expected a resourceSpans list", source=source, record=record,
                         field="resourceSpans")
        return
    batch = _Batch(source=source, record=record)
    for r, resource_span in enumerate(resource_spans):
        batch.add_resource(resource_span, f"resourceSpans[{r}]")
    yield from batch.results()


def _get(obj: dict[str, Any], camel: str, snake: str) -> Any:
    """Protobuf JSON allows the original field names too; lowerCamelCase comes first."""
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


class _TraceParts:
    """What one record holds of one trace."""

    __slots__ = ("steps", "ids", "root", "resource", "error")

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.ids: set[str] = set()
        self.root: Step | None = None
        self.resource: dict[str, Any] = {}
        self.error: InputError | None = None


class _Batch:
    """Spans of one record grouped by trace id, in order of first appearance."""

    def __init__(self, *, source: str, record: str) -> None:
        self.source = source
        self.record = record
        self.traces: dict[str, _TraceParts] = {}
        self.errors: list[InputError] = []
        self._trace_ids: dict[Any, str] = {}

    def fail(self, message: str, field: str, trace_id: str | None = None) -> None:
        error = InputError(message, source=self.source, record=self.record, field=field,
                           trace_id=trace_id)
        if trace_id is None:
            self.errors.append(error)
            return
        parts = self.traces.setdefault(trace_id, _TraceParts())
        if parts.error is None:
            parts.error = error
            parts.steps.clear()

    def add_resource(self, resource_span: Any, path: str) -> None:
        if not isinstance(resource_span, dict):
            self.fail(f"expected an object, got {type(resource_span).__name__}", path)
            return
        resource = resource_span.get("resource") or {}
        try:
            resource_attrs = decode_attributes(resource.get("attributes")
                                               if isinstance(resource, dict) else resource)
        except SpanDecodeError as exc:
            self.fail(exc.message, f"{path}.resource.{exc.field}")
            return
        scope_spans = _get(resource_span, "scopeSpans", "scope_spans")
        if scope_spans is None:  # OTLP before 0.19 called it instrumentationLibrarySpans
            scope_spans = resource_span.get("instrumentationLibrarySpans") or []
        if not isinstance(scope_spans, list):
            self.fail("expected a scopeSpans list", f"{path}.scopeSpans")
            return
        for s, scope_span in enumerate(scope_spans):
            spans = scope_span.get("spans") if isinstance(scope_span, dict) else None
            if spans is None:
                continue
            if not isinstance(spans, list):
                self.fail("expected a spans list", f"{path}.scopeSpans[{s}].spans")
                continue
            for i, span in enumerate(spans):
                self.add_span(span, f"{path}.scopeSpans[{s}].spans[{i}]", resource_attrs)

    def trace_id_of(self, span: Any) -> str:
        raw = _get(span, "traceId", "trace_id")
        trace_id = self._trace_ids.get(raw)
        if trace_id is None:
            trace_id = normalize_id(raw, 16, "traceId")
            self._trace_ids[raw] = trace_id
        return trace_id

    def add_span(self, span: Any, path: str, resource_attrs: dict[str, Any]) -> None:
        if not isinstance(span, dict):
            self.fail(f"expected a span object, got {type(span).__name__}", path)
            return
        raw_trace_id = span.get("traceId") or span.get("trace_id")
        trace_id = self._trace_ids.get(raw_trace_id) if raw_trace_id.__class__ is str \
            else None
        if trace_id is None:
            try:
                trace_id = self.trace_id_of(span)
            except SpanDecodeError as exc:
                self.fail(exc.message, f"{path}.{exc.field}")
                return
        parts = self.traces.get(trace_id)
        if parts is None:
            parts = self.traces[trace_id] = _TraceParts()
        elif parts.error is not None:
            return
        try:
            step = decode_span(span)
        except SpanDecodeError as exc:
            self.fail(exc.message, f"{path}.{exc.field}", trace_id)
            return
        except InputError as exc:  # a vocabulary fault names the attribute
            self.fail(exc.message, f"{path}.attributes[{exc.field}]", trace_id)
            return
        if step.id in parts.ids:
            self.fail(f"duplicate span id {step.id} in this record", f"{path}.spanId",
                      trace_id)
            return
        parts.ids.add(step.id)
        parts.steps.append(step)
        if step.parent_id is None and parts.root is None:
            parts.root = step
            parts.resource = resource_attrs

    def results(self) -> Iterator[Trace | InputError]:
        yield from self.errors
        for trace_id, parts in self.traces.items():
            if parts.error is not None:
                yield parts.error
            elif parts.steps:
                yield _fragment(trace_id, parts)


def _fragment(trace_id: str, parts: _TraceParts) -> Trace:
    """A partial trace; trace-level fields only where this record can know them."""
    session = None
    for step in parts.steps:
        session = session_id_of(step.attributes)
        if session:
            break
    workflow = outcome = None
    attributes: dict[str, Any] = {}
    if parts.root is not None:
        workflow = agent_name_of(parts.root.attributes)
        service = parts.resource.get("service.name")
        if workflow is None and isinstance(service, str) \
                and not service.startswith("unknown_service"):
            workflow = service
        declared = parts.root.attributes.get(_OUTCOME_ATTRIBUTE)
        if declared in ("success", "failure", "unknown"):
            outcome = Outcome(declared)
        attributes = trace_attributes_of(parts.root, parts.resource)
    return Trace(id=trace_id, source_format=NAME, steps=tuple(parts.steps), partial=True,
                 workflow=workflow, outcome=outcome, session_id=session,
                 attributes=attributes)


def decode_span(span: dict[str, Any]) -> Step:
    """One OTLP span as a :class:`Step` (the trace id is the caller's business)."""
    get = span.get
    span_id = normalize_id(get("spanId") or get("span_id"), 8, "spanId")
    parent = get("parentSpanId") or get("parent_span_id")
    parent_id = normalize_id(parent, 8, "parentSpanId") if parent else None
    if parent_id == "0000000000000000":
        parent_id = None
    start = _time(get("startTimeUnixNano") or get("start_time_unix_nano"),
                  "startTimeUnixNano")
    end = _time(get("endTimeUnixNano") or get("end_time_unix_nano"), "endTimeUnixNano")
    if start is not None and end is not None and end < start:
        raise SpanDecodeError("endTimeUnixNano is before startTimeUnixNano",
                              "endTimeUnixNano")
    name = span.get("name", "")
    if not isinstance(name, str):
        raise SpanDecodeError(f"expected a string, got {type(name).__name__}", "name")
    status = span.get("status")
    code: Any = None
    message: Any = None
    if status:
        if not isinstance(status, dict):
            raise SpanDecodeError("expected a status object", "status")
        code, message = status.get("code"), status.get("message")
        if message is not None and not isinstance(message, str):
            raise SpanDecodeError("expected a string", "status.message")
    try:
        status_value = status_from_code(code)
    except ValueError as exc:
        raise SpanDecodeError(str(exc), "status.code") from None
    attributes = decode_attributes(span.get("attributes"))
    events = span.get("events")
    return step_from_span(
        span_id=span_id, parent_id=parent_id, name=name, start_ns=start, end_ns=end,
        status=status_value, status_message=message, attributes=attributes,
        events=_events(events) if events else (), raw=span)


def _time(value: Any, field: str) -> int | None:
    if value is None or value == "0" or value == 0:
        return None
    if type(value) is int:
        result = value
    elif type(value) is str and value.isdigit():
        result = int(value)
    else:
        raise SpanDecodeError(f"expected nanoseconds as a decimal string, got {value!r}",
                              field)
    return result


def _events(events: Any) -> list[SpanEvent]:
    if not isinstance(events, list):
        raise SpanDecodeError("expected a list", "events")
    out: list[SpanEvent] = []
    for i, event in enumerate(events):
        if not isinstance(event, dict):
            raise SpanDecodeError("expected an event object", f"events[{i}]")
        try:
            attributes = decode_attributes(event.get("attributes"))
        except SpanDecodeError as exc:
            raise SpanDecodeError(exc.message, f"events[{i}].{exc.field}") from None
        name = event.get("name", "")
        out.append(SpanEvent(str(name), _time(_get(event, "timeUnixNano", "time_unix_nano"),
                                               f"events[{i}].timeUnixNano"), attributes))
    return out
