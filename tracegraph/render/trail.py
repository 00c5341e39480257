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

The first is drawn here; the other two live in :mod:`.trail_time` and are
re-exported, and all three stand on :mod:`.trail_layout` (palette, layout, text).

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

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping
from urllib.parse import quote

import msgspec

from ..model import StepKind, Trace
from .charts import escape_text
from .formatting import format_count, format_usd
from .trail_layout import (BAND_GAP, BOX_H, BOX_W, COLUMNS, GAP, LANE_H, LEFT, MIN_RUN, PAD_TOP,
                           PITCH, REASON_COLOURS, RIBBON_H, RIBBON_LANE_H, TEXT_ON_BACKGROUND,
                           TICKS_H, WIDTH, Layout, Node, drawing_id, duration, elapsed, fit,
                           lay_out, node_label, page_bounds, px, svg_document, text_width, token,
                           usd, words)
from .trail_time import timeline_svg, waterfall_svg

__all__ = ["TrailView", "trail_svg", "waterfall_svg", "timeline_svg", "REASON_COLOURS",
           "TEXT_ON_BACKGROUND", "MIN_RUN"]


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
    layout = lay_out(trace, analysis, collapse=collapse)
    nodes = layout.nodes
    pages, first, stop = page_bounds(len(nodes), page, page_size)
    uid = drawing_id("trail", trace.id, page, page_size, collapse)
    shown = nodes[first:stop]
    groups = sum(1 for n in shown if len(n.steps) > 1)
    step_ids = tuple(s.id for n in shown for s in n.steps)
    header, header_h = _trail_header(trace, analysis, layout, pages, page, first, stop)
    legend, legend_h = _legend(layout, top=header_h)
    body, height = _bands(layout, first, stop, page_size, top=header_h + legend_h)
    label = (f"Decision trail of trace {trace.id}, page {page + 1} of {pages}: "
             f"{format_count(len(shown))} nodes standing for {format_count(len(step_ids))} of "
             f"{format_count(len(trace.steps))} steps")
    svg = svg_document(uid, "tg-trail", WIDTH, height, label=label, body=header + legend + body,
                       role="group")
    return TrailView(svg=svg, pages=pages, page=page, shown_steps=len(shown),
                     collapsed_groups=groups, total_steps=len(trace.steps), step_ids=step_ids)


def _trail_header(trace: Trace, analysis: Mapping[str, Any], layout: Layout, pages: int,
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
            f"{escape_text(fit(title, WIDTH - 60, 15, True))}</text>"
            f'<text x="{LEFT}" y="42" class="tg-muted">{escape_text(fit(about, WIDTH - 60))}</text>'
            f'<text x="{LEFT}" y="60" class="tg-muted">{escape_text(where)}</text>', 72.0)


def _legend(layout: Layout, *, top: float) -> tuple[str, float]:
    """Swatches for what the drawing uses, wasted reasons only where the trace has them."""
    reasons = sorted({n.reason for n in layout.nodes if n.role == "wasted" and n.reason})
    items: list[tuple[float, str, str]] = []  # width of swatch, swatch markup, label

    def box(classes: str, extra: str = "") -> str:
        return (f'<g class="{classes}">{extra}<rect class="tg-box" x="0" y="-10" width="26" '
                f'height="16" rx="4"/></g>')

    items.append((32, box("role-essential"), "essential: on the path to the outcome"))
    items.append((32, box("role-structural"), "structural"))
    for reason in reasons:
        text = f"wasted: {words(reason)}"
        w = text_width(text, 11, True) + 14
        items.append((w + 4, f'<g class="reason-{token(reason)}"><rect class="tg-pill" x="0" '
                             f'y="-10" width="{px(w)}" height="16" rx="8"/><text class="tg-pt" '
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
        w = swatch_w + (text_width(text, 12) + 8 if text else 0) + 16
        if x + w > WIDTH - LEFT:
            x, y = float(LEFT), y + 24
        parts.append(f'<g transform="translate({px(x)} {px(y)})">{swatch}'
                     + (f'<text x="{px(swatch_w)}" y="2">{escape_text(text)}</text>' if text else "")
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


def _bands(layout: Layout, first: int, stop: int, page_size: int, *,
           top: float) -> tuple[str, float]:
    """The page's nodes in bands of ``COLUMNS``, with ribbons, arrows and stubs."""
    nodes = layout.nodes
    if first == stop:
        return (f'<text x="{LEFT}" y="{px(top + 24)}" class="tg-muted">This trace has no '
                f'steps.</text>', top + 44)
    bands = [_Band(columns=range(c, min(c + COLUMNS, stop))) for c in range(first, stop, COLUMNS)]

    def band_of(index: int) -> int:
        return (index - first) // COLUMNS

    spanning = [n for n in nodes[:first] if n.end >= first] + [
        n for n in nodes[first:stop] if n.end > n.index]
    ribbons: list[list[tuple[Node, int]]] = [[] for _ in bands]  # (node, last column here)
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

    def box_y(node: Node) -> float:
        return bands[band_of(node.index)].lanes[node.lane] + PAD_TOP

    ribbon_y: dict[tuple[int, int], float] = {}  # (node, band) -> ribbon's top
    under: list[str] = []  # ticks, ribbons, nesting lines: drawn first
    t0 = layout.t0
    for b, band in enumerate(bands):
        if b:
            under.append(f'<line class="tg-band" x1="{LEFT}" x2="{WIDTH - LEFT}" '
                         f'y1="{px(band.y - BAND_GAP / 2)}" y2="{px(band.y - BAND_GAP / 2)}"/>')
        for index in band.columns:
            start = nodes[index].head.start_ns
            label = f"#{index + 1} " + elapsed(None if start is None or t0 is None else start - t0)
            under.append(f'<text class="tg-tick" x="{px(x_of(index) + 2)}" '
                         f'y="{px(band.y + 16)}">{escape_text(label)}</text>')
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
            classes = f"role-{token(node.role)}" + (
                f" reason-{token(node.reason)}" if node.reason else "")
            text = ""
            if not own:
                note = "" if node.index >= first else f" (from page {node.index // page_size + 1})"
                name = fit(f"\u21b3 {node_label(node)}{note}", x2 - x1 - 24)
                text = f'<text x="{px(x1 + 14)}" y="{px(y1 + 14)}">{escape_text(name)}</text>'

            under.append(f'<g class="{classes}"><rect class="tg-ribbon" x="{px(x1)}" '
                         f'y="{px(y1)}" width="{px(max(x2 - x1, 2))}" height="{px(h)}" '
                         f'rx="{px(h / 2)}"/>{text}</g>')
    for node in nodes[first:stop]:
        if node.parent is None:
            continue
        b = band_of(node.index)
        x, y_top = x_of(node.index) + 14, box_y(node)
        if (node.parent, b) in ribbon_y and nodes[node.parent].end >= node.index:
            under.append(f'<path class="tg-nest" d="M{px(x)} {px(ribbon_y[(node.parent, b)])}'
                         f'V{px(y_top)}"/>')
        elif first <= node.parent < stop and band_of(node.parent) == b:
            parent = nodes[node.parent]
            under.append(f'<path class="tg-nest" d="M{px(x_of(parent.index) + BOX_W / 2)} '
                         f'{px(box_y(parent) + BOX_H)}L{px(x)} {px(y_top)}"/>')
    flows, arcs, stubs = _arrows(layout, first, stop, page_size, x_of, box_y, band_of)
    boxes = [_box(node, x_of(node.index), box_y(node), layout) for node in nodes[first:stop]]
    body = "".join(under) + "".join(flows) + "".join(boxes) + "".join(arcs) + "".join(stubs)
    return body, y + 8


def _arrows(layout: Layout, first: int, stop: int, page_size: int,
            x_of: Callable[[int], float], box_y: Callable[[Node], float],
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
        name = node_label(nodes[index])
        return (f"{name if room is None else fit(name, room, 11)} ({nodes[index].head.id})"
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
            d = (f"M{px(sx)} {px(sy)}C{px(sx)} {px(sy + 16)} {px(ex)} {px(ey + 16)} "
                 f"{px(ex)} {px(ey + 2)}")
        elif y1 == y2 and consumer - provider > 1:  # same lane, boxes between: over them
            rise = min(6 + 4 * (consumer - provider), PAD_TOP - 2) / 0.75
            d = (f"M{px(x1 + BOX_W - 24)} {px(y1)}C{px(x1 + BOX_W - 24)} {px(y1 - rise)} "
                 f"{px(x2 + 24)} {px(y2 - rise)} {px(x2 + 24)} {px(y2 - 2)}")
        elif y1 == y2:  # next to each other
            d = f"M{px(x1 + BOX_W)} {px(y1 + BOX_H / 2)}H{px(x2 - 2)}"
        else:  # another lane: out of the bottom (top), into the top (bottom), so that
            # the curve passes no box of either lane
            down = y2 > y1
            sx, sy = x1 + BOX_W - 30, y1 + (BOX_H if down else 0)
            ex, ey = x2 + 40, y2 + (-2 if down else BOX_H + 2)
            bend = max(18.0, abs(ey - sy) / 2) * (1 if down else -1)
            d = (f"M{px(sx)} {px(sy)}C{px(sx)} {px(sy + bend)} {px(ex)} {px(ey - bend)} "
                 f"{px(ex)} {px(ey)}")
        flows.append(f'<path class="tg-flow{essential}" d="{d}"/>')
    for consumer, sources in incoming.items():
        x, y = x_of(consumer), box_y(nodes[consumer]) + 12
        text = "uses " + "; ".join(sources[:6]) + (f" and {len(sources) - 6} more"
                                                    if len(sources) > 6 else "")
        stubs.append(f'<path class="tg-flow" d="M{px(x - GAP + 4)} {px(y)}H{px(x - 2)}">'
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
                arcs.append(f'<path class="tg-{kind}" d="M{px(start)} {px(sy)}C{px(start)} '
                            f'{px(sy + bulge)} {px(end)} {px(ty + bulge)} {px(end)} {px(ty + 3)}"/>')
                continue
            verb = "retry of" if kind == "retry" else "replaces"
            text = f"{verb} {where(target)}"
            room = BOX_W + GAP - 16 - text_width(f"{verb}  ({nodes[target].head.id}), page 99", 11)
            shown = fit(f"{verb} {where(target, room)}", BOX_W + GAP - 16, 11)
            arcs.append(f'<path class="tg-{kind}" d="M{px(sx + 10)} {px(sy)}V{px(sy + 12)}'
                        f'H{px(sx + 1)}"/><text class="tg-stub" x="{px(sx + 14)}" '
                        f'y="{px(sy + 15)}">{escape_text(shown)}'
                        f"<title>{escape_text(text)}</title></text>")
    return flows, arcs, stubs


def _box(node: Node, x: float, y: float, layout: Layout) -> str:
    """One node: a link to the step, with its name, kind and what it cost or wasted."""
    step = node.head
    classes = ["tg-node", f"role-{token(node.role)}", f"kind-{token(step.kind.value)}"]
    if node.reason:
        classes.append(f"reason-{token(node.reason)}")
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
                 f"{escape_text(fit(node_label(node), inner, 12, True))}</text>")
    kind = words(step.kind.value)
    detail = step.model if step.kind == StepKind.LLM else (
        step.tool_name if step.tool_name and step.tool_name != step.name else None)
    if step.status.value == "error":
        kind = f"{kind} \u00b7 error"
    if step.kind == StepKind.OUTCOME:
        detail = step.outcome.value if step.outcome else None
    elif outcome:
        kind = f"{kind} (outcome)"
    money = usd(node.cost, node.unpriced)
    third: str | None = None
    if step.override is not None:
        detail = money
        third = step.override.actor + (f" \u00b7 {step.override.minutes} min"
                                       if step.override.minutes is not None else "")
    second = kind + (f" \u00b7 {detail}" if detail else "")
    parts.append(f'<text class="tg-l2" x="8" y="33">{escape_text(fit(second, inner))}</text>')
    if node.role == "wasted":
        badge = fit(f"{words(node.reason or 'wasted')} \u00b7 {money}", inner - 12, 11, True)
        w = text_width(badge, 11, True) + 12
        parts.append(f'<rect class="tg-pill" x="6" y="39" width="{px(w)}" height="15" rx="7.5"/>'
                     f'<text class="tg-pt" x="12" y="50.5">{escape_text(badge)}</text>')
    else:
        if third is None and (node.cost is None or node.cost != 0 or node.unpriced):
            third = money
        if third:
            parts.append(f'<text x="8" y="50">{escape_text(fit(third, inner))}</text>')
    if step.rules:
        more = f" +{len(step.rules) - 1}" if len(step.rules) > 1 else ""
        rule = fit((step.rules[0].split() or ["rule"])[0] + more, 70, 11, True)
        w = text_width(rule, 11, True) + 10
        parts.append(f'<g class="tg-rule"><rect x="{px(BOX_W - w - 6)}" y="-8" width="{px(w)}" '
                     f'height="15" rx="3"/><text x="{px(BOX_W - w - 1)}" y="3.5">'
                     f"{escape_text(rule)}</text></g>")
    tip = _tooltip(node, layout)
    aria = (f"{words(step.kind.value)} {node_label(node)}, {node.role}"
            + (f", {words(node.reason)}" if node.reason else "") + f", {money}")
    return (f'<a href="#step-{escape_text(quote(step.id, safe=""))}" class="{" ".join(classes)}" '
            f'transform="translate({px(x)} {px(y)})" aria-label="{escape_text(aria)}">'
            f"<title>{escape_text(tip)}</title>{''.join(parts)}</a>")


def _tooltip(node: Node, layout: Layout) -> str:
    """What a pointer over the node says: everything the box had to shorten."""
    step, t0 = node.head, layout.t0
    lines = [f"{words(step.kind.value)} \u00b7 {node_label(node)}",
             f"{node.role}" + (f" \u2014 {words(node.reason)}" if node.reason else "")
             + f" \u00b7 {usd(node.cost, node.unpriced if node.cost is not None else 0)}"]
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
            f"{node_label(layout.nodes[p])} ({layout.nodes[p].head.id})" for p in providers[:4])
            + (f" and {len(providers) - 4} more" if len(providers) > 4 else ""))
    if len(node.steps) > 1:
        ids = [s.id for s in node.steps]
        lines.append(f"{len(ids)} steps: " + ", ".join(ids[:4])
                     + (f", \u2026 {ids[-1]}" if len(ids) > 4 else ""))
    start = None if step.start_ns is None or t0 is None else step.start_ns - t0
    lines.append(f"started {elapsed(start)}, took {duration(step.duration_ns)}"
                 f" \u00b7 id {step.id}")
    return "\n".join(lines)
