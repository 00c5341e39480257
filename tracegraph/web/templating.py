"""The Jinja2 environment of the web UI, and its static files.

Autoescape is on for every template: trace payloads are untrusted text from
other systems.  The only markup let through unescaped is what this package
builds itself (the SVG drawings of :mod:`tracegraph.render`), wrapped in
``Markup`` where it is made.  Static files are read from the package, never
from a CDN, so the UI works on an air-gapped machine.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from jinja2 import Environment, PackageLoader, StrictUndefined

from ..render.formatting import format_usd

__all__ = ["environment", "static_file", "STATIC"]

STATIC = {"ui.css": "text/css; charset=utf-8", "ui.js": "text/javascript; charset=utf-8"}
"""The static files the UI serves, by name, with their media types."""


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("tracegraph.web", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["usd"] = lambda amount: "-" if amount is None else format_usd(amount)
    return env


@cache
def static_file(name: str) -> str:
    """The text of one of :data:`STATIC` (a ``KeyError`` for anything else)."""
    STATIC[name]
    return files("tracegraph.web").joinpath("static", name).read_text("utf-8")
