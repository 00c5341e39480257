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
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterator, TypeVar

import msgspec
import orjson

from ..errors import InputError
from ..model import DocumentRef, Status, Step, StepKind, Trace
from .records import JsonRecord
from .values import maybe_json, time_ns, to_decimal, to_int

__all__ = ["NAME", "sniff", "read", "FLUSH_RUNS"]

NAME = "langsmith"
FLUSH_RUNS = 5000
"""Buffered runs after which the coalesced fragments are emitted."""

_KINDS = {"llm": StepKind.LLM, "chat_model": StepKind.LLM, "embedding": StepKind.LLM,
          "tool": StepKind.TOOL_CALL, "retriever": StepKind.RETRIEVAL}
_RUN_MARKERS = ("run_type", "dotted_order", "trace_id", "parent_run_id")
_DOTTED = re.compile(r"(\d{8}T\d{6,12}Z)(.+)")
_ERROR_TYPE = re.compile(r"([A-Za-z_][\w.]*)(?:\(|: |:$)")
_RETRY_TAG = re.compile(r"retry:attempt:(\d+)")
_THREAD_KEYS = ("thread_id", "session_id", "conversation_id")
_MAPPED = frozenset({"id", "trace_id", "parent_run_id", "dotted_order", "name", "start_time",
                     "end_time", "error", "inputs", "outputs", "extra", "events", "child_runs"})
"""Run fields that become Step fields; every other field stays in ``Step.attributes``."""
_T = TypeVar("_T")
_Buffer = dict[str, dict[str, tuple["_Run", Step]]]


class _Bad(Exception):
    """A run that cannot be read: the field path within the record and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@dataclass
class _Run:
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
        return _join(self.where(key), key)

    def merged(self, later: "_Run") -> "_Run":
        """Patch semantics: the later run's fields win, but a ``null`` never erases."""
        data, origin = dict(self.data), dict(self.origin)
        for key, value in later.data.items():
            if value is not None or key not in data:
                data[key], origin[key] = value, later.path
        return _Run(self.id, later.trace_id or self.trace_id, later.parent_id or self.parent_id,
                    self.path, "merged", data, origin)


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
    for record in records:
        if isinstance(record, InputError):
            yield record
            continue
        try:
            value = record.decode()
        except orjson.JSONDecodeError as exc:
            yield InputError(f"invalid JSON: {exc}", source=source, record=record.label)
            continue
        for item in _read_record(value, buffer, source=source, label=record.label):
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
                 ) -> Iterator[tuple[str, list[tuple[_Run, Step]]] | InputError]:
    """The runs of one record, post/patch merged, grouped by trace and built; or errors."""
    problems: dict[str | None, list[_Bad]] = {}
    runs: dict[str, _Run] = {}
    try:
        located = list(_located_runs(value))
    except _Bad as bad:
        yield InputError(bad.message, source=source, record=label, field=bad.field)
        return
    for path, op, raw, parent_hint, trace_hint in located:
        try:
            run = _identify(raw, path, op, parent_hint, trace_hint)
        except _Bad as bad:
            problems.setdefault(_guess_trace(raw, trace_hint), []).append(bad)
            continue
        earlier = runs.get(run.id)
        if earlier is None:
            runs[run.id] = run
        elif {earlier.op, run.op} == {"post", "patch"}:
            runs[run.id] = earlier.merged(run) if earlier.op == "post" else run.merged(earlier)
        else:
            problems.setdefault(run.trace_id, []).append(_Bad(_join(path, "id"), (
                f"duplicate run id {run.id!r} (also {earlier.path or 'the root run'})")))
    groups: dict[str, list[_Run]] = {}
    for run in runs.values():
        if not run.trace_id and run.parent_id is not None:
            problems.setdefault(None, []).append(
                _Bad(run.at("trace_id"), "trace_id is missing and the run has a parent"))
            continue
        groups.setdefault(run.trace_id or run.id, []).append(run)
    for trace_id, group in groups.items():
        built: list[tuple[_Run, Step]] = []
        for run in group:
            previous = buffer.get(trace_id, {}).get(run.id)
            run = previous[0].merged(run) if previous else run
            try:
                built.append((run, _step(run)))
            except _Bad as bad:
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


def _closes_cycle(built: list[tuple[_Run, Step]],
                  buffered: dict[str, tuple[_Run, Step]]) -> _Bad | None:
    """A parent cycle the new runs make with each other or with earlier records' runs.

    Only the new runs' ancestor chains are walked, so a trace read one run per JSONL line
    costs its depth per line, not its size."""
    parents = {run_id: run.parent_id for run_id, (run, _) in buffered.items()}
    parents.update((run.id, run.parent_id) for run, _ in built)
    for run, _ in built:
        seen, current = {run.id}, run.parent_id
        while current is not None and current in parents:
            if current in seen:
                return _Bad(run.at("parent_run_id"), f"parent cycle through run {current!r}")
            seen.add(current)
            current = parents[current]
    return None


def _located_runs(value: Any) -> Iterator[tuple[str, str, Any, str | None, str | None]]:
    """``(path, op, run, parent hint, trace hint)`` for every run of a record, nested too."""
    if isinstance(value, dict) and "run_type" not in value \
            and any(isinstance(value.get(k), list) for k in ("post", "patch", "runs")):
        tops = [(f"{op}[{i}]", "run" if op == "runs" else op, run)
                for op in ("post", "patch", "runs")
                for i, run in enumerate(_typed(value, op, list, "") or [])]
    elif isinstance(value, dict):
        tops = [("", "run", value)]
    elif isinstance(value, list):
        tops = [(f"[{i}]", "run", run) for i, run in enumerate(value)]
    else:
        raise _Bad("", f"expected a run or a {{post, patch}} batch, got {type(value).__name__}")
    stack: list[tuple[str, str, Any, str | None, str | None]] = \
        [(path, op, run, None, None) for path, op, run in reversed(tops)]
    while stack:
        path, op, run, parent_hint, trace_hint = stack.pop()
        yield path, op, run, parent_hint, trace_hint
        children = run.get("child_runs") if isinstance(run, dict) else None
        if isinstance(children, list):  # a wrong type is _identify's to report
            run_id = run["id"] if isinstance(run.get("id"), str) else None
            stack.extend((_join(path, f"child_runs[{j}]"), op, child, run_id,
                          _guess_trace(run, trace_hint))
                         for j, child in reversed(list(enumerate(children))))


def _identify(raw: Any, path: str, op: str, parent_hint: str | None,
              trace_hint: str | None) -> _Run:
    """The run's id, trace and parent: from its fields, its ``dotted_order`` or its nesting."""
    if not isinstance(raw, dict):
        raise _Bad(path or "$", f"expected a run object, got {type(raw).__name__}")
    dotted = _text(raw, "dotted_order", path)
    segments = [m.group(2) if (m := _DOTTED.fullmatch(s)) else "" for s in dotted.split(".")] \
        if dotted else []
    if "" in segments:
        raise _Bad(_join(path, "dotted_order"), f"not a dotted order: {dotted!r}")
    _typed(raw, "child_runs", list, path)
    run_id = _text(raw, "id", path) or (segments[-1] if segments else "")
    if not run_id:
        raise _Bad(_join(path, "id"), "the run has no id (and no dotted_order to derive it)")
    if segments and segments[-1] != run_id:
        raise _Bad(_join(path, "dotted_order"),
                   f"ends with run {segments[-1]!r}, not this run's id {run_id!r}")
    parent = _text(raw, "parent_run_id", path) or (segments[-2] if len(segments) > 1 else None) \
        or parent_hint
    trace = _text(raw, "trace_id", path) or (segments[0] if segments else "") or trace_hint or ""
    return _Run(run_id, trace, parent, path, op, raw)  # no trace yet: its post may say it


def _guess_trace(raw: Any, trace_hint: str | None) -> str | None:
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


def _step(run: _Run) -> Step:
    """One run as a step; raises :class:`_Bad` naming the field that is wrong."""
    d = run.data
    run_type = _text(d, "run_type", run.where("run_type"))
    kind = _KINDS.get(run_type, StepKind.CHAIN)
    name = _text(d, "name", run.where("name")) or run_type or "run"
    if kind == StepKind.CHAIN and run.parent_id is None and "agent" in name.lower():
        kind = StepKind.AGENT
    start, end = _time(run, "start_time"), _time(run, "end_time")
    if start is not None and end is not None and end < start:
        raise _Bad(run.at("end_time"), "end_time is before start_time")
    error = _text(d, "error", run.where("error"))
    status_text = _text(d, "status", run.where("status"))
    status = Status.ERROR if error or status_text == "error" else \
        Status.OK if end is not None or status_text == "success" else Status.UNSET
    error_type = _ERROR_TYPE.match(error)
    inputs, outputs, extra = (_typed(d, key, dict, run.where(key)) or {}
                              for key in ("inputs", "outputs", "extra"))
    metadata, invocation = (_typed(extra, key, dict, run.at("extra")) or {}
                            for key in ("metadata", "invocation_params"))
    attributes: dict[str, Any] = {k: v for k, v in d.items() if k not in _MAPPED}
    attributes.update((k if k in ("metadata", "runtime", "invocation_params") else f"extra.{k}", v)
                      for k, v in extra.items())
    _summarize_events(run, attributes)
    fields: dict[str, Any] = {}
    if kind == StepKind.LLM:
        fields = _model_fields(run, run_type, metadata, invocation, inputs, outputs)
    elif kind == StepKind.TOOL_CALL:
        fields = {"tool_name": name, **_tool_fields(inputs, outputs, metadata)}
    elif kind == StepKind.RETRIEVAL:
        fields = {"documents": _documents(run, outputs)}
    return Step(id=run.id, kind=kind, name=name, parent_id=run.parent_id, start_ns=start,
                end_ns=end, status=status, error_type=error_type.group(1) if error_type else None,
                error=error or None, input=d.get("inputs"), output=d.get("outputs"),
                attributes=attributes, raw=d, **fields)


def _model_fields(run: _Run, run_type: str, metadata: dict[str, Any], invocation: dict[str, Any],
                  inputs: dict[str, Any], outputs: dict[str, Any]) -> dict[str, Any]:
    """Model, provider, tokens and any explicit cost of an ``llm``/``chat_model``/``embedding``.

    Usage is looked for where LangSmith (run fields), the SDK wrappers
    (``outputs.usage_metadata``), LangChain (the message's ``usage_metadata``,
    ``llm_output.token_usage``) and raw OpenAI responses (``outputs.usage``) put it.
    """
    model = next((v for v in (metadata.get("ls_model_name"), invocation.get("model"),
                              invocation.get("model_name"), inputs.get("model"))
                  if isinstance(v, str) and v), None)
    provider, model_type = metadata.get("ls_provider"), metadata.get("ls_model_type")
    operation = "embeddings" if run_type == "embedding" else "chat" \
        if run_type == "chat_model" or model_type == "chat" else \
        "text_completion" if model_type == "llm" else None
    out = run.at("outputs")
    generation = outputs.get("generations")
    while isinstance(generation, list) and generation:
        generation = generation[0]
    message = generation.get("message") if isinstance(generation, dict) else None
    kwargs = message.get("kwargs") if isinstance(message, dict) else None
    llm_output = outputs.get("llm_output")
    candidates: list[tuple[str, Any]] = [
        (run.path, run.data),
        (out + ".generations[0][0].message.kwargs.usage_metadata",
         kwargs.get("usage_metadata") if isinstance(kwargs, dict) else None),
        (out + ".llm_output.token_usage",
         llm_output.get("token_usage") if isinstance(llm_output, dict) else None),
        (out + ".usage_metadata", outputs.get("usage_metadata")),
        (out + ".usage", outputs.get("usage"))]
    fields: dict[str, Any] = {"model": model, "operation": operation,
                              "provider": provider if isinstance(provider, str) else None}
    for where, usage in candidates:
        if isinstance(usage, dict):
            if not fields.get("input_tokens") and not fields.get("output_tokens"):
                fields.update(_usage(where, usage))
            if fields.get("cost") is None:
                fields["cost"] = _cost(where, usage)
    if fields.get("cost") == 0 and (fields.get("input_tokens") or fields.get("output_tokens")):
        fields["cost"] = None  # a model call with tokens is never free: "0" means unpriced
    return fields


def _usage(where: str, usage: dict[str, Any]) -> dict[str, int | None]:
    """Token counts under every name LangSmith, LangChain, OpenAI and Anthropic give them."""
    def count(*paths: str) -> int | None:
        for path in paths:
            head, _, key = path.rpartition(".")
            holder = usage.get(head) if head else usage
            if isinstance(holder, dict) and holder.get(key) is not None:
                try:
                    return to_int(holder[key])
                except ValueError as exc:
                    raise _Bad(_join(where, path), str(exc)) from None
        return None

    return {
        "input_tokens": count("input_tokens", "prompt_tokens"),
        "output_tokens": count("output_tokens", "completion_tokens"),
        "cached_input_tokens": count(
            "input_token_details.cache_read", "prompt_token_details.cache_read",
            "prompt_tokens_details.cached_tokens", "cache_read_input_tokens"),
        "cache_write_tokens": count(
            "input_token_details.cache_creation", "prompt_token_details.cache_creation",
            "cache_creation_input_tokens"),
        "reasoning_tokens": count(
            "output_token_details.reasoning", "completion_token_details.reasoning",
            "completion_tokens_details.reasoning_tokens"),
    }


def _cost(where: str, usage: dict[str, Any]) -> Decimal | None:
    """``total_cost``, else input + output cost when both are stated; never a guessed $0."""
    def money(key: str) -> Decimal | None:
        try:
            value = to_decimal(usage.get(key))
        except ValueError as exc:
            raise _Bad(_join(where, key), str(exc)) from None
        if value is not None and value < 0:
            raise _Bad(_join(where, key), f"a cost cannot be negative ({value})")
        return value

    total = money("total_cost")
    if total is not None:
        return total
    parts = [money(a) if usage.get(a) is not None else money(b)
             for a, b in (("prompt_cost", "input_cost"), ("completion_cost", "output_cost"))]
    return parts[0] + parts[1] if parts[0] is not None and parts[1] is not None else None


def _tool_fields(inputs: dict[str, Any], outputs: dict[str, Any],
                 metadata: dict[str, Any]) -> dict[str, Any]:
    """LangChain wraps a tool's arguments as ``{"input": ...}``, its result as ``{"output": ...}``
    (a serialized ``ToolMessage`` carrying the model's ``tool_call_id``)."""
    arguments = maybe_json(inputs["input"]) if set(inputs) == {"input"} else inputs or None
    result = outputs.get("output") if set(outputs) == {"output"} else outputs or None
    call_id = metadata.get("tool_call_id")
    if isinstance(result, dict) and isinstance(result.get("kwargs"), dict):
        call_id = call_id or result["kwargs"].get("tool_call_id")
        result = result["kwargs"].get("content", result)
    return {"arguments": arguments, "result": result,
            "tool_call_id": call_id if isinstance(call_id, str) else None}


def _documents(run: _Run, outputs: dict[str, Any]) -> tuple[DocumentRef, ...]:
    """Retrieved documents by their own id; a content hash where the source gave none, so the
    same passage retrieved by two traces is one ``Document`` node."""
    where = run.at("outputs") + ".documents"
    documents: list[DocumentRef] = []
    for i, doc in enumerate(_typed(outputs, "documents", list, run.at("outputs")) or []):
        if isinstance(doc, dict) and isinstance(doc.get("kwargs"), dict):  # serialized Document
            doc = {**doc["kwargs"], "id": doc.get("id") if isinstance(doc.get("id"), str)
                   else doc["kwargs"].get("id")}
        if not isinstance(doc, dict):
            raise _Bad(f"{where}[{i}]", f"expected a document object, got {type(doc).__name__}")
        meta: dict[str, Any] = doc["metadata"] if isinstance(doc.get("metadata"), dict) else {}
        content = doc.get("page_content")
        doc_id = next((str(v) for v in (doc.get("id"), meta.get("id"), meta.get("doc_id"),
                                        meta.get("document_id"))  # not "source": one per chunk
                       if isinstance(v, (str, int)) and not isinstance(v, bool) and v != ""), None)
        if doc_id is None:
            text = content if isinstance(content, str) else repr(doc)
            doc_id = "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]
        score = meta.get("score", meta.get("relevance_score"))
        documents.append(DocumentRef(
            id=doc_id, title=meta["title"] if isinstance(meta.get("title"), str) else None,
            score=float(score) if isinstance(score, (int, float)) and score is not True
            and score is not False else None,
            content=content if isinstance(content, str) else None, metadata=meta or None))
    return tuple(documents)


def _summarize_events(run: _Run, attributes: dict[str, Any]) -> None:
    """Streamed ``new_token`` chunks (one per token, kept in ``raw``) become a count and the
    time to first token, a latency users ask for; other events stay as they are."""
    events = _typed(run.data, "events", list, run.where("events")) or []
    tokens = [(i, e) for i, e in enumerate(events)
              if isinstance(e, dict) and e.get("name") == "new_token"]
    others = [e for e in events if not (isinstance(e, dict) and e.get("name") == "new_token")]
    if others:
        attributes["events"] = others
    if tokens:
        attributes["streamed_chunks"] = len(tokens)
        try:
            attributes["first_token_ns"] = time_ns(tokens[0][1].get("time"))
        except ValueError as exc:
            raise _Bad(f"{run.at('events')}[{tokens[0][0]}].time", str(exc)) from None


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
            workflow = _text(roots[0].data, "name", "") or (projects[0] if projects else None)
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


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _typed(d: dict[str, Any], key: str, kind: type[_T], path: str) -> _T | None:
    """A field of JSON type ``kind`` or ``None``; any other type is an error naming the field."""
    value = d.get(key)
    if value is not None and not isinstance(value, kind):
        name = {"str": "a string", "dict": "an object", "list": "a list"}[kind.__name__]
        raise _Bad(_join(path, key), f"expected {name}, got {type(value).__name__}")
    return value


def _text(d: dict[str, Any], key: str, path: str) -> str:
    return _typed(d, key, str, path) or ""


def _time(run: _Run, key: str) -> int | None:
    try:
        return time_ns(run.data.get(key))
    except ValueError as exc:
        raise _Bad(run.at(key), str(exc)) from None
