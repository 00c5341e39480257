"""Span-record exports: one JSON object per span, in OpenInference or GenAI vocabulary.

Phoenix exports spans like this (``context.trace_id``/``context.span_id``,
``parent_id``, ``span_kind``, ``status_code``, ISO ``start_time``, nested
``attributes``), and so do many home-grown exporters with flat names
(``trace_id``, ``span_id``, ``parent_span_id``).  Some nest children inline
(``child_spans``, ``children``).  The containers vary too: a JSON array of
spans, JSONL of spans, a list of spans in one document, or an object whose
values are lists of spans (one list per trace or per case).

A trace's spans may be spread over the whole file, so spans are buffered per
trace and emitted as ``partial`` fragments that the store merges.  The buffer
is flushed whenever it holds more than ``buffer_limit`` spans and at the end, so
memory stays bounded on any input.  A bad span rejects its whole trace for the
rest of the file (one :class:`InputError` per bad record; the trace's buffered
spans are dropped), so a trace is never half imported because of a typo —
except for fragments already flushed by a full buffer before the bad span.
"""

from __future__ import annotations

from typing import Any, Iterator

from ..errors import InputError
from ..model import Step, Trace
from .decoded_records import decoded_records
from .flattened import flatten_attributes
from .otlp_encoding import SpanDecodeError, decode_attributes
from .records import JsonRecord
from .values import time_ns
from .vocabulary import OPENINFERENCE_KINDS, SpanEvent, agent_name_of, session_id_of, \
    status_from_code, step_from_span, trace_attributes_of

__all__ = ["NAME", "sniff", "read", "BUFFER_LIMIT"]

NAME = "spans"
BUFFER_LIMIT = 10_000
"""Spans held in memory before the buffered traces are flushed as fragments."""

_TRACE_ID = ("trace_id", "traceId")
_SPAN_ID = ("span_id", "spanId")
_PARENT_ID = ("parent_id", "parent_span_id", "parentSpanId", "parentId")
_CHILDREN = ("child_spans", "children")
_CONTAINER_KEYS = ("spans", "data")


def _first(obj: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = obj.get(key)
        if value is not None:
            return value
    return None


def _context(span: dict[str, Any]) -> dict[str, Any]:
    context = span.get("context")
    return context if isinstance(context, dict) else {}


def _span_id_of(span: dict[str, Any]) -> Any:
    return _first(_context(span), _SPAN_ID) or _first(span, _SPAN_ID)


def _looks_like_span(value: Any) -> bool:
    return isinstance(value, dict) and _span_id_of(value) is not None \
        and ("name" in value or "attributes" in value)


def sniff(first: Any) -> bool:
    """A span object, a list of them, or an object whose values are lists of them."""
    if isinstance(first, list):
        return bool(first) and _looks_like_span(first[0])
    if not isinstance(first, dict):
        return False
    if _looks_like_span(first):
        return True
    for value in first.values():
        if isinstance(value, list) and value:
            return _looks_like_span(value[0])
    return False


def read(records: Iterator[JsonRecord | InputError], *, source: str,
         buffer_limit: int = BUFFER_LIMIT) -> Iterator[Trace | InputError]:
    """Trace fragments of span records; at most ``buffer_limit`` spans are held at once."""
    buffer = _Buffer(limit=buffer_limit)
    for record in decoded_records(records, source=source):
        if isinstance(record, InputError):
            yield record
            continue
        for path, span, parent in _spans_in(record.value, ""):
            error = buffer.add(span, path, parent)
            if error is not None:
                yield InputError(error.message, source=source, record=record.label,
                                 field=error.field, trace_id=error.trace_id)
            if buffer.size > buffer.limit:
                yield from buffer.flush()
    yield from buffer.flush()


class _Implied:
    """What a nesting parent says about its children: their trace and parent."""

    __slots__ = ("trace_id", "span_id")

    def __init__(self, trace_id: str | None, span_id: str | None) -> None:
        self.trace_id = trace_id
        self.span_id = span_id


def _spans_in(value: Any, path: str,
              parent: _Implied | None = None) -> Iterator[tuple[str, Any, _Implied | None]]:
    """Every span of a record with its field path, children after their parent."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield from _spans_in(item, f"{path}[{i}]", parent)
        return
    if isinstance(value, dict) and parent is None and not _looks_like_span(value):
        lists = [(k, v) for k, v in value.items() if isinstance(v, list)]
        if lists:
            for key, items in lists:
                yield from _spans_in(items, f"{path}.{key}" if path else key, None)
            return
    yield path, value, parent
    if isinstance(value, dict):
        for key in _CHILDREN:
            children = value.get(key)
            if isinstance(children, list):
                implied = _Implied(_str_or_none(_first(_context(value), _TRACE_ID)
                                                or _first(value, _TRACE_ID))
                                   or (parent.trace_id if parent else None),
                                   _str_or_none(_span_id_of(value)))
                for i, child in enumerate(children):
                    yield from _spans_in(child, f"{path}.{key}[{i}]" if path
                                         else f"{key}[{i}]", implied)


def _str_or_none(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value) if isinstance(value, (str, int)) else None


class _SpanError(Exception):
    def __init__(self, message: str, field: str, trace_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.trace_id = trace_id


class _Buffer:
    """Steps per trace id, in first-seen order, with the ids that were rejected."""

    def __init__(self, *, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.traces: dict[str, list[Step]] = {}
        self.ids: dict[str, set[str]] = {}
        self.rejected: set[str] = set()

    def add(self, span: Any, path: str, parent: _Implied | None) -> _SpanError | None:
        where = f"{path}." if path else ""
        try:
            trace_id, step = _decode(span, where, parent)
        except _SpanError as exc:
            if exc.trace_id is not None:
                self.reject(exc.trace_id)
            return exc
        if trace_id in self.rejected:
            return None
        ids = self.ids.setdefault(trace_id, set())
        if step.id in ids:
            self.reject(trace_id)
            return _SpanError(f"duplicate span id {step.id!r} in trace {trace_id}; "
                              "the trace is skipped", f"{where}span_id", trace_id)
        ids.add(step.id)
        self.traces.setdefault(trace_id, []).append(step)
        self.size += 1
        return None

    def reject(self, trace_id: str) -> None:
        self.rejected.add(trace_id)
        self.size -= len(self.traces.pop(trace_id, ()))
        self.ids.pop(trace_id, None)

    def flush(self) -> Iterator[Trace]:
        traces, self.traces, self.ids, self.size = self.traces, {}, {}, 0
        for trace_id, steps in traces.items():
            yield _fragment(trace_id, steps)


def _fragment(trace_id: str, steps: list[Step]) -> Trace:
    root = next((s for s in steps if s.parent_id is None), None)
    session = next((sid for sid in (session_id_of(s.attributes) for s in steps) if sid),
                   None)
    return Trace(id=trace_id, source_format=NAME, steps=tuple(steps), partial=True,
                 workflow=agent_name_of(root.attributes) if root is not None else None,
                 session_id=session,
                 attributes=trace_attributes_of(root) if root is not None else {})


def _decode(span: Any, where: str, parent: _Implied | None) -> tuple[str, Step]:
    if not isinstance(span, dict):
        raise _SpanError(f"expected a span object, got {type(span).__name__}",
                         where.rstrip(".") or "span")
    context = _context(span)
    in_context = "context." if _first(context, _TRACE_ID) is not None else ""
    trace_id = _str_or_none(_first(context, _TRACE_ID) or _first(span, _TRACE_ID)) \
        or (parent.trace_id if parent else None)
    if trace_id is None:
        raise _SpanError("missing trace id", f"{where}{in_context}trace_id")
    span_id = _str_or_none(_span_id_of(span))
    if span_id is None:
        raise _SpanError("missing span id", f"{where}{in_context}span_id", trace_id)
    raw_parent = _first(span, _PARENT_ID) or _first(context, _PARENT_ID)
    parent_id = _str_or_none(raw_parent) or (parent.span_id if parent else None)
    try:
        step = _step(span, span_id, parent_id)
    except _SpanError as exc:
        raise _SpanError(exc.message, where + exc.field, trace_id) from None
    except InputError as exc:
        raise _SpanError(exc.message, f"{where}attributes[{exc.field}]", trace_id) from None
    return trace_id, step


def _step(span: dict[str, Any], span_id: str, parent_id: str | None) -> Step:
    attributes = _attributes(span.get("attributes"))
    kind = span.get("span_kind") or span.get("kind")
    if isinstance(kind, str) and kind.upper() in OPENINFERENCE_KINDS \
            and "openinference.span.kind" not in attributes:
        attributes["openinference.span.kind"] = kind
    code, message = _status(span)
    try:
        status = status_from_code(code)
    except ValueError as exc:
        raise _SpanError(str(exc), "status_code") from None
    start, end = _time(span, ("start_time", "startTime", "startTimeUnixNano")), \
        _time(span, ("end_time", "endTime", "endTimeUnixNano"))
    if start is not None and end is not None and end < start:
        raise _SpanError("end_time is before start_time", "end_time")
    name = span.get("name", "")
    raw = span if not any(key in span for key in _CHILDREN) else \
        {k: v for k, v in span.items() if k not in _CHILDREN}
    return step_from_span(span_id=span_id, parent_id=parent_id,
                          name=name if isinstance(name, str) else str(name),
                          start_ns=start, end_ns=end, status=status, status_message=message,
                          attributes=attributes, events=_events(span.get("events")), raw=raw)


def _attributes(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        flat = flatten_attributes(value)
        return dict(flat) if flat is value else flat
    if isinstance(value, list):  # OTLP-style key/value list
        try:
            return decode_attributes(value)
        except SpanDecodeError as exc:
            raise _SpanError(exc.message, exc.field) from None
    raise _SpanError(f"expected an attributes object, got {type(value).__name__}",
                     "attributes")


def _status(span: dict[str, Any]) -> tuple[Any, str | None]:
    status = span.get("status")
    if isinstance(status, dict):
        code, message = status.get("code", status.get("status_code")), status.get("message")
    else:
        code = span.get("status_code", status)
        message = span.get("status_message")
    if message is not None and not isinstance(message, str):
        raise _SpanError("expected a string", "status_message")
    return code, message or None


def _time(span: dict[str, Any], keys: tuple[str, ...]) -> int | None:
    for key in keys:
        if key in span:
            try:
                return time_ns(span[key])
            except ValueError as exc:
                raise _SpanError(str(exc), key) from None
    return None


def _events(events: Any) -> list[SpanEvent]:
    if not events:
        return []
    if not isinstance(events, list):
        raise _SpanError("expected a list", "events")
    out: list[SpanEvent] = []
    for i, event in enumerate(events):
        if not isinstance(event, dict):
            raise _SpanError("expected an event object", f"events[{i}]")
        try:
            moment = time_ns(event.get("timestamp", event.get("time",
                                                              event.get("timeUnixNano"))))
        except ValueError as exc:
            raise _SpanError(str(exc), f"events[{i}].timestamp") from None
        try:
            attributes = _attributes(event.get("attributes"))
        except _SpanError as exc:
            raise _SpanError(exc.message, f"events[{i}].{exc.field}") from None
        out.append(SpanEvent(str(event.get("name", "")), moment, attributes))
    return out
