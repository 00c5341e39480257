"""How often the path analyzer's wasted marks agree with a careful human auditor.

Imports a hand-labelled evaluation set (native, OTLP, Langfuse and LangSmith
traces) into a temporary SQLite store with the project's own import service,
analyzes every trace with ``analyze_trace``, and compares each step's mark with
its label in the set's ``labels.json``.  There are two sets:

* ``dev`` (``evaluation/``): the set the analyzer's rules were revised on, so its
  figures flatter them;
* ``holdout`` (``evaluation/holdout/``): traces the rules were not shaped on, labelled
  before the analyzer was run on them.  Its figures are reported, never tuned to.

Each set is imported from its own four format folders only, into its own store, and
priced with its own ``tracegraph.toml``: the dev run never sees a held-out trace.
It prints:

* precision and recall of the *wasted* marks (a step counts as wasted whatever
  its reason), and the dollars each side calls wasted;
* precision and recall per reason (the reason must match);
* the same overall figures per source format (and per set, with ``--set all``);
* a confusion matrix (label by row, analyzer's mark by column);
* per document: precision and recall of "retrieved but never used";
* every disagreement, with the analyzer's evidence and the labeller's note.

The labels were written by reading the traces, not by running the analyzer, so
a disagreement is a finding to read, not a label to change.  An imported step
without a label, or a label for a step that was not imported, stops the run
with exit status 2: precision over a partly labelled set would mean nothing.

    python benchmarks/wasted_marks.py                  # tables, development set
    python benchmarks/wasted_marks.py --set holdout    # the held-out set
    python benchmarks/wasted_marks.py --set all --json # both, as one JSON document
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from tracegraph.config import load_config
from tracegraph.services.analysis import analyze_trace
from tracegraph.services.importing import import_paths
from tracegraph.store import SQLiteStore

ROOT = Path(__file__).resolve().parents[1]
EVALUATION = ROOT / "evaluation"
HOLDOUT = EVALUATION / "holdout"
SETS: dict[str, tuple[Path, ...]] = {"dev": (EVALUATION,), "holdout": (HOLDOUT,),
                                     "all": (EVALUATION, HOLDOUT)}
"""The folders each ``--set`` scores.  ``holdout/`` sits beside the dev format folders,
not inside them, so importing ``evaluation/native`` (recursively) never reaches it."""
FORMAT_FOLDERS = ("native", "otlp", "langfuse", "langsmith")
REASONS = ("failed_attempt", "redundant_call", "unused_retrieval", "dead_end", "loop",
           "overridden")
CLASSES = ("essential", "structural", *(f"wasted:{r}" for r in REASONS))


class EvaluationError(Exception):
    """The set cannot be scored: a file was rejected, or labels and steps do not match."""


@dataclass(frozen=True)
class Compared:
    """One step: what the auditor said and what the analyzer said, with its reasons."""

    trace_id: str
    source_format: str
    step_id: str
    kind: str
    name: str
    label: str
    mark: str
    evidence: str
    note: str | None
    cost_usd: Decimal | None
    set_name: str = "dev"


def _mark(step: dict[str, Any]) -> str:
    return f"wasted:{step['reason']}" if step["role"] == "wasted" else str(step["role"])


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def _scores(tp: int, fp: int, fn: int) -> dict[str, Any]:
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = None if not precision or not recall else round(
        2 * precision * recall / (precision + recall), 4)
    return {"precision": precision, "recall": recall, "f1": f1,
            "true_positives": tp, "false_positives": fp, "false_negatives": fn}


def load_labels(path: Path) -> tuple[dict[str, dict[str, str]], dict[str, Any], dict[str, Any]]:
    """Step labels, the labeller's notes, and per-document use labels.

    Keys starting with ``_`` are annotations, not traces.  An unknown label
    value is refused here, before anything is scored against it.
    """
    raw = json.loads(path.read_text())
    labels = {k: v for k, v in raw.items() if not k.startswith("_")}
    for trace_id, steps in labels.items():
        for step_id, label in steps.items():
            if label not in CLASSES:
                raise EvaluationError(f"{path}: {trace_id}/{step_id}: unknown label {label!r} "
                                      f"(expected one of {', '.join(CLASSES)})")
    return labels, raw.get("_notes", {}), raw.get("_documents", {})


def _import(store: SQLiteStore, evaluation: Path) -> None:
    """The set's four format folders and nothing else beside them.

    Not ``evaluation`` itself: import would recurse into ``evaluation/holdout/`` and
    score held-out traces as development ones (and the other way round).
    """
    folders = [evaluation / f for f in FORMAT_FOLDERS if (evaluation / f).is_dir()]
    if not folders:
        raise EvaluationError(f"{evaluation}: no trace folders ({', '.join(FORMAT_FOLDERS)})")
    report = import_paths(store, folders, parallel=False)
    problems = [f"{f.path}: {f.failed}" for f in report.files if f.failed]
    problems += [str(e) for f in report.files for e in f.rejected]
    if problems:
        raise EvaluationError("the evaluation set did not import cleanly:\n  "
                              + "\n  ".join(problems))


def _check_coverage(labels: dict[str, dict[str, str]],
                    imported: dict[str, set[str]]) -> None:
    """Every imported step labelled, every label naming an imported step."""
    problems: list[str] = []
    for trace_id in sorted(set(labels) - set(imported)):
        problems.append(f"labels name trace {trace_id}, which was not imported")
    for trace_id in sorted(set(imported) - set(labels)):
        problems.append(f"trace {trace_id} was imported but has no labels")
    for trace_id in sorted(set(labels) & set(imported)):
        for step_id in sorted(set(labels[trace_id]) - imported[trace_id]):
            problems.append(f"label for {trace_id}/{step_id}: no such step was imported")
        for step_id in sorted(imported[trace_id] - set(labels[trace_id])):
            problems.append(f"step {trace_id}/{step_id} was imported but has no label")
    if problems:
        raise EvaluationError("labels.json does not cover exactly the imported steps:\n  "
                              + "\n  ".join(problems))


def _set_of(folder: Path) -> str:
    """``holdout`` for the held-out folder, ``dev`` for anything else (a copy, a test's)."""
    return "holdout" if folder.resolve() == HOLDOUT.resolve() else "dev"


def compare(evaluation: Path = EVALUATION, labels_path: Path | None = None,
            config_path: Path | None = None) -> tuple[list[Compared], list[dict[str, Any]]]:
    """Import, analyze and pair every step's label with its mark (and every document's).

    One set per call, in a store of its own, so the sets' trace ids and prices cannot
    leak into each other.
    """
    name = _set_of(evaluation)
    labels, notes, doc_labels = load_labels(labels_path or evaluation / "labels.json")
    toml = config_path or evaluation / "tracegraph.toml"
    config = load_config(toml) if toml.exists() else load_config(None)
    with tempfile.TemporaryDirectory(prefix="tracegraph-eval-") as folder:
        store = SQLiteStore(Path(folder) / "evaluation.db")
        try:
            _import(store, evaluation)
            rows = {row.trace_id: row for row in store.list_traces()}
            traces = {trace_id: store.get_trace(trace_id) for trace_id in rows}
            _check_coverage(labels, {t: {s.id for s in trace.steps}
                                     for t, trace in traces.items()})
            steps: list[Compared] = []
            documents: list[dict[str, Any]] = []
            for trace_id in sorted(labels):
                analysis = analyze_trace(store, trace_id, config=config)
                by_id = {s.id: s for s in traces[trace_id].steps}
                source = rows[trace_id].source_format
                for step in analysis["steps"]:
                    steps.append(Compared(
                        trace_id=trace_id, source_format=source, step_id=step["id"],
                        kind=step["kind"], name=by_id[step["id"]].name or step["kind"],
                        label=labels[trace_id][step["id"]], mark=_mark(step),
                        evidence=step["evidence"],
                        note=notes.get(trace_id, {}).get(step["id"]),
                        cost_usd=None if step["cost_usd"] is None else Decimal(step["cost_usd"]),
                        set_name=name))
                expected = doc_labels.get(trace_id, {})
                for doc in analysis["documents"]:
                    used = expected.get(doc["step_id"], {}).get(doc["id"])
                    if used is not None:
                        documents.append({"trace_id": trace_id, "set": name,
                                          "source_format": source,
                                          "step_id": doc["step_id"], "document_id": doc["id"],
                                          "label_used": used, "analyzer_used": doc["used"],
                                          "evidence": doc["evidence"]})
        finally:
            store.close()
    return steps, documents


def compare_sets(folders: tuple[Path, ...], labels_path: Path | None = None
                 ) -> tuple[list[Compared], list[dict[str, Any]]]:
    """``compare`` over each folder in turn; a trace id in two sets is refused.

    The same trace scored twice would count its steps twice, and would mean a
    held-out trace is also a development one.
    """
    if labels_path is not None and len(folders) != 1:
        raise EvaluationError("--labels names the labels of one set; use --set dev or holdout")
    steps: list[Compared] = []
    documents: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for folder in folders:
        more_steps, more_documents = compare(folder, labels_path)
        for trace_id in sorted({s.trace_id for s in more_steps}):
            if trace_id in seen:
                raise EvaluationError(f"trace {trace_id} is in both {seen[trace_id]} and {folder}")
            seen[trace_id] = str(folder)
        steps += more_steps
        documents += more_documents
    return steps, documents


def _wasted_scores(steps: list[Compared]) -> dict[str, Any]:
    tp = sum(1 for s in steps if s.label.startswith("wasted") and s.mark.startswith("wasted"))
    fp = sum(1 for s in steps if not s.label.startswith("wasted") and s.mark.startswith("wasted"))
    fn = sum(1 for s in steps if s.label.startswith("wasted") and not s.mark.startswith("wasted"))
    return _scores(tp, fp, fn)


def _dollars(steps: list[Compared], pick: str) -> str:
    total = sum((s.cost_usd for s in steps
                 if getattr(s, pick).startswith("wasted") and s.cost_usd is not None), Decimal(0))
    return str(total)


def summarize(steps: list[Compared], documents: list[dict[str, Any]],
              which: str = "dev") -> dict[str, Any]:
    """Every figure the script reports, as one JSON-ready document.

    ``per_set`` repeats the overall figures for each set scored, so ``--set all``
    still shows the held-out figures apart from the development ones.
    """
    per_reason = {}
    for reason in REASONS:
        wanted = f"wasted:{reason}"
        tp = sum(1 for s in steps if s.label == wanted and s.mark == wanted)
        fp = sum(1 for s in steps if s.label != wanted and s.mark == wanted)
        fn = sum(1 for s in steps if s.label == wanted and s.mark != wanted)
        per_reason[reason] = {**_scores(tp, fp, fn), "labelled": tp + fn, "marked": tp + fp}
    per_format = {}
    for source in sorted({s.source_format for s in steps}):
        chosen = [s for s in steps if s.source_format == source]
        per_format[source] = {**_wasted_scores(chosen),
                              "traces": len({s.trace_id for s in chosen}),
                              "steps": len(chosen),
                              "labelled_wasted": sum(1 for s in chosen
                                                     if s.label.startswith("wasted")),
                              "exact_agreement": _ratio(sum(1 for s in chosen
                                                            if s.label == s.mark), len(chosen))}
    pairs = Counter((s.label, s.mark) for s in steps)
    confusion = {label: {mark: pairs.get((label, mark), 0) for mark in CLASSES}
                 for label in CLASSES}
    doc_tp = sum(1 for d in documents if not d["label_used"] and not d["analyzer_used"])
    doc_fp = sum(1 for d in documents if d["label_used"] and not d["analyzer_used"])
    doc_fn = sum(1 for d in documents if not d["label_used"] and d["analyzer_used"])
    per_set = {}
    for name in ("dev", "holdout"):
        picked = [s for s in steps if s.set_name == name]
        if picked:
            per_set[name] = {**_wasted_scores(picked),
                             "traces": len({s.trace_id for s in picked}),
                             "steps": len(picked),
                             "labelled_wasted": sum(1 for s in picked
                                                    if s.label.startswith("wasted")),
                             "exact_agreement": _ratio(sum(1 for s in picked
                                                           if s.label == s.mark), len(picked))}
    return {
        "set": which,
        "traces": len({s.trace_id for s in steps}),
        "steps": len(steps),
        "labelled_wasted": sum(1 for s in steps if s.label.startswith("wasted")),
        "marked_wasted": sum(1 for s in steps if s.mark.startswith("wasted")),
        "wasted": _wasted_scores(steps),
        "exact_agreement": _ratio(sum(1 for s in steps if s.label == s.mark), len(steps)),
        "wasted_usd": {"labelled": _dollars(steps, "label"), "marked": _dollars(steps, "mark")},
        "per_reason": per_reason,
        "per_format": per_format,
        "per_set": per_set,
        "confusion": confusion,
        "documents": {"unused": _scores(doc_tp, doc_fp, doc_fn), "labelled": len(documents),
                      "disagreements": [d for d in documents
                                        if d["label_used"] != d["analyzer_used"]]},
        "disagreements": [{"trace_id": s.trace_id, "set": s.set_name,
                           "source_format": s.source_format,
                           "step_id": s.step_id, "kind": s.kind, "name": s.name,
                           "label": s.label, "mark": s.mark, "evidence": s.evidence,
                           "note": s.note}
                          for s in steps if s.label != s.mark],
    }


def _pct(value: float | None) -> str:
    return "   n/a" if value is None else f"{value * 100:5.1f}%"


def _short(name: str, width: int) -> str:
    return name if len(name) <= width else name[:width - 1] + "…"


def render(summary: dict[str, Any]) -> str:
    """The tables, for a person reading a terminal."""
    w = summary["wasted"]
    out = [f"{summary.get('set', 'dev')} set: {summary['traces']} traces, "
           f"{summary['steps']} steps; "
           f"{summary['labelled_wasted']} labelled wasted, {summary['marked_wasted']} marked "
           f"wasted; exact agreement {_pct(summary['exact_agreement']).strip()}",
           "",
           f"wasted (any reason)   precision {_pct(w['precision'])}   recall {_pct(w['recall'])}"
           f"   F1 {_pct(w['f1'])}   (tp {w['true_positives']}, fp {w['false_positives']}, "
           f"fn {w['false_negatives']})",
           f"wasted dollars        labelled ${summary['wasted_usd']['labelled']}   "
           f"marked ${summary['wasted_usd']['marked']}",
           "", "per reason (reason must match)",
           f"  {'reason':18} {'labelled':>8} {'marked':>7} {'precision':>10} {'recall':>8}"]
    for reason, r in summary["per_reason"].items():
        out.append(f"  {reason:18} {r['labelled']:>8} {r['marked']:>7} "
                   f"{_pct(r['precision']):>10} {_pct(r['recall']):>8}")
    out += ["", "per format (wasted, any reason)",
            f"  {'format':10} {'traces':>6} {'steps':>6} {'wasted':>6} {'precision':>10} "
            f"{'recall':>8} {'exact':>8}"]
    for source, f in summary["per_format"].items():
        out.append(f"  {source:10} {f['traces']:>6} {f['steps']:>6} {f['labelled_wasted']:>6} "
                   f"{_pct(f['precision']):>10} {_pct(f['recall']):>8} "
                   f"{_pct(f['exact_agreement']):>8}")
    if len(summary.get("per_set", {})) > 1:
        out += ["", "per set (wasted, any reason)",
                f"  {'set':10} {'traces':>6} {'steps':>6} {'wasted':>6} {'precision':>10} "
                f"{'recall':>8} {'exact':>8}"]
        for name, f in summary["per_set"].items():
            out.append(f"  {name:10} {f['traces']:>6} {f['steps']:>6} {f['labelled_wasted']:>6} "
                       f"{_pct(f['precision']):>10} {_pct(f['recall']):>8} "
                       f"{_pct(f['exact_agreement']):>8}")
    short = {c: c.replace("wasted:", "").replace("_", " ")[:9] for c in CLASSES}
    out += ["", "confusion (rows: label, columns: analyzer)",
            "  " + " " * 18 + "".join(f"{short[c]:>10}" for c in CLASSES)]
    for label, row in summary["confusion"].items():
        out.append(f"  {short[label]:18}" + "".join(f"{row[c]:>10}" for c in CLASSES))
    d = summary["documents"]
    u = d["unused"]
    out += ["", f"documents ({d['labelled']} labelled): 'never used'  precision "
                f"{_pct(u['precision'])}   recall {_pct(u['recall'])}"]
    for doc in d["disagreements"]:
        out.append(f"  {doc['source_format']:9} {_short(doc['trace_id'], 22):22} "
                   f"{_short(doc['document_id'], 28):28} label "
                   f"{'used' if doc['label_used'] else 'unused':6} analyzer "
                   f"{'used' if doc['analyzer_used'] else 'unused':6} {doc['evidence']}")
    out += ["", f"disagreements ({len(summary['disagreements'])})"]
    for s in summary["disagreements"]:
        out.append(f"  {s['source_format']:9} {_short(s['trace_id'], 22):22} "
                   f"{_short(s['step_id'], 16):16} {s['kind']:13} {_short(s['name'], 26):26}")
        out.append(f"      label {s['label']:24} analyzer {s['mark']}")
        out.append(f"      evidence: {s['evidence']}")
        if s["note"]:
            out.append(f"      note: {s['note']}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--set", dest="which", choices=tuple(SETS), default="dev",
                        help="dev: evaluation/ (the rules were revised on it, the default); "
                             "holdout: evaluation/holdout/ (not tuned to); all: both")
    parser.add_argument("--evaluation", type=Path, default=None,
                        help="score this folder instead of the set's own (one set only)")
    parser.add_argument("--labels", type=Path, default=None,
                        help="labels file (default: <evaluation>/labels.json; one set only)")
    args = parser.parse_args(argv)
    folders = SETS[args.which]
    if args.evaluation is not None:
        if len(folders) != 1:
            parser.error("--evaluation replaces the folder of one set: use --set dev or holdout")
        folders = (args.evaluation,)
    try:
        steps, documents = compare_sets(folders, args.labels)
    except EvaluationError as exc:
        print(f"wasted_marks: {exc}", file=sys.stderr)
        return 2
    summary = summarize(steps, documents, args.which)
    print(json.dumps(summary, indent=2) if args.json else render(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
