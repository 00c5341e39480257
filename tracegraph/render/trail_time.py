"""The decision trail of one trace on its time axes: the cost waterfall and the timeline.

:func:`waterfall_svg` and :func:`timeline_svg` are re-exported by
:mod:`tracegraph.render.trail`, the public module, and are drawn with the
palette, layout and text helpers of :mod:`.trail_layout`.  They live apart
from the trail graph because they read the steps differently: the graph places
steps by the order they started in, these by money spent and by real time,
with their own scales and round ticks.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, Callable, Mapping
from urllib.parse import quote

from ..model import GROUPING_KINDS, Step, Trace, time_order
from .charts import escape_text
from .formatting import format_count, format_usd
from .trail_layout import (LEFT, STRUCTURAL, WIDTH, drawing_id, duration, elapsed, fit, lay_out,
                           node_label, page_bounds, px, svg_document, text_width, token, usd,
                           words)

__all__ = ["waterfall_svg", "timeline_svg", "SMALL_PAGE", "BARS"]

SMALL_PAGE = 60
"""Up to this many steps the timeline gives each step a row; more share lane rows."""
BARS = 200
"""Past this many priced steps the waterfall sums them into this many buckets."""


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
        parts.append(f'<rect class="tg-swatch role-{role}" x="{px(x)}" y="34" width="12" '
                     f'height="12" rx="2" fill="{STRUCTURAL}"/><text x="{px(x + 17)}" y="44">'
                     f"{escape_text(label)}</text>")
        x += text_width(label) + 40
    for tick in range(0, round(ceiling / step_usd) + 1):
        value = Decimal(repr(round(tick * step_usd, 12)))
        y = y_of(value)
        parts.append(f'<line class="tg-grid" x1="{px(left)}" x2="{px(width - right)}" '
                     f'y1="{px(y)}" y2="{px(y)}"/><text class="tg-tick" x="{px(left - 6)}" '
                     f'y="{px(y + 4)}" text-anchor="end">{escape_text(format_usd(value))}</text>')
    # the bars (or areas), and the cumulative line over them
    running = Decimal(0)
    line = [f"{px(left)},{px(bottom)}"]
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
        what = (f"{head.name or words(head.kind.value)} ({head.id}), {bucket[0][1]}"
                if len(bucket) == 1 else
                f"priced steps {index * per + 1:,}\u2013{index * per + len(bucket):,}")
        tip = escape_text(f"{what}: +{format_usd(running - before)}, "
                          f"{format_usd(running)} so far")
        if per == 1:
            role, cost = bucket[0][1], bucket[0][2]
            if cost > 0:
                y1, y2 = y_of(running), y_of(before)
                parts.append(f'<rect class="tg-bar role-{role}" x="{px(x + 1)}" y="{px(y1)}" '
                             f'width="{px(max(slot - 2, 1))}" height="{px(max(y2 - y1, 1))}">'
                             f"<title>{tip}</title></rect>")
        else:  # an invisible target per bucket, for its tooltip
            parts.append(f'<rect x="{px(x)}" y="{px(top)}" width="{px(slot)}" height="{px(plot)}" '
                         f'fill="transparent"><title>{tip}</title></rect>')
        line.append(f"{px(x)},{px(y_of(before))} {px(x)},{px(y_of(running))} "
                    f"{px(x + slot)},{px(y_of(running))}")
    if per > 1:
        areas = []
        floor = [Decimal(0)] * len(levels)
        for role in _ROLES:
            ceiling_of = [f + lv[role] for f, lv in zip(floor, levels)]
            upper = " ".join(f"{px(left + (i + 1) * slot)},{px(y_of(v))}"
                             for i, v in enumerate(ceiling_of))
            lower = " ".join(f"{px(left + (i + 1) * slot)},{px(y_of(v))}"
                             for i, v in reversed(list(enumerate(floor))))
            areas.append(f'<polygon class="tg-bar role-{role}" points="{px(left)},{px(bottom)} '
                          f'{upper} {lower}"><title>{escape_text(role)}: '
                          f"{escape_text(format_usd(by_role[role]))} in all</title></polygon>")
            floor = ceiling_of
        parts.insert(len(parts) - len(buckets), "".join(areas))
    parts.append(f'<polyline class="tg-line" points="{" ".join(line)}"/>')
    parts.append(f'<line class="tg-axis" x1="{px(left)}" x2="{px(width - right)}" '
                 f'y1="{px(bottom)}" y2="{px(bottom)}"/>')
    parts.extend(_increment_labels(biggest, centre, y_of, top=top, left=left,
                                   right=width - right))
    every = max(1, int(_nice_step(len(priced), 6)))
    for number in range(1, len(priced) + 1, every):  # evenly spaced from the first step
        x = left + ((number - 1) // per) * slot + slot / 2
        parts.append(f'<text class="tg-tick" x="{px(x)}" y="{px(bottom + 16)}" '
                     f'text-anchor="middle">{number:,}</text>')
    caption = ("Priced steps in time order" + (f", in bars of {per:,}" if per > 1 else "")
               + ". " + (f"{unpriced:,} step{'' if unpriced == 1 else 's'} without a price "
                         f"{'is' if unpriced == 1 else 'are'} not counted." if unpriced
                         else "Every step has a price."))
    parts.append(f'<text class="tg-muted" x="{px(left)}" y="{px(bottom + 38)}">'
                 f"{escape_text(caption)}</text>")
    if not priced:
        parts.append(f'<text class="tg-muted" x="{px(left + 12)}" y="{px(top + plot / 2)}">'
                     f"No step of this trace has a price.</text>")
    label = (f"Cost waterfall of trace {trace.id}: {format_usd(total)} over "
             f"{len(priced):,} priced steps, {format_usd(by_role['wasted'])} wasted; "
             f"{unpriced:,} unpriced")
    return svg_document(drawing_id("waterfall", trace.id), "tg-waterfall", width, bottom + 50,
                        label=label, body="".join(parts), data=f' data-total="{total}" '
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
        text = f"{fit(step.name or words(step.kind.value), 150, 11)} {format_usd(cost)}"
        w = text_width(text, 11) + 6
        x1 = min(max(x - w / 2, left), right - w)
        row = next((r for r in range(3) if all(x1 > e + 8 or x1 + w < s - 8
                                                for s, e, taken_row in taken if taken_row == r)), 2)
        taken.append((x1, x1 + w, row))
        y = top - 10 - (2 - row) * 16
        parts.append(f'<line class="tg-lead" x1="{px(x)}" x2="{px(x)}" y1="{px(y + 3)}" '
                     f'y2="{px(y_of(before + cost))}"/><text class="tg-tick" x="{px(x1 + 3)}" '
                     f'y="{px(y)}">{escape_text(text)}</text>')
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
    layout = lay_out(trace, analysis, collapse=True)
    nodes = layout.nodes
    pages, first, stop = page_bounds(len(nodes), page, page_size)
    uid = drawing_id("timeline", trace.id, page, page_size)
    shown = [n for n in nodes[first:stop] if n.head.start_ns is not None]
    width, left, right = float(WIDTH), 210.0, 24.0
    label = f"Timeline of trace {trace.id}, page {page + 1} of {pages}: {len(shown):,} steps"
    if not shown or layout.t0 is None:
        return svg_document(uid, "tg-timeline", width, 70, label=label,
                            body=f'<text x="{LEFT}" y="22" class="tg-title">Timeline</text>'
                                 f'<text x="{LEFT}" y="48" class="tg-muted">No step of this page '
                                 f"has a start time.</text>")
    t0 = layout.t0
    lo = min(n.head.start_ns or 0 for n in shown)
    hi = max(max(n.head.start_ns or 0, n.end_ns or 0) if n.head.kind not in GROUPING_KINDS
             else n.head.start_ns or 0 for n in shown)
    hi = max(hi, lo + 1_000_000)
    per_step = len(shown) <= SMALL_PAGE
    if per_step:
        rows = [[n] for n in shown]
        names = [("\u2003" * min(n.lane, 6)) + node_label(n) for n in shown]
    else:
        lanes = sorted({n.lane for n in shown})
        rows = [[n for n in shown if n.lane == lane] for lane in lanes]
        names = [f"lane {lane + 1} \u00b7 {len(row):,} step{'' if len(row) == 1 else 's'}"
                 for lane, row in zip(lanes, rows)]
    row_h = 22.0 if per_step else 20.0
    about = (f"{elapsed(lo - t0)} to {elapsed(hi - t0)} after the trace started; one row per "
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
        parts.append(f'<line class="tg-grid" x1="{px(x)}" x2="{px(x)}" y1="{px(top - 4)}" '
                     f'y2="{px(bottom)}"/><text class="tg-tick" x="{px(x)}" y="{px(top - 8)}" '
                     f'text-anchor="middle">{escape_text(elapsed(value))}</text>')
        value += tick
    for r, (row, name) in enumerate(zip(rows, names)):
        y = top + r * row_h
        parts.append(f'<text x="{LEFT}" y="{px(y + row_h / 2 + 4)}" class="tg-muted">'
                     f"{escape_text(fit(name, left - LEFT - 8))}</text>")
        for node in row:
            start = node.head.start_ns or lo
            end = min(node.end_ns or start, hi)
            x1 = left + (start - lo) * scale
            w = max((end - start) * scale, 2.0)
            classes = f"tg-bar role-{token(node.role)}" + (
                f" reason-{token(node.reason)}" if node.reason else "")
            tip = (f"{node_label(node)} \u00b7 {node.role}"
                   + (f" ({words(node.reason)})" if node.reason else "")
                   + f" \u00b7 {usd(node.cost, node.unpriced)} \u00b7 {elapsed(start - t0)}, "
                   f"took {duration(node.head.duration_ns)}")
            parts.append(f'<a href="#step-{escape_text(quote(node.head.id, safe=""))}">'
                         f'<rect class="{classes}" x="{px(x1)}" y="{px(y + 4)}" width="{px(w)}" '
                         f'height="{px(row_h - 8)}" rx="2"><title>{escape_text(tip)}</title>'
                         f"</rect></a>")
    parts.append(f'<line class="tg-axis" x1="{px(left)}" x2="{px(left)}" y1="{px(top - 4)}" '
                 f'y2="{px(bottom)}"/>')
    x = left
    for role in ("essential", "wasted", "structural"):
        parts.append(f'<rect class="tg-swatch role-{role}" x="{px(x)}" y="{px(bottom + 12)}" '
                     f'width="12" height="12" rx="2" fill="{STRUCTURAL}"/><text '
                     f'x="{px(x + 17)}" y="{px(bottom + 22)}">{role}</text>')
        x += 110
    return svg_document(uid, "tg-timeline", width, bottom + 36, label=label, body="".join(parts),
                        role="group")
