"""OTLP's protobuf JSON encoding: ``AnyValue`` attributes and hex (or base64) ids.

The OTLP/JSON reader (:mod:`.otlp_json`) walks requests, resources and spans;
the values inside them are encoded the protobuf JSON way, decoded here:
``KeyValue`` lists to a flat dict, ``AnyValue`` objects (``{"intValue": "3"}``)
to plain Python values, trace and span ids to lowercase hex.  Span-record
exports that carry OTLP-style attribute lists use the same decoding.

Attribute decoding runs for every span of an import: the common case (a string
value, keys that are strings) takes an inline fast path, and only a list that
fails it is walked again slowly to name the attribute that is wrong.
"""

from __future__ import annotations

import threading

import base64
import binascii
from typing import Any, Callable

__all__ = ["SpanDecodeError", "normalize_id", "decode_attributes", "decode_any_value"]


class SpanDecodeError(ValueError):
    """A span that cannot be read; ``field`` is relative to the span."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


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
        return _number(value["intValue"], "intValue", int)
    if "stringValue" in value:
        inner = value["stringValue"]
        return inner if inner.__class__ is str else _bad("stringValue", inner)
    if "doubleValue" in value:
        return _number(value["doubleValue"], "doubleValue", float)
    if "boolValue" in value:
        inner = value["boolValue"]
        return inner if inner.__class__ is bool else _bad("boolValue", inner)
    if "arrayValue" in value or "kvlistValue" in value:
        return _nested(value)
    if "bytesValue" in value:
        inner = value["bytesValue"]
        return inner if inner.__class__ is str else _bad("bytesValue", inner)
    raise SpanDecodeError(f"unknown AnyValue type {next(iter(value))!r}", "")


def _number(inner: Any, kind: str, convert: Callable[[Any], Any]) -> Any:
    """An ``intValue`` (a decimal string) or ``doubleValue``; a bool is neither."""
    try:
        return convert(inner) if inner.__class__ is not bool else _bad(kind, inner)
    except (TypeError, ValueError):
        return _bad(kind, inner)


MAX_NESTING = 64
"""Arrays and key/value lists inside one another, at most: deeper is refused with the
span, as protobuf parsers refuse it at 100 (and JSON encoders fail at ~250)."""
_depth = threading.local()


def _nested(value: dict[str, Any]) -> Any:
    level = getattr(_depth, "level", 0)
    if level >= MAX_NESTING:
        raise SpanDecodeError(f"values nested more than {MAX_NESTING} levels deep", "")
    _depth.level = level + 1
    try:
        if "arrayValue" in value:
            inner = value["arrayValue"]
            return _array(inner.get("values") or [] if inner.__class__ is dict
                          else _bad("arrayValue", inner))
        inner = value["kvlistValue"]
        items = inner.get("values") if inner.__class__ is dict else _bad("kvlistValue", inner)
        try:
            return decode_attributes(items)
        except SpanDecodeError as exc:
            raise SpanDecodeError(exc.message, ".kvlistValue.values"
                                  + exc.field.removeprefix("attributes")) from None
    finally:
        _depth.level = level


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
