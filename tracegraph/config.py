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

Amounts are strings or numbers and are read as exact decimals.  A missing file
is an empty configuration: tool calls and human minutes are then *unpriced*
(listed as such), never silently free, and a workflow has no baseline.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import msgspec

from .errors import TracegraphError

__all__ = ["Config", "ConfigError", "WorkflowConfig", "TokenConfig", "load_config",
           "DEFAULT_CONFIG"]

DEFAULT_CONFIG = "tracegraph.toml"


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


class Config(msgspec.Struct, frozen=True, kw_only=True):
    tool_prices: dict[str, Decimal] = {}
    hourly_rates: dict[str, Decimal] = {}
    workflows: dict[str, WorkflowConfig] = {}
    tokens: dict[str, TokenConfig] = {}
    """Token name → token, from ``[server.tokens.NAME]``."""
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
    unknown = sorted(set(data) - {"tools", "hourly_rates", "workflows", "server"})
    if unknown:
        raise ConfigError(f"{chosen}: [{unknown[0]}] is not a section tracegraph reads "
                          "(known: [tools], [hourly_rates], [workflows.NAME], "
                          "[server.tokens.NAME])")
    return Config(tool_prices=_amounts(data.get("tools"), path=str(chosen), section="tools"),
                  hourly_rates=_amounts(data.get("hourly_rates"), path=str(chosen),
                                        section="hourly_rates"),
                  workflows=_workflows(data.get("workflows"), path=str(chosen)),
                  tokens=_tokens(data.get("server"), path=str(chosen)),
                  source=str(chosen))
