"""``tracegraph.toml``: the prices tracegraph cannot know by itself.

Model prices come from ``genai-prices``; what a tool call costs (a paid API,
an OCR page) and what an hour of a person's time costs are the user's to say::

    [tools]                 # USD per call
    ocr_invoice = "0.015"
    lookup_policy = "0.002"

    [hourly_rates]          # USD per hour, by the actor's role
    "senior adjuster" = "68.00"
    default = "45.00"       # any role not listed

    [workflows.claims-triage]          # the economics of one workflow
    unit = "claim processed"           # what one successful outcome is
    value_usd = "14.00"                # what a successful outcome is worth
    baseline_usd = "1.20"              # the price of the same unit by people / a BPO
    baseline_label = "BPO contract"
    segments = ["claim.type", "claim.requires_exception_doc"]   # attributes to compare
    [workflows.claims-triage.hourly_rates]                      # overrides, this workflow only
    adjuster = "55.00"

    [redaction]             # what readers never see (auditors see traces raw)
    patterns = ["email", "phone", "account"]    # built-ins in use (default: all)
    replacement = "[redacted:{name}]"
    [redaction.extra]                           # name = regular expression
    claim_holder = 'CH-[0-9]{6}'

Amounts are strings or numbers and are read as exact decimals.  A missing file
is an empty configuration: tool calls and human minutes are then *unpriced*
(listed as such), never silently free, and a workflow has no baseline.
"""

from __future__ import annotations

import hashlib
import os
import re
import string
import tomllib
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import msgspec

from .errors import TracegraphError

__all__ = ["Config", "ConfigError", "WorkflowConfig", "TokenConfig", "RedactionConfig",
           "BUILTIN_REDACTION_PATTERNS", "load_config", "DEFAULT_CONFIG"]

DEFAULT_CONFIG = "tracegraph.toml"

BUILTIN_REDACTION_PATTERNS: tuple[str, ...] = ("email", "phone", "account")
"""Names of the patterns ``tracegraph.services.redaction`` implements; named here so the
configuration can be checked without importing the services layer."""


class ConfigError(TracegraphError):
    """The configuration file cannot be read; names the file and the key."""


class WorkflowConfig(msgspec.Struct, frozen=True, kw_only=True):
    """What finance says about one workflow: its unit, its value, its baseline."""

    unit: str | None = None
    value_usd: Decimal | None = None
    baseline_usd: Decimal | None = None
    baseline_label: str | None = None
    segments: tuple[str, ...] = ()
    hourly_rates: dict[str, Decimal] = {}


class TokenConfig(msgspec.Struct, frozen=True, kw_only=True):
    """An API token: its role, and the SHA-256 of the secret (never the secret)."""

    role: str
    sha256: str


class RedactionConfig(msgspec.Struct, frozen=True, kw_only=True):
    """What a reader's view of a trace hides, from ``[redaction]``.

    Kept as strings (the expressions were compiled once at load, to refuse bad ones
    with the file and key); the redactor compiles its own copy.
    """

    patterns: tuple[str, ...] = BUILTIN_REDACTION_PATTERNS
    """Built-in patterns in use, in priority order when two matches start together."""
    extra: dict[str, str] = {}
    """Name → regular expression, from ``[redaction.extra]``; after the built-ins."""
    replacement: str = "[redacted:{name}]"
    """What a match becomes; ``{name}`` is the pattern's name."""


class Config(msgspec.Struct, frozen=True, kw_only=True):
    tool_prices: dict[str, Decimal] = {}
    hourly_rates: dict[str, Decimal] = {}
    workflows: dict[str, WorkflowConfig] = {}
    tokens: dict[str, TokenConfig] = {}
    """Token name → token, from ``[server.tokens.NAME]``."""
    redaction: RedactionConfig = RedactionConfig()
    """What readers do not see; every built-in pattern when ``[redaction]`` is absent."""
    source: str | None = None

    def hourly_rate(self, role: str | None, workflow: str | None = None) -> Decimal | None:
        """The rate for a role (the workflow's own first), else ``default``, else ``None``."""
        for rates in (self.workflow(workflow).hourly_rates, self.hourly_rates):
            if role is not None and role in rates:
                return rates[role]
        return self.workflow(workflow).hourly_rates.get("default",
                                                        self.hourly_rates.get("default"))

    def workflow(self, name: str | None) -> WorkflowConfig:
        """The workflow's settings; an unconfigured workflow has none (no baseline)."""
        return self.workflows.get(name or "", _NO_WORKFLOW)

    @property
    def pricing_fingerprint(self) -> str:
        """A short hash of every price here: stored analyses made under other prices
        are stale."""
        prices = {"tools": self.tool_prices, "hourly_rates": self.hourly_rates,
                  "workflows": {k: w.hourly_rates for k, w in sorted(self.workflows.items())
                                if w.hourly_rates}}
        return hashlib.sha256(msgspec.json.encode(prices, order="sorted")).hexdigest()[:12]


_ROLES = ("reader", "auditor", "ingest", "admin")


def _tokens(server: Any, *, path: str) -> dict[str, TokenConfig]:
    if server is None:
        return {}
    if not isinstance(server, dict) or set(server) - {"tokens"}:
        raise ConfigError(f"{path}: [server] holds only [server.tokens.NAME] tables")
    found: dict[str, TokenConfig] = {}
    for name, entry in (server.get("tokens") or {}).items():
        where = f"server.tokens.{name}"
        if not isinstance(entry, dict) or set(entry) != {"role", "sha256"}:
            raise ConfigError(f"{path}: [{where}] needs exactly role and sha256 "
                              "(`tracegraph token ROLE` prints one)")
        if entry["role"] not in _ROLES:
            raise ConfigError(f"{path}: {where}.role must be one of {', '.join(_ROLES)}")
        digest = str(entry["sha256"]).lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ConfigError(f"{path}: {where}.sha256 must be 64 hex digits")
        found[str(name)] = TokenConfig(role=entry["role"], sha256=digest)
    return found


_NO_WORKFLOW = WorkflowConfig()
_WORKFLOW_KEYS = {"unit", "value_usd", "baseline_usd", "baseline_label", "segments",
                  "hourly_rates"}


def _workflows(table: Any, *, path: str) -> dict[str, WorkflowConfig]:
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [workflows] must hold one table per workflow")
    found: dict[str, WorkflowConfig] = {}
    for name, entry in table.items():
        where = f"workflows.{name}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: [{where}] must be a table")
        unknown = sorted(set(entry) - _WORKFLOW_KEYS)
        if unknown:
            raise ConfigError(f"{path}: {where}.{unknown[0]} is not a setting (known: "
                              f"{', '.join(sorted(_WORKFLOW_KEYS))})")
        money = _amounts({k: entry[k] for k in ("value_usd", "baseline_usd") if k in entry},
                         path=path, section=where)
        segments = entry.get("segments", [])
        if not isinstance(segments, list) or not all(isinstance(s, str) for s in segments):
            raise ConfigError(f"{path}: {where}.segments must be a list of attribute names")
        for key in ("unit", "baseline_label"):
            if key in entry and not isinstance(entry[key], str):
                raise ConfigError(f"{path}: {where}.{key} must be a string")
        found[str(name)] = WorkflowConfig(
            unit=entry.get("unit"), value_usd=money.get("value_usd"),
            baseline_usd=money.get("baseline_usd"), baseline_label=entry.get("baseline_label"),
            segments=tuple(segments),
            hourly_rates=_amounts(entry.get("hourly_rates"), path=path,
                                  section=f"{where}.hourly_rates"))
    return found


def _amounts(table: Any, *, path: str, section: str) -> dict[str, Decimal]:
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [{section}] must be a table of name = amount")
    amounts: dict[str, Decimal] = {}
    for name, value in table.items():
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ConfigError(f"{path}: {section}.{name} must be an amount in USD, "
                              f"got {value!r}")
        try:
            amount = Decimal(repr(value) if isinstance(value, float) else str(value))
        except InvalidOperation:
            raise ConfigError(f"{path}: {section}.{name} is not a number: {value!r}") from None
        if not amount.is_finite() or amount < 0:
            raise ConfigError(f"{path}: {section}.{name} must be a non-negative amount")
        amounts[str(name)] = amount
    return amounts


_REDACTION_KEYS = {"patterns", "extra", "replacement"}
_PATTERN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


def _redaction(table: Any, *, path: str) -> RedactionConfig:
    """Check ``[redaction]`` now, so a typo fails the load rather than a reader's request
    (or, worse, silently redacts nothing)."""
    if table is None:
        return RedactionConfig()
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [redaction] must be a table")
    unknown = sorted(set(table) - _REDACTION_KEYS)
    if unknown:
        raise ConfigError(f"{path}: redaction.{unknown[0]} is not a setting (known: "
                          f"{', '.join(sorted(_REDACTION_KEYS))})")
    patterns = table.get("patterns", list(BUILTIN_REDACTION_PATTERNS))
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise ConfigError(f"{path}: redaction.patterns must be a list of pattern names")
    for name in patterns:
        if name not in BUILTIN_REDACTION_PATTERNS:
            raise ConfigError(f"{path}: redaction.patterns: {name!r} is not a built-in "
                              f"pattern (known: {', '.join(BUILTIN_REDACTION_PATTERNS)}); "
                              "put your own under [redaction.extra]")
    return RedactionConfig(patterns=tuple(dict.fromkeys(patterns)),
                           extra=_extra_patterns(table.get("extra"), path=path),
                           replacement=_replacement(table.get("replacement"), path=path))


def _extra_patterns(table: Any, *, path: str) -> dict[str, str]:
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [redaction.extra] must be a table of name = regex")
    found: dict[str, str] = {}
    for name, expression in table.items():
        where = f"redaction.extra.{name}"
        if not _PATTERN_NAME.fullmatch(name):
            raise ConfigError(f"{path}: {where}: a pattern name is a letter then letters, "
                              "digits, _ or - (it appears in the replacement)")
        if name in BUILTIN_REDACTION_PATTERNS:
            raise ConfigError(f"{path}: {where} has the name of a built-in pattern; "
                              "choose another name")
        if not isinstance(expression, str):
            raise ConfigError(f"{path}: {where} must be a regular expression (a string)")
        try:
            compiled = re.compile(expression)
        except re.error as exc:
            raise ConfigError(f"{path}: {where} is not a valid regular expression: "
                              f"{exc}") from None
        if compiled.fullmatch(""):
            raise ConfigError(f"{path}: {where} matches empty text, so it would match "
                              "everywhere (use + rather than *?)")
        found[name] = expression
    return found


def _replacement(value: Any, *, path: str) -> str:
    if value is None:
        return RedactionConfig().replacement
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{path}: redaction.replacement must be a non-empty string")
    try:
        fields = {field for _, field, _, _ in string.Formatter().parse(value)
                  if field is not None}
    except ValueError as exc:
        raise ConfigError(f"{path}: redaction.replacement: {exc} (write {{{{ for a "
                          "literal brace)") from None
    if fields - {"name"}:
        raise ConfigError(f"{path}: redaction.replacement may only use {{name}}, "
                          f"not {{{sorted(fields - {'name'})[0]}}}")
    return value


def load_config(path: str | Path | None = None) -> Config:
    """``path``, else ``$TRACEGRAPH_CONFIG``, else ``./tracegraph.toml`` if it exists."""
    explicit = path is not None or "TRACEGRAPH_CONFIG" in os.environ
    chosen = Path(path or os.environ.get("TRACEGRAPH_CONFIG") or DEFAULT_CONFIG)
    if not chosen.exists():
        if explicit:
            raise ConfigError(f"{chosen}: no such configuration file")
        return Config()
    try:
        data = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{chosen}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{chosen}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"tools", "hourly_rates", "workflows", "server",
                                  "redaction"})
    if unknown:
        raise ConfigError(f"{chosen}: [{unknown[0]}] is not a section tracegraph reads "
                          "(known: [tools], [hourly_rates], [workflows.NAME], "
                          "[server.tokens.NAME], [redaction])")
    return Config(tool_prices=_amounts(data.get("tools"), path=str(chosen), section="tools"),
                  hourly_rates=_amounts(data.get("hourly_rates"), path=str(chosen),
                                        section="hourly_rates"),
                  workflows=_workflows(data.get("workflows"), path=str(chosen)),
                  tokens=_tokens(data.get("server"), path=str(chosen)),
                  redaction=_redaction(data.get("redaction"), path=str(chosen)),
                  source=str(chosen))
