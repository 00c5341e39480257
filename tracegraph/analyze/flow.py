"""Data flow: which step's information reached which later step, with evidence.

Two relationships (DESIGN.md, "carried is not used"):

* ``READ`` — consumer → producer whose output reached the consumer's input:
  a tool result whose call id appears in a later model call's input, a step
  the source declared as an input, or any earlier step's output found in a
  later model call's input.  Reading proves nothing about use.
* ``USES`` — consumer → producer whose information shows up in what the
  consumer produced: declared ``inputs`` (native format); a tool call uses the
  model turn that requested it (its arguments came from that output); a value
  from the producer (an id, an amount, a name, a document id) reused in the
  consumer's output or arguments.

Each edge carries the evidence that made it, in words an auditor can check
("value 'P-5521' from s6 reused in the output of s7").
"""

from __future__ import annotations

import functools
import re
from typing import Any, Iterator

import orjson

from ..model import Edge, EdgeType, Step, StepKind, Trace, time_order

__all__ = ["data_flow", "values_of", "text_of", "emitted", "model_names"]

# Values distinctive enough that finding one downstream is evidence of use:
# identifiers with a digit (CLM-88412, P-5521, call_7Qd1), numbers of 100 or
# more that are not years (1340, 6900.00), e-mail addresses.  Words never count.
_VALUE = re.compile(r"[A-Za-z][A-Za-z0-9_.:/-]*\d[A-Za-z0-9_.:/-]*|\d[\d,]*(?:\.\d+)?|"
                    r"[\w.+-]+@[\w-]+\.[\w.]+")
_MIN_NUMBER = 100


def text_of(value: Any) -> str:
    """Everything a value says, as one string (JSON for structures)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value, default=str).decode()
    except TypeError:
        return str(value)


def values_of(value: Any) -> frozenset[str]:
    """The distinctive values in a step's output: ids, amounts of 100 or more, e-mails."""
    return _values_in(text_of(value))


@functools.lru_cache(maxsize=16384)
def _values_in(text: str) -> frozenset[str]:
    """Cached: the data flow and the document check read the same texts."""
    found: set[str] = set()
    for match in _VALUE.findall(text):
        token = match.rstrip(".:/-")
        if token.replace(",", "").replace(".", "", 1).isdigit():
            number = token.replace(",", "")
            try:
                amount = float(number)
            except ValueError:
                continue
            if amount < _MIN_NUMBER or (len(number) == 4 and 1900 <= amount <= 2100):
                continue  # small counts and years say nothing about where a value came from
            found.add(number.rstrip("0").rstrip(".") if "." in number else number)
        elif len(token) >= 3:
            found.add(token)
    return frozenset(found)


def _produced(step: Step) -> Any:
    """What a step made available downstream."""
    parts: list[Any] = [step.output, step.result]
    parts.extend(doc.id for doc in step.documents)
    return [p for p in parts if p is not None]


def emitted(step: Step) -> Any:
    """What a step put out: the evidence that it used something.

    A human override's stated reason counts ("caps at the salvage valuation
    per DOC-55120" uses DOC-55120).
    """
    parts = [step.output, step.arguments, step.result]
    if step.override is not None:
        parts.append(step.override.reason)
    return [p for p in parts if p is not None]


def model_names(trace: Trace) -> frozenset[str]:
    """The trace's model names in every spelling a source writes them.

    A model name in an output (LangSmith keeps ``llm_output.model_name``)
    says which model ran, not whose information was used: left out of the
    value index, it would link every turn to every earlier turn of its model.
    """
    names: set[str] = set()
    for step in trace.steps:
        if step.model:
            names.update(values_of(step.model))
            names.update(values_of(step.model.rsplit("/", 1)[-1]))
            if step.provider:
                names.update(values_of(f"{step.provider}/{step.model}"))
    return frozenset(names)


def data_flow(trace: Trace) -> Iterator[Edge]:
    """Every READ and USES edge of a trace, each with its evidence, in a stable order.

    Values are indexed as steps are visited (value → the steps that produced
    it), so a trace of n steps costs O(total values), not O(n²): a 10,000-step
    trace is analyzed in a fraction of a second.
    """
    ordered = time_order(trace.steps)
    position = {s.id: i for i, s in enumerate(ordered)}
    ids = set(position)
    seen: set[tuple[str, str, EdgeType]] = set()
    plumbing = model_names(trace)

    def edge(source: str, target: str, kind: EdgeType, evidence: str) -> Iterator[Edge]:
        key = (source, target, kind)
        if source != target and key not in seen:
            seen.add(key)
            yield Edge(source=source, target=target, type=kind, evidence=evidence)

    producers_of: dict[str, list[str]] = {}   # value → producing step ids, in time order
    calls_by_id: dict[str, str] = {}          # tool call id → the tool step that ran it
    turns_by_value: dict[str, str] = {}       # value in a model turn's output → latest turn
    last_turn: str | None = None
    last_embedding: str | None = None
    for step in ordered:
        if step.kind == StepKind.RETRIEVAL and last_embedding is not None:
            # A vector cannot be quoted: the retrieval that follows an embedding
            # call is where it went.
            yield from edge(step.id, last_embedding, EdgeType.READ,
                            f"query vector of {last_embedding}")
            yield from edge(step.id, last_embedding, EdgeType.USES,
                            f"retrieval {step.id} ran on the vector of {last_embedding}")
            last_embedding = None
        if step.operation == "embeddings":
            last_embedding = step.id
        for used in step.inputs:
            if used in ids:
                yield from edge(step.id, used, EdgeType.READ, "declared input")
                yield from edge(step.id, used, EdgeType.USES, "declared input")
        if step.kind in (StepKind.TOOL_CALL, StepKind.RETRY) and step.tool_name:
            # A call that names its inputs (native) came from them, not from
            # whichever model turn happened to run last (it may be one a human
            # has since replaced).
            requester = (turns_by_value.get(step.tool_call_id) if step.tool_call_id
                         else None) or (None if step.inputs else last_turn)
            if requester is not None:
                yield from edge(step.id, requester, EdgeType.USES,
                                f"arguments of {step.id} came from model turn {requester}")
        is_turn = step.kind == StepKind.LLM or (step.kind == StepKind.RETRY
                                                and step.model is not None)
        if is_turn and calls_by_id and step.input is not None:
            for value in sorted(values_of(step.input)):
                producer = calls_by_id.get(value)
                if producer is not None:
                    yield from edge(step.id, producer, EdgeType.READ,
                                    f"tool result {value} of {producer} in the input of "
                                    f"{step.id}")
        shared: dict[str, list[str]] = {}
        for value in values_of(emitted(step)) - plumbing:
            for producer in producers_of.get(value, ()):
                shared.setdefault(producer, []).append(value)
        for producer in sorted(shared, key=lambda p: -position[p]):  # nearest first
            values = sorted(shared[producer])
            sample = ", ".join(repr(v) for v in values[:3])
            more = f" (+{len(values) - 3} more)" if len(values) > 3 else ""
            yield from edge(step.id, producer, EdgeType.USES,
                            f"value {sample}{more} from {producer} reused in {step.id}")
        for value in values_of(_produced(step)) - plumbing:
            producers_of.setdefault(value, []).append(step.id)
        if step.tool_call_id:
            calls_by_id[step.tool_call_id] = step.id
        if is_turn:
            last_turn = step.id
            for value in values_of(step.output):
                turns_by_value[value] = step.id


def _index(ordered: list[Step], step_id: str) -> int:
    return next(i for i, s in enumerate(ordered) if s.id == step_id)
