"""Failure signatures: masking, and what counts as a failure."""

from __future__ import annotations

import pytest

from tracegraph.analyze.failures import failures_of, mask, signature_hash
from tracegraph.model import Outcome, Status, Step, StepKind, Trace


@pytest.mark.parametrize("raw, masked", [
    ("lookup_policy timed out after 30s for policy P-88412",
     "lookup_policy timed out after <n> for policy <id>"),
    ("HTTP/1.1 503 Service Unavailable from claims-api /v2/claims/CLM-88507/documents",
     "HTTP 503 Service Unavailable from claims-api <path>"),
    ("429 Too Many Requests: retry after 250ms", "HTTP 429 Too Many Requests: retry after <n>"),
    ("status code 404 for order ORD-55219", "HTTP 404 for order <id>"),
    ("customer 8a3f9c2e-1b2c-4d5e-9f00-123456789abc not found at 2026-03-02T09:14:00Z",
     "customer <uuid> not found at <time>"),
    ("Connection refused to 10.0.3.17:5432 (file /var/lib/app/data.db)",
     "Connection refused to <ip> (file <path>)"),
    ("claim amount 7250.00 exceeds policy limit of 5,000",
     "claim amount <n> exceeds policy limit of <n>"),
    ("commit 3fa9c2e81b7d by ops@example.com, see https://status.example.com/i/123",
     "commit <hash> by <email>, see <url>"),
    ("invalid literal for int() with base 10: 'N/A'",
     "invalid literal for int() with base <n>: <quoted>"),
    ("  many   spaces\nand lines ", "many spaces and lines"),
])
def test_mask_replaces_what_varies_and_keeps_what_names_the_failure(raw: str,
                                                                    masked: str) -> None:
    assert mask(raw) == masked


def test_two_occurrences_of_one_failure_have_one_signature() -> None:
    a = mask("lookup_policy timed out after 30s for policy P-88412 at 2026-01-02T03:04:05Z")
    b = mask("lookup_policy timed out after 45s for policy P-10001 at 2026-07-08T09:10:11Z")
    assert a == b and signature_hash(a) == signature_hash(b)


def test_failed_steps_and_a_failed_trace_become_failures() -> None:
    steps = (
        Step(id="a", kind=StepKind.TOOL_CALL, tool_name="lookup", status=Status.ERROR,
             error_type="TimeoutError", error="lookup timed out after 30s", start_ns=1),
        Step(id="b", kind=StepKind.RETRY, tool_name="lookup", retry_of="a",
             status=Status.ERROR, error_type="TimeoutError",
             error="lookup timed out after 31s", start_ns=2),
        Step(id="c", kind=StepKind.LLM, model="gpt-4o", start_ns=3),
    )
    trace = Trace(id="t", source_format="native", steps=steps,
                  outcome_reason="gave up on claim CLM-12345")
    found = list(failures_of(trace, Outcome.FAILURE))
    assert [f.step_id for f in found] == ["a", "b", None]
    assert found[0].signature == found[1].signature == (
        "tool_call lookup: TimeoutError: lookup timed out after <n>")  # a retry fails alike
    assert found[2].signature.startswith("trace failed: gave up on claim <id> | after: ")
    assert list(failures_of(trace, Outcome.SUCCESS))[-1].step_id == "b"  # no trace failure
