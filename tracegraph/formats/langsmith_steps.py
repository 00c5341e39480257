"""A LangSmith run as a :class:`~tracegraph.model.Step`: what each run field becomes.

The ``run_type`` decides the kind; model runs take their model, provider,
tokens and cost from wherever LangSmith, its SDK wrappers, LangChain and raw
provider responses put them; tool runs unwrap LangChain's ``{"input": ...}`` /
``{"output": ...}`` envelopes; retriever runs list their documents; streamed
``new_token`` events become a chunk count and the time to the first token.
Every run field no Step field took stays in ``Step.attributes``.  A value that
cannot be read raises :class:`~.langsmith_runs.BadRun` naming the field's path
in the record.  Token and cost rules shared with the other readers are in
:mod:`.usage`; document ids and scores in :mod:`.documents`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from ..model import DocumentRef, Status, Step, StepKind
from .documents import content_hash_id, first_document_id, numeric_score
from .langsmith_runs import BadRun, Run, join_path, text_field, typed_field
from .usage import priced, stated_cost
from .values import maybe_json, time_ns, to_int

__all__ = ["run_step"]

_KINDS = {"llm": StepKind.LLM, "chat_model": StepKind.LLM, "embedding": StepKind.LLM,
          "tool": StepKind.TOOL_CALL, "retriever": StepKind.RETRIEVAL}
_ERROR_TYPE = re.compile(r"([A-Za-z_][\w.]*)(?:\(|: |:$)")
_MAPPED = frozenset({"id", "trace_id", "parent_run_id", "dotted_order", "name", "start_time",
                     "end_time", "error", "inputs", "outputs", "extra", "events", "child_runs"})
"""Run fields that become Step fields; every other field stays in ``Step.attributes``."""


def run_step(run: Run) -> Step:
    """One run as a step; raises :class:`BadRun` naming the field that is wrong."""
    d = run.data
    run_type = text_field(d, "run_type", run.where("run_type"))
    kind = _KINDS.get(run_type, StepKind.CHAIN)
    name = text_field(d, "name", run.where("name")) or run_type or "run"
    if kind == StepKind.CHAIN and run.parent_id is None and "agent" in name.lower():
        kind = StepKind.AGENT
    start, end = _time(run, "start_time"), _time(run, "end_time")
    if start is not None and end is not None and end < start:
        raise BadRun(run.at("end_time"), "end_time is before start_time")
    error = text_field(d, "error", run.where("error"))
    status_text = text_field(d, "status", run.where("status"))
    status = Status.ERROR if error or status_text == "error" else \
        Status.OK if end is not None or status_text == "success" else Status.UNSET
    error_type = _ERROR_TYPE.match(error)
    inputs, outputs, extra = (typed_field(d, key, dict, run.where(key)) or {}
                              for key in ("inputs", "outputs", "extra"))
    metadata, invocation = (typed_field(extra, key, dict, run.at("extra")) or {}
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


def _model_fields(run: Run, run_type: str, metadata: dict[str, Any], invocation: dict[str, Any],
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
    fields["cost"] = priced(fields.get("cost"), input_tokens=fields.get("input_tokens"),
                            output_tokens=fields.get("output_tokens"))
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
                    raise BadRun(join_path(where, path), str(exc)) from None
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
            return stated_cost(usage.get(key))
        except ValueError as exc:
            raise BadRun(join_path(where, key), str(exc)) from None

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


def _documents(run: Run, outputs: dict[str, Any]) -> tuple[DocumentRef, ...]:
    """Retrieved documents by their own id; a content hash where the source gave none, so the
    same passage retrieved by two traces is one ``Document`` node."""
    where = run.at("outputs") + ".documents"
    documents: list[DocumentRef] = []
    for i, doc in enumerate(typed_field(outputs, "documents", list, run.at("outputs")) or []):
        if isinstance(doc, dict) and isinstance(doc.get("kwargs"), dict):  # serialized Document
            doc = {**doc["kwargs"], "id": doc.get("id") if isinstance(doc.get("id"), str)
                   else doc["kwargs"].get("id")}
        if not isinstance(doc, dict):
            raise BadRun(f"{where}[{i}]", f"expected a document object, got {type(doc).__name__}")
        meta: dict[str, Any] = doc["metadata"] if isinstance(doc.get("metadata"), dict) else {}
        content = doc.get("page_content")
        doc_id = first_document_id((doc.get("id"), meta.get("id"), meta.get("doc_id"),
                                    meta.get("document_id")))  # not "source": one per chunk
        if doc_id is None:
            doc_id = content_hash_id(content if isinstance(content, str) else repr(doc))
        documents.append(DocumentRef(
            id=doc_id, title=meta["title"] if isinstance(meta.get("title"), str) else None,
            score=numeric_score(meta.get("score", meta.get("relevance_score"))),
            content=content if isinstance(content, str) else None, metadata=meta or None))
    return tuple(documents)


def _summarize_events(run: Run, attributes: dict[str, Any]) -> None:
    """Streamed ``new_token`` chunks (one per token, kept in ``raw``) become a count and the
    time to first token, a latency users ask for; other events stay as they are."""
    events = typed_field(run.data, "events", list, run.where("events")) or []
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
            raise BadRun(f"{run.at('events')}[{tokens[0][0]}].time", str(exc)) from None


def _time(run: Run, key: str) -> int | None:
    try:
        return time_ns(run.data.get(key))
    except ValueError as exc:
        raise BadRun(run.at(key), str(exc)) from None
