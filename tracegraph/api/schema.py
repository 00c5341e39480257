"""The GraphQL schema: the decision graph and every analysis result, for internal tools.

Types mirror DESIGN.md's graph: ``Trace``, ``Step`` (an interface, one type per
kind with its own fields), ``Edge`` with its evidence, ``Document``, ``Tool``,
``Model``, ``Workflow``.  Every analysis result is a field (role, reason, cost
and evidence per step; totals per trace).  The questions users ask most are
root fields that return the same documents the CLI prints as JSON
(``wasteReport``, ``explainCost``, ``explainOutcome``, ``comparePaths``,
``economics``, ``failureClusters``), so a tool and a person see the same
figures.

Safety lives here and in :mod:`tracegraph.api.limits`: page sizes are capped,
depth and token counts are limited, raw payloads need the ``auditor`` role,
mutations ``admin`` (imports ``ingest``), and no argument reaches SQL except
as a parameter.
"""

from __future__ import annotations

import base64
import io
import time
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Optional

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from ..errors import NotFound
from ..formats.values import iso, time_ns, usd_text
from ..model import EntityLabel, Outcome, Override, Status, Step as ModelStep, StepKind, Trace as ModelTrace
from ..model import structural_edges, summarize
from ..services.analysis import analyze_and_store, analyze_trace, waste_report
from ..services.clusters import clusters_report
from ..services.economics import economics_report
from ..services.explain import diff_traces, explain_trace
from ..services.importing import import_stream
from .context import ApiError, Context
from .limits import limits

__all__ = ["schema", "Query", "Mutation"]

_Info = Info[Context, None]


def _ctx(info: _Info) -> Context:
    context = info.context
    context.check_deadline()
    if context.role == "ingest" and info.operation.operation.value == "query":
        # Exporters' tokens send traces; they read nothing (as on the UI's pages).
        raise ApiError("the 'ingest' role may not read (its tokens are for sending traces)",
                       "FORBIDDEN")
    return context


def _money(value: Decimal | None) -> str | None:
    return None if value is None else usd_text(value)


@strawberry.type(description="Human feedback on a step, kept with its author and time.")
class Annotation:
    label: str
    note: Optional[str]
    author: str
    created: str


@strawberry.type(description="A relationship with the evidence that made it.")
class Edge:
    source: str
    target: str
    type: str
    evidence: str


@strawberry.type(description="A retrieved document, and whether anything downstream used it.")
class Document:
    id: str
    title: Optional[str]
    tokens: Optional[int]
    used: Optional[bool]
    evidence: Optional[str]


@strawberry.interface(description="One thing that happened in a trace; a type per kind.")
class Step:
    id: str
    trace_id: str
    kind: str
    name: str
    parent_id: Optional[str]
    status: str
    start: Optional[str]
    duration_ms: Optional[float]
    error_type: Optional[str]
    error: Optional[str]
    role: Optional[str] = strawberry.field(
        description="essential, wasted or structural (from the stored analysis).")
    reason: Optional[str] = strawberry.field(description="Why the step was wasted, if it was.")
    cost_usd: Optional[str] = strawberry.field(
        description="Exact USD; null when unpriced (never $0 for unknown).")
    _step: strawberry.Private[ModelStep]

    @strawberry.field(description="The evidence behind the step's mark (analyses the trace).")
    async def evidence(self, info: _Info) -> Optional[str]:
        document = await _analysis(info, self.trace_id)
        return next((s["evidence"] for s in document["steps"] if s["id"] == self.id), None)

    @strawberry.field
    async def annotations(self, info: _Info) -> list[Annotation]:
        found = await _ctx(info).annotations.load((self.trace_id, self.id))
        return [Annotation(label=a["label"], note=a["note"], author=a["author"],
                           created=iso(a["created_ns"]) or "") for a in found]

    @strawberry.field(description="The source's own record of the step (auditor role).")
    def raw(self, info: _Info) -> Optional[JSON]:
        _ctx(info).require("auditor")
        return self._step.raw


@strawberry.type
class ContextStep(Step):
    @strawberry.field
    def output(self) -> Optional[JSON]:
        return self._step.output


@strawberry.type
class LlmStep(Step):
    model: Optional[str]
    provider: Optional[str]
    input_tokens: Optional[int]
    output_tokens: Optional[int]
    cached_input_tokens: Optional[int]
    reasoning_tokens: Optional[int]

    @strawberry.field(description="The prompt as the source recorded it.")
    def input(self) -> Optional[JSON]:
        return self._step.input

    @strawberry.field
    def output(self) -> Optional[JSON]:
        return self._step.output


@strawberry.type
class ToolCallStep(Step):
    tool: Optional[str]

    @strawberry.field
    def arguments(self) -> Optional[JSON]:
        return self._step.arguments

    @strawberry.field
    def result(self) -> Optional[JSON]:
        return self._step.result


@strawberry.type
class RetryStep(ToolCallStep):
    retry_of: Optional[str]
    model: Optional[str]


@strawberry.type
class RetrievalStep(Step):
    @strawberry.field
    async def documents(self, info: _Info) -> list[Document]:
        used = {(d["step_id"], d["id"]): d
                for d in (await _analysis(info, self.trace_id))["documents"]}
        return [Document(id=d.id, title=d.title, tokens=d.tokens,
                         used=used.get((self.id, d.id), {}).get("used"),
                         evidence=used.get((self.id, d.id), {}).get("evidence"))
                for d in self._step.documents]


@strawberry.type
class HumanOverrideStep(Step):
    actor: Optional[str]
    actor_role: Optional[str]
    override_reason: Optional[str]
    minutes: Optional[str]
    replaces: Optional[str]
    rules: list[str]


@strawberry.type
class OutcomeStep(Step):
    outcome: Optional[str]
    unit: Optional[str]
    value: Optional[str]


@strawberry.type(description="A grouping span (agent, chain) or an event.")
class GroupStep(Step):
    pass


def _step(trace_id: str, step: ModelStep,
          mark: tuple[str, str | None, Decimal | None] | None) -> Step:
    common: dict[str, Any] = dict(
        id=step.id, trace_id=trace_id, kind=step.kind.value, name=step.name,
        parent_id=step.parent_id, status=step.status.value, start=iso(step.start_ns),
        duration_ms=None if step.duration_ns is None else step.duration_ns / 1e6,
        error_type=step.error_type, error=step.error, _step=step,
        role=None if mark is None else mark[0], reason=None if mark is None else mark[1],
        cost_usd=None if mark is None else _money(mark[2]))
    kind = step.kind
    if kind == StepKind.LLM:
        return LlmStep(**common, model=step.model, provider=step.provider,
                       input_tokens=step.input_tokens, output_tokens=step.output_tokens,
                       cached_input_tokens=step.cached_input_tokens,
                       reasoning_tokens=step.reasoning_tokens)
    if kind == StepKind.RETRY:
        return RetryStep(**common, tool=step.tool_name, retry_of=step.retry_of,
                         model=step.model)
    if kind == StepKind.TOOL_CALL:
        return ToolCallStep(**common, tool=step.tool_name)
    if kind == StepKind.RETRIEVAL:
        return RetrievalStep(**common)
    if kind == StepKind.HUMAN_OVERRIDE:
        override = step.override
        return HumanOverrideStep(
            **common, actor=override.actor if override else None,
            actor_role=override.actor_role if override else None,
            override_reason=override.reason if override else None,
            minutes=None if override is None or override.minutes is None
            else str(override.minutes), replaces=override.replaces if override else None,
            rules=list(step.rules))
    if kind == StepKind.OUTCOME:
        return OutcomeStep(**common, outcome=None if step.outcome is None
                           else step.outcome.value, unit=step.unit,
                           value=None if step.value is None else str(step.value))
    if kind == StepKind.CONTEXT:
        return ContextStep(**common)
    return GroupStep(**common)


async def _analysis(info: _Info, trace_id: str) -> dict[str, Any]:
    """The full analysis document of a trace, once per request (its trace batch-loaded)."""
    context = _ctx(info)
    cache: dict[str, dict[str, Any]] = context.__dict__.setdefault("_analyses", {})
    if trace_id not in cache:
        trace = await context.raw_traces.load(trace_id)  # the analyzer needs the values
        if trace is None:
            raise NotFound(f"no trace {trace_id!r}")
        found = analyze_trace(context.store, trace_id, config=context.config, trace=trace)
        cache[trace_id] = (found if context.redactor is None
                           else context.redactor.redact_analysis(found))
    return cache[trace_id]


@strawberry.type(description="One run of a workflow.")
class Trace:
    id: str
    workflow: Optional[str]
    outcome: str
    outcome_reason: Optional[str]
    source_format: str
    start: Optional[str]
    end: Optional[str]
    step_count: int
    error_count: int
    input_tokens: int
    output_tokens: int
    _attributes: strawberry.Private[dict[str, Any]]
    _cost: strawberry.Private[Optional[Decimal]]

    @strawberry.field(description="The trace's own key/values (redacted for readers).")
    def attributes(self, info: _Info) -> JSON:
        redactor = _ctx(info).redactor
        return self._attributes if redactor is None else redactor.redact_value(
            self._attributes)

    @strawberry.field(description="The analysed cost: the exact sum of its priced steps.")
    async def cost_usd(self, info: _Info) -> Optional[str]:
        if self._cost is not None:
            return _money(self._cost)
        marks = await _ctx(info).marks.load(self.id)
        if not marks:
            return None
        return _money(sum((c for _, _, c in marks.values() if c is not None), Decimal(0)))

    @strawberry.field
    async def wasted_usd(self, info: _Info) -> Optional[str]:
        return str((await _analysis(info, self.id))["wasted_usd"])

    @strawberry.field
    async def steps(self, info: _Info) -> list[Step]:
        context = _ctx(info)
        trace = await context.traces.load(self.id)
        if trace is None:
            return []
        marks = await context.marks.load(self.id)
        return [_step(self.id, s, marks.get(s.id)) for s in trace.steps]

    @strawberry.field(description="Structural edges and the analyzer's READ/USES, with evidence.")
    async def edges(self, info: _Info) -> list[Edge]:
        trace = await _ctx(info).traces.load(self.id)
        if trace is None:
            return []
        found = [Edge(source=e.source, target=e.target, type=e.type.value, evidence=e.evidence)
                 for e in structural_edges(trace, summarize(trace).workflow)]
        found += [Edge(source=e["source"], target=e["target"], type=e["type"],
                       evidence=e["evidence"])
                  for e in (await _analysis(info, self.id))["edges"]]
        return found

    @strawberry.field(description="Totals, unpriced steps and the documents' use.")
    async def analysis(self, info: _Info) -> JSON:
        document = await _analysis(info, self.id)
        return {k: document[k] for k in ("cost_usd", "wasted_usd", "unpriced_steps",
                                         "context_bloat_tokens", "context_bloat_usd",
                                         "outcome_step", "documents", "analyzer_version")}


def _trace(row: Any, cost: Decimal | None) -> Trace:
    return Trace(id=row.trace_id, workflow=row.workflow, outcome=row.outcome.value,
                 outcome_reason=row.outcome_reason, source_format=row.source_format,
                 start=iso(row.start_ns), end=iso(row.end_ns), step_count=row.steps,
                 error_count=row.errors, input_tokens=row.input_tokens,
                 output_tokens=row.output_tokens, _attributes=row.attributes, _cost=cost)


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: Optional[str]


@strawberry.type
class TraceEdge:
    cursor: str
    node: Trace


@strawberry.type(description="A Relay connection of traces, in import order.")
class TraceConnection:
    edges: list[TraceEdge]
    page_info: PageInfo


@strawberry.input
class AttributeFilter:
    name: str
    value: JSON


@strawberry.enum
class OutcomeFilter(Enum):
    SUCCESS = "success"
    FAILURE = "failure"
    UNKNOWN = "unknown"


@strawberry.input
class TraceFilter:
    workflow: Optional[str] = None
    outcome: Optional[OutcomeFilter] = None
    since: Optional[datetime] = None
    until: Optional[datetime] = None
    min_cost_usd: Optional[Decimal] = None
    max_cost_usd: Optional[Decimal] = None
    attribute: Optional[AttributeFilter] = None
    has_override: Optional[bool] = None
    has_retry: Optional[bool] = None


def _cursor(key: int) -> str:
    return base64.urlsafe_b64encode(f"trace:{key}".encode()).decode()


def _after(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        kind, _, key = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind != "trace":
            raise ValueError(kind)
        return int(key)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(f"after: {cursor!r} is not a cursor this API gave", "BAD_INPUT") \
            from None


@strawberry.type(description="A workflow and its figures.")
class Workflow:
    name: str
    _report: strawberry.Private[dict[str, Any]]

    @strawberry.field
    def traces(self) -> int:
        return int(self._report["segments"][0]["traces"])

    @strawberry.field
    def success_rate(self) -> Optional[str]:
        return self._report["segments"][0]["success_rate"]

    @strawberry.field
    def cost_usd(self) -> str:
        return str(self._report["segments"][0]["cost_usd"])

    @strawberry.field
    def cost_per_success_usd(self) -> Optional[str]:
        return self._report["segments"][0]["cost_per_success_usd"]

    @strawberry.field(description="The whole economics document of this workflow.")
    def economics(self) -> JSON:
        return self._report


@strawberry.type(description="A shared node of the graph: one per name across all traces.")
class Entity:
    name: str
    properties: JSON


@strawberry.type(description="A model, and what its calls cost in the analysed traces.")
class Model(Entity):
    pass


@strawberry.type(description="A tool the agents called.")
class Tool(Entity):
    pass


@strawberry.type(description="An exception or policy rule that was applied.")
class Rule(Entity):
    pass


@strawberry.type(description="A person who overrode or approved the agent's work.")
class Actor(Entity):
    pass


def _entities(info: _Info, label: EntityLabel, kind: type[Entity]) -> list[Any]:
    return [kind(name=e.name, properties=e.properties)
            for e in _ctx(info).store.entities(label)]


@strawberry.type
class DocumentStat:
    id: str
    retrieved: int
    used: int
    unused_tokens: int

    @strawberry.field
    def use_rate(self) -> float:
        return self.used / self.retrieved if self.retrieved else 0.0


@strawberry.type
class Query:
    @strawberry.field(description="A trace by its source id.")
    def trace(self, info: _Info, id: str) -> Optional[Trace]:
        context = _ctx(info)
        try:
            row = context.store.trace_row(id)
        except NotFound:
            return None
        return _trace(row, None)  # its cost from the marks the steps load anyway

    @strawberry.field(description="Traces in import order, filtered; at most 100 a page.")
    def traces(self, info: _Info, filter: Optional[TraceFilter] = None, first: int = 20,
               after: Optional[str] = None) -> TraceConnection:
        context = _ctx(info)
        if first < 1 or first > context.max_page:
            raise ApiError(f"first must be between 1 and {context.max_page}", "LIMIT")
        f = filter or TraceFilter()
        rows = context.store.find_traces(
            workflow=f.workflow, outcome=None if f.outcome is None else Outcome(f.outcome.value),
            since_ns=time_ns(f.since), until_ns=time_ns(f.until), min_cost=f.min_cost_usd,
            max_cost=f.max_cost_usd,
            attribute=None if f.attribute is None else (f.attribute.name, f.attribute.value),
            has_override=f.has_override, has_retry=f.has_retry, after_key=_after(after),
            limit=first + 1)
        page = rows[:first]
        return TraceConnection(
            edges=[TraceEdge(cursor=_cursor(key), node=_trace(row, cost))
                   for key, row, cost in page],
            page_info=PageInfo(has_next_page=len(rows) > first,
                               end_cursor=_cursor(page[-1][0]) if page else None))

    @strawberry.field(description="One step of a trace.")
    async def step(self, info: _Info, trace_id: str, id: str) -> Optional[Step]:
        context = _ctx(info)
        trace = await context.traces.load(trace_id)
        found = None if trace is None else next((s for s in trace.steps if s.id == id), None)
        if found is None:
            return None
        return _step(trace_id, found, (await context.marks.load(trace_id)).get(id))

    @strawberry.field(description="A workflow with its economics (cost per success, by segment).")
    def workflow(self, info: _Info, name: str, by: Optional[list[str]] = None
                 ) -> Optional[Workflow]:
        context = _ctx(info)
        report = economics_report(context.store, config=context.config, workflow=name,
                                  by=by or ())
        return None if not report["workflows"] else Workflow(name=name,
                                                             _report=report["workflows"][0])

    @strawberry.field(description="The wasted-cycle report (as `report waste --format json`).")
    def waste_report(self, info: _Info, workflow: Optional[str] = None,
                     since: Optional[datetime] = None, until: Optional[datetime] = None
                     ) -> JSON:
        context = _ctx(info)
        return waste_report(context.store, config=context.config, workflow=workflow,
                            since=since, until=until)

    @strawberry.field(description="Cost drivers in dollars against the workflow's median.")
    def explain_cost(self, info: _Info, trace_id: str) -> JSON:
        context = _ctx(info)
        found = explain_trace(context.store, trace_id, config=context.config)
        if context.redactor is not None:
            found = context.redactor.redact_explanation(found)
        return {k: found[k] for k in ("trace_id", "workflow", "outcome", "cost_usd",
                                      "wasted_usd", "cohort", "difference_usd",
                                      "ratio_to_median", "drivers", "warnings")}

    @strawberry.field(description="Decisive steps, rules, overrides, nearest other outcome.")
    def explain_outcome(self, info: _Info, trace_id: str) -> JSON:
        context = _ctx(info)
        found = explain_trace(context.store, trace_id, config=context.config)
        if context.redactor is not None:
            found = context.redactor.redact_explanation(found)
        return {k: found[k] for k in ("trace_id", "workflow", "outcome", "decisive_steps",
                                      "rules", "overrides", "nearest_other_outcome")}

    @strawberry.field(description="Two paths aligned: divergence, extra steps, delta by reason.")
    def compare_paths(self, info: _Info, a: str, b: str) -> JSON:
        context = _ctx(info)
        return diff_traces(context.store, a, b, config=context.config)

    @strawberry.field(description="Cost per outcome by segment against the baseline.")
    def economics(self, info: _Info, workflow: Optional[str] = None,
                  by: Optional[list[str]] = None) -> JSON:
        context = _ctx(info)
        return economics_report(context.store, config=context.config, workflow=workflow,
                                by=by or ())

    @strawberry.field(description="Failure clusters as last computed (`tracegraph clusters`).")
    def failure_clusters(self, info: _Info, workflow: Optional[str] = None,
                         min_size: int = 2) -> JSON:
        context = _ctx(info)
        return clusters_report(context.store, config=context.config, workflow=workflow,
                               min_size=min_size, refresh=False, members=20)

    @strawberry.field(description="Every model seen, by name (provider/model).")
    def models(self, info: _Info) -> list[Model]:
        return _entities(info, EntityLabel.MODEL, Model)

    @strawberry.field(description="Every tool called.")
    def tools(self, info: _Info) -> list[Tool]:
        return _entities(info, EntityLabel.TOOL, Tool)

    @strawberry.field(description="Every rule applied.")
    def rules(self, info: _Info) -> list[Rule]:
        return _entities(info, EntityLabel.RULE, Rule)

    @strawberry.field(description="Every person who overrode the agent.")
    def actors(self, info: _Info) -> list[Actor]:
        return _entities(info, EntityLabel.ACTOR, Actor)

    @strawberry.field(description="Documents by how often they were retrieved and used.")
    def documents(self, info: _Info, used_less_than: float = 1.0,
                  retrieved_more_than: int = 0) -> list[DocumentStat]:
        context = _ctx(info)
        return [DocumentStat(id=d, retrieved=n, used=u, unused_tokens=t)
                for d, n, u, t in context.store.document_stats(
                    min_retrieved=retrieved_more_than + 1, max_use_rate=used_less_than)]


@strawberry.type
class ImportResult:
    traces: int
    steps: int
    unchanged: int
    rejected: int
    errors: list[str]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Import traces from a payload in any supported format.")
    def import_traces(self, info: _Info, payload: str, format: Optional[str] = None
                      ) -> ImportResult:
        context = _ctx(info)
        context.require("ingest")
        report = import_stream(context.store, io.BytesIO(payload.encode()),
                               source=f"importTraces by {context.principal}", format=format)
        return ImportResult(traces=report.traces, steps=report.steps,
                            unchanged=report.unchanged, rejected=len(report.rejected),
                            errors=[str(e) for e in report.rejected][:50])

    @strawberry.mutation(description="Human feedback on a step, kept with author and time.")
    def annotate_step(self, info: _Info, trace_id: str, step_id: str, label: str,
                      note: Optional[str] = None) -> Annotation:
        context = _ctx(info)
        context.require("admin")
        trace = context.store.get_trace(trace_id)
        if not any(s.id == step_id for s in trace.steps):
            raise NotFound(f"trace {trace_id!r} has no step {step_id!r}")
        now = time.time_ns()
        context.store.add_annotation(trace_id, step_id, label=label, note=note,
                                     author=context.principal, created_ns=now)
        return Annotation(label=label, note=note, author=context.principal,
                          created=iso(now) or "")

    @strawberry.mutation(description="Record a human override that replaced a step's work.")
    def record_override(self, info: _Info, trace_id: str, replaces: str, actor: str,
                        reason: str, minutes: Optional[Decimal] = None,
                        actor_role: Optional[str] = None) -> Step:
        context = _ctx(info)
        context.require("admin")
        trace = context.store.get_trace(trace_id)
        if not any(s.id == replaces for s in trace.steps):
            raise NotFound(f"trace {trace_id!r} has no step {replaces!r}")
        taken = {s.id for s in trace.steps}
        step_id = next(f"override-{n}" for n in range(1, len(taken) + 2)
                       if f"override-{n}" not in taken)
        step = ModelStep(id=step_id, kind=StepKind.HUMAN_OVERRIDE, name="override",
                         start_ns=time.time_ns(), status=Status.OK,
                         override=Override(actor=actor, actor_role=actor_role, reason=reason,
                                           minutes=minutes, replaces=replaces))
        context.store.write_traces([ModelTrace(id=trace_id, source_format=trace.source_format,
                                               steps=(step,), partial=True)])
        analyze_and_store(context.store, [trace_id], config=context.config)
        return _step(trace_id, step, context.store.step_analyses([trace_id])
                     .get(trace_id, {}).get(step_id))

    @strawberry.mutation(description="Set a trace's business outcome (and why).")
    def set_outcome(self, info: _Info, trace_id: str, outcome: OutcomeFilter,
                    reason: Optional[str] = None) -> Trace:
        context = _ctx(info)
        context.require("admin")
        trace = context.store.get_trace(trace_id)
        context.store.write_traces([ModelTrace(id=trace_id, source_format=trace.source_format,
                                               outcome=Outcome(outcome.value),
                                               outcome_reason=reason, partial=True)])
        analyze_and_store(context.store, [trace_id], config=context.config)
        return _trace(context.store.trace_row(trace_id), None)  # cost from the marks


schema = strawberry.Schema(
    query=Query, mutation=Mutation,
    types=[ContextStep, LlmStep, ToolCallStep, RetryStep, RetrievalStep, HumanOverrideStep,
           OutcomeStep, GroupStep],
    extensions=limits())
