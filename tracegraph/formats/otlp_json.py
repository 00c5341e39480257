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
:mod:`.vocabulary`; this module only decodes the wire format.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Iterator

import orjson

from ..errors import InputError
from ..model import Outcome, Step, Trace
from .records import JsonRecord
from .vocabulary import SpanEvent, agent_name_of, session_id_of, status_from_code, \
    step_from_span

__all__ = ["NAME", "sniff", "read", "decode_any_value", "decode_attributes", "normalize_id"]

NAME = "otlp"

_OUTCOME_ATTRIBUTE = "tracegraph.outcome"
"""A root-span attribute that states the business outcome outright (``success``/``failure``)."""


class SpanDecodeError(ValueError):
    """A span that cannot be read; ``field`` is relative to the span."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


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
    for record in records:
        if isinstance(record, InputError):
            yield record
            continue
        try:
            request = record.decode()
        except orjson.JSONDecodeError as exc:
            yield InputError(f"invalid JSON: {exc}", source=source, record=record.label)
            continue
        yield from read_request(request, source=source, record=record.label)


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
        attributes = parts.resource
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


_B64_LENGTH = {16: 24, 8: 12}


def normalize_id(value: Any, size: int, field: str) -> str:
    """A trace (16 bytes) or span (8 bytes) id as lowercase hex.

    OTLP/JSON writes hex; the generic protobuf JSON mapping writes base64, and
    some exporters still do, so a base64 value of the right length is accepted.
    """
    if type(value) is not str or not value:
        raise SpanDecodeError(f"missing {field}" if value in (None, "") else
                              f"expected a hex string, got {type(value).__name__}", field)
    if len(value) == size * 2:
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raise SpanDecodeError(f"{field} {value!r} is not hex", field) from None
        if not any(raw):
            raise SpanDecodeError(f"{field} is all zeros (an invalid id)", field)
        return value if value.islower() or value.isdigit() else value.lower()
    if len(value) == _B64_LENGTH[size]:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) == size and any(raw):
            return raw.hex()
    raise SpanDecodeError(f"{field} {value!r} is not {size * 2} hex digits", field)


def decode_attributes(kvs: Any) -> dict[str, Any]:
    """OTLP ``KeyValue`` list → a flat dict of plain values."""
    if not kvs:
        return {}
    if type(kvs) is not list:
        raise SpanDecodeError(f"expected a list of key/value objects, got "
                              f"{type(kvs).__name__}", "attributes")
    out: dict[str, Any] = {}
    try:
        for kv in kvs:
            value = kv["value"]
            text = value.get("stringValue")  # the common case, inline
            out[kv["key"]] = text if text.__class__ is str else decode_any_value(value)
        "".join(out)  # every key a string: join checks it in C, for ~0.1 µs a span
    except (SpanDecodeError, AttributeError, KeyError, TypeError):
        return _decode_attributes_exactly(kvs)
    return out


def _decode_attributes_exactly(kvs: list[Any]) -> dict[str, Any]:
    """The slow path: tolerate a missing value, and name the attribute that is wrong."""
    out: dict[str, Any] = {}
    for index, kv in enumerate(kvs):
        if not isinstance(kv, dict) or not isinstance(kv.get("key"), str):
            raise SpanDecodeError("expected an object with a string key and a value",
                                  f"attributes[{index}]")
        value = kv.get("value")
        try:
            out[kv["key"]] = None if value is None else decode_any_value(value)
        except SpanDecodeError as exc:
            raise SpanDecodeError(f"attribute {kv['key']!r}: {exc.message}",
                                  f"attributes[{index}].value{exc.field}") from None
    return out


def decode_any_value(value: Any) -> Any:
    """One ``AnyValue`` (``{"intValue": "3"}``) as a plain Python value."""
    if type(value) is not dict:
        raise SpanDecodeError(f"expected an AnyValue object, got {type(value).__name__}", "")
    if not value:
        return None
    if "intValue" in value:
        inner = value["intValue"]
        try:
            return int(inner) if inner.__class__ is not bool else _bad("intValue", inner)
        except (TypeError, ValueError):
            return _bad("intValue", inner)
    if "stringValue" in value:
        inner = value["stringValue"]
        return inner if inner.__class__ is str else _bad("stringValue", inner)
    if "doubleValue" in value:
        inner = value["doubleValue"]
        try:
            return float(inner) if inner.__class__ is not bool else _bad("doubleValue", inner)
        except (TypeError, ValueError):
            return _bad("doubleValue", inner)
    if "boolValue" in value:
        inner = value["boolValue"]
        return inner if inner.__class__ is bool else _bad("boolValue", inner)
    if "arrayValue" in value:
        inner = value["arrayValue"]
        return _array(inner.get("values") or [] if inner.__class__ is dict
                      else _bad("arrayValue", inner))
    if "kvlistValue" in value:
        inner = value["kvlistValue"]
        items = inner.get("values") if inner.__class__ is dict else _bad("kvlistValue", inner)
        try:
            return decode_attributes(items)
        except SpanDecodeError as exc:
            raise SpanDecodeError(exc.message, ".kvlistValue.values"
                                  + exc.field.removeprefix("attributes")) from None
    if "bytesValue" in value:
        inner = value["bytesValue"]
        return inner if inner.__class__ is str else _bad("bytesValue", inner)
    raise SpanDecodeError(f"unknown AnyValue type {next(iter(value))!r}", "")


def _array(items: Any) -> list[Any]:
    if type(items) is not list:
        raise SpanDecodeError("expected a values list", ".arrayValue.values")
    out = []
    for i, item in enumerate(items):
        if item.__class__ is dict and item.get("stringValue").__class__ is str:
            out.append(item["stringValue"])
            continue
        try:
            out.append(decode_any_value(item))
        except SpanDecodeError as exc:
            raise SpanDecodeError(exc.message,
                                  f".arrayValue.values[{i}]{exc.field}") from None
    return out


def _bad(kind: str, value: Any) -> Any:
    raise SpanDecodeError(f"{kind} {value!r} is not valid", f".{kind}")
