"""Readers: bytes in, :class:`~tracegraph.model.Trace` values out.

Each format is one module with the same three names:

* ``NAME`` — what ``--format`` calls it;
* ``sniff(first)`` — does the first decoded record look like this format?
* ``read(records, *, source)`` — the traces (or ``InputError`` values for the
  records that could not be read) of an iterator of :class:`JsonRecord`.

Readers are pure: they never touch a store (an import-linter contract keeps it
so), which is why a reader test needs no database.  The container (JSONL,
array, single document) is handled once, in :mod:`.records`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import IO, Any, Iterator, Protocol, cast

from ..errors import InputError, UnknownFormatError
from ..model import Trace
from .records import JsonRecord, first_record, iter_json_records

__all__ = ["FORMATS", "reader", "detect", "read_stream", "read_path", "JsonRecord"]

# Order matters for detection: the most specific shapes first.
FORMATS: tuple[str, ...] = ("native", "otlp", "langfuse", "langsmith", "spans")

_MODULES = {
    "native": "native",
    "otlp": "otlp_json",
    "langfuse": "langfuse",
    "langsmith": "langsmith",
    "spans": "span_records",
}


class ReaderModule(Protocol):
    NAME: str

    def sniff(self, first: Any) -> bool: ...

    def read(self, records: Iterator[JsonRecord | InputError], *,
             source: str) -> Iterator[Trace | InputError]: ...


def reader(name: str) -> ReaderModule:
    """The reader module of a format name; ``UnknownFormatError`` lists the known ones."""
    module_name = _MODULES.get(name)
    if module_name is None:
        raise UnknownFormatError(
            f"unknown format {name!r}; known formats: {', '.join(FORMATS)}")
    module: ModuleType = importlib.import_module(f"{__name__}.{module_name}")
    return cast(ReaderModule, module)


def detect(first: Any, *, source: str = "") -> str:
    """The format whose reader recognises ``first`` (the first decoded record)."""
    for name in FORMATS:
        try:
            if reader(name).sniff(first):
                return name
        except ModuleNotFoundError:  # a reader not built yet is not a match
            continue
    shape = (f"an object with keys {', '.join(sorted(first)[:8])}" if isinstance(first, dict)
             else f"a {type(first).__name__}")
    raise UnknownFormatError(
        f"{source or 'input'}: not a trace format tracegraph reads (its first record is "
        f"{shape}); use --format to force one of: {', '.join(FORMATS)}")


def read_stream(stream: IO[bytes], *, source: str,
                format: str | None = None) -> tuple[str, Iterator[Trace | InputError]]:
    """Detect (unless ``format`` is given) and read a seekable stream.

    Detection decodes only the first record, then the stream is rewound.
    """
    if format is None:
        start = stream.tell()
        first = first_record(stream, source=source)
        stream.seek(start)
        if first is None:
            # Not JSON at all, or empty: let the native reader name the fault.
            records = iter_json_records(stream, source=source)
            item = next(iter(records), None)
            if isinstance(item, InputError):
                raise UnknownFormatError(str(item))
            raise UnknownFormatError(
                f"{source}: not JSON ({item.label if item else 'no records'} does not parse)")
        format = detect(first, source=source)
    module = reader(format)
    return format, module.read(iter_json_records(stream, source=source), source=source)


def read_path(path: str | Path, *, format: str | None = None) -> list[Trace | InputError]:
    """Every trace of a file, in memory: for tests and small files."""
    with open(path, "rb") as stream:
        _, items = read_stream(stream, source=str(path), format=format)
        return list(items)
