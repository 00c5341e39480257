"""Labelled failure corpora for choosing and checking the clustering: we know the answer.

Two kinds, both with random variable parts (ids, amounts, paths, times,
quoted values) so that only masking makes their occurrences alike:

* **templated** — 40 error templates of the kind real agents hit (tool
  timeouts, HTTP errors, validation failures, model refusals), each a
  cluster of its own; a good method must not merge two templates that share
  words ("policy lookup timed out" and "policy lookup returned 404").
* **paraphrased** — 12 causes, each said 4-6 ways by different libraries and
  services ("timed out", "deadline exceeded", "took too long to respond"),
  at one of three tools; a good method must merge what means the same at the
  same place, and keep the places apart.

Each item is ``(signature, label)``, the signature built as the analyzer
builds it (kind, tool, error type, masked message).
"""

from __future__ import annotations

import random
from typing import Callable

from ..analyze.failures import mask

__all__ = ["templated_failures", "paraphrased_failures", "fill", "TEMPLATES", "CAUSES"]

_Fill = Callable[[random.Random], str]


def _id(prefix: str) -> _Fill:
    return lambda r: f"{prefix}-{r.randint(10000, 99999)}"


_FILLS: dict[str, _Fill] = {
    "claim": _id("CLM"), "policy": _id("POL"), "order": _id("ORD"), "invoice": _id("INV"),
    "vendor": _id("VND"), "ticket": _id("TCK"), "customer": _id("CUST"),
    "n": lambda r: str(r.randint(2, 99999)),
    "amount": lambda r: f"{r.randint(100, 99999)}.{r.randint(0, 99):02d}",
    "ms": lambda r: f"{r.randint(50, 60000)}ms", "s": lambda r: f"{r.randint(5, 120)}s",
    "path": lambda r: f"/v{r.randint(1, 3)}/{r.choice(['claims', 'orders', 'docs'])}/"
                      f"{r.randint(1000, 99999)}/{r.choice(['documents', 'status', 'items'])}",
    "file": lambda r: f"/var/lib/{r.choice(['app', 'agent', 'ocr'])}/{r.randint(1, 999)}.pdf",
    "time": lambda r: f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T"
                      f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00Z",
    "uuid": lambda r: "%08x-%04x-%04x-%04x-%012x" % (r.getrandbits(32), r.getrandbits(16),
                                                     r.getrandbits(16), r.getrandbits(16),
                                                     r.getrandbits(48)),
    "ip": lambda r: f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
    "field": lambda r: "'" + r.choice(["amount", "currency", "policy_id", "due_date",
                                       "iban", "email", "line_items"]) + "'",
    "word": lambda r: "'" + r.choice(["N/A", "tbd", "unknown", "xx", "null", "-"]) + "'",
    "host": lambda r: r.choice(["claims-api", "erp-gateway", "crm", "docs-api", "ledger"]),
    "model": lambda r: r.choice(["gpt-4o", "gpt-4o-mini", "claude-sonnet-4"]),
}

TEMPLATES: tuple[tuple[str, str, str, str], ...] = (
    # (kind, tool or model, error type, message)
    ("tool_call", "lookup_policy", "TimeoutError", "lookup_policy timed out after {s} for policy {policy}"),
    ("tool_call", "lookup_policy", "HTTPError", "404 Not Found: policy {policy} does not exist"),
    ("tool_call", "lookup_policy", "HTTPError", "403 Forbidden: caller may not read policy {policy}"),
    ("tool_call", "fetch_claim_history", "HTTPError", "503 Service Unavailable from {host} {path}"),
    ("tool_call", "fetch_claim_history", "KeyError", "claim {claim} has no history before {time}"),
    ("tool_call", "request_exception_document", "HTTPError", "502 Bad Gateway from {host} {path}"),
    ("tool_call", "request_exception_document", "ValidationError", "document type {word} is not one of the accepted exception types"),
    ("tool_call", "check_fraud_score", "ValueError", "fraud score {n} outside the range 0-1000 for claim {claim}"),
    ("tool_call", "check_fraud_score", "ConnectionError", "connection refused by {ip}"),
    ("tool_call", "ocr_invoice", "OCRError", "page {n} of {file} unreadable: confidence below threshold"),
    ("tool_call", "ocr_invoice", "FileNotFoundError", "no such file {file}"),
    ("tool_call", "ocr_invoice", "MemoryError", "out of memory while rasterising {file} at {n} dpi"),
    ("tool_call", "match_purchase_order", "MatchError", "no purchase order matches vendor {vendor} amount {amount}"),
    ("tool_call", "match_purchase_order", "MatchError", "{n} purchase orders match vendor {vendor}: ambiguous"),
    ("tool_call", "post_to_ledger", "LedgerError", "period closed on {time}: cannot post invoice {invoice}"),
    ("tool_call", "post_to_ledger", "DuplicateError", "invoice {invoice} already posted as entry {n}"),
    ("tool_call", "get_customer", "KeyError", "customer {customer} not found in CRM"),
    ("tool_call", "get_customer", "HTTPError", "401 Unauthorized: token expired at {time}"),
    ("tool_call", "issue_refund", "PaymentError", "refund of {amount} exceeds the captured amount for order {order}"),
    ("tool_call", "issue_refund", "PaymentError", "card issuer declined refund for order {order}: do not honor"),
    ("tool_call", "issue_refund", "HTTPError", "409 Conflict: refund {uuid} already in progress"),
    ("tool_call", "search_kb", "RateLimitError", "429 Too Many Requests: retry after {ms}"),
    ("tool_call", "search_kb", "IndexError", "index {word} is being rebuilt, try again later"),
    ("tool_call", "update_ticket", "ValidationError", "field {field} is required to close ticket {ticket}"),
    ("tool_call", "update_ticket", "LockError", "ticket {ticket} is locked by another agent since {time}"),
    ("tool_call", "track_shipment", "HTTPError", "500 Internal Server Error from carrier API {path}"),
    ("tool_call", "track_shipment", "ValueError", "tracking number {word} has an invalid checksum"),
    ("tool_call", "send_email", "SMTPError", "mailbox unavailable for recipient at {ip}"),
    ("tool_call", "send_email", "ValidationError", "attachment {file} is larger than {n} MB"),
    ("tool_call", "sql_query", "OperationalError", "database is locked after {s} waiting on {file}"),
    ("tool_call", "sql_query", "ProgrammingError", "column {field} does not exist in table claims"),
    ("llm", "{model}", "ContextLengthError", "prompt of {n} tokens exceeds the model's context window"),
    ("llm", "{model}", "ContentFilterError", "response blocked by the content filter (category self-harm)"),
    ("llm", "{model}", "SchemaError", "output is not valid JSON: expecting value at line {n} column {n}"),
    ("llm", "{model}", "SchemaError", "output misses required property {field}"),
    ("llm", "{model}", "RefusalError", "model refused: cannot give legal advice about claim {claim}"),
    ("llm", "{model}", "OverloadedError", "upstream model overloaded, request {uuid} dropped"),
    ("retrieval", "vector_search", "EmbeddingError", "embedding service returned {n} vectors for {n} inputs"),
    ("retrieval", "vector_search", "TimeoutError", "vector store query exceeded {ms} on shard {n}"),
    ("human_override", "adjuster review", "SLAError", "review of claim {claim} breached its SLA by {s}"),
)

CAUSES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    # (cause, ((error type, message), ...)): different libraries saying the same thing
    ("timeout", (("TimeoutError", "request timed out after {s}"),
                 ("DeadlineExceeded", "deadline exceeded while calling {host}"),
                 ("ReadTimeout", "HTTPSConnectionPool(host={word}): read timed out. (read timeout={s})"),
                 ("Error", "the upstream service took too long to respond"),
                 ("GatewayTimeout", "504 Gateway Timeout from {host}"),
                 ("asyncio.TimeoutError", "operation did not complete within {s}"))),
    ("rate_limit", (("RateLimitError", "429 Too Many Requests: retry after {ms}"),
                    ("ThrottlingException", "Rate exceeded for account, slow down"),
                    ("QuotaExceeded", "quota exceeded for requests per minute on {host}"),
                    ("Error", "you have hit the rate limit, please wait before retrying"),
                    ("ResourceExhausted", "resource exhausted: too many requests in flight"))),
    ("not_found", (("KeyError", "customer {customer} not found"),
                   ("HTTPError", "404 Not Found: {path}"),
                   ("DoesNotExist", "Order matching query does not exist: {order}"),
                   ("LookupError", "no record with id {claim}"),
                   ("Error", "could not find policy {policy} in the registry"),
                   ("NoSuchKey", "the specified key does not exist: {file}"))),
    ("auth", (("HTTPError", "401 Unauthorized: invalid API key"),
              ("PermissionError", "permission denied for user agent-{n} on {path}"),
              ("AccessDenied", "access denied: missing scope claims.read"),
              ("AuthenticationError", "authentication failed: token expired at {time}"),
              ("HTTPError", "403 Forbidden: caller is not allowed to read {claim}"))),
    ("unavailable", (("HTTPError", "503 Service Unavailable from {host}"),
                     ("ConnectionError", "connection refused by {ip}"),
                     ("ConnectionResetError", "connection reset by peer while reading from {host}"),
                     ("HTTPError", "502 Bad Gateway: upstream {host} is down"),
                     ("Error", "{host} is temporarily unavailable, try again later"),
                     ("OverloadedError", "the server is overloaded and cannot take the request"))),
    ("invalid_input", (("ValidationError", "field {field} is not a valid decimal"),
                       ("ValueError", "invalid literal for int() with base 10: {word}"),
                       ("HTTPError", "422 Unprocessable Entity: {field} must be positive"),
                       ("SchemaError", "request body does not match the schema at {field}"),
                       ("BadRequest", "400 Bad Request: malformed parameter {field}"))),
    ("context_length", (("ContextLengthError", "prompt of {n} tokens exceeds the context window"),
                        ("InvalidRequestError", "This model's maximum context length is {n} tokens"),
                        ("Error", "input is too long: {n} tokens over the limit"),
                        ("BadRequest", "too many tokens in the request for {model}"))),
    ("content_filter", (("ContentFilterError", "response blocked by the content filter"),
                        ("RefusalError", "the model refused to answer the request"),
                        ("SafetyError", "output withheld: flagged by the safety system"),
                        ("PolicyViolation", "request rejected for violating the usage policy"),
                        ("Error", "I'm sorry, but I can't help with that request"))),
    ("bad_json", (("JSONDecodeError", "Expecting value: line {n} column {n} (char {n})"),
                  ("SchemaError", "model output is not valid JSON"),
                  ("OutputParserException", "could not parse LLM output: {word}"),
                  ("ValidationError", "model response failed to parse as the Claim schema"),
                  ("Error", "unterminated string in the model's JSON at position {n}"))),
    ("duplicate", (("DuplicateError", "invoice {invoice} already posted as entry {n}"),
                   ("IntegrityError", "UNIQUE constraint failed: payments.reference"),
                   ("HTTPError", "409 Conflict: refund {uuid} already exists"),
                   ("Error", "this ticket was already closed by another agent"),
                   ("AlreadyExists", "a record with reference {order} exists"))),
    ("out_of_memory", (("MemoryError", "out of memory while loading {file}"),
                       ("OOMKilled", "container killed: memory limit of {n} MB exceeded"),
                       ("RuntimeError", "CUDA out of memory. Tried to allocate {n} MiB"),
                       ("Error", "not enough memory to rasterise page {n}"))),
    ("payment_declined", (("PaymentError", "card issuer declined the refund: do not honor"),
                          ("CardError", "Your card was declined"),
                          ("PaymentError", "insufficient funds for payout of {amount}"),
                          ("Error", "the bank rejected transfer {n}: account closed"),
                          ("DeclinedError", "refund declined by the payment processor"))),
)


def fill(template: str, rng: random.Random) -> str:
    """``template`` with each placeholder replaced by a random value of its kind."""
    out = template
    for key, make in _FILLS.items():
        token = "{" + key + "}"
        while token in out:
            out = out.replace(token, make(rng), 1)
    return out


def _signature(kind: str, what: str, error_type: str, message: str) -> str:
    return f"{kind} {what}: {error_type}: {mask(message)}"


def templated_failures(n: int, *, seed: int = 1) -> list[tuple[str, int]]:
    """``n`` failures from the 40 templates, labelled by template."""
    rng = random.Random(seed)
    items = []
    for _ in range(n):
        label = rng.randrange(len(TEMPLATES))
        kind, what, error_type, message = TEMPLATES[label]
        items.append((_signature(kind, fill(what, rng), error_type, fill(message, rng)),
                      label))
    return items


def paraphrased_failures(n: int, *, seed: int = 2, tools: int = 3) -> list[tuple[str, int]]:
    """``n`` failures of 12 causes said in many ways, labelled by cause and tool.

    A cause is one failure *where* it happened: a timeout of the policy
    service and a timeout of the OCR service are two things to fix, however
    each was worded.  So each item's tool is drawn from ``tools`` tools and
    its label is (cause, tool).
    """
    rng = random.Random(seed)
    names = ("lookup_policy", "get_customer", "search_kb", "ocr_invoice", "issue_refund",
             "track_shipment")[:tools]
    items = []
    for _ in range(n):
        cause = rng.randrange(len(CAUSES))
        tool = rng.randrange(len(names))
        error_type, message = rng.choice(CAUSES[cause][1])
        items.append((_signature("tool_call", names[tool], error_type, fill(message, rng)),
                      cause * len(names) + tool))
    return items
