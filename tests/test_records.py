"""The container layer: JSONL, arrays and single documents, read without loading whole."""

from __future__ import annotations

import io

import pytest

from tracegraph.errors import InputError
from tracegraph.formats.records import JsonRecord, iter_json_records


def _read(data: bytes) -> list[JsonRecord | InputError]:
    return list(iter_json_records(io.BytesIO(data), source="f.json"))


def test_jsonl_lines_keep_their_line_numbers_across_blank_lines() -> None:
    items = _read(b'{"a":1}\n\n\n{"b":2}\n{"c":3}\n')
    assert [i.label for i in items if isinstance(i, JsonRecord)] == ["line 1", "line 4", "line 5"]
    assert [i.decode() for i in items if isinstance(i, JsonRecord)] == [{"a": 1}, {"b": 2},
                                                                        {"c": 3}]


def test_a_broken_jsonl_line_is_still_a_record_and_the_next_line_is_read() -> None:
    items = _read(b'{"a":1}\n{"b":\n{"c":3}\n')
    assert [i.label for i in items if isinstance(i, JsonRecord)] == ["line 1", "line 2", "line 3"]


def test_array_elements_stream_as_records_with_plain_json_types() -> None:
    items = _read(b'[\n {"a": 1.5, "b": [1, 2.25]},\n {"c": "x"}\n]\n')
    assert [(i.label, i.decode()) for i in items if isinstance(i, JsonRecord)] == [
        ("record 1", {"a": 1.5, "b": [1, 2.25]}), ("record 2", {"c": "x"})]


def test_a_truncated_array_keeps_what_came_before_and_reports_the_break() -> None:
    items = _read(b'[{"a": 1}, {"b": ')
    assert isinstance(items[0], JsonRecord) and items[0].decode() == {"a": 1}
    assert isinstance(items[1], InputError)
    assert items[1].source == "f.json" and items[1].record == "record 2"


def test_a_pretty_printed_object_is_one_document() -> None:
    items = _read(b'{\n  "trace": {"id": "x"},\n  "observations": []\n}\n')
    assert len(items) == 1 and isinstance(items[0], JsonRecord)
    assert items[0].label == "document"
    assert items[0].decode() == {"trace": {"id": "x"}, "observations": []}


def test_an_empty_file_is_an_error_naming_the_file() -> None:
    for data in (b"", b"\n  \n"):
        (item,) = _read(data)
        assert isinstance(item, InputError)
        assert "f.json" in str(item) and "empty" in str(item)


def test_an_over_long_line_is_refused_and_the_next_line_still_read(
        monkeypatch: "pytest.MonkeyPatch") -> None:
    import tracegraph.formats.records as records
    monkeypatch.setattr(records, "MAX_RECORD_BYTES", 100)
    data = b'{"a":1}\n{"big": "' + b"x" * 500 + b'"}\n{"c":3}\n'
    items = _read(data)
    assert [getattr(i, "label", None) or i.record for i in items] == ["line 1", "line 2",
                                                                      "line 3"]
    assert isinstance(items[1], InputError) and "larger than" in items[1].message
    assert isinstance(items[2], JsonRecord) and items[2].decode() == {"c": 3}


def test_a_document_over_the_limit_is_refused_with_advice(
        monkeypatch: "pytest.MonkeyPatch") -> None:
    import tracegraph.formats.records as records
    monkeypatch.setattr(records, "MAX_RECORD_BYTES", 100)
    (item,) = _read(b'{\n "spans": [' + b'{"x": 1},' * 50 + b'{}]\n}\n')
    assert isinstance(item, InputError) and "JSONL" in item.message
