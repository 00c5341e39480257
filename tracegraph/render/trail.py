"""The decision trail of one trace, drawn for an auditor: what ran, in what order,
what each step cost, and which steps were wasted and why.

Three inline SVG drawings for the trail page, built on the server from a
:class:`~tracegraph.model.Trace` and its analysis document (the dict of
``tracegraph.services.analysis.analyze_trace``); no JavaScript, nothing fetched,
so the page also works saved, printed or mailed:

* :func:`trail_svg` - the steps as a graph: x is the order in which steps
  started, y is lanes of nesting; data flow, retries and human overrides as
  arrows; the essential path, wasted steps (reason and dollars) and the outcome
  marked.  Long traces are collapsed and paged (:class:`TrailView`).
* :func:`waterfall_svg` - cumulative spend over the steps in time order,
  each increment essential or wasted.
* :func:`timeline_svg` - the same page of steps as start-to-end bars on real
  time, to see where the minutes went.

Layout choices, and why:

* x is the *rank* of a step's start, not its timestamp: agents run in bursts
  (twenty tool calls in a second, then a human for ten minutes), and a time
  axis would crush the bursts into one pixel.  Ticks still say the elapsed time.
* A page of 400 steps at a readable width per step is far wider than any
  screen, so time wraps into *bands* of a few columns, read like lines of
  text; the drawing keeps one screen width and scrolls down.  An arrow whose
  ends are in different bands (or pages) becomes a short stub that names the
  other end, rather than a line across the page.
* A step sits in its parent's lane, or in the first free lane below it while
  that lane is busy (the parent is still running), so nesting reads top-down
  and sequential siblings share one lane.
* Colours live in a ``<style>`` block scoped to the drawing (classes such as
  ``role-wasted`` and ``reason-failed_attempt``), so the host page can restyle
  them and two drawings on one page never fight; every pair of text and
  background colours is listed in :data:`TEXT_ON_BACKGROUND` and meets WCAG AA.

Every piece of text comes from user data (step names, tool names, actors) and
goes through :func:`~.charts.escape_text`; step ids in links are URL-encoded.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import quote

import msgspec

from ..model import GROUPING_KINDS, Step, StepKind, Trace, time_order
from .charts import FONT, escape_text
from .formatting import format_count, format_usd

__all__ = ["TrailView", "trail_svg", "waterfall_svg", "timeline_svg", "REASON_COLOURS",
           "TEXT_ON_BACKGROUND", "MIN_RUN"]

# --- colours ---------------------------------------------------------------------------

INK = "#1f2933"
MUTED = "#52606d"
PAPER = "#ffffff"
GRID = "#d9e2ec"
NEST = "#9aa5b1"
ESSENTIAL = "#1d4ed8"
ESSENTIAL_FILL = "#eef4ff"
STRUCTURAL = "#9aa5b1"
STRUCTURAL_FILL = "#f5f7fa"
WASTED = "#b45309"
WASTED_FILL = "#fff6ed"
OVERRIDE = "#323f4b"
RULE_FILL = "#fdf3c4"
RULE_INK = "#5c4400"
REASON_COLOURS: Mapping[str, str] = {
    "failed_attempt": "#b91c1c",
    "redundant_call": "#c2410c",
    "loop": "#a21caf",
    "unused_retrieval": "#8a5a00",
    "dead_end": "#6b4f3a",
    "overridden": "#be123c",
    "context_bloat": "#0f766e",
}
"""Badge colour of each wasted reason; white badge text on each meets WCAG AA."""

TEXT_ON_BACKGROUND: tuple[tuple[str, str, str], ...] = (
    ("step name and cost", INK, PAPER),
    ("step name, essential", INK, ESSENTIAL_FILL),
    ("step name, wasted", INK, WASTED_FILL),
    ("step name, structural", MUTED, STRUCTURAL_FILL),
    ("kind line", MUTED, PAPER),
    ("kind line, essential", MUTED, ESSENTIAL_FILL),
    ("kind line, wasted", MUTED, WASTED_FILL),
    ("ticks and captions", MUTED, PAPER),
    ("rule chip", RULE_INK, RULE_FILL),
    ("legend, essential", ESSENTIAL, PAPER),
    ("wasted badge, other reasons", PAPER, WASTED),
    *((f"wasted badge, {reason}", PAPER, colour) for reason, colour in REASON_COLOURS.items()),
)
"""Every (what, text colour, background colour) the drawings use, for a contrast check."""

# --- geometry of the trail ----------------------------------------------------------------

COLUMNS = 6
"""Steps per band: one column each, at a width where a badge such as
"failed attempt · $0.0123" fits."""
PITCH = 212
GAP = 24
BOX_W = PITCH - GAP
BOX_H = 58
PAD_TOP = 22
PAD_BOTTOM = 20
LANE_H = PAD_TOP + BOX_H + PAD_BOTTOM
RIBBON_LANE_H = 30
RIBBON_H = 20
TICKS_H = 24
BAND_GAP = 12
LEFT = 22
WIDTH = LEFT * 2 + COLUMNS * PITCH - GAP
MIN_RUN = 3
"""Consecutive similar siblings collapsed into one "×N" node from this many on."""
SMALL_PAGE = 60
"""Up to this many steps the timeline gives each step a row; more share lane rows."""
BARS = 200
"""Past this many priced steps the waterfall sums them into this many buckets."""


class TrailView(msgspec.Struct, frozen=True, kw_only=True):
    """One page of a decision trail, and where it sits among the pages.

    ``shown_steps`` counts the nodes drawn on this page (a collapsed run counts
    once; never more than ``page_size``), ``collapsed_groups`` the "×N" runs
    among them, ``total_steps`` the trace's steps.  ``step_ids`` are the steps
    this page stands for, collapsed members included, in time order, so a page
    can list exactly the steps its drawing links to.
    """

    svg: str
    pages: int
    page: int
    shown_steps: int
    collapsed_groups: int
    total_steps: int
    step_ids: tuple[str, ...] = ()


# --- layout -------------------------------------------------------------------------------

@dataclass(eq=False, slots=True)
class _Node:
    """One drawn box: a step, or a run of similar siblings collapsed into one."""

    index: int
    steps: list[Step]
    role: str
    reason: str | None
    cost: Decimal | None
    unpriced: int
    evidence: str
    parent: int | None = None
    end: int = 0
    """The last column (node index) its span covers: it is still running there."""
    lane: int = 0

    @property
    def head(self) -> Step:
        return self.steps[0]

    @property
    def end_ns(self) -> int | None:
        return max((s.end_ns for s in self.steps if s.end_ns is not None), default=None)


@dataclass(slots=True)
class _Layout:
    nodes: list[_Node]
    flows: list[tuple[int, int]]
    """(provider, consumer): the consumer used what the provider produced.  Flows
    between a step and its own ancestor are left out: the nesting line already
    joins them, and a parent's input reaching every child drew a fan of curves."""
    inputs: dict[int, list[int]]
    """Every provider of each consumer, ancestors included, for the tooltips."""
    retries: list[tuple[int, int]]
    """(retry, retried)."""
    overrides: list[tuple[int, int]]
    """(human override, the step whose work it replaced)."""
    outcome_node: int | None
    t0: int | None
    """When the trace's first step started: ticks count from here."""


def _layout(trace: Trace, analysis: Mapping[str, Any], *, collapse: bool) -> _Layout:
    """Nodes in time order with their lanes and span ends, and the arrows between them."""
    marks: dict[str, Mapping[str, Any]] = {m["id"]: m for m in analysis.get("steps", ())}
    outcome_step = analysis.get("outcome_step")
    ordered = time_order(trace.steps)
    known = {s.id for s in ordered}
    parent_of = {s.id: s.parent_id if s.parent_id in known and s.parent_id != s.id else None
                 for s in ordered}
    runs = _collapsed_runs(ordered, parent_of, marks, outcome_step) if collapse else {}
    nodes: list[_Node] = []
    node_of: dict[str, int] = {}
    for step in ordered:
        if step.id in node_of:
            continue
        members = runs.get(step.id, [step])
        mark = marks.get(step.id, {})
        costs = [marks.get(m.id, {}).get("cost_usd") for m in members]
        priced = [Decimal(c) for c in costs if c is not None]
        index = len(nodes)
        nodes.append(_Node(index=index, steps=members, role=str(mark.get("role") or "unmarked"),
                           reason=mark.get("reason"),
                           cost=sum(priced, Decimal(0)) if priced else None,
                           unpriced=len(costs) - len(priced),
                           evidence=str(mark.get("evidence") or "")))
        for member in members:
            node_of[member.id] = index
    for node in nodes:
        parent = parent_of[node.head.id]
        node.parent = node_of[parent] if parent is not None else None
    starts = [n.head.start_ns for n in nodes if n.head.start_ns is not None]
    for node in nodes:
        end_ns = node.end_ns
        node.end = node.index if end_ns is None else max(
            node.index, bisect.bisect_left(starts, end_ns) - 1)
    for node in reversed(nodes):  # a parent stays open while any child runs
        if node.parent is not None:
            parent_node = nodes[node.parent]
            parent_node.end = max(parent_node.end, node.end)
    busy: list[int] = []  # per lane, the last column it is taken to
    for node in nodes:
        want = nodes[node.parent].lane if node.parent is not None else 0
        lane = next((i for i in range(want, len(busy)) if busy[i] < node.index), len(busy))
        if lane == len(busy):
            busy.append(node.end)
        busy[lane] = node.end
        node.lane = lane

    def pairs(found: Iterable[tuple[str, str | None]]) -> list[tuple[int, int]]:
        seen: dict[tuple[int, int], None] = {}
        for a, b in found:
            i, j = node_of.get(a), node_of.get(b) if b is not None else None
            if i is not None and j is not None and i != j:
                seen[(i, j)] = None
        return list(seen)

    def ancestor(older: int, younger: int) -> bool:
        parent, hops = nodes[younger].parent, 0
        while parent is not None and hops < len(nodes):  # a parent cycle must not hang us
            if parent == older:
                return True
            parent, hops = nodes[parent].parent, hops + 1
        return False

    all_flows = pairs((e["target"], e["source"]) for e in analysis.get("edges", ())
                      if e.get("type") == "USES")
    inputs: dict[int, list[int]] = {}
    for provider, consumer in all_flows:
        inputs.setdefault(consumer, []).append(provider)
    flows = [(p, c) for p, c in all_flows if not ancestor(p, c) and not ancestor(c, p)]
    retries = pairs((s.id, s.retry_of) for s in ordered if s.retry_of)
    overrides = pairs((s.id, s.override.replaces) for s in ordered
                      if s.override is not None and s.override.replaces)
    t0 = min((s.start_ns for s in ordered if s.start_ns is not None), default=None)
    outcome_node = node_of.get(outcome_step) if isinstance(outcome_step, str) else None
    return _Layout(nodes=nodes, flows=flows, inputs=inputs, retries=retries, overrides=overrides,
                   outcome_node=outcome_node, t0=t0)


def _collapsed_runs(ordered: list[Step], parent_of: Mapping[str, str | None],
                    marks: Mapping[str, Mapping[str, Any]],
                    outcome_step: Any) -> dict[str, list[Step]]:
    """Runs of ``MIN_RUN``+ consecutive siblings alike in kind, name, tool or model,
    role and reason, by their first step.

    Steps that hold others, human overrides and the outcome are never folded:
    an auditor must see each of them.
    """
    parents = {p for p in parent_of.values() if p is not None}
    siblings: dict[str | None, list[Step]] = {}
    for step in ordered:
        siblings.setdefault(parent_of[step.id], []).append(step)

    def key(step: Step) -> tuple[Any, ...] | None:
        if (step.id in parents or step.kind in GROUPING_KINDS or step.override is not None
                or step.kind in (StepKind.HUMAN_OVERRIDE, StepKind.OUTCOME)
                or step.id == outcome_step):
            return None
        mark = marks.get(step.id, {})
        return (step.kind, step.name, step.tool_name or step.model, mark.get("role"),
                mark.get("reason"))

    runs: dict[str, list[Step]] = {}
    for group in siblings.values():
        run: list[Step] = []
        run_key: tuple[Any, ...] | None = None
        for step in group:
            step_key = key(step)
            if step_key is not None and step_key == run_key:
                run.append(step)
                continue
            if len(run) >= MIN_RUN:
                runs[run[0].id] = run
            run, run_key = [step], step_key
        if len(run) >= MIN_RUN:
            runs[run[0].id] = run
    return runs


def _page_bounds(count: int, page: int, page_size: int) -> tuple[int, int, int]:
    """Number of pages and the node range of ``page``; a page that is not there is refused."""
    if page_size < 1:
        raise ValueError(f"page_size must be at least 1, not {page_size}")
    pages = max(1, math.ceil(count / page_size))
    if not 0 <= page < pages:
        raise ValueError(f"page {page} is out of range: this trail has {pages} "
                         f"page{'' if pages == 1 else 's'} (0 to {pages - 1})")
    return pages, page * page_size, min(count, (page + 1) * page_size)


# --- text ---------------------------------------------------------------------------------

_EM = dict(zip("abcdefghijklmnopqrstuvwxyz",
               (.62, .64, .55, .64, .62, .36, .64, .64, .28, .28, .58, .28, .98, .64, .62, .64,
                .64, .42, .53, .4, .64, .6, .82, .6, .6, .53)))
_EM.update(dict.fromkeys("0123456789$", .64))
_EM.update({" ": .32, ".": .32, ",": .32, ":": .34, ";": .34, "\u00b7": .32, "'": .28,
            "|": .34, "!": .4, "(": .39, ")": .39, "[": .39, "]": .39, "-": .37, "_": .5,
            "/": .34, "+": .84, "#": .84, "=": .84, "\u00d7": .84, "%": .95, "@": 1.0,
            "\u2026": 1.0, "\u2192": .84, "\u21b3": .84, "I": .3, "J": .3, "M": .86, "W": 1.0})


def _text_width(text: str, size: float = 12, bold: bool = False) -> float:
    """Width of ``text`` as DejaVu Sans draws it, one of the widest fonts ``system-ui``
    falls back to, so a label sized here also fits a narrower font."""
    units = sum(_EM.get(ch, .72 if ch.isupper() else .64) for ch in text)
    return units * size * (1.1 if bold else 1.0)


def _fit(text: str, width: float, size: float = 12, bold: bool = False) -> str:
    """``text`` shortened with an ellipsis to fit ``width``; the whole text stays in the tooltip."""
    if _text_width(text, size, bold) <= width:
        return text
    while text and _text_width(text + "\u2026", size, bold) > width:
        text = text[:-1]
    return text.rstrip() + "\u2026"


def _n(value: float) -> str:
    """A coordinate with at most one decimal, so the markup stays short."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _words(value: str) -> str:
    return value.replace("_", " ")


def _token(value: str) -> str:
    """A CSS class token from a kind or reason (which come from data)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", value)


def _elapsed(ns: int | float | None) -> str:
    """Elapsed time since the trace started, as a tick says it."""
    if ns is None:
        return "\u2013"
    seconds = ns / 1e9
    if seconds < 10:
        return f"+{seconds:.2f} s"
    if seconds < 100:
        return f"+{seconds:.1f} s"
    if seconds < 3600:
        minutes, rest = divmod(round(seconds), 60)
        return f"+{minutes} m {rest:02d} s"
    hours, rest = divmod(round(seconds), 3600)
    return f"+{hours} h {rest // 60:02d} m"


def _duration(ns: int | None) -> str:
    return "unknown" if ns is None else _elapsed(ns)[1:]


def _usd(cost: Decimal | None, unpriced: int = 0) -> str:
    if cost is None:
        return "unpriced"
    return format_usd(cost) + (f" + {unpriced} unpriced" if unpriced else "")


def _uid(*parts: object) -> str:
    """A short id, the same for the same drawing, that keeps marker ids and the scoped
    style of two drawings on one page apart."""
    digest = hashlib.blake2s("\x1f".join(map(str, parts)).encode(), digest_size=4).hexdigest()
    return f"tg{digest}"


def _node_label(node: _Node) -> str:
    step = node.head
    name = step.name or step.tool_name or step.model or _words(step.kind.value)
    return f"\u00d7{len(node.steps)} {name}" if len(node.steps) > 1 else name


def _tooltip(node: _Node, layout: _Layout) -> str:
    """What a pointer over the node says: everything the box had to shorten."""
    step, t0 = node.head, layout.t0
    lines = [f"{_words(step.kind.value)} \u00b7 {_node_label(node)}",
             f"{node.role}" + (f" \u2014 {_words(node.reason)}" if node.reason else "")
             + f" \u00b7 {_usd(node.cost, node.unpriced if node.cost is not None else 0)}"]
    if node.evidence:
        lines.append(node.evidence)
    if step.model or step.tool_name:
        lines.append(" \u00b7 ".join(x for x in (step.model, step.tool_name) if x))
    if step.error or step.error_type:
        lines.append(f"error: {step.error_type or ''} {(step.error or '')[:160]}".strip())
    if step.override is not None:
        o = step.override
        lines.append(f"override by {o.actor}" + (f" ({o.actor_role})" if o.actor_role else "")
                     + (f", {o.minutes} min" if o.minutes is not None else "")
                     + (f": {o.reason[:200]}" if o.reason else ""))
    if step.rules:
        lines.append("rules: " + "; ".join(step.rules))
    providers = layout.inputs.get(node.index, [])
    if providers:
        lines.append("used the output of " + ", ".join(
            f"{_node_label(layout.nodes[p])} ({layout.nodes[p].head.id})" for p in providers[:4])
            + (f" and {len(providers) - 4} more" if len(providers) > 4 else ""))
    if len(node.steps) > 1:
        ids = [s.id for s in node.steps]
        lines.append(f"{len(ids)} steps: " + ", ".join(ids[:4])
                     + (f", \u2026 {ids[-1]}" if len(ids) > 4 else ""))
    start = None if step.start_ns is None or t0 is None else step.start_ns - t0
    lines.append(f"started {_elapsed(start)}, took {_duration(step.duration_ns)}"
                 f" \u00b7 id {step.id}")
    return "\n".join(lines)


# --- style --------------------------------------------------------------------------------

def _style(uid: str) -> str:
    """The drawing's own stylesheet, every rule scoped to its root class."""
    rules = [
        ("", f"font-family:{FONT};font-size:12px"),
        ("text", f"fill:{INK}"),
        (".tg-muted", f"fill:{MUTED}"),
        (".tg-title", "font-size:15px;font-weight:600"),
        (".tg-tick", f"fill:{MUTED};font-size:11px;font-variant-numeric:tabular-nums"),
        (".tg-band", f"stroke:{GRID};stroke-width:1"),
        (".tg-box", f"fill:{PAPER};stroke:{STRUCTURAL};stroke-width:1.2"),
        (".tg-stack", f"fill:{PAPER};stroke:{STRUCTURAL};stroke-width:1"),
        (".tg-l1", "font-weight:600"),
        (".tg-l2", f"fill:{MUTED}"),
        (".tg-pill", f"fill:{WASTED}"),
        (".tg-pt", f"fill:{PAPER};font-size:11px;font-weight:600"),
        (".tg-rule rect", f"fill:{RULE_FILL};stroke:#b08800;stroke-width:.8"),
        (".tg-rule text", f"fill:{RULE_INK};font-size:11px;font-weight:600"),
        (".tg-ring", f"fill:none;stroke:{ESSENTIAL};stroke-width:1.5"),
        (".role-essential .tg-box", f"fill:{ESSENTIAL_FILL};stroke:{ESSENTIAL};stroke-width:2.5"),
        (".role-wasted .tg-box", f"fill:{WASTED_FILL};stroke:{WASTED};stroke-width:1.5;"
                                 "stroke-dasharray:5 2"),
        (".role-structural .tg-box", f"fill:{STRUCTURAL_FILL};stroke:{STRUCTURAL}"),
        (".role-structural text", f"fill:{MUTED}"),
        (".tg-node:hover .tg-box,.tg-node:focus .tg-box", "stroke-width:3.5"),
        (".tg-ribbon", f"fill:{STRUCTURAL_FILL};stroke:{STRUCTURAL};stroke-width:1"),
        (".role-essential .tg-ribbon", f"fill:{ESSENTIAL_FILL};stroke:{ESSENTIAL}"),
        (".role-wasted .tg-ribbon", f"fill:{WASTED_FILL};stroke:{WASTED}"),
        (".tg-nest", f"stroke:{NEST};stroke-width:1;fill:none"),
        (".tg-flow", f"fill:none;stroke:#7b8794;stroke-width:1.2;marker-end:url(#{uid}-f)"),
        (".tg-flow.essential", f"stroke:{ESSENTIAL};stroke-width:2.5;marker-end:url(#{uid}-e)"),
        (".tg-retry", f"fill:none;stroke:{REASON_COLOURS['failed_attempt']};stroke-width:1.6;"
                      f"stroke-dasharray:5 3;marker-end:url(#{uid}-r)"),
        (".tg-override", f"fill:none;stroke:{OVERRIDE};stroke-width:3.2;"
                         f"marker-end:url(#{uid}-o)"),
        (".tg-stub", "font-size:11px"),
        (".tg-bar", f"fill:{STRUCTURAL};stroke:{PAPER};stroke-width:.5"),
        (".role-essential .tg-bar,.tg-bar.role-essential,.tg-swatch.role-essential",
         f"fill:{ESSENTIAL}"),
        (".role-wasted .tg-bar,.tg-bar.role-wasted,.tg-swatch.role-wasted", f"fill:{WASTED}"),
        (".tg-line", f"fill:none;stroke:{INK};stroke-width:1.5"),
        (".tg-lead", f"stroke:{MUTED};stroke-width:.8;stroke-dasharray:2 2"),
        (".tg-grid", f"stroke:{GRID};stroke-width:1"),
        (".tg-axis", f"stroke:{MUTED};stroke-width:1"),
        (".tg-legend-essential", f"fill:{ESSENTIAL};font-weight:600"),
    ]
    for reason, colour in REASON_COLOURS.items():
        rules += [(f".reason-{reason} .tg-box,.reason-{reason} .tg-ribbon", f"stroke:{colour}"),
                  (f".reason-{reason} .tg-pill,.reason-{reason} .tg-bar,"
                   f".tg-bar.reason-{reason}", f"fill:{colour}")]
    return "<style>" + "".join(f".{uid} {sel.replace(',', f',.{uid} ')}{{{decl}}}"
                               if sel else f".{uid}{{{decl}}}" for sel, decl in rules) + "</style>"


def _markers(uid: str) -> str:
    def marker(name: str, colour: str, size: float) -> str:
        return (f'<marker id="{uid}-{name}" viewBox="0 0 10 10" refX="9" refY="5" '
                f'markerWidth="{size}" markerHeight="{size}" markerUnits="userSpaceOnUse" '
                f'orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="{colour}"/>'
                f"</marker>")
    return ("<defs>" + marker("f", "#7b8794", 8) + marker("e", ESSENTIAL, 11)
            + marker("r", REASON_COLOURS["failed_attempt"], 10) + marker("o", OVERRIDE, 13)
            + "</defs>")


def _svg(uid: str, kind: str, width: float, height: float, *, label: str, body: str,
         data: str = "") -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="tg {kind} {uid}" role="img" '
            f'viewBox="0 0 {_n(width)} {_n(height)}" width="100%" '
            f'preserveAspectRatio="xMinYMin meet" style="max-width:{_n(width)}px;height:auto" '
            f'aria-label="{escape_text(label)}"{data}><title>{escape_text(label)}</title>'
            f"{_style(uid)}{_markers(uid)}{body}</svg>")


# --- the trail ----------------------------------------------------------------------------

def trail_svg(trace: Trace, analysis: Mapping[str, Any], *, page: int = 0,
              page_size: int = 400, collapse: bool = True) -> TrailView:
    """One page of the decision trail of ``trace`` as an inline SVG.

    ``analysis`` is the document of ``analyze_trace`` for this trace.  With
    ``collapse``, runs of ``MIN_RUN`` or more consecutive siblings alike in
    kind, name, tool or model, role and reason become one "×N" node (costs
    summed, linked to the first).  Nodes are paged in time order,
    ``page_size`` to a page; ``page`` counts from 0.  Raises ``ValueError``
    for a page that does not exist.
    """
    layout = _layout(trace, analysis, collapse=collapse)
    nodes = layout.nodes
    pages, first, stop = _page_bounds(len(nodes), page, page_size)
    uid = _uid("trail", trace.id, page, page_size, collapse)
    shown = nodes[first:stop]
    groups = sum(1 for n in shown if len(n.steps) > 1)
    step_ids = tuple(s.id for n in shown for s in n.steps)
    header, header_h = _trail_header(trace, analysis, layout, pages, page, first, stop)
    legend, legend_h = _legend(layout, top=header_h)
    body, height = _bands(layout, first, stop, page_size, top=header_h + legend_h)
    label = (f"Decision trail of trace {trace.id}, page {page + 1} of {pages}: "
             f"{format_count(len(shown))} nodes standing for {format_count(len(step_ids))} of "
             f"{format_count(len(trace.steps))} steps")
    svg = _svg(uid, "tg-trail", WIDTH, height, label=label, body=header + legend + body)
    return TrailView(svg=svg, pages=pages, page=page, shown_steps=len(shown),
                     collapsed_groups=groups, total_steps=len(trace.steps), step_ids=step_ids)


def _trail_header(trace: Trace, analysis: Mapping[str, Any], layout: _Layout, pages: int,
                  page: int, first: int, stop: int) -> tuple[str, float]:
    steps = sum(len(n.steps) for n in layout.nodes[first:stop])
    before = sum(len(n.steps) for n in layout.nodes[:first])
    facts = [f"outcome {analysis.get('outcome') or (trace.outcome or 'unknown')}"]
    if analysis.get("cost_usd") is not None:
        facts.append(f"{format_usd(analysis['cost_usd'])} spent, "
                     f"{format_usd(analysis.get('wasted_usd') or '0')} wasted")
    if analysis.get("unpriced_steps"):
        facts.append(f"{len(analysis['unpriced_steps'])} unpriced")
    where = (f"Page {page + 1} of {pages}: steps {format_count(before + 1)}\u2013"
             f"{format_count(before + steps)} of {format_count(len(trace.steps))}"
             if steps else "No steps")
    groups = sum(1 for n in layout.nodes[first:stop] if len(n.steps) > 1)
    if groups:
        where += f", {groups} run{'' if groups == 1 else 's'} of similar steps collapsed"
    title = f"Decision trail \u00b7 {trace.workflow or analysis.get('workflow') or trace.id}"
    about = " \u00b7 ".join([f"trace {trace.id}", *facts])
    return (f'<text x="{LEFT}" y="22" class="tg-title">'
            f"{escape_text(_fit(title, WIDTH - 60, 15, True))}</text>"
            f'<text x="{LEFT}" y="42" class="tg-muted">{escape_text(_fit(about, WIDTH - 60))}</text>'
            f'<text x="{LEFT}" y="60" class="tg-muted">{escape_text(where)}</text>', 72.0)


def _legend(layout: _Layout, *, top: float) -> tuple[str, float]:
    """Swatches for what the drawing uses, wasted reasons only where the trace has them."""
    reasons = sorted({n.reason for n in layout.nodes if n.role == "wasted" and n.reason})
    items: list[tuple[float, str, str]] = []  # width of swatch, swatch markup, label

    def box(classes: str, extra: str = "") -> str:
        return (f'<g class="{classes}">{extra}<rect class="tg-box" x="0" y="-10" width="26" '
                f'height="16" rx="4"/></g>')

    items.append((32, box("role-essential"), "essential: on the path to the outcome"))
    items.append((32, box("role-structural"), "structural"))
    for reason in reasons:
        text = f"wasted: {_words(reason)}"
        w = _text_width(text, 11, True) + 14
        items.append((w + 4, f'<g class="reason-{_token(reason)}"><rect class="tg-pill" x="0" '
                             f'y="-10" width="{_n(w)}" height="16" rx="8"/><text class="tg-pt" '
                             f'x="7" y="2">{escape_text(text)}</text></g>', ""))
    items.append((32, box("role-essential", '<rect class="tg-ring" x="-3" y="-13" width="32" '
                                            'height="22" rx="6"/>'), "outcome"))
    items.append((36, box("", '<rect class="tg-stack" x="6" y="-6" width="26" height="16" '
                              'rx="4"/><rect class="tg-stack" x="3" y="-8" width="26" '
                              'height="16" rx="4"/>'), "\u00d7N: similar steps in a row"))
    for cls, text in (("tg-flow", "used the output of"),
                      ("tg-flow essential", "essential flow"),
                      ("tg-retry", "retry \u2192 what it retried"),
                      ("tg-override", "human override \u2192 what it replaced"),
                      ("tg-nest", "runs inside")):
        items.append((40, f'<path class="{cls}" d="M0 -2H32"/>', text))
    items.append((44, '<g class="tg-rule"><rect x="0" y="-10" width="38" height="15" rx="3"/>'
                      '<text x="5" y="1.5">rule</text></g>', "rule applied"))
    parts: list[str] = []
    x, y = float(LEFT), top + 12
    for swatch_w, swatch, text in items:
        w = swatch_w + (_text_width(text, 12) + 8 if text else 0) + 16
        if x + w > WIDTH - LEFT:
            x, y = float(LEFT), y + 24
        parts.append(f'<g transform="translate({_n(x)} {_n(y)})">{swatch}'
                     + (f'<text x="{_n(swatch_w)}" y="2">{escape_text(text)}</text>' if text else "")
                     + "</g>")
        x += w
    return f'<g class="tg-legend">{"".join(parts)}</g>', y - top + 18


@dataclass(slots=True)
class _Band:
    """A few columns of one page, read left to right, with the lanes they use."""

    columns: range
    y: float = 0.0
    lanes: dict[int, float] = field(default_factory=dict)
    """Lane -> its top, for the lanes that have something in this band."""


def _bands(layout: _Layout, first: int, stop: int, page_size: int, *,
           top: float) -> tuple[str, float]:
    """The page's nodes in bands of ``COLUMNS``, with ribbons, arrows and stubs."""
    nodes = layout.nodes
    if first == stop:
        return (f'<text x="{LEFT}" y="{_n(top + 24)}" class="tg-muted">This trace has no '
                f'steps.</text>', top + 44)
    bands = [_Band(columns=range(c, min(c + COLUMNS, stop))) for c in range(first, stop, COLUMNS)]

    def band_of(index: int) -> int:
        return (index - first) // COLUMNS

    spanning = [n for n in nodes[:first] if n.end >= first] + [
        n for n in nodes[first:stop] if n.end > n.index]
    ribbons: list[list[tuple[_Node, int]]] = [[] for _ in bands]  # (node, last column here)
    box_lanes: list[set[int]] = [set() for _ in bands]
    for node in nodes[first:stop]:
        box_lanes[band_of(node.index)].add(node.lane)
    for node in spanning:
        last = min(node.end, stop - 1)
        for b in range(band_of(max(node.index, first)), band_of(last) + 1):
            here = min(last, bands[b].columns[-1])
            if here > node.index:
                ribbons[b].append((node, here))
    y = top
    for b, band in enumerate(bands):
        used = sorted(box_lanes[b] | {n.lane for n, _ in ribbons[b]})
        band.y = y
        y += TICKS_H
        for lane in used:
            band.lanes[lane] = y
            y += LANE_H if lane in box_lanes[b] else RIBBON_LANE_H
        y += BAND_GAP

    def x_of(index: int) -> float:
        return LEFT + ((index - first) % COLUMNS) * PITCH

    def box_y(node: _Node) -> float:
        return bands[band_of(node.index)].lanes[node.lane] + PAD_TOP

    ribbon_y: dict[tuple[int, int], float] = {}  # (node, band) -> ribbon's top
    under: list[str] = []  # ticks, ribbons, nesting lines: drawn first
    t0 = layout.t0
    for b, band in enumerate(bands):
        if b:
            under.append(f'<line class="tg-band" x1="{LEFT}" x2="{WIDTH - LEFT}" '
                         f'y1="{_n(band.y - BAND_GAP / 2)}" y2="{_n(band.y - BAND_GAP / 2)}"/>')
        for index in band.columns:
            start = nodes[index].head.start_ns
            label = f"#{index + 1} " + _elapsed(None if start is None or t0 is None else start - t0)
            under.append(f'<text class="tg-tick" x="{_n(x_of(index) + 2)}" '
                         f'y="{_n(band.y + 16)}">{escape_text(label)}</text>')
        for node, here in ribbons[b]:
            lane_top = band.lanes[node.lane]
            own = node.index in band.columns
            if own:  # a tail from its box
                x1, y1, h = x_of(node.index) + BOX_W, lane_top + PAD_TOP + 8, 12.0
            else:  # carried on from an earlier band: labelled
                x1, h = LEFT - 10.0, float(RIBBON_H)
                y1 = lane_top + (PAD_TOP if node.lane in box_lanes[b]
                                 else (RIBBON_LANE_H - RIBBON_H) / 2)
            x2 = x_of(here) + BOX_W
            if here == band.columns[-1] and node.end > here:  # runs on past the band
                x2 = WIDTH - LEFT + 10.0
            ribbon_y[(node.index, b)] = y1 + h
            classes = f"role-{_token(node.role)}" + (
                f" reason-{_token(node.reason)}" if node.reason else "")
            text = ""
            if not own:
                note = "" if node.index >= first else f" (from page {node.index // page_size + 1})"
                name = _fit(f"\u21b3 {_node_label(node)}{note}", x2 - x1 - 24)
                text = f'<text x="{_n(x1 + 14)}" y="{_n(y1 + 14)}">{escape_text(name)}</text>'

            under.append(f'<g class="{classes}"><rect class="tg-ribbon" x="{_n(x1)}" '
                         f'y="{_n(y1)}" width="{_n(max(x2 - x1, 2))}" height="{_n(h)}" '
                         f'rx="{_n(h / 2)}"/>{text}</g>')
    for node in nodes[first:stop]:
        if node.parent is None:
            continue
        b = band_of(node.index)
        x, y_top = x_of(node.index) + 14, box_y(node)
        if (node.parent, b) in ribbon_y and nodes[node.parent].end >= node.index:
            under.append(f'<path class="tg-nest" d="M{_n(x)} {_n(ribbon_y[(node.parent, b)])}'
                         f'V{_n(y_top)}"/>')
        elif first <= node.parent < stop and band_of(node.parent) == b:
            parent = nodes[node.parent]
            under.append(f'<path class="tg-nest" d="M{_n(x_of(parent.index) + BOX_W / 2)} '
                         f'{_n(box_y(parent) + BOX_H)}L{_n(x)} {_n(y_top)}"/>')
    flows, arcs, stubs = _arrows(layout, first, stop, page_size, x_of, box_y, band_of)
    boxes = [_box(node, x_of(node.index), box_y(node), layout) for node in nodes[first:stop]]
    body = "".join(under) + "".join(flows) + "".join(boxes) + "".join(arcs) + "".join(stubs)
    return body, y + 8


def _arrows(layout: _Layout, first: int, stop: int, page_size: int,
            x_of: Callable[[int], float], box_y: Callable[[_Node], float],
            band_of: Callable[[int], int]) -> tuple[list[str], list[str], list[str]]:
    """Data flow as curves, retries and overrides as arcs under the boxes; an arrow whose
    other end is in another band or page becomes a stub that names that end."""
    nodes = layout.nodes
    on_page = range(first, stop)
    flows: list[str] = []
    arcs: list[str] = []
    stubs: list[str] = []
    incoming: dict[int, list[str]] = {}

    def where(index: int, room: float | None = None) -> str:
        """The other end of a stub: its name (shortened to ``room``), id and page."""
        name = _node_label(nodes[index])
        return (f"{name if room is None else _fit(name, room, 11)} ({nodes[index].head.id})"
                + ("" if index in on_page else f", page {index // page_size + 1}"))

    for provider, consumer in layout.flows:
        if consumer not in on_page:
            continue
        essential = " essential" if (nodes[provider].role == nodes[consumer].role
                                     == "essential") else ""
        if provider not in on_page or band_of(provider) != band_of(consumer):
            incoming.setdefault(consumer, []).append(where(provider))
            continue
        x1, y1 = x_of(provider), box_y(nodes[provider])
        x2, y2 = x_of(consumer), box_y(nodes[consumer])
        if consumer < provider:  # used before it started: an arc below
            sx, sy, ex, ey = x1 + 20, y1 + BOX_H, x2 + BOX_W - 20, y2 + BOX_H
            d = (f"M{_n(sx)} {_n(sy)}C{_n(sx)} {_n(sy + 16)} {_n(ex)} {_n(ey + 16)} "
                 f"{_n(ex)} {_n(ey + 2)}")
        elif y1 == y2 and consumer - provider > 1:  # same lane, boxes between: over them
            rise = min(6 + 4 * (consumer - provider), PAD_TOP - 2) / 0.75
            d = (f"M{_n(x1 + BOX_W - 24)} {_n(y1)}C{_n(x1 + BOX_W - 24)} {_n(y1 - rise)} "
                 f"{_n(x2 + 24)} {_n(y2 - rise)} {_n(x2 + 24)} {_n(y2 - 2)}")
        elif y1 == y2:  # next to each other
            d = f"M{_n(x1 + BOX_W)} {_n(y1 + BOX_H / 2)}H{_n(x2 - 2)}"
        else:  # another lane: out of the bottom (top), into the top (bottom), so that
            # the curve passes no box of either lane
            down = y2 > y1
            sx, sy = x1 + BOX_W - 30, y1 + (BOX_H if down else 0)
            ex, ey = x2 + 40, y2 + (-2 if down else BOX_H + 2)
            bend = max(18.0, abs(ey - sy) / 2) * (1 if down else -1)
            d = (f"M{_n(sx)} {_n(sy)}C{_n(sx)} {_n(sy + bend)} {_n(ex)} {_n(ey - bend)} "
                 f"{_n(ex)} {_n(ey)}")
        flows.append(f'<path class="tg-flow{essential}" d="{d}"/>')
    for consumer, sources in incoming.items():
        x, y = x_of(consumer), box_y(nodes[consumer]) + 12
        text = "uses " + "; ".join(sources[:6]) + (f" and {len(sources) - 6} more"
                                                    if len(sources) > 6 else "")
        stubs.append(f'<path class="tg-flow" d="M{_n(x - GAP + 4)} {_n(y)}H{_n(x - 2)}">'
                     f"<title>{escape_text(text)}</title></path>")
    for kind, pairs, bulge in (("retry", layout.retries, 14.0),
                               ("override", layout.overrides, 18.0)):
        for source, target in pairs:
            if source not in on_page:
                continue
            sx, sy = x_of(source), box_y(nodes[source]) + BOX_H
            if target in on_page and band_of(target) == band_of(source):
                tx, ty = x_of(target), box_y(nodes[target]) + BOX_H
                start = sx + (BOX_W * 0.3 if kind == "retry" else BOX_W * 0.5)
                end = tx + (BOX_W * 0.7 if kind == "retry" else BOX_W * 0.5)
                if target > source:
                    start, end = sx + BOX_W * 0.7, tx + BOX_W * 0.3
                arcs.append(f'<path class="tg-{kind}" d="M{_n(start)} {_n(sy)}C{_n(start)} '
                            f'{_n(sy + bulge)} {_n(end)} {_n(ty + bulge)} {_n(end)} {_n(ty + 3)}"/>')
                continue
            verb = "retry of" if kind == "retry" else "replaces"
            text = f"{verb} {where(target)}"
            room = BOX_W + GAP - 16 - _text_width(f"{verb}  ({nodes[target].head.id}), page 99", 11)
            shown = _fit(f"{verb} {where(target, room)}", BOX_W + GAP - 16, 11)
            arcs.append(f'<path class="tg-{kind}" d="M{_n(sx + 10)} {_n(sy)}V{_n(sy + 12)}'
                        f'H{_n(sx + 1)}"/><text class="tg-stub" x="{_n(sx + 14)}" '
                        f'y="{_n(sy + 15)}">{escape_text(shown)}'
                        f"<title>{escape_text(text)}</title></text>")
    return flows, arcs, stubs


def _box(node: _Node, x: float, y: float, layout: _Layout) -> str:
    """One node: a link to the step, with its name, kind and what it cost or wasted."""
    step = node.head
    classes = ["tg-node", f"role-{_token(node.role)}", f"kind-{_token(step.kind.value)}"]
    if node.reason:
        classes.append(f"reason-{_token(node.reason)}")
    if len(node.steps) > 1:
        classes.append("tg-collapsed")
    outcome = node.index == layout.outcome_node
    if outcome:
        classes.append("tg-outcome")
    if step.override is not None:
        classes.append("tg-human")
    inner = BOX_W - 16
    parts: list[str] = []
    if len(node.steps) > 1:
        parts.append(f'<rect class="tg-stack" x="6" y="6" width="{BOX_W}" height="{BOX_H}" rx="6"/>'
                     f'<rect class="tg-stack" x="3" y="3" width="{BOX_W}" height="{BOX_H}" rx="6"/>')
    if outcome:
        parts.append(f'<rect class="tg-ring" x="-4" y="-4" width="{BOX_W + 8}" '
                     f'height="{BOX_H + 8}" rx="9"/>')
    parts.append(f'<rect class="tg-box" width="{BOX_W}" height="{BOX_H}" rx="6"/>')
    parts.append(f'<text class="tg-l1" x="8" y="17">'
                 f"{escape_text(_fit(_node_label(node), inner, 12, True))}</text>")
    kind = _words(step.kind.value)
    detail = step.model if step.kind == StepKind.LLM else (
        step.tool_name if step.tool_name and step.tool_name != step.name else None)
    if step.status.value == "error":
        kind = f"{kind} \u00b7 error"
    if step.kind == StepKind.OUTCOME:
        detail = step.outcome.value if step.outcome else None
    elif outcome:
        kind = f"{kind} (outcome)"
    money = _usd(node.cost, node.unpriced)
    third: str | None = None
    if step.override is not None:
        detail = money
        third = step.override.actor + (f" \u00b7 {step.override.minutes} min"
                                       if step.override.minutes is not None else "")
    second = kind + (f" \u00b7 {detail}" if detail else "")
    parts.append(f'<text class="tg-l2" x="8" y="33">{escape_text(_fit(second, inner))}</text>')
    if node.role == "wasted":
        badge = _fit(f"{_words(node.reason or 'wasted')} \u00b7 {money}", inner - 12, 11, True)
        w = _text_width(badge, 11, True) + 12
        parts.append(f'<rect class="tg-pill" x="6" y="39" width="{_n(w)}" height="15" rx="7.5"/>'
                     f'<text class="tg-pt" x="12" y="50.5">{escape_text(badge)}</text>')
    else:
        if third is None and (node.cost is None or node.cost != 0 or node.unpriced):
            third = money
        if third:
            parts.append(f'<text x="8" y="50">{escape_text(_fit(third, inner))}</text>')
    if step.rules:
        more = f" +{len(step.rules) - 1}" if len(step.rules) > 1 else ""
        rule = _fit((step.rules[0].split() or ["rule"])[0] + more, 70, 11, True)
        w = _text_width(rule, 11, True) + 10
        parts.append(f'<g class="tg-rule"><rect x="{_n(BOX_W - w - 6)}" y="-8" width="{_n(w)}" '
                     f'height="15" rx="3"/><text x="{_n(BOX_W - w - 1)}" y="3.5">'
                     f"{escape_text(rule)}</text></g>")
    tip = _tooltip(node, layout)
    aria = (f"{_words(step.kind.value)} {_node_label(node)}, {node.role}"
            + (f", {_words(node.reason)}" if node.reason else "") + f", {money}")
    return (f'<a href="#step-{escape_text(quote(step.id, safe=""))}" class="{" ".join(classes)}" '
            f'transform="translate({_n(x)} {_n(y)})" aria-label="{escape_text(aria)}">'
            f"<title>{escape_text(tip)}</title>{''.join(parts)}</a>")


# --- the cost waterfall ---------------------------------------------------------------------

def _nice_step(span: float, ticks: int = 5) -> float:
    """A round step (1, 2 or 5 times a power of ten) for about ``ticks`` ticks over ``span``."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    return float(next(f * power for f in (1, 2, 5, 10) if raw <= f * power))


_ROLES = ("essential", "structural", "wasted")
"""Stacking order of the waterfall: essential at the bottom, wasted on top where it shows."""


def waterfall_svg(trace: Trace, analysis: Mapping[str, Any]) -> str:
    """Cumulative spend over the trace's priced steps in time order, each increment
    coloured by what the step was: essential, wasted or structural.

    Up to ``BARS`` priced steps, each is a floating bar from the spend before it
    to the spend after it, and the biggest are labelled.  Past that, single
    steps would be a pixel each, so the steps are summed into ``BARS``
    buckets and the cumulative spend of each role is stacked as an area;
    only steps of at least 1% of the total are labelled.  The exact total (the
    sum of the priced steps' decimal costs, equal to the analysis'
    ``cost_usd``) is in the root's ``data-total``; steps without a price are
    left out and counted in the caption, never drawn as $0.
    """
    marks = {m["id"]: m for m in analysis.get("steps", ())}
    priced: list[tuple[Step, str, Decimal]] = []
    unpriced = 0
    for step in time_order(trace.steps):
        mark = marks.get(step.id)
        if mark is None or mark.get("cost_usd") is None:
            unpriced += 1
            continue
        role = mark.get("role")
        priced.append((step, role if role in ("essential", "wasted") else "structural",
                       Decimal(mark["cost_usd"])))
    total = sum((c for _, _, c in priced), Decimal(0))
    by_role = {role: sum((c for _, r, c in priced if r == role), Decimal(0)) for role in _ROLES}
    per = max(1, math.ceil(len(priced) / BARS))
    buckets = [priced[i:i + per] for i in range(0, len(priced), per)]
    threshold = total / 100 if per > 1 else Decimal(0)
    biggest = sorted((p for p in priced if p[2] > threshold), key=lambda p: -p[2])[:4]
    width, left, right, top, plot = float(WIDTH), 76.0, 24.0, 66.0 + (56 if biggest else 8), 240.0
    span, bottom = width - left - right, top + plot
    slot = span / max(len(buckets), 1)
    step_usd = _nice_step(float(total) or 1.0, 5)
    ceiling = step_usd * max(1, math.ceil(float(total) / step_usd - 1e-9))

    def y_of(value: Decimal | float) -> float:
        return bottom - float(value) / ceiling * plot

    parts = [f'<text x="{LEFT}" y="22" class="tg-title">Cost waterfall \u00b7 '
             f"{escape_text(format_usd(total))} over {format_count(len(priced))} priced step"
             f"{'' if len(priced) == 1 else 's'}</text>"]
    x = float(LEFT)
    for role in _ROLES:
        label = f"{role} {format_usd(by_role[role])}"
        parts.append(f'<rect class="tg-swatch role-{role}" x="{_n(x)}" y="34" width="12" '
                     f'height="12" rx="2" fill="{STRUCTURAL}"/><text x="{_n(x + 17)}" y="44">'
                     f"{escape_text(label)}</text>")
        x += _text_width(label) + 40
    for tick in range(0, round(ceiling / step_usd) + 1):
        value = Decimal(repr(round(tick * step_usd, 12)))
        y = y_of(value)
        parts.append(f'<line class="tg-grid" x1="{_n(left)}" x2="{_n(width - right)}" '
                     f'y1="{_n(y)}" y2="{_n(y)}"/><text class="tg-tick" x="{_n(left - 6)}" '
                     f'y="{_n(y + 4)}" text-anchor="end">{escape_text(format_usd(value))}</text>')
    # the bars (or areas), and the cumulative line over them
    running = Decimal(0)
    line = [f"{_n(left)},{_n(bottom)}"]
    centre: dict[str, tuple[float, Decimal]] = {}  # step id -> x, spend before it
    levels: list[dict[str, Decimal]] = []  # per bucket, cumulative spend of each role
    cumulative = dict.fromkeys(_ROLES, Decimal(0))
    for index, bucket in enumerate(buckets):
        x, before = left + index * slot, running
        for step, role, cost in bucket:
            centre[step.id] = (x + slot / 2, running)
            running += cost
            cumulative[role] += cost
        levels.append(dict(cumulative))
        head = bucket[0][0]
        what = (f"{head.name or _words(head.kind.value)} ({head.id}), {bucket[0][1]}"
                if len(bucket) == 1 else
                f"priced steps {index * per + 1:,}\u2013{index * per + len(bucket):,}")
        tip = escape_text(f"{what}: +{format_usd(running - before)}, "
                          f"{format_usd(running)} so far")
        if per == 1:
            role, cost = bucket[0][1], bucket[0][2]
            if cost > 0:
                y1, y2 = y_of(running), y_of(before)
                parts.append(f'<rect class="tg-bar role-{role}" x="{_n(x + 1)}" y="{_n(y1)}" '
                             f'width="{_n(max(slot - 2, 1))}" height="{_n(max(y2 - y1, 1))}">'
                             f"<title>{tip}</title></rect>")
        else:  # an invisible target per bucket, for its tooltip
            parts.append(f'<rect x="{_n(x)}" y="{_n(top)}" width="{_n(slot)}" height="{_n(plot)}" '
                         f'fill="transparent"><title>{tip}</title></rect>')
        line.append(f"{_n(x)},{_n(y_of(before))} {_n(x)},{_n(y_of(running))} "
                    f"{_n(x + slot)},{_n(y_of(running))}")
    if per > 1:
        areas = []
        floor = [Decimal(0)] * len(levels)
        for role in _ROLES:
            ceiling_of = [f + lv[role] for f, lv in zip(floor, levels)]
            upper = " ".join(f"{_n(left + (i + 1) * slot)},{_n(y_of(v))}"
                             for i, v in enumerate(ceiling_of))
            lower = " ".join(f"{_n(left + (i + 1) * slot)},{_n(y_of(v))}"
                             for i, v in reversed(list(enumerate(floor))))
            areas.append(f'<polygon class="tg-bar role-{role}" points="{_n(left)},{_n(bottom)} '
                          f'{upper} {lower}"><title>{escape_text(role)}: '
                          f"{escape_text(format_usd(by_role[role]))} in all</title></polygon>")
            floor = ceiling_of
        parts.insert(len(parts) - len(buckets), "".join(areas))
    parts.append(f'<polyline class="tg-line" points="{" ".join(line)}"/>')
    parts.append(f'<line class="tg-axis" x1="{_n(left)}" x2="{_n(width - right)}" '
                 f'y1="{_n(bottom)}" y2="{_n(bottom)}"/>')
    parts.extend(_increment_labels(biggest, centre, y_of, top=top, left=left,
                                   right=width - right))
    every = max(1, int(_nice_step(len(priced), 6)))
    for number in [1, *range(every, len(priced) + 1, every)]:
        x = left + ((number - 1) // per) * slot + slot / 2
        parts.append(f'<text class="tg-tick" x="{_n(x)}" y="{_n(bottom + 16)}" '
                     f'text-anchor="middle">{number:,}</text>')
    caption = ("Priced steps in time order" + (f", in bars of {per:,}" if per > 1 else "")
               + ". " + (f"{unpriced:,} step{'' if unpriced == 1 else 's'} without a price "
                         f"{'is' if unpriced == 1 else 'are'} not counted." if unpriced
                         else "Every step has a price."))
    parts.append(f'<text class="tg-muted" x="{_n(left)}" y="{_n(bottom + 38)}">'
                 f"{escape_text(caption)}</text>")
    if not priced:
        parts.append(f'<text class="tg-muted" x="{_n(left + 12)}" y="{_n(top + plot / 2)}">'
                     f"No step of this trace has a price.</text>")
    label = (f"Cost waterfall of trace {trace.id}: {format_usd(total)} over "
             f"{len(priced):,} priced steps, {format_usd(by_role['wasted'])} wasted; "
             f"{unpriced:,} unpriced")
    return _svg(_uid("waterfall", trace.id), "tg-waterfall", width, bottom + 50, label=label,
                body="".join(parts), data=f' data-total="{total}" '
                f'data-wasted="{by_role["wasted"]}" data-unpriced="{unpriced}"')


def _increment_labels(biggest: list[tuple[Step, str, Decimal]],
                      centre: Mapping[str, tuple[float, Decimal]], y_of: Callable[[Decimal], float],
                      *, top: float, left: float, right: float) -> list[str]:
    """Name and amount of the biggest increments in rows above the plot, a leader line
    down to each, a label moving to the next row rather than over its neighbour."""
    parts: list[str] = []
    taken: list[tuple[float, float, int]] = []
    for step, _, cost in sorted(biggest, key=lambda p: centre[p[0].id][0]):
        x, before = centre[step.id]
        text = f"{_fit(step.name or _words(step.kind.value), 150, 11)} {format_usd(cost)}"
        w = _text_width(text, 11) + 6
        x1 = min(max(x - w / 2, left), right - w)
        row = next((r for r in range(3) if all(x1 > e + 8 or x1 + w < s - 8
                                                for s, e, taken_row in taken if taken_row == r)), 2)
        taken.append((x1, x1 + w, row))
        y = top - 10 - (2 - row) * 16
        parts.append(f'<line class="tg-lead" x1="{_n(x)}" x2="{_n(x)}" y1="{_n(y + 3)}" '
                     f'y2="{_n(y_of(before + cost))}"/><text class="tg-tick" x="{_n(x1 + 3)}" '
                     f'y="{_n(y)}">{escape_text(text)}</text>')
    return parts


# --- the timeline ------------------------------------------------------------------------

def timeline_svg(trace: Trace, analysis: Mapping[str, Any], *, page: int = 0,
                 page_size: int = 400) -> str:
    """The steps of one trail page (collapsed as :func:`trail_svg` does) as bars from
    start to end on real time, coloured by role.

    Up to ``SMALL_PAGE`` steps each get a row, named; more share the trail's lanes,
    one row each.  Steps that hold others are cut at the last step of the page so
    that the root's hour does not squeeze the page's seconds.
    """
    layout = _layout(trace, analysis, collapse=True)
    nodes = layout.nodes
    pages, first, stop = _page_bounds(len(nodes), page, page_size)
    uid = _uid("timeline", trace.id, page, page_size)
    shown = [n for n in nodes[first:stop] if n.head.start_ns is not None]
    width, left, right = float(WIDTH), 210.0, 24.0
    label = f"Timeline of trace {trace.id}, page {page + 1} of {pages}: {len(shown):,} steps"
    if not shown or layout.t0 is None:
        return _svg(uid, "tg-timeline", width, 70, label=label,
                    body=f'<text x="{LEFT}" y="22" class="tg-title">Timeline</text>'
                         f'<text x="{LEFT}" y="48" class="tg-muted">No step of this page has a '
                         f"start time.</text>")
    t0 = layout.t0
    lo = min(n.head.start_ns or 0 for n in shown)
    hi = max(max(n.head.start_ns or 0, n.end_ns or 0) if n.head.kind not in GROUPING_KINDS
             else n.head.start_ns or 0 for n in shown)
    hi = max(hi, lo + 1_000_000)
    per_step = len(shown) <= SMALL_PAGE
    if per_step:
        rows = [[n] for n in shown]
        names = [("\u2003" * min(n.lane, 6)) + _node_label(n) for n in shown]
    else:
        lanes = sorted({n.lane for n in shown})
        rows = [[n for n in shown if n.lane == lane] for lane in lanes]
        names = [f"lane {lane + 1} \u00b7 {len(row):,} step{'' if len(row) == 1 else 's'}"
                 for lane, row in zip(lanes, rows)]
    row_h = 22.0 if per_step else 20.0
    about = (f"{_elapsed(lo - t0)} to {_elapsed(hi - t0)} after the trace started; one row per "
             + ("step" if per_step else "lane of the trail"))
    top = 70.0
    span = width - left - right
    scale = span / (hi - lo)
    parts = [f'<text x="{LEFT}" y="22" class="tg-title">Timeline \u00b7 page {page + 1} of '
             f"{pages}</text>",
             f'<text x="{LEFT}" y="42" class="tg-muted">{escape_text(about)}</text>']
    tick = _nice_step((hi - lo) / 1e9, 7) * 1e9
    value = math.ceil((lo - t0) / tick) * tick
    bottom = top + len(rows) * row_h
    while value + t0 <= hi:
        x = left + (value + t0 - lo) * scale
        parts.append(f'<line class="tg-grid" x1="{_n(x)}" x2="{_n(x)}" y1="{_n(top - 4)}" '
                     f'y2="{_n(bottom)}"/><text class="tg-tick" x="{_n(x)}" y="{_n(top - 8)}" '
                     f'text-anchor="middle">{escape_text(_elapsed(value))}</text>')
        value += tick
    for r, (row, name) in enumerate(zip(rows, names)):
        y = top + r * row_h
        parts.append(f'<text x="{LEFT}" y="{_n(y + row_h / 2 + 4)}" class="tg-muted">'
                     f"{escape_text(_fit(name, left - LEFT - 8))}</text>")
        for node in row:
            start = node.head.start_ns or lo
            end = min(node.end_ns or start, hi)
            x1 = left + (start - lo) * scale
            w = max((end - start) * scale, 2.0)
            classes = f"tg-bar role-{_token(node.role)}" + (
                f" reason-{_token(node.reason)}" if node.reason else "")
            tip = (f"{_node_label(node)} \u00b7 {node.role}"
                   + (f" ({_words(node.reason)})" if node.reason else "")
                   + f" \u00b7 {_usd(node.cost, node.unpriced)} \u00b7 {_elapsed(start - t0)}, "
                   f"took {_duration(node.head.duration_ns)}")
            parts.append(f'<a href="#step-{escape_text(quote(node.head.id, safe=""))}">'
                         f'<rect class="{classes}" x="{_n(x1)}" y="{_n(y + 4)}" width="{_n(w)}" '
                         f'height="{_n(row_h - 8)}" rx="2"><title>{escape_text(tip)}</title>'
                         f"</rect></a>")
    parts.append(f'<line class="tg-axis" x1="{_n(left)}" x2="{_n(left)}" y1="{_n(top - 4)}" '
                 f'y2="{_n(bottom)}"/>')
    x = left
    for role in ("essential", "wasted", "structural"):
        parts.append(f'<rect class="tg-swatch role-{role}" x="{_n(x)}" y="{_n(bottom + 12)}" '
                     f'width="12" height="12" rx="2" fill="{STRUCTURAL}"/><text '
                     f'x="{_n(x + 17)}" y="{_n(bottom + 22)}">{role}</text>')
        x += 110
    return _svg(uid, "tg-timeline", width, bottom + 36, label=label, body="".join(parts))

