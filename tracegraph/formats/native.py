"""The native format: one JSON object per trace, saying everything the graph holds.

Written by hand or by our SDK users; specified in ``docs/trace-format.md`` and
``tracegraph/schemas/trace.schema.json``.  Records are decoded straight into
typed structs by msgspec (about a million steps a second), so a wrong type is
reported with its JSON path (``$.steps[3].input_tokens``).  Unknown fields are
rejected rather than dropped: a typo in ``retry_of`` must not silently lose a
retry; free-form data belongs in ``attributes``.
"""

from __future__ import annotations

import inspect
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Iterator

import msgspec
import orjson

from ..errors import InputError
from ..model import DocumentRef, Outcome, Override, Status, Step, StepKind, Trace, \
    structure_problems
from .records import JsonRecord
from .values import MAX_COUNT, time_ns

__all__ = ["NAME", "sniff", "read", "FORMAT_TAG"]

NAME = "native"
FORMAT_TAG = "tracegraph.trace/v1"

Time = str | int | float | None
Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_COUNT)]


class NativeOverride(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A human's intervention: who (actor, role), why, how many minutes, which step it replaced."""

    actor: str
    role: str | None = None
    reason: str | None = None
    minutes: Decimal | None = None
    replaces: str | None = None


class NativeStep(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """One step. ``start``/``end`` are ISO 8601 or epoch numbers; ``cost`` is USD."""

    id: str
    kind: StepKind
    name: str = ""
    parent: str | None = None
    start: Time = None
    end: Time = None
    status: Status = Status.UNSET
    error_type: str | None = None
    error: str | None = None
    operation: str | None = None
    model: str | None = None
    provider: str | None = None
    input_tokens: Count | None = None
    output_tokens: Count | None = None
    cached_input_tokens: Count | None = None
    cache_write_tokens: Count | None = None
    reasoning_tokens: Count | None = None
    cost: Decimal | None = None
    tool: str | None = None
    tool_call_id: str | None = None
    arguments: Any = None
    result: Any = None
    documents: tuple[DocumentRef, ...] = ()
    input: Any = None
    output: Any = None
    retry_of: str | None = None
    override: NativeOverride | None = None
    rules: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    outcome: Outcome | None = None
    unit: str | None = None
    value: Decimal | None = None
    attributes: dict[str, Any] = {}


class NativeTrace(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """One trace of the tracegraph native format (tracegraph.trace/v1)."""

    trace_id: str
    steps: list[NativeStep]
    format: str | None = None
    workflow: str | None = None
    outcome: Outcome | None = None
    outcome_reason: str | None = None
    session_id: str | None = None
    attributes: dict[str, Any] = {}
    cites: list[str] = []


_decoder = msgspec.json.Decoder(NativeTrace)

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "trace.schema.json"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a native record, generated from the structs that decode it.

    Generated, not hand-written, so the documented schema and the reader can
    never disagree; ``tests/test_native_format.py`` fails when the checked-in
    file is stale (rewrite it with ``python -m tracegraph.formats.native``).
    """
    schema: dict[str, Any] = _clean_descriptions(msgspec.json.schema(NativeTrace))
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://tracegraph.dev/schemas/trace.schema.json",
            "title": "tracegraph native trace (tracegraph.trace/v1)", **schema}


def _clean_descriptions(node: Any) -> Any:
    """Docstrings dedented the same way whichever msgspec wrote the schema.

    msgspec 0.23 dedents struct docstrings and 0.22 does not; the checked-in
    schema must not depend on which one a user has.
    """
    if isinstance(node, dict):
        return {key: inspect.cleandoc(value) if key == "description" and isinstance(value, str)
                else _clean_descriptions(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_clean_descriptions(value) for value in node]
    return node


def schema_text() -> str:
    return orjson.dumps(json_schema(),
                        option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"


def sniff(first: Any) -> bool:
    """A native record has ``trace_id`` and a ``steps`` list (or our format tag)."""
    if isinstance(first, list) and first:
        first = first[0]
    return isinstance(first, dict) and (
        first.get("format") == FORMAT_TAG
        or ("trace_id" in first and isinstance(first.get("steps"), list)))


def read(records: Iterator[JsonRecord | InputError], *,
         source: str) -> Iterator[Trace | InputError]:
    """Traces of native records; a document may also be a JSON array of traces."""
    for record in records:
        if isinstance(record, InputError):
            yield record
            continue
        try:
            if record.data is not None:
                native = _decoder.decode(record.data)
            else:
                native = msgspec.convert(record.value, NativeTrace)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            yield _decode_error(exc, source=source, record=record)
            continue
        try:
            yield _to_trace(native, source=source, record=record.label)
        except InputError as exc:
            yield exc


def _decode_error(exc: Exception, *, source: str, record: JsonRecord) -> InputError:
    """msgspec says ``Expected `int`, got `str` - at `$.steps[0].input_tokens```: split it."""
    message = str(exc)
    field = ""
    if " - at `" in message:
        message, _, where = message.partition(" - at `")
        field = where.rstrip("`").removeprefix("$.").removeprefix("$")
    if not isinstance(exc, msgspec.ValidationError):
        message = f"invalid JSON: {message}"
    trace_id = None
    if record.data is not None or isinstance(record.value, dict):
        try:
            value = record.decode()
            trace_id = value.get("trace_id") if isinstance(value, dict) else None
        except Exception:
            trace_id = None
    return InputError(message, source=source, record=record.label, field=field,
                      trace_id=trace_id if isinstance(trace_id, str) else None)


def _to_trace(native: NativeTrace, *, source: str, record: str) -> Trace:
    def fail(message: str, field: str) -> InputError:
        return InputError(message, source=source, record=record, field=field,
                          trace_id=native.trace_id)

    if not native.trace_id:
        raise fail("trace_id is empty", "trace_id")
    if native.format is not None and native.format != FORMAT_TAG:
        raise fail(f"unsupported format tag {native.format!r}; this version reads "
                   f"{FORMAT_TAG!r}", "format")
    steps: list[Step] = []
    for i, ns in enumerate(native.steps):
        try:
            start, end = time_ns(ns.start), time_ns(ns.end)
        except ValueError as exc:
            raise fail(str(exc), f"steps[{i}].start/end") from None
        if start is not None and end is not None and end < start:
            raise fail("end is before start", f"steps[{i}].end")
        if not ns.id:
            raise fail("step id is empty", f"steps[{i}].id")
        if ns.cost is not None and (not ns.cost.is_finite() or ns.cost < 0):
            raise fail(f"cost must be a finite non-negative number, got {ns.cost}",
                       f"steps[{i}].cost")
        override = None
        if ns.override is not None:
            o = ns.override
            if o.minutes is not None and (not o.minutes.is_finite() or o.minutes < 0):
                raise fail("minutes must be a finite non-negative number",
                           f"steps[{i}].override.minutes")
            override = Override(actor=o.actor, actor_role=o.role, reason=o.reason,
                                minutes=o.minutes, replaces=o.replaces)
        elif ns.kind == StepKind.HUMAN_OVERRIDE:
            raise fail("a human_override step needs an override (actor, reason, minutes)",
                       f"steps[{i}].override")
        steps.append(Step(
            id=ns.id, kind=ns.kind, name=ns.name or ns.tool or ns.model or ns.kind.value,
            parent_id=ns.parent, start_ns=start, end_ns=end, status=ns.status,
            error_type=ns.error_type, error=ns.error, operation=ns.operation,
            model=ns.model, provider=ns.provider, input_tokens=ns.input_tokens,
            output_tokens=ns.output_tokens, cached_input_tokens=ns.cached_input_tokens,
            cache_write_tokens=ns.cache_write_tokens, reasoning_tokens=ns.reasoning_tokens,
            cost=ns.cost, tool_name=ns.tool, tool_call_id=ns.tool_call_id,
            arguments=ns.arguments, result=ns.result, documents=ns.documents,
            input=ns.input, output=ns.output, retry_of=ns.retry_of, override=override,
            rules=ns.rules, inputs=ns.inputs, outcome=ns.outcome,
            unit=ns.unit, value=ns.value, attributes=ns.attributes,
        ))
    problems = structure_problems(steps)
    ids = {s.id for s in steps}
    for i, step in enumerate(steps):
        if step.parent_id is not None and step.parent_id not in ids:
            problems.append((i, "parent", f"no step {step.parent_id!r} in this trace"))
    if problems:
        i, field, message = min(problems)
        field = {"parent_id": "parent"}.get(field, field)
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise fail(message + more, f"steps[{i}].{field}")
    return Trace(id=native.trace_id, source_format=NAME, steps=tuple(steps),
                 workflow=native.workflow, outcome=native.outcome,
                 outcome_reason=native.outcome_reason, attributes=native.attributes,
                 cites=tuple(native.cites), session_id=native.session_id)


if __name__ == "__main__":  # pragma: no cover - developer tool
    SCHEMA_PATH.write_text(schema_text())
    print(f"wrote {SCHEMA_PATH}")
