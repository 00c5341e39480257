"""The decision trail drawings: trail, cost waterfall and timeline, on real analyses.

Every fixture is imported into a real SQLite store and analysed as the server
does; the long trace is an agent looping over tool calls with retries, built
here (:func:`agent_loop_trace`, also used by ``benchmarks/trail_render.py``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import unquote

import msgspec
import pytest

from tracegraph.config import Config, load_config
from tracegraph.model import DocumentRef, Override, Status, Step, StepKind, Trace
from tracegraph.render.formatting import format_usd
from tracegraph.render.trail import (TEXT_ON_BACKGROUND, TrailView, timeline_svg, trail_svg,
                                     waterfall_svg)
from tracegraph.services.analysis import analyze_trace
from tracegraph.services.importing import import_paths
from tracegraph.store import SQLiteStore

from .browser import visit
from .conftest import FIXTURES

SVG = "{http://www.w3.org/2000/svg}"
MS = 1_000_000
T0 = 1_780_000_000_000_000_000


def agent_loop_trace(steps: int, *, trace_id: str | None = None) -> Trace:
    """A support agent of exactly ``steps`` steps, looping turn after turn.

    Each turn plans (every fourth after a knowledge-base search), polls a status
    tool four to six times with the same arguments (runs the analyzer calls a
    loop), looks an order up (every third turn it times out and is retried,
    every ninth twice), every seventh fetches two things in parallel and every
    tenth hands research to a sub-agent, then decides.  A supervisor overrides
    the last decision; the outcome follows.  Tools carry their price; model
    calls are priced from their tokens; the supervisor has no hourly rate, so
    one step is unpriced.
    """
    out: list[Step] = [Step(id="root", kind=StepKind.AGENT, name="support-session", start_ns=T0)]
    t = T0 + 5 * MS
    tool_cost = Decimal("0.0004")

    def add(kind: StepKind, name: str, dur_ms: int, *, parent: str = "root",
            gap_ms: int = 7, **fields: Any) -> Step:
        nonlocal t
        step = Step(id=f"s{len(out)}", kind=kind, name=name, parent_id=parent, start_ns=t,
                    end_ns=t + dur_ms * MS, **fields)
        t += (dur_ms + gap_ms) * MS
        out.append(step)
        return step

    def model_call(name: str, dur_ms: int, tokens: int, **fields: Any) -> Step:
        return add(StepKind.LLM, name, dur_ms, model="gpt-4o-mini", provider="openai",
                   input_tokens=tokens, output_tokens=80, **fields)

    context = add(StepKind.CONTEXT, "ticket", 1, output="ticket T-1: refund for order A-1")
    last = context
    turn = 0
    while len(out) < steps - 2:
        turn += 1
        inputs = [last.id]
        cite = ""
        if turn % 4 == 1:
            docs = tuple(DocumentRef(id=f"KB-{turn}-{k}", tokens=300) for k in range(3))
            inputs.append(add(StepKind.RETRIEVAL, "kb_search", 120, documents=docs,
                              inputs=(context.id,)).id)
            cite = f"cite KB-{turn}-0; "
        plan = model_call("plan", 900 + turn % 7 * 100, 2000 + turn * 3, inputs=tuple(inputs),
                          output=f"{cite}call call_{turn}")
        for _ in range(4 + turn % 3):
            add(StepKind.TOOL_CALL, "check_status", 40, tool_name="check_status",
                arguments={"ticket": "T-1"}, result={"state": "open"}, cost=tool_cost,
                inputs=(plan.id,))
        failures = 2 if turn % 9 == 0 else 1 if turn % 3 == 0 else 0
        attempt: Step | None = None
        for number in range(failures + 1):
            failed = number < failures
            fields: dict[str, Any] = {
                "tool_name": "lookup_order", "tool_call_id": f"call_{turn}",
                "arguments": {"order": f"A-{turn}"}, "cost": tool_cost, "inputs": (plan.id,),
                "status": Status.ERROR if failed else Status.OK}
            if failed:
                fields.update(error_type="TimeoutError", error="lookup_order timed out after 30s")
            else:
                fields["result"] = {"order": f"A-{turn}", "total": 100 + turn}
            if attempt is not None:
                fields["retry_of"] = attempt.id
            attempt = add(StepKind.RETRY if attempt else StepKind.TOOL_CALL, "lookup_order",
                          3000 if failed else 300, **fields)
        assert attempt is not None
        used = [attempt.id]
        if turn % 7 == 0:  # two fetches at once: a second lane
            for tool, gap in (("fetch_invoice", -550), ("fetch_shipment", 600)):
                used.append(add(StepKind.TOOL_CALL, tool, 600, gap_ms=gap, tool_name=tool,
                                arguments={"order": f"A-{turn}"}, result={"ref": f"{tool}-{turn}"},
                                cost=tool_cost, inputs=(plan.id,)).id)
        if turn % 10 == 0:  # a research sub-agent, nested one level deeper
            sub = add(StepKind.AGENT, "researcher", 4000, gap_ms=-3990)
            found = add(StepKind.RETRIEVAL, "kb_search", 200, parent=sub.id, inputs=(plan.id,),
                        documents=(DocumentRef(id=f"POL-{turn}", tokens=500),))
            used.append(model_call("summarize", 2500, 1500, parent=sub.id, inputs=(found.id,),
                                   output=f"POL-{turn} allows refunds").id)
            t = (sub.end_ns or t) + 10 * MS
        last = model_call("decide", 700, 2500 + turn * 3, inputs=tuple(used),
                          output=f"order A-{turn} totals {100 + turn}")
    del out[steps - 2:]
    decision = next(s for s in reversed(out) if s.kind == StepKind.LLM)
    override = add(StepKind.HUMAN_OVERRIDE, "supervisor review", 240_000, inputs=(decision.id,),
                   override=Override(actor="m.rossi", actor_role="support lead",
                                     minutes=Decimal(4), reason="refund above policy limit",
                                     replaces=decision.id),
                   rules=("REF-2 refunds over $100 need approval",))
    add(StepKind.OUTCOME, "ticket resolved", 1, inputs=(override.id,), status=Status.OK)
    out[0] = msgspec.structs.replace(out[0], end_ns=t)
    return Trace(id=trace_id or f"loop-{steps}", source_format="native",
                 workflow="support-tickets", steps=tuple(out))


# --- fixtures -----------------------------------------------------------------------------

Analysed = dict[str, tuple[Trace, dict[str, Any]]]


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Analysed]:
    """Every fixture trace, imported and analysed under the fixtures' configuration."""
    store = SQLiteStore(tmp_path_factory.mktemp("trail") / "fixtures.db")
    import_paths(store, [FIXTURES])
    config = load_config(FIXTURES / "tracegraph.toml")
    found: Analysed = {}
    for row in store.list_traces():
        trace = store.get_trace(row.trace_id)
        found[trace.id] = (trace, analyze_trace(store, trace.id, config=config, trace=trace))
    yield found
    store.close()


@pytest.fixture(scope="module")
def long_trace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Trace, dict[str, Any]]]:
    store = SQLiteStore(tmp_path_factory.mktemp("trail") / "long.db")
    trace = agent_loop_trace(5000)
    store.write_traces([trace])
    yield trace, analyze_trace(store, trace.id, config=Config())
    store.close()


def nodes(svg: str) -> dict[str, ET.Element]:
    """The trail's step links by step id (each id must appear once)."""
    found: dict[str, ET.Element] = {}
    for link in ET.fromstring(svg).iter(f"{SVG}a"):
        if "tg-node" in link.get("class", "").split():
            step_id = unquote(link.get("href", "").removeprefix("#step-"))
            assert step_id not in found, f"step {step_id} drawn twice"
            found[step_id] = link
    return found


def texts(element: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in element.iter(f"{SVG}text")]


def translate(element: ET.Element) -> tuple[float, float]:
    match = re.fullmatch(r"translate\(([-\d.]+) ([-\d.]+)\)", element.get("transform", ""))
    assert match, element.get("transform")
    return float(match[1]), float(match[2])


def arrows(svg: str, kind: str) -> list[str]:
    """The ``d`` of every drawn arrow of ``kind`` (the legend's samples left out)."""
    return [p.get("d", "") for child in ET.fromstring(svg) if child.get("class") != "tg-legend"
            for p in child.iter(f"{SVG}path") if p.get("class") == kind]


def path_ends(d: str) -> tuple[tuple[float, float], tuple[float, float]]:
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", d)]
    return (numbers[0], numbers[1]), (numbers[-2], numbers[-1])


# --- the trail of small traces -------------------------------------------------------------

def test_every_step_of_a_small_trace_appears_once_with_its_link_and_title(
        fixtures: Analysed) -> None:
    for trace, analysis in fixtures.values():
        view = trail_svg(trace, analysis, collapse=False)
        drawn = nodes(view.svg)
        assert set(drawn) == {s.id for s in trace.steps}, trace.id
        assert (view.pages, view.page, view.shown_steps, view.total_steps) == (
            1, 0, len(trace.steps), len(trace.steps))
        for step in trace.steps:
            link = drawn[step.id]
            title = link.find(f"{SVG}title")
            assert title is not None and step.kind.value.replace("_", " ") in (title.text or "")
            assert step.id in (title.text or "")
            assert link.get("aria-label")


def test_step_ids_are_url_encoded_and_hostile_names_escaped(store: SQLiteStore) -> None:
    hostile = "<script>alert(1)</script>"
    trace = Trace(id="t&1", source_format="native", workflow=hostile, steps=(
        Step(id="a b/#1", kind=StepKind.LLM, name=hostile, model="gpt-4o-mini",
             provider="openai", input_tokens=10, output_tokens=5, start_ns=T0, end_ns=T0 + 5),
        Step(id="out\"'", kind=StepKind.OUTCOME, name="done & dusted", start_ns=T0 + 10,
             inputs=("a b/#1",), rules=(hostile,))))
    store.write_traces([trace])
    analysis = analyze_trace(store, trace.id, config=Config(), trace=trace)
    for svg in (trail_svg(trace, analysis).svg, timeline_svg(trace, analysis),
                waterfall_svg(trace, analysis)):
        ET.fromstring(svg)
        assert "<script" not in svg
    svg = trail_svg(trace, analysis).svg
    assert 'href="#step-a%20b%2F%231"' in svg
    assert set(nodes(svg)) == {"a b/#1", "out\"'"}


def test_an_empty_an_untimed_and_a_cyclic_trace_still_draw(store: SQLiteStore) -> None:
    """Sources send odd traces: no steps, no times at all, a parent cycle (a in b in a)."""
    polls = tuple(Step(id=f"u{i}", kind=StepKind.TOOL_CALL, name="poll", tool_name="poll")
                  for i in range(5))
    traces = [
        Trace(id="empty", source_format="native"),
        Trace(id="untimed", source_format="native", steps=(*polls, Step(
            id="o", kind=StepKind.OUTCOME, inputs=("u4",), rules=("  ",)))),
        Trace(id="cycle", source_format="native", steps=(
            Step(id="a", kind=StepKind.CHAIN, parent_id="b", start_ns=1, end_ns=9),
            Step(id="b", kind=StepKind.CHAIN, parent_id="a", start_ns=2, end_ns=8),
            Step(id="c", kind=StepKind.LLM, parent_id="a", start_ns=3, end_ns=4,
                 inputs=("b",))))]
    store.write_traces(traces)
    for trace in traces:
        analysis = analyze_trace(store, trace.id, config=Config(), trace=trace)
        view = trail_svg(trace, analysis)
        assert set(view.step_ids) == {s.id for s in trace.steps}
        for svg in (view.svg, waterfall_svg(trace, analysis), timeline_svg(trace, analysis)):
            ET.fromstring(svg)
    assert "This trace has no steps." in trail_svg(traces[0], {}).svg


def test_wasted_steps_carry_their_reason_class_and_a_dollar_badge(fixtures: Analysed) -> None:
    checked = 0
    for trace, analysis in fixtures.values():
        drawn = nodes(trail_svg(trace, analysis, collapse=False).svg)
        for mark in analysis["steps"]:
            classes = drawn[mark["id"]].get("class", "").split()
            assert f"role-{mark['role']}" in classes
            if mark["role"] != "wasted":
                assert not any(c.startswith("reason-") for c in classes)
                continue
            assert f"reason-{mark['reason']}" in classes
            badge = [t for t in drawn[mark["id"]].iter(f"{SVG}text") if t.get("class") == "tg-pt"]
            assert len(badge) == 1
            dollars = "unpriced" if mark["cost_usd"] is None else format_usd(mark["cost_usd"])
            assert badge[0].text == f"{mark['reason'].replace('_', ' ')} \u00b7 {dollars}"
            checked += 1
    assert checked >= 10


def test_the_outcome_step_is_marked_and_on_the_essential_path(fixtures: Analysed) -> None:
    trace, analysis = fixtures["claim-2026-0002"]
    outcome = nodes(trail_svg(trace, analysis).svg)[analysis["outcome_step"]]
    assert {"role-essential", "tg-outcome", "kind-outcome"} <= set(outcome.get("class", "").split())
    assert "outcome \u00b7 success" in texts(outcome)


def test_a_retry_is_a_dashed_arrow_from_the_retry_to_what_it_retried(fixtures: Analysed) -> None:
    trace, analysis = fixtures["claim-2026-0002"]  # s6 retries s5, s7 retries s6
    svg = trail_svg(trace, analysis).svg
    drawn = nodes(svg)
    retry_x, _ = translate(drawn["s6"])
    retried_x, _ = translate(drawn["s5"])
    ends = [path_ends(d) for d in arrows(svg, "tg-retry")]
    assert any(retry_x <= start[0] <= retry_x + 200 and retried_x <= end[0] <= retried_x + 200
               for start, end in ends), ends
    # s7 starts the next band: its arrow is a stub that names the step it retried
    stubs = [t for t in ET.fromstring(svg).iter(f"{SVG}text") if t.get("class") == "tg-stub"]
    assert [t.findtext(f"{SVG}title") for t in stubs] == [
        "retry of request_exception_document (s6)"]


def test_a_human_override_names_its_actor_and_points_at_the_replaced_step(
        fixtures: Analysed) -> None:
    trace, analysis = fixtures["claim-2026-0002"]  # s11 (j.okafor, 12 min) replaces s10
    svg = trail_svg(trace, analysis).svg
    drawn = nodes(svg)
    assert "j.okafor \u00b7 12 min" in texts(drawn["s11"])
    assert "tg-human" in drawn["s11"].get("class", "").split()
    arcs = arrows(svg, "tg-override")
    assert len(arcs) == 1
    (sx, _), (ex, _) = path_ends(arcs[0])
    assert translate(drawn["s11"])[0] <= sx <= translate(drawn["s11"])[0] + 200
    assert translate(drawn["s10"])[0] <= ex <= translate(drawn["s10"])[0] + 200
    assert "EXC-12" in texts(drawn["s11"])  # the rule applied


def test_every_drawing_of_every_fixture_parses_as_xml(fixtures: Analysed) -> None:
    for trace, analysis in fixtures.values():
        for svg in (trail_svg(trace, analysis).svg, waterfall_svg(trace, analysis),
                    timeline_svg(trace, analysis)):
            root = ET.fromstring(svg)
            assert root.tag == f"{SVG}svg" and root.get("width") == "100%"
            assert re.fullmatch(r"0 0 [\d.]+ [\d.]+", root.get("viewBox", ""))
            assert root.get("aria-label")


def test_the_waterfall_total_is_exactly_the_analysed_cost(fixtures: Analysed,
                                                          long_trace: tuple[Trace, Any]) -> None:
    for trace, analysis in [*fixtures.values(), long_trace]:
        root = ET.fromstring(waterfall_svg(trace, analysis))
        assert Decimal(root.get("data-total", "")) == Decimal(analysis["cost_usd"]), trace.id
        assert Decimal(root.get("data-wasted", "")) == Decimal(analysis["wasted_usd"]), trace.id
        assert int(root.get("data-unpriced", "")) == len(analysis["unpriced_steps"])
        if analysis["unpriced_steps"]:
            n = len(analysis["unpriced_steps"])
            assert f"{n} step{'' if n == 1 else 's'} without a price" in "".join(root.itertext())


def test_small_timelines_give_each_step_a_row(fixtures: Analysed) -> None:
    trace, analysis = fixtures["claim-2026-0002"]
    root = ET.fromstring(timeline_svg(trace, analysis))
    bars = [r for r in root.iter(f"{SVG}rect") if "tg-bar" in r.get("class", "")]
    assert len(bars) == len(trace.steps)
    wasted = {m["id"] for m in analysis["steps"] if m["role"] == "wasted"}
    assert sum("role-wasted" in b.get("class", "") for b in bars) == len(wasted)


def test_text_colours_meet_wcag_aa() -> None:
    def luminance(colour: str) -> float:
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    for what, text, background in TEXT_ON_BACKGROUND:
        light, dark = sorted((luminance(text), luminance(background)), reverse=True)
        assert (light + 0.05) / (dark + 0.05) >= 4.5, what


# --- a long trace -------------------------------------------------------------------------

def test_a_5000_step_trace_is_collapsed_and_paged(long_trace: tuple[Trace, Any]) -> None:
    trace, analysis = long_trace
    first = trail_svg(trace, analysis)
    assert first.pages > 1 and first.collapsed_groups > 0 and first.shown_steps == 400
    assert re.search(r">\u00d7[4-6] check_status<", first.svg)
    views: list[TrailView] = [first] + [trail_svg(trace, analysis, page=p)
                                        for p in range(1, first.pages)]
    seen: list[str] = []
    for page, view in enumerate(views):
        ET.fromstring(view.svg)
        assert view.page == page and view.pages == first.pages
        assert view.total_steps == 5000
        assert 0 < view.shown_steps <= 400
        assert len(view.svg.encode()) < 600_000, f"page {page}: {len(view.svg.encode()):,} bytes"
        assert set(nodes(view.svg)) <= set(view.step_ids)
        seen.extend(view.step_ids)
    assert sorted(seen) == sorted(s.id for s in trace.steps)  # every step on one page
    assert len(arrows(views[-1].svg, "tg-override")) == 1  # the supervisor, last page
    uncollapsed = trail_svg(trace, analysis, collapse=False)
    assert (uncollapsed.pages, uncollapsed.collapsed_groups) == (13, 0)


def test_a_collapsed_run_sums_its_costs_and_links_to_its_first_step(
        long_trace: tuple[Trace, Any]) -> None:
    trace, analysis = long_trace
    view = trail_svg(trace, analysis)
    costs = {m["id"]: m["cost_usd"] for m in analysis["steps"]}
    runs = [link for link in nodes(view.svg).values()
            if "tg-collapsed" in link.get("class", "").split()]
    assert len(runs) == view.collapsed_groups
    for link in runs[:5]:
        head = unquote(link.get("href", "").removeprefix("#step-"))
        count = int(re.search(r"\u00d7(\d+)", texts(link)[0])[1])  # type: ignore[index]
        members = [s.id for s in trace.steps][[s.id for s in trace.steps].index(head):][:count]
        total = sum(Decimal(costs[m]) for m in members)
        assert f"loop \u00b7 {format_usd(total)}" in texts(link)


def test_a_page_out_of_range_is_refused(long_trace: tuple[Trace, Any]) -> None:
    trace, analysis = long_trace
    pages = trail_svg(trace, analysis).pages
    for page in (-1, pages):
        with pytest.raises(ValueError, match="out of range"):
            trail_svg(trace, analysis, page=page)
        with pytest.raises(ValueError, match="out of range"):
            timeline_svg(trace, analysis, page=page)
    with pytest.raises(ValueError, match="page_size"):
        trail_svg(trace, analysis, page_size=0)
    ET.fromstring(timeline_svg(trace, analysis, page=pages - 1))


def test_a_long_page_of_the_timeline_shares_lane_rows(long_trace: tuple[Trace, Any]) -> None:
    trace, analysis = long_trace
    root = ET.fromstring(timeline_svg(trace, analysis, page=1))
    labels = [t for t in root.itertext() if t.startswith("lane ")]
    assert 1 < len(labels) < 10
    bars = [r for r in root.iter(f"{SVG}rect") if "tg-bar" in r.get("class", "")]
    assert len(bars) == trail_svg(trace, analysis, page=1).shown_steps


# --- in a browser ---------------------------------------------------------------------------

def test_box_text_fits_its_box_in_a_browser(fixtures: Analysed, tmp_path: Path) -> None:
    """Labels are sized on the server; the browser's own measure must agree that
    every line stays inside its box."""
    trace, analysis = fixtures["claim-2026-0002"]
    page = tmp_path / "trail.html"
    page.write_text(f"<!doctype html><meta charset=utf-8><title>trail</title><body>"
                    f"{trail_svg(trace, analysis).svg}{waterfall_svg(trace, analysis)}"
                    f"{timeline_svg(trace, analysis)}</body>", encoding="utf-8")
    with visit(page.as_uri()) as seen:
        overflow = seen.tab.evaluate("""() => [...document.querySelectorAll('a.tg-node')]
            .flatMap(a => { const box = a.querySelector('.tg-box').getBBox();
              return [...a.querySelectorAll('text')].filter(t => {
                const b = t.getBBox(); return b.x < -1 || b.x + b.width > box.width + 1; })
              .map(t => t.textContent); })""")
        assert overflow == []
        assert seen.errors == [] and seen.dialogs == []
        assert all(r.startswith("file:") for r in seen.requests)
