"""The container layer: JSONL, arrays and single documents, read without loading whole."""

from __future__ import annotations

import io

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
