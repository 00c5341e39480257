"""Split an input file into JSON records without loading the file whole.

Every format here is JSON in one of three containers, and the container is
independent of the format:

* **JSONL** — one value per line (the OpenTelemetry collector's file exporter,
  our own native exports).  Each line is a record, read one at a time.
* **a top-level array** — each element is a record, streamed with ``ijson`` so
  a 1 GB array never sits in memory.
* **a single document** — one object (a Langfuse export, one OTLP request).
  It is one record and is parsed whole; files that grow large are written as
  JSONL or arrays by every exporter we know.

Records carry a label (``line 12``, ``record 3``) that every error names.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any, Iterator

import ijson
import orjson

from ..errors import InputError

__all__ = ["JsonRecord", "iter_json_records", "first_record", "container_of"]


@dataclass(frozen=True, slots=True)
class JsonRecord:
    """One record: either its undecoded bytes (JSONL, documents) or a value (arrays)."""

    label: str
    data: bytes | None = None
    value: Any = None

    def decode(self) -> Any:
        """The record as plain Python values (dicts, lists, str, int, float)."""
        if self.data is not None:
            return orjson.loads(self.data)
        return self.value


MAX_RECORD_BYTES = 256 * 2**20
"""The largest single record (a JSONL line, a whole document) read into memory."""


class _Prefixed:
    """A stream with bytes already read put back in front (for ``ijson`` and lines)."""

    def __init__(self, prefix: bytes, rest: IO[bytes]) -> None:
        self._prefix = prefix
        self._rest = rest

    def readline(self, size: int = -1) -> bytes:
        if not self._prefix:
            return self._rest.readline(size)
        head, self._prefix = self._prefix, b""
        if head.endswith(b"\n"):
            return head
        return head + self._rest.readline(size - len(head) if size >= 0 else -1)

    def read(self, size: int = -1) -> bytes:
        if self._prefix:
            if size < 0:
                out, self._prefix = self._prefix + self._rest.read(), b""
                return out
            out, self._prefix = self._prefix[:size], self._prefix[size:]
            return out
        return self._rest.read(size)


def container_of(first_line: bytes, rest_is_empty: bool) -> str:
    """``jsonl``, ``array``, ``document`` or ``empty``, judged from the first line."""
    text = first_line.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        return "empty"
    if text[:1] == b"[":
        return "array"
    if rest_is_empty:
        return "document"
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return "document"
    return "jsonl"


def _plain(value: Any) -> Any:
    """ijson yields ``Decimal`` for non-integers; readers expect JSON's own types."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    return value


def iter_json_records(stream: IO[bytes], *, source: str) -> Iterator[JsonRecord | InputError]:
    """Yield the records of ``stream``; the container is judged from its first line.

    A broken JSONL line is yielded as a record all the same (the reader's
    decoder names the fault) and the next line is still read.  A broken array
    cannot be resynchronised: what came before the break is kept and the break
    is reported once.
    """
    limit = MAX_RECORD_BYTES
    first = stream.readline(limit + 1)
    number = 1
    while first and not first.strip():
        first = stream.readline(limit + 1)
        number += 1
    if not first:
        yield InputError("the file is empty", source=source)
        return
    if len(first) > limit:
        yield _too_large(stream, source=source, label=f"line {number}")
        yield from _jsonl(stream, source=source, start=number + 1)
        return
    peek = stream.read(1)
    skipped_lines = 0
    while peek and peek.isspace():
        skipped_lines += peek == b"\n"
        peek = stream.read(1)
    kind = container_of(first, rest_is_empty=not peek)
    if kind == "jsonl":
        yield JsonRecord(label=f"line {number}", data=first)
        # the byte peeked past the blank lines starts the next record's line
        yield from _jsonl(_Prefixed(peek, stream), source=source,
                          start=number + 1 + skipped_lines)
        return
    if kind == "array":
        index = 0
        try:
            for index, value in enumerate(
                    ijson.items(_Prefixed(first + peek, stream), "item"), start=1):
                yield JsonRecord(label=f"record {index}", value=_plain(value))
        except (ijson.JSONError, ijson.IncompleteJSONError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "parse error"
            yield InputError(f"invalid JSON after record {index}: {reason}", source=source,
                             record=f"record {index + 1}")
        return
    if not peek:  # a file of one line: name the line, as for JSONL
        yield JsonRecord(label=f"line {number}", data=first)
        return
    data = first + peek + stream.read(limit + 1 - len(first) - len(peek))
    if len(data) > limit:
        yield InputError(
            f"a single JSON document larger than {limit // 2**20} MB; export it as JSONL "
            "or a JSON array, which tracegraph reads one record at a time",
            source=source, record="document")
        return
    yield JsonRecord(label="document", data=data)


def _jsonl(stream: Any, *, source: str, start: int) -> Iterator[JsonRecord | InputError]:
    """The remaining lines as records, numbered from ``start``; over-long lines refused."""
    limit = MAX_RECORD_BYTES
    number = start
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            yield _too_large(stream, source=source, label=f"line {number}")
        elif line.strip():
            yield JsonRecord(label=f"line {number}", data=line)
        number += 1


def _too_large(stream: Any, *, source: str, label: str) -> InputError:
    """Skip the rest of an over-long line (without holding it) and say why."""
    while True:
        chunk = stream.readline(1 << 20)
        if not chunk or chunk.endswith(b"\n"):
            break
    return InputError(f"record larger than {MAX_RECORD_BYTES // 2**20} MB; nothing of it "
                      "was read", source=source, record=label)


def first_record(stream: IO[bytes], *, source: str) -> Any:
    """The decoded first record, for format detection; ``None`` if it is not JSON.

    Reads only what the first record needs (all of a single document).
    """
    for item in iter_json_records(stream, source=source):
        if isinstance(item, InputError):
            return None
        try:
            return item.decode()
        except orjson.JSONDecodeError:
            return None
    return None
