"""The ground the decision trail's drawings stand on: palette, geometry, layout and text.

:mod:`.trail` draws the trail graph and :mod:`.trail_time` the cost waterfall and
the timeline; both need the same things, kept here so that neither imports the
other:

* the palette (:data:`REASON_COLOURS`, :data:`TEXT_ON_BACKGROUND`) and the
  drawing's scoped stylesheet and arrow markers, put around every drawing by
  :func:`svg_document`;
* the geometry of the trail (columns, boxes, lanes, bands);
* the layout (:func:`lay_out`): steps in time order as :class:`Node` boxes, runs
  of similar siblings collapsed, each in its lane, with the arrows between them;
  and the paging of the nodes (:func:`page_bounds`);
* measuring and shortening text, and the formatting of coordinates, times,
  dollars and labels that every drawing uses.

Nothing here draws a whole drawing.  The names are the package's own: the public
API is :mod:`tracegraph.render.trail`.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable, Mapping

from ..model import GROUPING_KINDS, Step, StepKind, Trace, time_order
from .charts import FONT, escape_text
from .formatting import format_usd

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


# --- layout -------------------------------------------------------------------------------

@dataclass(eq=False, slots=True)
class Node:
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
class Layout:
    nodes: list[Node]
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


def lay_out(trace: Trace, analysis: Mapping[str, Any], *, collapse: bool) -> Layout:
    """Nodes in time order with their lanes and span ends, and the arrows between them."""
    marks: dict[str, Mapping[str, Any]] = {m["id"]: m for m in analysis.get("steps", ())}
    outcome_step = analysis.get("outcome_step")
    ordered = time_order(trace.steps)
    known = {s.id for s in ordered}
    parent_of = {s.id: s.parent_id if s.parent_id in known and s.parent_id != s.id else None
                 for s in ordered}
    runs = _collapsed_runs(ordered, parent_of, marks, outcome_step) if collapse else {}
    nodes: list[Node] = []
    node_of: dict[str, int] = {}
    for step in ordered:
        if step.id in node_of:
            continue
        members = runs.get(step.id, [step])
        mark = marks.get(step.id, {})
        costs = [marks.get(m.id, {}).get("cost_usd") for m in members]
        priced = [Decimal(c) for c in costs if c is not None]
        index = len(nodes)
        nodes.append(Node(index=index, steps=members, role=str(mark.get("role") or "unmarked"),
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
    return Layout(nodes=nodes, flows=flows, inputs=inputs, retries=retries, overrides=overrides,
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


def page_bounds(count: int, page: int, page_size: int) -> tuple[int, int, int]:
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


def text_width(text: str, size: float = 12, bold: bool = False) -> float:
    """Width of ``text`` as DejaVu Sans draws it, one of the widest fonts ``system-ui``
    falls back to, so a label sized here also fits a narrower font."""
    units = sum(_EM.get(ch, .72 if ch.isupper() else .64) for ch in text)
    return units * size * (1.1 if bold else 1.0)


def fit(text: str, width: float, size: float = 12, bold: bool = False) -> str:
    """``text`` shortened with an ellipsis to fit ``width``; the whole text stays in the tooltip."""
    if text_width(text, size, bold) <= width:
        return text
    while text and text_width(text + "\u2026", size, bold) > width:
        text = text[:-1]
    return text.rstrip() + "\u2026"


def px(value: float) -> str:
    """A coordinate with at most one decimal, so the markup stays short."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def words(value: str) -> str:
    return value.replace("_", " ")


def token(value: str) -> str:
    """A CSS class token from a kind or reason (which come from data)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", value)


def elapsed(ns: int | float | None) -> str:
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


def duration(ns: int | None) -> str:
    return "unknown" if ns is None else elapsed(ns)[1:]


def usd(cost: Decimal | None, unpriced: int = 0) -> str:
    if cost is None:
        return "unpriced"
    return format_usd(cost) + (f" + {unpriced} unpriced" if unpriced else "")


def drawing_id(*parts: object) -> str:
    """A short id, the same for the same drawing, that keeps marker ids and the scoped
    style of two drawings on one page apart."""
    digest = hashlib.blake2s("\x1f".join(map(str, parts)).encode(), digest_size=4).hexdigest()
    return f"tg{digest}"


def node_label(node: Node) -> str:
    step = node.head
    name = step.name or step.tool_name or step.model or words(step.kind.value)
    return f"\u00d7{len(node.steps)} {name}" if len(node.steps) > 1 else name


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


def svg_document(uid: str, kind: str, width: float, height: float, *, label: str, body: str,
                 data: str = "", role: str = "img") -> str:
    """A drawing's ``<svg>``: ``role="img"`` for a picture, ``"group"`` for one whose
    boxes are links (an image may not hold interactive controls)."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="tg {kind} {uid}" role="{role}" '
            f'viewBox="0 0 {px(width)} {px(height)}" width="100%" '
            f'preserveAspectRatio="xMinYMin meet" style="max-width:{px(width)}px;height:auto" '
            f'aria-label="{escape_text(label)}"{data}><title>{escape_text(label)}</title>'
            f"{_style(uid)}{_markers(uid)}{body}</svg>")
