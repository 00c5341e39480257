"""What a reader may see of a trace: its payloads with personal data redacted.

Auditors see traces raw; readers see them through a :class:`Redactor`, built once
from ``[redaction]`` (:class:`tracegraph.config.RedactionConfig`) with every
expression compiled then.  Each match becomes the configured replacement,
``[redacted:email]`` by default, so a reader still sees *that* something was there
and what kind of thing it was.  :meth:`Redactor.redaction_summary` counts the
matches per pattern for an audit export ("12 emails, 1 phone number redacted").

The built-in patterns:

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
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, NamedTuple

import msgspec

from ..config import BUILTIN_REDACTION_PATTERNS, RedactionConfig
from ..model import DocumentRef, Override, Step, Trace

__all__ = ["Redactor", "RedactionSummary"]

_Finder = Callable[[str], Iterator[tuple[int, int]]]

# --- email -----------------------------------------------------------------------------

_EMAIL = re.compile(r"""
    (?<![\w.%+-])                          # not in the middle of a longer local part
    [\w%+-]+(?:['.][\w%+-]+)*              # dot-atoms (o'brien too); plus-addressing
    @
    (?:[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?\.)+  # host and subdomain labels
    (?:[^\W\d_]{2,63}|xn--[a-z0-9-]{1,59})      # top-level domain, punycode included
    (?![\w-])
""", re.VERBOSE | re.IGNORECASE)


def _emails(text: str) -> Iterator[tuple[int, int]]:
    for match in _EMAIL.finditer(text):
        yield match.span()


# --- phone -----------------------------------------------------------------------------

_INTERNATIONAL = re.compile(r"""
    (?<![\w+.,/-])(?<!\d[ .-])                 # not inside a longer run of digit groups
    (?:\+|00)[1-9]\d*
    (?:[ .-]?\(\d{1,4}\)[ .-]?\d+ | [ .-]\d+)*   # each further group after a separator
    (?!\w|[.,]\d)
""", re.VERBOSE)
_INTERNATIONAL_GROUP = re.compile(r"[ .-]?\(\d{1,4}\)[ .-]?\d+|[ .-]\d+")
_NANP = re.compile(r"""
    (?<![\w+.,/-])(?<!\d[ .-])
    (?:\+?1[ .-]?)?
    (?: \([2-9]\d{2}\)[ ]?[2-9]\d{2}[-. ]\d{4}
      | [2-9]\d{2}(?P<sep>[-. ])[2-9]\d{2}(?P=sep)\d{4}(?!(?P=sep)\d) )
    (?!\w|[.,-]\d)
""", re.VERBOSE)
_NATIONAL = re.compile(r"""
    (?<![\w+.,/-])(?<!\d[ .-])
    (?: \(0\d{1,4}\)[ ]?\d{2,8}(?:[ ]\d{2,4}){0,3}
      | 0\d{1,4}(?P<sep>[ -])\d{2,8}(?:(?P=sep)\d{2,4}){0,3}(?!(?P=sep)\d) )
    (?!\w|[.,-]\d)
""", re.VERBOSE)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _digit_count(text: str) -> int:
    return sum(c.isdigit() for c in text)


def _phones(text: str) -> Iterator[tuple[int, int]]:
    for match in _INTERNATIONAL.finditer(text):
        # Digits after "+" or "00", 8 to 15 (E.164).  Groups that would make it longer
        # belong to what follows the number ("+44 20 7946 0958 2026"), so drop them.
        start, end = match.span()
        groups = list(_INTERNATIONAL_GROUP.finditer(text, start, end))
        digits = _digit_count(text[start:end]) - (2 if text[start] == "0" else 0)
        while digits > 15 and groups:
            last = groups.pop()
            digits -= _digit_count(last.group())
            end = last.start()
        if 8 <= digits <= 15 and not _ISO_DATE.search(text, start, end):
            yield start, end
    for regex, low, high in ((_NANP, 10, 11), (_NATIONAL, 10, 11)):
        for match in regex.finditer(text):
            if low <= _digit_count(match.group()) <= high:
                yield match.span()


# --- account ---------------------------------------------------------------------------

_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
    "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
    "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20,
    "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    "YE": 30,
}
"""IBAN length by country (SWIFT IBAN registry): a wrong length is not an IBAN."""
_IBAN = re.compile(r"""
    (?<!\w)
    [A-Z]{2}\d{2}
    (?: [A-Z0-9]{11,30}                             # compact
      | (?:[ ][A-Z0-9]{4}){2,7}(?:[ ][A-Z0-9]{1,4})? )  # printed in groups of four
    (?!\w)
""", re.VERBOSE)


def _iban_checks(iban: str) -> bool:
    """ISO 13616 mod-97: the country and check digits moved to the end, letters as
    10-35, the number is 1 modulo 97."""
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _ibans(text: str) -> Iterator[tuple[int, int]]:
    for match in _IBAN.finditer(text):
        start, end = match.span()
        expected = _IBAN_LENGTHS.get(text[start:start + 2])
        if expected is None:
            continue
        # Cut after `expected` characters: grouped IBANs may run into a following
        # upper-case word ("BE68 5390 0754 7034 EURO"), which must end at a group.
        seen, cut = 0, start
        while cut < end and seen < expected:
            seen += text[cut] != " "
            cut += 1
        if seen < expected or (cut < end and text[cut] != " "):
            continue
        if _iban_checks(text[start:cut].replace(" ", "")):
            yield start, cut


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _is_card_number(digits: str) -> bool:
    """13-19 digits, a card network's leading digits, and the Luhn check."""
    if not 13 <= len(digits) <= 19 or not _luhn(digits):
        return False
    if digits[0] == "2":  # Mastercard's 2-series: 2221-2720, 16 digits only
        return len(digits) == 16 and 2221 <= int(digits[:4]) <= 2720
    return digits[0] in "3456"


_GROUPED_DIGITS = re.compile(
    r"(?<![\w+.,/-])(?<!\d[ -])\d+(?:([ -])\d+(?:\1\d+)*)(?!\w|[.,]\d)")
_GROUP = re.compile(r"\d+")
_MAX_CARD_GROUPS = 6
"""19 digits at most: a group of 4, then groups of 3 or more."""


def _grouped_cards(text: str) -> Iterator[tuple[int, int]]:
    """Cards printed in groups (4-4-4-4, Amex 4-6-5, 4-4-4-4-3) within a run of digit
    groups: from each group, the longest run of whole groups that is a card, so
    neither a year before it nor a CVV after it is taken for part of the number."""
    for match in _GROUPED_DIGITS.finditer(text):
        groups = [g.group() for g in _GROUP.finditer(text, *match.span())]
        offsets = [g.span() for g in _GROUP.finditer(text, *match.span())]
        first = 0
        while first < len(groups) - 1:
            for count in range(min(_MAX_CARD_GROUPS, len(groups) - first), 1, -1):
                chosen = groups[first:first + count]
                if len(chosen[0]) == 4 and all(3 <= len(g) <= 6 for g in chosen[1:]) and \
                        _is_card_number("".join(chosen)):
                    yield offsets[first][0], offsets[first + count - 1][1]
                    first += count
                    break
            else:
                first += 1


_LONG_DIGITS = re.compile(r"(?<![\w+.,/-])\d{9,}(?!\w|[.,]\d)")
_EPOCH_2000, _EPOCH_2100 = 946_684_800, 4_102_444_800
_SUBSECOND_SCALES = (3, 6, 9)
_ALL_SCALES = (0, 3, 6, 9)
_HUGE = 10 ** 20


def _is_unix_time(number: int, scales: tuple[int, ...]) -> bool:
    return any(_EPOCH_2000 * 10 ** s <= number < _EPOCH_2100 * 10 ** s for s in scales)


def _is_compact_datetime(digits: str) -> bool:
    formats = {12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}
    if len(digits) not in formats or not digits.startswith(("19", "20", "21")):
        return False
    try:
        datetime.strptime(digits, formats[len(digits)])
    except ValueError:
        return False
    return True


def _is_account_number(digits: str, *, time_scales: tuple[int, ...]) -> bool:
    """A run of 9+ digits is an account number unless it is a time; a card number
    is one even when it could be read as a time."""
    if len(digits) < 9:
        return False
    if len(digits) > 19 or _is_card_number(digits):  # longer than any time in ns
        return True
    return not (_is_unix_time(int(digits), time_scales) or _is_compact_datetime(digits))


def _long_digit_runs(text: str) -> Iterator[tuple[int, int]]:
    for match in _LONG_DIGITS.finditer(text):
        if _is_account_number(match.group(), time_scales=_SUBSECOND_SCALES):
            yield match.span()


def _accounts(text: str) -> Iterator[tuple[int, int]]:
    yield from _ibans(text)
    yield from _grouped_cards(text)
    yield from _long_digit_runs(text)


# --- the redactor ----------------------------------------------------------------------


class _Pattern(NamedTuple):
    name: str
    find: _Finder
    needs: str | None
    """A character class the text must contain for this pattern to be tried."""


_BUILTINS: dict[str, _Pattern] = {
    "email": _Pattern("email", _emails, "@"),
    "phone": _Pattern("phone", _phones, "digit"),
    "account": _Pattern("account", _accounts, "digit"),
}
assert tuple(_BUILTINS) == BUILTIN_REDACTION_PATTERNS, "config and redaction disagree"

_ANY_DIGIT = re.compile(r"\d")
_MAX_PASSES = 16
_TIME_WORDS = frozenset({"time", "timestamp", "ts", "created", "updated", "modified", "at",
                         "date", "ns", "ms", "us", "nanos", "millis", "micros", "epoch",
                         "start", "end", "expires", "exp", "iat", "nbf"})
_KEY_WORDS = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")


def _is_time_key(key: str | None) -> bool:
    """``created``, ``start_ns``, ``updatedAt``: its last word names a time."""
    return key is not None and _KEY_WORDS.split(key)[-1].lower() in _TIME_WORDS


def _regex_finder(regex: re.Pattern[str]) -> _Finder:
    def find(text: str) -> Iterator[tuple[int, int]]:
        for match in regex.finditer(text):
            yield match.span()
    return find


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
        self._patterns = [_BUILTINS[name] for name in config.patterns] + [
            _Pattern(name, _regex_finder(re.compile(expression)), None)
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
            if _is_time_key(key) and value.isascii() and value.isdigit() and \
                    _is_unix_time(int(value), _ALL_SCALES):
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
            scales = _ALL_SCALES if _is_time_key(key) else _SUBSECOND_SCALES
            digits = str(abs(value)) if abs(value) < _HUGE else "0" * 20  # str() has a limit
            if _is_account_number(digits, time_scales=scales):
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
