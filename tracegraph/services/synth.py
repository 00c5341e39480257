"""Synthetic corpora: realistic agent traces in quantity, for benchmarks and demos.

Three workflows with the shapes the analyzer must see — claims triage, support
tickets, invoice processing — with retrieval (some documents never used),
failed tool calls and their retries, human overrides with minutes and rules,
failures, and segment attributes whose economics differ (an auto claim that
needs an exception document retries far more).  The same seed gives the same
bytes, so a benchmark is repeatable.

Written as native JSONL, or as OTLP/JSON (one ExportTraceServiceRequest per
line, GenAI semantic conventions, the root span last as exporters send it).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import orjson

__all__ = ["write_corpus", "CorpusStats", "synth_trace", "native_to_otlp"]

_T0 = 1_780_000_000_000_000_000  # 2026-05-28, in ns

_MODELS = [("openai", "gpt-4o"), ("openai", "gpt-4o-mini"),
           ("anthropic", "claude-sonnet-4-20250514"), ("anthropic", "claude-3-5-haiku-20241022")]

_WORKFLOWS: dict[str, dict[str, Any]] = {
    "claims-triage": {
        "unit": "claim processed",
        "tools": ["lookup_policy", "fetch_claim_history", "check_fraud_score",
                  "request_exception_document"],
        "segments": {"claim.type": ["auto", "auto", "auto", "home", "health"]},
        "rules": ["EXC-12 exception document required", "AUTO-3 fast track under $2,000"],
        "errors": [("TimeoutError", "lookup_policy timed out after 30s for policy {id}"),
                   ("ValidationError", "claim amount {n} exceeds policy limit"),
                   ("HTTPError", "503 Service Unavailable from claims-api /v2/claims/{id}")],
    },
    "support-tickets": {
        "unit": "ticket resolved",
        "tools": ["search_kb", "get_customer", "update_ticket", "issue_refund"],
        "segments": {"ticket.priority": ["low", "normal", "normal", "high"],
                     "ticket.channel": ["email", "chat"]},
        "rules": ["REF-2 refunds over $100 need approval"],
        "errors": [("RateLimitError", "429 Too Many Requests: retry after {n}ms"),
                   ("KeyError", "customer {id} not found in CRM")],
    },
    "invoice-processing": {
        "unit": "invoice booked",
        "tools": ["ocr_invoice", "match_purchase_order", "post_to_ledger"],
        "segments": {"invoice.currency": ["USD", "USD", "EUR", "GBP"]},
        "rules": ["AP-7 three-way match tolerance 2%"],
        "errors": [("MatchError", "no purchase order matches vendor {id} amount {n}"),
                   ("OCRError", "page {n} unreadable: confidence 0.{n}")],
    },
}


@dataclass
class CorpusStats:
    traces: int = 0
    steps: int = 0
    bytes: int = 0


def synth_trace(rng: random.Random, index: int) -> dict[str, Any]:
    """One native trace (a dict in the documented native format)."""
    workflow = rng.choice(list(_WORKFLOWS))
    spec = _WORKFLOWS[workflow]
    trace_id = f"{workflow[:5]}-{index:08d}"
    attributes: dict[str, Any] = {k: rng.choice(v) for k, v in spec["segments"].items()}
    hard = workflow == "claims-triage" and rng.random() < 0.25
    if workflow == "claims-triage":
        attributes["claim.requires_exception_doc"] = hard
    t = _T0 + index * 60_000_000_000
    steps: list[dict[str, Any]] = []

    def add(kind: str, name: str, *, dur_ms: int, **fields: Any) -> dict[str, Any]:
        nonlocal t
        step = {"id": f"s{len(steps) + 1}", "kind": kind, "name": name, "parent": "s1",
                "start": t, "end": t + dur_ms * 1_000_000, **fields}
        t += dur_ms * 1_000_000 + rng.randint(1, 50) * 1_000_000
        steps.append(step)
        return step

    root = {"id": "s1", "kind": "agent", "name": workflow, "start": t}
    steps.append(root)
    t += 5_000_000
    provider, model = rng.choice(_MODELS)
    context = add("context", "request", dur_ms=1, output=f"{spec['unit']} request {trace_id}")
    docs: list[dict[str, Any]] = [
        {"id": f"doc-{workflow[:3]}-{rng.randint(1, 400)}", "tokens": rng.randint(200, 1500)}
            for _ in range(rng.randint(2, 6))]
    used_doc = docs[0]["id"]
    retrieval = add("retrieval", "vector_search", dur_ms=rng.randint(20, 200),
                    documents=docs, inputs=[context["id"]])
    history = rng.randint(800, 3000) + sum(d["tokens"] for d in docs)
    last_llm = add("llm", "plan", dur_ms=rng.randint(400, 3000), provider=provider,
                   model=model, input_tokens=history, output_tokens=rng.randint(50, 400),
                   cached_input_tokens=rng.choice([0, 0, 1024]),
                   inputs=[context["id"], retrieval["id"]],
                   output=f"cite {used_doc}")
    failures = rng.choices([0, 1, 2, 3], weights=[70, 20, 7, 3])[0] + (3 if hard else 0)
    failed = False
    for _ in range(rng.randint(1, 3)):
        tool = rng.choice(spec["tools"])
        args = {"id": f"{rng.randint(10000, 99999)}", "amount": rng.randint(100, 9000)}
        previous: dict[str, Any] | None = None
        for attempt in range(failures + 1):
            is_error = attempt < failures
            kind = "retry" if previous is not None else "tool_call"
            fields: dict[str, Any] = {"tool": tool, "tool_call_id": f"call_{len(steps)}",
                                      "arguments": args, "inputs": [last_llm["id"]]}
            if previous is not None:
                fields["retry_of"] = previous["id"]
            if is_error:
                etype, template = rng.choice(spec["errors"])
                fields.update(status="error", error_type=etype,
                              error=template.format(id=args["id"], n=rng.randint(1, 999)))
            else:
                fields.update(status="ok", result={"ok": True, "ref": args["id"]})
            previous = add(kind, tool, dur_ms=rng.randint(30, 30000 if is_error else 800),
                           **fields)
            history += rng.randint(100, 600)
            last_llm = add("llm", "decide", dur_ms=rng.randint(300, 2500), provider=provider,
                           model=model, input_tokens=history,
                           output_tokens=rng.randint(30, 300),
                           inputs=[previous["id"]])
        failures = max(0, failures - 2)
    override = None
    if rng.random() < (0.3 if hard else 0.06):
        override = add("human_override", "adjuster review", dur_ms=rng.randint(60_000, 600_000),
                       override={"actor": f"reviewer-{rng.randint(1, 12)}",
                                 "role": "adjuster" if workflow == "claims-triage" else "agent",
                                 "reason": "agent decision contradicted policy terms",
                                 "minutes": rng.choice([4, 6, 8, 12, 25]),
                                 "replaces": last_llm["id"]},
                       rules=[rng.choice(spec["rules"])])
    if rng.random() < (0.18 if hard else 0.06):
        failed = True
    final_inputs = [override["id"] if override else last_llm["id"]]
    add("outcome", spec["unit"], dur_ms=1, outcome="failure" if failed else "success",
        unit=spec["unit"], value="0" if failed else str(rng.choice([25, 40, 60])),
        inputs=final_inputs, status="error" if failed else "ok",
        error="gave up after retries" if failed else None)
    root["end"] = t
    root["status"] = "error" if failed else "ok"
    for step in steps:
        if step.get("error") is None:
            step.pop("error", None)
    cites = [f"{workflow[:5]}-{index - rng.randint(1, 50):08d}"] if index > 50 and \
        rng.random() < 0.1 else []
    return {"trace_id": trace_id, "workflow": workflow, "attributes": attributes,
            "outcome": "failure" if failed else "success", "steps": steps, "cites": cites}


def _any_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    return {"stringValue": orjson.dumps(value).decode()}


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


_OPERATION = {"llm": "chat", "tool_call": "execute_tool", "retry": "execute_tool",
              "retrieval": "retrieval", "agent": "invoke_agent"}


def native_to_otlp(trace: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The same trace as one OTLP/JSON ExportTraceServiceRequest (GenAI conventions).

    Facts that OTLP has no convention for (override actor, rules, declared
    inputs) go into ``tracegraph.*`` attributes, which the OTLP reader keeps.
    """
    trace_hex = _hex(rng, 32)
    span_ids = {s["id"]: _hex(rng, 16) for s in trace["steps"]}
    spans = []
    for step in trace["steps"]:
        attrs: dict[str, Any] = {}
        op = _OPERATION.get(step["kind"])
        if op:
            attrs["gen_ai.operation.name"] = op
        if step["kind"] == "agent":
            attrs["gen_ai.agent.name"] = trace["workflow"]
            attrs["tracegraph.outcome"] = trace["outcome"]
            attrs.update(trace["attributes"])  # segments, as users put them on the root
        if "model" in step:
            attrs["gen_ai.provider.name"] = step["provider"]
            attrs["gen_ai.request.model"] = step["model"]
            attrs["gen_ai.usage.input_tokens"] = step["input_tokens"]
            attrs["gen_ai.usage.output_tokens"] = step["output_tokens"]
            if step.get("cached_input_tokens"):
                attrs["gen_ai.usage.cache_read.input_tokens"] = step["cached_input_tokens"]
        if "tool" in step:
            attrs["gen_ai.tool.name"] = step["tool"]
            attrs["gen_ai.tool.call.id"] = step["tool_call_id"]
            attrs["gen_ai.tool.call.arguments"] = orjson.dumps(step["arguments"]).decode()
            if "result" in step:
                attrs["gen_ai.tool.call.result"] = orjson.dumps(step["result"]).decode()
        if "documents" in step:
            attrs["gen_ai.retrieval.documents"] = orjson.dumps(
                [{"id": d["id"]} for d in step["documents"]]).decode()
        if step.get("error_type"):
            attrs["error.type"] = step["error_type"]
        if step.get("override"):
            attrs["tracegraph.override.actor"] = step["override"]["actor"]
            attrs["tracegraph.override.reason"] = step["override"]["reason"]
            attrs["tracegraph.override.minutes"] = step["override"]["minutes"]
        status = {"code": 2, "message": step.get("error", "")} if step.get(
            "status") == "error" else {"code": 1} if step.get("status") == "ok" else {}
        span = {"traceId": trace_hex, "spanId": span_ids[step["id"]],
                "name": f"{op} {step['name']}" if op else step["name"], "kind": 1,
                "startTimeUnixNano": str(step["start"]), "endTimeUnixNano": str(step["end"]),
                "attributes": [{"key": k, "value": _any_value(v)} for k, v in attrs.items()],
                "status": status}
        if step.get("parent"):
            span["parentSpanId"] = span_ids[step["parent"]]
        spans.append(span)
    spans.append(spans.pop(0))  # exporters send the root span last
    return {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name",
                                     "value": {"stringValue": trace["workflow"]}}]},
        "scopeSpans": [{"scope": {"name": "tracegraph.synth"}, "spans": spans}]}]}


def iter_corpus(traces: int, *, format: str, seed: int) -> Iterator[tuple[bytes, int]]:
    """(line, step count) for each trace of the corpus."""
    rng = random.Random(seed)
    ids = random.Random(seed + 1)  # a stream of its own: both formats hold the same runs
    for index in range(traces):
        trace = synth_trace(rng, index)
        value = trace if format == "native" else native_to_otlp(trace, ids)
        yield orjson.dumps(value) + b"\n", len(trace["steps"])


def write_corpus(path: str | Path, *, traces: int, format: str = "native",
                 seed: int = 7) -> CorpusStats:
    """Write ``traces`` synthetic traces as JSONL to ``path``."""
    if format not in ("native", "otlp"):
        raise ValueError(f"synth writes native or otlp, not {format!r}")
    stats = CorpusStats()
    with open(path, "wb") as out:
        for line, steps in iter_corpus(traces, format=format, seed=seed):
            out.write(line)
            stats.traces += 1
            stats.steps += steps
            stats.bytes += len(line)
    return stats
