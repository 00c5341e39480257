"""LangSmith runs as a record holds them: found, identified and merged post with patch.

A record is one run, a list of runs, or an ingest batch (``post``/``patch``/``runs``
lists), and any run may nest its children in ``child_runs``.  :func:`located_runs`
finds every run with its field path; :func:`identify` works out its id, trace
and parent from its fields, its ``dotted_order`` (``<time>Z<run id>`` segments,
root first) or its nesting; :meth:`Run.merged` applies a ``patch`` to its
``post``.  A :class:`Run` remembers which record path each of its fields came
from, so a fault found later names the field the source really wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterator, TypeVar

__all__ = ["Run", "BadRun", "LocatedRun", "located_runs", "identify", "guess_trace",
           "join_path", "typed_field", "text_field"]

_DOTTED = re.compile(r"(\d{8}T\d{6,12}Z)(.+)")
_T = TypeVar("_T")

LocatedRun = tuple[str, str, Any, str | None, str | None]
"""``(path, op, run, parent hint, trace hint)`` of one run found in a record."""


class BadRun(Exception):
    """A run that cannot be read: the field path within the record and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@dataclass
class Run:
    """A run's (merged) dict, the ids derived for it and the path each key came from."""

    id: str
    trace_id: str
    parent_id: str | None
    path: str
    op: str
    data: dict[str, Any]
    origin: dict[str, str] = field(default_factory=dict)

    def where(self, key: str) -> str:
        return self.origin.get(key, self.path)

    def at(self, key: str) -> str:
        return join_path(self.where(key), key)

    def merged(self, later: "Run") -> "Run":
        """Patch semantics: the later run's fields win, but a ``null`` never erases."""
        data, origin = dict(self.data), dict(self.origin)
        for key, value in later.data.items():
            if value is not None or key not in data:
                data[key], origin[key] = value, later.path
        return Run(self.id, later.trace_id or self.trace_id, later.parent_id or self.parent_id,
                   self.path, "merged", data, origin)


def located_runs(value: Any) -> Iterator[LocatedRun]:
    """``(path, op, run, parent hint, trace hint)`` for every run of a record, nested too."""
    if isinstance(value, dict) and "run_type" not in value \
            and any(isinstance(value.get(k), list) for k in ("post", "patch", "runs")):
        tops = [(f"{op}[{i}]", "run" if op == "runs" else op, run)
                for op in ("post", "patch", "runs")
                for i, run in enumerate(typed_field(value, op, list, "") or [])]
    elif isinstance(value, dict):
        tops = [("", "run", value)]
    elif isinstance(value, list):
        tops = [(f"[{i}]", "run", run) for i, run in enumerate(value)]
    else:
        raise BadRun("", f"expected a run or a {{post, patch}} batch, got {type(value).__name__}")
    stack: list[LocatedRun] = \
        [(path, op, run, None, None) for path, op, run in reversed(tops)]
    while stack:
        path, op, run, parent_hint, trace_hint = stack.pop()
        yield path, op, run, parent_hint, trace_hint
        children = run.get("child_runs") if isinstance(run, dict) else None
        if isinstance(children, list):  # a wrong type is _identify's to report
            run_id = run["id"] if isinstance(run.get("id"), str) else None
            stack.extend((join_path(path, f"child_runs[{j}]"), op, child, run_id,
                          guess_trace(run, trace_hint))
                         for j, child in reversed(list(enumerate(children))))


def identify(raw: Any, path: str, op: str, parent_hint: str | None,
              trace_hint: str | None) -> Run:
    """The run's id, trace and parent: from its fields, its ``dotted_order`` or its nesting."""
    if not isinstance(raw, dict):
        raise BadRun(path or "$", f"expected a run object, got {type(raw).__name__}")
    dotted = text_field(raw, "dotted_order", path)
    segments = [m.group(2) if (m := _DOTTED.fullmatch(s)) else "" for s in dotted.split(".")] \
        if dotted else []
    if "" in segments:
        raise BadRun(join_path(path, "dotted_order"), f"not a dotted order: {dotted!r}")
    typed_field(raw, "child_runs", list, path)
    run_id = text_field(raw, "id", path) or (segments[-1] if segments else "")
    if not run_id:
        raise BadRun(join_path(path, "id"), "the run has no id (and no dotted_order to derive it)")
    if segments and segments[-1] != run_id:
        raise BadRun(join_path(path, "dotted_order"),
                   f"ends with run {segments[-1]!r}, not this run's id {run_id!r}")
    parent = text_field(raw, "parent_run_id", path) or (segments[-2] if len(segments) > 1 else None) \
        or parent_hint
    trace = text_field(raw, "trace_id", path) or (segments[0] if segments else "") or trace_hint or ""
    return Run(run_id, trace, parent, path, op, raw)  # no trace yet: its post may say it


def guess_trace(raw: Any, trace_hint: str | None) -> str | None:
    """Which trace a run belongs to as far as it says, even when it cannot be read."""
    if isinstance(raw, dict):
        for value in (raw.get("trace_id"), raw.get("dotted_order")):
            if isinstance(value, str) and value:
                match = _DOTTED.match(value.split(".")[0])
                return match.group(2) if match else value
        if trace_hint is None and raw.get("parent_run_id") is None \
                and isinstance(raw.get("id"), str):
            return str(raw["id"])
    return trace_hint


def join_path(path: str, key: str) -> str:
    """The path of ``key`` within the object at ``path`` (``post[2].start_time``)."""
    return f"{path}.{key}" if path else key


def typed_field(d: dict[str, Any], key: str, kind: type[_T], path: str) -> _T | None:
    """A field of JSON type ``kind`` or ``None``; any other type is an error naming the field."""
    value = d.get(key)
    if value is not None and not isinstance(value, kind):
        name = {"str": "a string", "dict": "an object", "list": "a list"}[kind.__name__]
        raise BadRun(join_path(path, key), f"expected {name}, got {type(value).__name__}")
    return value


def text_field(d: dict[str, Any], key: str, path: str) -> str:
    """A string field, ``""`` when absent; any other type is an error naming the field."""
    return typed_field(d, key, str, path) or ""
