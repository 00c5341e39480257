"""Records decoded to JSON values: the loop every JSON reader opens with.

A reader gets :class:`~.records.JsonRecord` values, and errors the container
split already found, from :mod:`.records`.  Each record must be decoded, and
one that is not JSON becomes an :class:`~tracegraph.errors.InputError` naming
the record while the rest are still read.  That rule is written here once.
"""

from __future__ import annotations

from typing import Any, Iterator, NamedTuple

import orjson

from ..errors import InputError
from .records import JsonRecord

__all__ = ["DecodedRecord", "decoded_records"]


class DecodedRecord(NamedTuple):
    """A record's label (``line 12``, ``record 3``) and its decoded value."""

    label: str
    value: Any


def decoded_records(records: Iterator[JsonRecord | InputError], *,
                    source: str) -> Iterator[DecodedRecord | InputError]:
    """Each record decoded, in order; errors pass through and bad JSON becomes one."""
    for record in records:
        if isinstance(record, InputError):
            yield record
            continue
        try:
            value = record.decode()
        except orjson.JSONDecodeError as exc:
            yield InputError(f"invalid JSON: {exc}", source=source, record=record.label)
            continue
        yield DecodedRecord(record.label, value)
