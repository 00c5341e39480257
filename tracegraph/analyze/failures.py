"""Failure signatures: what went wrong, with everything that varies masked out.

A thousand "lookup_policy timed out after 30s for policy P-88412" errors are
one failure.  Each failed step (an errored tool call, a rejected model output,
a refused request) and each failed trace (its outcome reason and its last
failures) becomes a normalized text: the step kind, the tool or model, the
error type and the message with ids, numbers, hashes, paths, URLs, times,
e-mails, host names and quoted values replaced by placeholders.  Identical signatures are
one row, counted, before anything is embedded or clustered.

The masks run in an order that matters: what contains digits that another
mask would take apart (a timestamp, a UUID, a URL) goes first.
"""

from __future__ import annotations

import hashlib
import re
from typing import Iterator

import msgspec

from ..model import Outcome, Status, Step, StepKind, Trace, time_order

__all__ = ["mask", "Failure", "failures_of", "signature_hash", "MASKS"]

MASKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("<ip>", re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b")),
    ("<time>", re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                          r"(?:Z|[+-]\d{2}:?\d{2})?)?\b|\b\d{1,2}:\d{2}(?::\d{2})?\b")),
    ("<uuid>", re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                          r"[0-9a-fA-F]{12}\b")),
    ("<email>", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("<url>", re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>)]+")),
    ("<path>", re.compile(r"(?<![\w<])(?:[A-Za-z]:\\|\.{0,2}/)(?:[\w.@%+-]+[/\\])*"
                          r"[\w.@%+-]+/?")),
    ("<host>", re.compile(r"\b(?:[A-Za-z0-9-]+\.)+(?:com|net|org|io|ai|dev|cloud|internal|"
                          r"local|lan|svc|cluster|co|us|eu|uk|de|fr|app|corp|example)"
                          r"(?::\d+)?\b")),
    ("<hash>", re.compile(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b")),
    ("<quoted>", re.compile(r"'[^'\n]{1,200}'|\"[^\"\n]{1,200}\"|`[^`\n]{1,200}`")),
    ("<id>", re.compile(r"\b(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9]+(?:[_-][A-Za-z0-9]+)*\b")),
    ("<n>", re.compile(r"(?<![\w<])[-+]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?%?")),
)
_SPACE = re.compile(r"\s+")


def _hide(code: str) -> str:
    """An HTTP status in letters, so that no mask takes it for a number or an id."""
    return "HTTPSTATUS" + "".join(chr(ord("a") + int(d)) for d in code)


def _show(match: re.Match[str]) -> str:
    return "HTTP " + "".join(str(ord(c) - ord("a")) for c in match.group(1))


def mask(text: str) -> str:
    """``text`` with what varies from one occurrence to the next replaced.

    HTTP status codes (``503 Service Unavailable``, ``status code 404``) are
    kept: they name the failure.  Amounts with a unit (``30s``, ``250ms``)
    become ``<n>`` like any number.
    """
    kept = _WITH_UNIT.sub("<n>", text)  # first: "597 GiB" is an amount, not a status
    kept = _STATUS_AFTER_WORDS.sub(lambda m: _hide(m.group(1)), kept)
    kept = _STATUS_BEFORE_WORDS.sub(lambda m: _hide(m.group(1)), kept)
    for placeholder, pattern in MASKS:
        kept = pattern.sub(placeholder, kept)
    kept = _HIDDEN.sub(_show, kept)
    return _SPACE.sub(" ", kept).strip()


_STATUS_BEFORE_WORDS = re.compile(
    r"\b([1-5]\d\d)\b(?=:?\s+(?:[A-Z][a-z]|(?:too|not|bad|service|internal|gateway|"
    r"unauthori[sz]ed|forbidden|conflict|payment|request|precondition|unprocessable)\b))")
_STATUS_AFTER_WORDS = re.compile(r"\b(?:HTTP(?:/\d(?:\.\d)?)?|status(?: code)?|error code)"
                                 r"\s*[:=]?\s*([1-5]\d\d)\b", re.I)
_WITH_UNIT = re.compile(r"(?<![\w<.:])\d+(?:\.\d+)?\s?(?:ms|s|sec|secs|seconds?|min|mins|"
                        r"minutes?|h|hrs?|hours?|[kmgt]i?b|bytes?)\b(?![.:]\d)", re.I)
_HIDDEN = re.compile(r"HTTPSTATUS([a-j]{3})")


class Failure(msgspec.Struct, frozen=True, kw_only=True):
    """One failure of a trace: a failed step, or (``step_id`` None) the trace itself."""

    step_id: str | None
    signature: str
    kind: str
    tool: str | None
    model: str | None
    error_type: str | None


def signature_hash(signature: str) -> str:
    return hashlib.sha256(signature.encode()).hexdigest()[:16]


def _message(step: Step) -> str:
    text = step.error or ""
    if not text and step.output is not None and isinstance(step.output, str):
        text = step.output[:500]
    return text[:2000]


def _step_signature(step: Step) -> str:
    what = step.tool_name or step.model or step.name or ""
    # A re-attempt of a tool call fails the way the call does: one place.
    kind = "tool_call" if step.kind == StepKind.RETRY and step.tool_name else step.kind.value
    head = f"{kind} {what}".strip()
    error_type = step.error_type or "error"
    return f"{head}: {error_type}: {mask(_message(step))}".rstrip(": ")


def failures_of(trace: Trace, outcome: Outcome) -> Iterator[Failure]:
    """Every failed step, then the trace itself when its outcome was a failure."""
    failed = [s for s in time_order(trace.steps) if s.status == Status.ERROR]
    for step in failed:
        yield Failure(step_id=step.id, signature=_step_signature(step), kind=step.kind.value,
                      tool=step.tool_name, model=step.model, error_type=step.error_type)
    if outcome == Outcome.FAILURE:
        reason = mask(trace.outcome_reason or "")
        last = [s for s in failed if s.kind.value not in ("agent", "chain")][-2:]
        causes = "; ".join(_step_signature(s) for s in last)
        text = f"trace failed: {reason or 'no reason given'}"
        if causes:
            text += f" | after: {causes}"
        yield Failure(step_id=None, signature=text, kind="trace", tool=None, model=None,
                      error_type=None)
