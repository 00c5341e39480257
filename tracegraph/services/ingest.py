"""Ingest an OTLP/HTTP export request: the use case behind ``POST /v1/traces``.

The server hands over the body and two headers; this module decides whether it
can read them (media type, content coding, size), decodes the request —
protobuf through :mod:`..formats.otlp_proto` into the OTLP/JSON encoding, JSON
as it is — and reads it with the OTLP/JSON reader, then writes the traces
through :func:`.importing.import_traces`, the write path of ``tracegraph
import``.  So an exporter's spans become exactly the steps an OTLP/JSON file of
the same request gives, fragments of one trace sent in several requests are
merged by the store, and a request sent twice leaves the store as once.

What is refused, and how (the server maps each to a status):

* a media type or content coding it cannot read — :class:`UnsupportedMedia`
  (HTTP 415), before anything is decoded;
* a body over ``max_bytes``, before or after gunzip — :class:`BodyTooLarge`
  (HTTP 413); a gzip bomb is stopped at ``max_bytes`` of output;
* a body that is not a request at all (truncated protobuf, bad gzip, invalid
  JSON, a ``resourceSpans`` that is not a list) — :class:`InputError` (HTTP
  400), and nothing is written;
* spans the reader rejects (a bad id, an unreadable token count) — counted in
  :class:`IngestResult` as rejected, with a message, while the other traces of
  the request are written: OTLP's partial success (HTTP 200).  As for files,
  a trace is taken whole or not at all from one request: a bad span rejects
  the spans of its trace that came with it.
"""

from __future__ import annotations

import zlib
from typing import Any

import msgspec
import orjson

from ..errors import InputError
from ..formats.otlp_json import read_request
from ..formats.otlp_proto import decode_request
from ..model import Trace
from ..store import Store
from .importing import import_traces

__all__ = ["IngestResult", "UnsupportedMedia", "BodyTooLarge", "ingest_otlp", "media_type_of",
           "PROTOBUF", "JSON", "DEFAULT_MAX_BYTES", "SOURCE"]

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
SOURCE = "POST /v1/traces"

DEFAULT_MAX_BYTES = 32 << 20
"""The largest body read, in bytes after gunzip (32 MiB: about 60,000 GenAI spans
with message content; exporters send 512 spans a batch by default)."""

_MEDIA_TYPES = {PROTOBUF: PROTOBUF, "application/protobuf": PROTOBUF, JSON: JSON}
_GZIP = ("gzip", "x-gzip")
_SHOWN_ERRORS = 3
"""Rejections spelled out in ``error_message``; the rest are counted."""


class UnsupportedMedia(InputError):
    """A ``Content-Type`` or ``Content-Encoding`` this endpoint does not read (HTTP 415)."""


class BodyTooLarge(InputError):
    """A body over the size limit, compressed or once decompressed (HTTP 413)."""


class IngestResult(msgspec.Struct, frozen=True, kw_only=True):
    """What one request gave: OTLP's partial success, and the traces it touched."""

    accepted_spans: int
    """Spans written, or already stored as they are (a request sent again)."""
    rejected_spans: int
    """Spans not written: ``ExportTracePartialSuccess.rejected_spans``."""
    error_message: str = ""
    """Why spans were rejected (the first few, by field); empty when none was."""
    traces: list[str] = msgspec.field(default_factory=list)
    """Ids of the traces the accepted spans belong to, in order of appearance."""


def media_type_of(content_type: str | None, *, source: str = SOURCE) -> str:
    """:data:`PROTOBUF` or :data:`JSON` from a ``Content-Type``; else :class:`UnsupportedMedia`.

    ``application/protobuf`` counts as protobuf; JSON must be UTF-8.
    """
    media, _, parameters = (content_type or "").partition(";")
    media = media.strip().lower()
    found = _MEDIA_TYPES.get(media)
    if found is None:
        said = f"Content-Type {media!r}" if media else "no Content-Type"
        raise UnsupportedMedia(f"{said}: send OTLP as {PROTOBUF} or {JSON}", source=source)
    charset = _parameter(parameters, "charset")
    if found == JSON and charset not in (None, "utf-8", "utf8"):
        raise UnsupportedMedia(f"charset {charset!r}: OTLP/JSON is read as UTF-8",
                               source=source)
    return found


def ingest_otlp(store: Store, body: bytes, *, content_type: str | None,
                content_encoding: str | None, source: str = SOURCE,
                max_bytes: int = DEFAULT_MAX_BYTES) -> IngestResult:
    """Read one OTLP ``ExportTraceServiceRequest`` body and write its traces.

    Parameters
    ----------
    store
        Where the traces go (fragments are merged with what it holds).
    body
        The request body as received (compressed when ``content_encoding`` says so).
    content_type, content_encoding
        The request's headers: ``application/x-protobuf`` or ``application/json``;
        ``gzip``, ``identity`` or none.
    source
        How errors name the request.
    max_bytes
        The largest body accepted, before and after gunzip.

    Raises
    ------
    UnsupportedMedia
        Another media type or content coding (HTTP 415).
    BodyTooLarge
        More than ``max_bytes`` (HTTP 413).
    InputError
        Not a readable request (HTTP 400); nothing was written.

    Examples
    --------
    >>> from tracegraph.store import SQLiteStore
    >>> store = SQLiteStore(":memory:")
    >>> ingest_otlp(store, b'{"resourceSpans": []}', content_type="application/json",
    ...             content_encoding=None)
    IngestResult(accepted_spans=0, rejected_spans=0, error_message='', traces=[])
    """
    media = media_type_of(content_type, source=source)
    if len(body) > max_bytes:
        raise BodyTooLarge(f"the body is {len(body):,} bytes, over the limit of "
                           f"{max_bytes:,}", source=source)
    data = _decoded(body, content_encoding, max_bytes=max_bytes, source=source)
    request = decode_request(data, source=source) if media == PROTOBUF \
        else _json_request(data, source=source)
    total = _span_count(request, source=source)
    if total == 0:
        return IngestResult(accepted_spans=0, rejected_spans=0)
    items = list(read_request(request, source=source, record=""))
    report = import_traces(store, items, source=source)
    rejected_traces = {error.trace_id for error in report.rejected if error.trace_id}
    accepted = [item for item in items
                if isinstance(item, Trace) and item.id not in rejected_traces]
    accepted_spans = sum(len(trace.steps) for trace in accepted)
    return IngestResult(
        accepted_spans=accepted_spans, rejected_spans=total - accepted_spans,
        error_message=_error_message(report.rejected, total - accepted_spans, total),
        traces=[trace.id for trace in accepted])


def _parameter(parameters: str, name: str) -> str | None:
    for parameter in parameters.split(";"):
        key, _, value = parameter.partition("=")
        if key.strip().lower() == name:
            return value.strip().strip('"').lower()
    return None


def _decoded(body: bytes, content_encoding: str | None, *, max_bytes: int,
             source: str) -> bytes:
    """The body with its content codings undone, last applied first."""
    codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
    for coding in reversed(codings):
        if coding in ("", "identity"):
            continue
        if coding not in _GZIP:
            raise UnsupportedMedia(f"Content-Encoding {coding!r}: send gzip or identity",
                                   source=source)
        body = _gunzip(body, max_bytes=max_bytes, source=source)
    return body


def _gunzip(data: bytes, *, max_bytes: int, source: str) -> bytes:
    """Every gzip member of ``data``, stopping once the output passes ``max_bytes``."""
    out = bytearray()
    while True:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip header required
        try:
            out += inflater.decompress(data, max_bytes + 1 - len(out))
        except zlib.error as exc:
            raise InputError(f"the body is not valid gzip: {exc}", source=source) from None
        if len(out) > max_bytes:
            raise BodyTooLarge(f"the body decompresses to more than {max_bytes:,} bytes "
                               f"(the limit; {len(data):,} bytes compressed)", source=source)
        if not inflater.eof:
            raise InputError("the gzip body is truncated", source=source)
        data = inflater.unused_data
        if not data:
            return bytes(out)


def _json_request(data: bytes, *, source: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc}", source=source) from None


def _span_count(request: Any, *, source: str) -> int:
    """The spans a request holds, once its containers are known to be well formed.

    The reader would reject a misshapen container and go on with the rest, as
    it should for a file of many records; a request is one record, and one
    whose shape is wrong is refused whole.
    """
    if not isinstance(request, dict):
        raise InputError(f"expected an ExportTraceServiceRequest object, got "
                         f"{type(request).__name__}", source=source)
    resource_spans = _get(request, "resourceSpans", "resource_spans")
    if resource_spans is None and not request:
        return 0  # {}: the protobuf JSON of an empty request
    if not isinstance(resource_spans, list):
        raise InputError("expected a resourceSpans list", source=source,
                         field="resourceSpans")
    count = 0
    for r, resource_span in enumerate(resource_spans):
        path = f"resourceSpans[{r}]"
        if not isinstance(resource_span, dict):
            raise InputError(f"expected an object, got {type(resource_span).__name__}",
                             source=source, field=path)
        scope_spans = _get(resource_span, "scopeSpans", "scope_spans")
        if scope_spans is None:
            scope_spans = resource_span.get("instrumentationLibrarySpans") or []
        if not isinstance(scope_spans, list):
            raise InputError("expected a scopeSpans list", source=source,
                             field=f"{path}.scopeSpans")
        for s, scope_span in enumerate(scope_spans):
            if not isinstance(scope_span, dict):
                raise InputError(f"expected an object, got {type(scope_span).__name__}",
                                 source=source, field=f"{path}.scopeSpans[{s}]")
            spans = scope_span.get("spans")
            if spans is None:
                continue
            if not isinstance(spans, list):
                raise InputError("expected a spans list", source=source,
                                 field=f"{path}.scopeSpans[{s}].spans")
            count += len(spans)
    return count


def _get(obj: dict[str, Any], camel: str, snake: str) -> Any:
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def _error_message(errors: list[InputError], rejected_spans: int, total: int) -> str:
    """One line for the exporter's log: how many, and the first few reasons."""
    if not errors and not rejected_spans:
        return ""
    reasons = []
    for error in errors[:_SHOWN_ERRORS]:
        where = InputError(error.message, record=error.record, field=error.field)
        reasons.append(f"trace {error.trace_id}: {where}" if error.trace_id else str(where))
    more = len(errors) - _SHOWN_ERRORS
    if more > 0:
        reasons.append(f"{more} more")
    return f"{rejected_spans} of {total} spans rejected: " + "; ".join(reasons)
