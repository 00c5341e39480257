"""``tracegraph.toml``: the prices tracegraph cannot know by itself.

Model prices come from ``genai-prices``; what a tool call costs (a paid API,
an OCR page) and what an hour of a person's time costs are the user's to say::

    [tools]                 # USD per call
    ocr_invoice = "0.015"
    lookup_policy = "0.002"

    [hourly_rates]          # USD per hour, by the actor's role
    "senior adjuster" = "68.00"
    default = "45.00"       # any role not listed

Amounts are strings or numbers and are read as exact decimals.  A missing file
is an empty configuration: tool calls and human minutes are then *unpriced*
(listed as such), never silently free.
"""

from __future__ import annotations

import os
import tomllib
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import msgspec

from .errors import TracegraphError

__all__ = ["Config", "ConfigError", "load_config", "DEFAULT_CONFIG"]

DEFAULT_CONFIG = "tracegraph.toml"


class ConfigError(TracegraphError):
    """The configuration file cannot be read; names the file and the key."""


class Config(msgspec.Struct, frozen=True, kw_only=True):
    tool_prices: dict[str, Decimal] = {}
    hourly_rates: dict[str, Decimal] = {}
    source: str | None = None

    def hourly_rate(self, role: str | None) -> Decimal | None:
        """The rate for a role, else the ``default`` rate, else ``None`` (unpriced)."""
        if role is not None and role in self.hourly_rates:
            return self.hourly_rates[role]
        return self.hourly_rates.get("default")


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
    return Config(tool_prices=_amounts(data.get("tools"), path=str(chosen), section="tools"),
                  hourly_rates=_amounts(data.get("hourly_rates"), path=str(chosen),
                                        section="hourly_rates"),
                  source=str(chosen))
