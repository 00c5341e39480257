"""The built-in redaction patterns: where emails, phone numbers and account
numbers are in a text, and when a long number is a time rather than an account.

Each pattern is a :class:`Pattern`: a name and a finder that yields the
``(start, end)`` span of every match.  What they recognise, and what they
deliberately leave alone, is described in :mod:`tracegraph.services.redaction`,
whose :class:`~tracegraph.services.redaction.Redactor` applies them.  They live
apart from it because they are another idea: recognising personal data in text
(regular expressions, check digits, a table of IBAN lengths, telling times from
account numbers), where the redactor walks traces and values and replaces what
the finders found.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import NamedTuple

from ..config import BUILTIN_REDACTION_PATTERNS

__all__ = ["ALL_SCALES", "BUILTINS", "Finder", "Pattern", "SUBSECOND_SCALES", "is_account_number",
           "is_time_key", "is_unix_time", "regex_finder"]

Finder = Callable[[str], Iterator[tuple[int, int]]]

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
SUBSECOND_SCALES = (3, 6, 9)
ALL_SCALES = (0, 3, 6, 9)


def is_unix_time(number: int, scales: tuple[int, ...]) -> bool:
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


def is_account_number(digits: str, *, time_scales: tuple[int, ...]) -> bool:
    """A run of 9+ digits is an account number unless it is a time; a card number
    is one even when it could be read as a time."""
    if len(digits) < 9:
        return False
    if len(digits) > 19 or _is_card_number(digits):  # longer than any time in ns
        return True
    return not (is_unix_time(int(digits), time_scales) or _is_compact_datetime(digits))


def _long_digit_runs(text: str) -> Iterator[tuple[int, int]]:
    for match in _LONG_DIGITS.finditer(text):
        if is_account_number(match.group(), time_scales=SUBSECOND_SCALES):
            yield match.span()


def _accounts(text: str) -> Iterator[tuple[int, int]]:
    yield from _ibans(text)
    yield from _grouped_cards(text)
    yield from _long_digit_runs(text)


# --- the patterns ----------------------------------------------------------------------


class Pattern(NamedTuple):
    name: str
    find: Finder
    needs: str | None
    """A character class the text must contain for this pattern to be tried."""


BUILTINS: dict[str, Pattern] = {
    "email": Pattern("email", _emails, "@"),
    "phone": Pattern("phone", _phones, "digit"),
    "account": Pattern("account", _accounts, "digit"),
}
assert tuple(BUILTINS) == BUILTIN_REDACTION_PATTERNS, "config and redaction disagree"


def regex_finder(regex: re.Pattern[str]) -> Finder:
    def find(text: str) -> Iterator[tuple[int, int]]:
        for match in regex.finditer(text):
            yield match.span()
    return find


# --- keys that name a time -------------------------------------------------------------

_TIME_WORDS = frozenset({"time", "timestamp", "ts", "created", "updated", "modified", "at",
                         "date", "ns", "ms", "us", "nanos", "millis", "micros", "epoch",
                         "start", "end", "expires", "exp", "iat", "nbf"})
_KEY_WORDS = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")


def is_time_key(key: str | None) -> bool:
    """``created``, ``start_ns``, ``updatedAt``: its last word names a time."""
    return key is not None and _KEY_WORDS.split(key)[-1].lower() in _TIME_WORDS
