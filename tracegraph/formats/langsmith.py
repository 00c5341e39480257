"""LangSmith runs: ``{"post": [...], "patch": [...]}`` ingest batches and run exports.

A LangSmith *run* is a span.  The SDKs send a run twice, in batches: ``post``
when it starts and ``patch`` when it ends (``end_time``, ``outputs``,
``error``); the JS SDK's patch does not even repeat the ``id``, only the
``dotted_order`` whose last segment is the run id.  Exports come as a JSON
array or JSONL of finished runs (``client.list_runs``) or as one run with its
``child_runs`` nested.  All four shapes are read here.

Runs of a trace arrive spread over batches and files, so this reader emits
``partial`` fragments by trace id that the store merges by step id.  Records
are coalesced (a run seen again later is merged, later fields winning) so a
JSONL dump of a 30-run trace is one fragment, not 30; every ``FLUSH_RUNS``
runs the buffer is emitted to bound memory.  A bad run rejects what its record
says about its trace (one :class:`InputError` with the field path,
``post[2].start_time``); every other trace still comes through.

This module turns records into trace fragments; finding and merging the runs
in a record is :mod:`.langsmith_runs`, and what a run's fields become is
:mod:`.langsmith_steps`.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

import msgspec

from ..errors import InputError
from ..model import Step, Trace
from .decoded_records import decoded_records
from .langsmith_runs import BadRun, Run, guess_trace, identify, join_path, located_runs, \
    text_field
from .langsmith_steps import run_step
from .records import JsonRecord

__all__ = ["NAME", "sniff", "read", "FLUSH_RUNS"]

NAME = "langsmith"
FLUSH_RUNS = 5000
"""Buffered runs after which the coalesced fragments are emitted."""

_RUN_MARKERS = ("run_type", "dotted_order", "trace_id", "parent_run_id")
_RETRY_TAG = re.compile(r"retry:attempt:(\d+)")
_THREAD_KEYS = ("thread_id", "session_id", "conversation_id")
_Buffer = dict[str, dict[str, tuple[Run, Step]]]


def sniff(first: Any) -> bool:
    """An ingest batch (``post``/``patch`` lists of runs) or a run with a ``run_type``."""
    if isinstance(first, list) and first:
        first = first[0]
    if not isinstance(first, dict):
        return False
    for key in ("post", "patch", "runs"):
        runs = first.get(key)
        if isinstance(runs, list) and runs and isinstance(runs[0], dict) \
                and any(m in runs[0] for m in _RUN_MARKERS):
            return True
    return isinstance(first.get("run_type"), str) and ("id" in first or "dotted_order" in first)


def read(records: Iterator[JsonRecord | InputError], *,
         source: str) -> Iterator[Trace | InputError]:
    """Trace fragments of LangSmith records, one per trace id, and one error per bad trace."""
    buffer: _Buffer = {}
    buffered = 0
    for record in decoded_records(records, source=source):
        if isinstance(record, InputError):
            yield record
            continue
        for item in _read_record(record.value, buffer, source=source, label=record.label):
            if isinstance(item, InputError):
                yield item
                continue
            slot = buffer.setdefault(item[0], {})
            buffered += sum(1 for run, _ in item[1] if run.id not in slot)
            slot.update((run.id, (run, step)) for run, step in item[1])
        if buffered >= FLUSH_RUNS:
            yield from _flush(buffer)
            buffer, buffered = {}, 0
    yield from _flush(buffer)


def _read_record(value: Any, buffer: _Buffer, *, source: str, label: str
                 ) -> Iterator[tuple[str, list[tuple[Run, Step]]] | InputError]:
    """The runs of one record, post/patch merged, grouped by trace and built; or errors."""
    problems: dict[str | None, list[BadRun]] = {}
    runs: dict[str, Run] = {}
    try:
        located = list(located_runs(value))
    except BadRun as bad:
        yield InputError(bad.message, source=source, record=label, field=bad.field)
        return
    for path, op, raw, parent_hint, trace_hint in located:
        try:
            run = identify(raw, path, op, parent_hint, trace_hint)
        except BadRun as bad:
            problems.setdefault(guess_trace(raw, trace_hint), []).append(bad)
            continue
        earlier = runs.get(run.id)
        if earlier is None:
            runs[run.id] = run
        elif {earlier.op, run.op} == {"post", "patch"}:
            runs[run.id] = earlier.merged(run) if earlier.op == "post" else run.merged(earlier)
        else:
            problems.setdefault(run.trace_id, []).append(BadRun(join_path(path, "id"), (
                f"duplicate run id {run.id!r} (also {earlier.path or 'the root run'})")))
    groups: dict[str, list[Run]] = {}
    for run in runs.values():
        if not run.trace_id and run.parent_id is not None:
            problems.setdefault(None, []).append(
                BadRun(run.at("trace_id"), "trace_id is missing and the run has a parent"))
            continue
        groups.setdefault(run.trace_id or run.id, []).append(run)
    for trace_id, group in groups.items():
        built: list[tuple[Run, Step]] = []
        for run in group:
            previous = buffer.get(trace_id, {}).get(run.id)
            run = previous[0].merged(run) if previous else run
            try:
                built.append((run, run_step(run)))
            except BadRun as bad:
                problems.setdefault(trace_id, []).append(bad)
        cycle = _closes_cycle(built, buffer.get(trace_id, {}))
        if cycle is not None:
            problems.setdefault(trace_id, []).append(cycle)
        if trace_id not in problems:
            yield trace_id, built
    for guessed, bads in problems.items():
        more = f" (and {len(bads) - 1} more problems)" if len(bads) > 1 else ""
        yield InputError(bads[0].message + more, source=source, record=label,
                         field=bads[0].field, trace_id=guessed)


def _closes_cycle(built: list[tuple[Run, Step]],
                  buffered: dict[str, tuple[Run, Step]]) -> BadRun | None:
    """A parent cycle the new runs make with each other or with earlier records' runs.

    Only the new runs' ancestor chains are walked, so a trace read one run per JSONL line
    costs its depth per line, not its size."""
    parents = {run_id: run.parent_id for run_id, (run, _) in buffered.items()}
    parents.update((run.id, run.parent_id) for run, _ in built)
    for run, _ in built:
        seen, current = {run.id}, run.parent_id
        while current is not None and current in parents:
            if current in seen:
                return BadRun(run.at("parent_run_id"), f"parent cycle through run {current!r}")
            seen.add(current)
            current = parents[current]
    return None


def _flush(buffer: _Buffer) -> Iterator[Trace]:
    """One partial trace per buffered trace id, steps in ``dotted_order`` (execution) order.

    The root run, when present, names the workflow, and its metadata (minus LangSmith's
    own ``ls_*`` keys) becomes the trace attributes that reports segment by."""
    for trace_id, entries in buffer.items():
        pairs = sorted(entries.values(), key=lambda p: (
            not isinstance(p[0].data.get("dotted_order"), str),
            p[0].data.get("dotted_order") or "", p[1].start_ns or 0))
        roots = [run for run, _ in pairs if run.parent_id is None]
        projects = [run.data["session_name"] for run, _ in pairs
                    if isinstance(run.data.get("session_name"), str)]
        attributes: dict[str, Any] = {"project": projects[0]} if projects else {}
        workflow = session_id = None
        if roots:
            workflow = text_field(roots[0].data, "name", "") or (projects[0] if projects else None)
            meta = (roots[0].data.get("extra") or {}).get("metadata") or {}
            attributes.update((k, v) for k, v in meta.items() if not k.startswith("ls_")
                              and isinstance(v, (str, int, float, bool)))
            session_id = next((str(meta[k]) for k in _THREAD_KEYS if meta.get(k)), None)
        yield Trace(id=trace_id, source_format=NAME, workflow=workflow, partial=True,
                    steps=tuple(_with_retries([step for _, step in pairs])),
                    attributes=attributes, session_id=session_id)


def _with_retries(steps: list[Step]) -> list[Step]:
    """LangChain's ``RunnableRetry`` tags attempt N>1 ``retry:attempt:N``: link it to N-1,
    the latest earlier sibling of the same name (attempt 1 carries no tag)."""
    def attempt(step: Step) -> int:
        tags = step.attributes.get("tags")
        found = [int(m.group(1)) for t in tags if isinstance(t, str)
                 and (m := _RETRY_TAG.fullmatch(t))] if isinstance(tags, list) else []
        return found[0] if found else 1

    out: list[Step] = []
    for step in steps:
        n = attempt(step)
        earlier = [s for s in out if n > 1 and s.parent_id == step.parent_id
                   and s.name == step.name and attempt(s) == n - 1]
        out.append(msgspec.structs.replace(step, retry_of=earlier[-1].id) if earlier else step)
    return out
