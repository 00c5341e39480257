"""What a reader may see of a trace: its payloads with personal data redacted.

Auditors see traces raw; readers see them through a :class:`Redactor`, built once
from ``[redaction]`` (:class:`tracegraph.config.RedactionConfig`) with every
expression compiled then.  Each match becomes the configured replacement,
``[redacted:email]`` by default, so a reader still sees *that* something was there
and what kind of thing it was.  :meth:`Redactor.redaction_summary` counts the
matches per pattern for an audit export ("12 emails, 1 phone number redacted").

The built-in patterns (their finders are in :mod:`.redaction_patterns`):

``email``
    ``local@domain.tld``: dot-separated local parts with ``+`` tags, ``%``, ``-``,
    ``_`` and inner apostrophes; subdomains; Unicode letters; punycode top-level domains.
``phone``
    International numbers with ``+`` or ``00`` (``+44 20 7946 0958``,
    ``+1 (415) 555-0132``, ``+14155550132``: 8 to 15 digits); North American
    numbers with one consistent separator or an area code in parentheses
    (``(415) 555-0132``, ``415-555-0132``, ``415.555.0132``, ``1-800-555-0199``);
    national numbers with a trunk ``0`` and 10 or 11 digits (``020 7946 0958``,
    ``01 23 45 67 89``).
``account``
    IBANs, compact or in groups of four, whose length is right for their country
    and whose mod-97 check holds; payment card numbers of 13 to 19 digits, compact
    or grouped by spaces or dashes, passing the Luhn check with a card network's
    leading digit (2-series Mastercard: 16 digits); any other run of 9 or more
    digits (bank routing and account numbers, unseparated phone numbers), unless
    it is a millisecond, microsecond or nanosecond Unix time between 2000 and 2100
    or a compact date-time (``20260304123045``).  In JSON-like values an integer
    of 9 or more digits is redacted by the same rule, except under a time-like key
    (``created``, ``start_ns``, ``updatedAt``), where Unix seconds are kept too.

What is deliberately left alone: ISO dates and times, amounts (``1,234.56``,
``123456789.50``), version strings, UUIDs, hex ids, and digits inside identifiers
(``claim-2026-0001``, ``gpt-4o-2024-08-06``, ``acct123456789``).

Known limits:

* Emails: quoted local parts (``"j doe"@x.com``), IP-literal domains and
  addresses without a dot in the domain (``root@localhost``) are not recognised.
* Phones: seven-digit local numbers (``555-0132``), extensions (``x204``),
  North American numbers mixing separators, and national formats other than
  a leading ``0`` are missed; a table of three numbers shaped 3-3-4
  (``415 555 0132``) is taken for a phone number.
* Accounts: account numbers shorter than 9 digits or written in groups are
  missed unless they are IBANs or cards; 10-digit numbers in *text* are
  redacted even when they are Unix seconds (a phone number or bank account is
  the likelier reading); IBANs must be upper case.  Order numbers and other
  long numeric ids are redacted too: over-redaction is the safe direction.
* Values: dictionary keys are kept as they are, floats and non-JSON objects
  (bytes, structs) are not inspected, and ``[redaction.extra]`` patterns apply
  to text only.  Names of steps, tools, models and actors are identifiers of
  the graph and are not redacted.
* Text that already reads like a replacement (``[redacted:email]``) is never
  redacted again, which keeps :meth:`Redactor.redact_text` idempotent even for
  extra patterns that would match the replacement itself.  A match next to
  another (``jo@x.io+44 20 7946 0958``) may only be recognised once its
  neighbour is replaced, so redaction repeats until nothing changes, at most
  16 times: past 16 such matches back to back with nothing between them,
  redacting the result again would find more.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from typing import Any

import msgspec

from ..config import RedactionConfig
from ..model import DocumentRef, Override, Step, Trace
from .redaction_patterns import (ALL_SCALES, BUILTINS, SUBSECOND_SCALES, Pattern,
                                 is_account_number, is_time_key, is_unix_time, regex_finder)

__all__ = ["Redactor", "RedactionSummary", "RAW_ROLES", "redactor_for"]

_ANY_DIGIT = re.compile(r"\d")
_MAX_PASSES = 16
_HUGE = 10 ** 20


RAW_ROLES = frozenset({"auditor", "admin"})
"""Roles that see payloads as imported; every other role sees them redacted."""


def redactor_for(role: str, config: RedactionConfig) -> "Redactor | None":
    """The redactor a role's view passes through, or ``None`` for the raw roles."""
    return None if role in RAW_ROLES else Redactor(config)


class RedactionSummary(msgspec.Struct, frozen=True, kw_only=True):
    """How many matches each pattern redacted; summaries of several traces add up."""

    counts: dict[str, int] = {}

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __add__(self, other: RedactionSummary) -> RedactionSummary:
        return RedactionSummary(counts=dict(Counter(self.counts) + Counter(other.counts)))

    def __str__(self) -> str:
        """``12 emails, 1 phone number redacted`` — the line an audit export prints."""
        nouns = {"email": "email", "phone": "phone number", "account": "account number"}
        parts = []
        for name, count in self.counts.items():
            noun = nouns.get(name, f"{name} match")
            plural = noun + ("es" if noun.endswith("match") else "s")
            parts.append(f"{count} {noun if count == 1 else plural}")
        return f"{', '.join(parts)} redacted" if parts else "nothing redacted"


class Redactor:
    """Redacts text, JSON-like values, steps and traces with one configuration.

    >>> redactor = Redactor()
    >>> redactor.redact_text("Mail jo+claims@mail.example.org or call (415) 555-0132.")
    'Mail [redacted:email] or call [redacted:phone].'
    >>> redactor.redact_value({"iban": "DE89 3704 0044 0532 0130 00", "amount": 1234.56})
    {'iban': '[redacted:account]', 'amount': 1234.56}
    """

    def __init__(self, config: RedactionConfig | None = None) -> None:
        config = config or RedactionConfig()
        self._patterns = [BUILTINS[name] for name in config.patterns] + [
            Pattern(name, regex_finder(re.compile(expression)), None)
            for name, expression in config.extra.items()]
        self._replacements = {p.name: config.replacement.format(name=p.name)
                              for p in self._patterns}
        tokens = sorted(set(self._replacements.values()), key=len, reverse=True)
        self._tokens = re.compile("|".join(map(re.escape, tokens))) if tokens else None
        self._redacts_integers = "account" in config.patterns

    def redact_text(self, text: str) -> str:
        """``text`` with every match replaced; text without one comes back unchanged."""
        return self._text(text, Counter())

    def redact_value(self, value: Any) -> Any:
        """A copy of a JSON-like value (dicts, lists, tuples, strings, numbers) with its
        strings redacted and integers that look like account numbers replaced; keys
        are kept."""
        return self._value(value, Counter())

    def redact_step(self, step: Step) -> Step:
        """A copy of the step with its payloads redacted: input, output, arguments,
        result, error, raw, documents, override reason, attributes."""
        return self._step(step, Counter())

    def redact_trace(self, trace: Trace) -> Trace:
        """A copy of the trace with every step, its attributes and its outcome reason
        redacted."""
        return self._trace(trace, Counter())

    def redact_trace_with_summary(self, trace: Trace) -> tuple[Trace, RedactionSummary]:
        """The redacted trace and what was redacted in it, in one pass."""
        counts: Counter[str] = Counter()
        redacted = self._trace(trace, counts)
        return redacted, self._summary(counts)

    def redact_analysis(self, analysis: dict[str, Any]) -> dict[str, Any]:
        """An analysis document with its evidence sentences (which quote values) and
        failure signatures redacted; ids, marks and amounts kept, so drawings still link."""
        shown = dict(analysis)
        shown["steps"] = [{**m, "evidence": self.redact_value(m.get("evidence"))}
                          for m in analysis.get("steps", [])]
        shown["documents"] = [{**d, "evidence": self.redact_value(d.get("evidence"))}
                              for d in analysis.get("documents", [])]
        shown["edges"] = [{**e, "evidence": self.redact_value(e.get("evidence"))}
                          for e in analysis.get("edges", [])]
        shown["failures"] = [{**f, "signature": self.redact_text(f["signature"])}
                             for f in analysis.get("failures", [])]
        return shown

    def redact_explanation(self, explained: dict[str, Any]) -> dict[str, Any]:
        """An ``explain`` document with the sentences that quote the trace redacted: why a
        step was decisive, an override's reason, a driver's evidence."""
        shown = dict(explained)
        shown["decisive_steps"] = [{**d, "why": self.redact_text(d["why"])}
                                   for d in explained.get("decisive_steps", [])]
        shown["overrides"] = [self.redact_value(o) for o in explained.get("overrides", [])]
        shown["drivers"] = [{**d, "evidence": self.redact_text(d["evidence"])}
                            for d in explained.get("drivers", [])]
        return shown

    def redaction_summary(self, trace: Trace) -> RedactionSummary:
        """What redacting the trace would hide, counted per pattern."""
        return self.redact_trace_with_summary(trace)[1]

    def _summary(self, counts: Counter[str]) -> RedactionSummary:
        order = [p.name for p in self._patterns]
        return RedactionSummary(counts={n: counts[n] for n in order if counts[n]})

    def _trace(self, trace: Trace, counts: Counter[str]) -> Trace:
        return msgspec.structs.replace(
            trace, steps=tuple(self._step(s, counts) for s in trace.steps),
            attributes=self._value(trace.attributes, counts),
            outcome_reason=self._optional_text(trace.outcome_reason, counts))

    def _step(self, step: Step, counts: Counter[str]) -> Step:
        def value(v: Any) -> Any:
            return self._value(v, counts)
        return msgspec.structs.replace(
            step, input=value(step.input), output=value(step.output),
            arguments=value(step.arguments), result=value(step.result),
            error=self._optional_text(step.error, counts), raw=value(step.raw),
            attributes=value(step.attributes),
            documents=tuple(self._document(d, counts) for d in step.documents),
            override=self._override(step.override, counts))

    def _document(self, document: DocumentRef, counts: Counter[str]) -> DocumentRef:
        return msgspec.structs.replace(
            document, title=self._optional_text(document.title, counts),
            content=self._optional_text(document.content, counts),
            metadata=self._value(document.metadata, counts))

    def _override(self, override: Override | None, counts: Counter[str]) -> Override | None:
        if override is None:
            return None
        return msgspec.structs.replace(
            override, reason=self._optional_text(override.reason, counts))

    def _optional_text(self, text: str | None, counts: Counter[str]) -> str | None:
        return None if text is None else self._text(text, counts)

    def _value(self, value: Any, counts: Counter[str], key: str | None = None) -> Any:
        if isinstance(value, str):
            if is_time_key(key) and value.isascii() and value.isdigit() and \
                    is_unix_time(int(value), ALL_SCALES):
                return value
            return self._text(value, counts)
        if isinstance(value, dict):
            return {k: self._value(v, counts, k if isinstance(k, str) else None)
                    for k, v in value.items()}
        if isinstance(value, list):
            return [self._value(v, counts) for v in value]
        if isinstance(value, tuple):
            return tuple(self._value(v, counts) for v in value)
        if isinstance(value, int) and not isinstance(value, bool) and self._redacts_integers:
            scales = ALL_SCALES if is_time_key(key) else SUBSECOND_SCALES
            digits = str(abs(value)) if abs(value) < _HUGE else "0" * 20  # str() has a limit
            if is_account_number(digits, time_scales=scales):
                counts["account"] += 1
                return self._replacements["account"]
        return value

    def _text(self, text: str, counts: Counter[str]) -> str:
        """Passes until nothing changes, so that redacting again finds nothing: a match
        can surface once a neighbour is replaced (``jo@x.io+44 20 7946 0958``: the
        number follows a letter until the email becomes ``]``).  Usually two passes;
        bounded so that text crafted as thousands of matches back to back costs a
        few scans, not one per match."""
        for _ in range(_MAX_PASSES):
            redacted = self._one_pass(text, counts)
            if redacted is None:
                break
            text = redacted
        return text

    def _one_pass(self, text: str, counts: Counter[str]) -> str | None:
        """The text with the matches found in it replaced, or ``None`` if none were.

        Matches may overlap (a phone number inside an email's local part): the one
        that starts first wins, then the longest, then the first configured.  Text
        that is already a replacement is never matched again."""
        has_digit = _ANY_DIGIT.search(text) is not None
        found: list[tuple[int, int, int, str]] = []
        for priority, pattern in enumerate(self._patterns):
            if (pattern.needs == "@" and "@" not in text) or \
                    (pattern.needs == "digit" and not has_digit):
                continue
            found.extend((start, -end, priority, pattern.name)
                         for start, end in pattern.find(text) if end > start)
        if not found:
            return None
        kept = [m.span() for m in self._tokens.finditer(text)] if self._tokens else []
        kept_starts = [start for start, _ in kept]
        pieces, position = [], 0
        for start, negative_end, _, name in sorted(found):
            end = -negative_end
            before = bisect_right(kept_starts, end - 1) - 1  # last kept span starting < end
            if start < position or (before >= 0 and kept[before][1] > start):
                continue
            pieces += [text[position:start], self._replacements[name]]
            counts[name] += 1
            position = end
        if not pieces:
            return None
        pieces.append(text[position:])
        return "".join(pieces)
