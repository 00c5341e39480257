"""OTLP/protobuf: an ``ExportTraceServiceRequest`` body as the OTLP/JSON reader reads it.

What an OpenTelemetry exporter posts to ``/v1/traces`` with
``Content-Type: application/x-protobuf``.  The body is decoded with the
``opentelemetry-proto`` message classes and turned into the OTLP/JSON encoding
of the same request — the dict :func:`.otlp_json.read_request` reads — so both
encodings go through one reader and a span stores the same ``Step`` (and the
same ``raw`` payload) whichever way it came.

The conversion is the protobuf JSON mapping with OTLP's two exceptions:

* ``traceId``, ``spanId``, ``parentSpanId`` (also of links) are lowercase hex,
  not base64; every other ``bytes`` field (``bytesValue``) stays base64;
* enums (``kind``, ``status.code``) are integers, not names.

Field names are lowerCamelCase; 64-bit integers (``startTimeUnixNano``,
``intValue``) are decimal strings; a field left at its default is omitted,
exactly as ``MessageToDict(message, use_integers_for_enums=True)`` writes it.
The walk is driven by the message descriptors, so a field added to OTLP later
is carried (into ``Step.raw``) rather than dropped.

This is an encoding, not another format: what it reads are ``otlp`` traces
(``Trace.source_format``), and files are still imported as OTLP/JSON.  Nothing
is validated here beyond the protobuf wire format: ids of the wrong length,
unknown status codes and unreadable attributes are the reader's to reject, span
by span, with the same messages as for OTLP/JSON.
"""

from __future__ import annotations

import base64
import math
from typing import Any, Callable

import orjson
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from ..errors import InputError

__all__ = ["decode_request", "request_as_json", "encode_export_response", "encode_status",
           "INVALID_ARGUMENT"]

_HEX_FIELDS = frozenset({"trace_id", "span_id", "parent_span_id"})
"""``bytes`` fields that OTLP/JSON writes as hex (in spans and links)."""

_T = FieldDescriptor
_AS_STRING = frozenset({_T.TYPE_INT64, _T.TYPE_UINT64, _T.TYPE_FIXED64, _T.TYPE_SFIXED64,
                        _T.TYPE_SINT64})
_FLOATS = frozenset({_T.TYPE_DOUBLE, _T.TYPE_FLOAT})

_Convert = Callable[[Any], Any]


def decode_request(body: bytes, *, source: str) -> dict[str, Any]:
    """A protobuf ``ExportTraceServiceRequest`` as its OTLP/JSON dict.

    Raises :class:`InputError` naming ``source`` when the body is not a valid
    encoding of the message (truncated, corrupt, or not protobuf at all).  An
    empty body is a valid empty request (``{}``).
    """
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except (DecodeError, RecursionError) as exc:
        raise InputError(f"not a protobuf ExportTraceServiceRequest ({len(body)} bytes): "
                         f"{exc or 'cannot parse the message'}", source=source) from None
    return request_as_json(request)


def request_as_json(message: Message) -> dict[str, Any]:
    """Any OTLP message in the OTLP/JSON encoding (see the module docstring)."""
    out: dict[str, Any] = {}
    for field, value in message.ListFields():
        convert = _CONVERTERS.get(field)
        if convert is None:
            convert = _CONVERTERS[field] = _converter(field)
        out[field.json_name] = convert(value)
    return out


_CONVERTERS: dict[FieldDescriptor, _Convert] = {}
"""One converter per field descriptor, built the first time the field is met."""


def _converter(field: FieldDescriptor) -> _Convert:
    convert = _scalar(field)
    if _is_repeated(field):
        element = convert
        return lambda values: [element(v) for v in values]
    return convert


def _is_repeated(field: FieldDescriptor) -> bool:
    """Newer protobuf says ``is_repeated`` (and has no ``label``); older only ``label``."""
    repeated = getattr(field, "is_repeated", None)
    if repeated is None:
        return bool(field.label == FieldDescriptor.LABEL_REPEATED)
    return bool(repeated)


def _scalar(field: FieldDescriptor) -> _Convert:
    kind = field.type
    if kind == _T.TYPE_MESSAGE:
        return _FAST.get(field.message_type.full_name, request_as_json)
    if kind == _T.TYPE_BYTES:
        return _hex if field.name in _HEX_FIELDS else _base64
    if kind in _AS_STRING:
        return str
    if kind in _FLOATS:
        return _double
    return _same  # int32, uint32, fixed32, bool, string, and enums (as integers)


# -- the hot path ---------------------------------------------------------------
#
# Spans, their attributes and attribute values are nearly all of a request.
# Written out by hand they convert in two thirds of the walk's time, with the
# same result (a test compares the whole with MessageToDict).  Each is used only
# while its message has no field it does not know: a newer opentelemetry-proto
# with another field falls back to the walk.


def _any_value(value: Any, kind: str | None = None) -> dict[str, Any]:
    kind = kind or value.WhichOneof("value")
    if kind == "string_value":
        return {"stringValue": value.string_value}
    if kind == "int_value":
        return {"intValue": str(value.int_value)}
    if kind == "double_value":
        return {"doubleValue": _double(value.double_value)}
    if kind == "bool_value":
        return {"boolValue": value.bool_value}
    return request_as_json(value)  # arrays, kvlists, bytes, unset: the walk


def _key_value(pair: Any) -> dict[str, Any]:
    key = pair.key
    value = pair.value
    kind = value.WhichOneof("value")
    if key and kind is not None:
        if kind == "string_value":  # most attributes, inline
            return {"key": key, "value": {"stringValue": value.string_value}}
        return {"key": key, "value": _any_value(value, kind)}
    return request_as_json(pair)  # an empty key, or a value unset or absent: the walk


def _span(span: Any) -> dict[str, Any]:
    """A span; fields in field-number order, as ``ListFields`` gives them."""
    out: dict[str, Any] = {}
    if span.trace_id:
        out["traceId"] = span.trace_id.hex()
    if span.span_id:
        out["spanId"] = span.span_id.hex()
    if span.trace_state:
        out["traceState"] = span.trace_state
    if span.parent_span_id:
        out["parentSpanId"] = span.parent_span_id.hex()
    if span.name:
        out["name"] = span.name
    if span.kind:
        out["kind"] = span.kind
    if span.start_time_unix_nano:
        out["startTimeUnixNano"] = str(span.start_time_unix_nano)
    if span.end_time_unix_nano:
        out["endTimeUnixNano"] = str(span.end_time_unix_nano)
    pairs = span.attributes
    if pairs:
        out["attributes"] = [_key_value(pair) for pair in pairs]
    if span.dropped_attributes_count:
        out["droppedAttributesCount"] = span.dropped_attributes_count
    if span.events:
        out["events"] = [request_as_json(event) for event in span.events]
    if span.dropped_events_count:
        out["droppedEventsCount"] = span.dropped_events_count
    if span.links:
        out["links"] = [request_as_json(link) for link in span.links]
    if span.dropped_links_count:
        out["droppedLinksCount"] = span.dropped_links_count
    if span.HasField("status"):
        status = span.status
        out["status"] = ({"code": status.code} if status.code and not status.message
                         else request_as_json(status))
    if span.flags:
        out["flags"] = span.flags
    return out


def _fields_of(message: Any) -> frozenset[str]:
    return frozenset(field.name for field in message.DESCRIPTOR.fields)


_SPAN_FIELDS = frozenset({
    "trace_id", "span_id", "trace_state", "parent_span_id", "flags", "name", "kind",
    "start_time_unix_nano", "end_time_unix_nano", "attributes", "dropped_attributes_count",
    "events", "dropped_events_count", "links", "dropped_links_count", "status"})
_FAST: dict[str, _Convert] = {}
if all(f.containing_oneof is not None and f.containing_oneof.name == "value"
       for f in AnyValue.DESCRIPTOR.fields):  # a new kind of value goes to the walk
    _FAST[AnyValue.DESCRIPTOR.full_name] = _any_value
if {"key", "value"} <= _fields_of(KeyValue) <= {"key", "value", "key_strindex"}:
    _FAST[KeyValue.DESCRIPTOR.full_name] = _key_value  # key_strindex is for profiles
if _fields_of(Span) == _SPAN_FIELDS:
    _FAST[Span.DESCRIPTOR.full_name] = _span


def _same(value: Any) -> Any:
    return value


def _hex(value: bytes) -> str:
    return value.hex()


def _base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _double(value: float) -> float | str:
    """JSON has no NaN or infinities; the protobuf JSON mapping writes them as strings."""
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def encode_export_response(*, rejected_spans: int = 0, error_message: str = "",
                           json: bool = False) -> bytes:
    """The ``ExportTraceServiceResponse`` body for a request that was read.

    ``partial_success`` is set only when something was rejected or there is a
    message, as the OTLP specification asks; ``json`` picks the encoding
    (answer in the request's own).
    """
    response = ExportTraceServiceResponse()
    if rejected_spans or error_message:
        response.partial_success.CopyFrom(ExportTracePartialSuccess(
            rejected_spans=rejected_spans, error_message=error_message))
    if json:
        return orjson.dumps(request_as_json(response))
    body: bytes = response.SerializeToString()
    return body


INVALID_ARGUMENT = 3
"""``google.rpc.Code.INVALID_ARGUMENT``: the code of a request that cannot be read."""


def encode_status(message: str, *, code: int = INVALID_ARGUMENT, json: bool = False) -> bytes:
    """A ``google.rpc.Status`` body: what OTLP/HTTP answers with a 4xx or 5xx status.

    ``Status`` is ``{int32 code = 1; string message = 2; repeated Any details = 3}``;
    its two scalar fields are written by hand so the base install needs no
    ``googleapis-common-protos``.
    """
    if json:
        return orjson.dumps({"code": code, "message": message})
    text = message.encode("utf-8")
    out = bytearray()
    if code:
        out.append(0x08)  # field 1, varint
        out += _varint(code)
    if text:
        out.append(0x12)  # field 2, length-delimited
        out += _varint(len(text))
        out += text
    return bytes(out)


def _varint(value: int) -> bytes:
    if value < 0:  # int32 negatives are written as 10-byte two's complement
        value += 1 << 64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
