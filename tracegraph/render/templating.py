"""The one Jinja2 environment every HTML report renders with.

Autoescape is on for every template, whatever its name, because report
labels are user data; the only markup let through unescaped is what this
package builds itself (charts from :mod:`.charts`, the stylesheet from
``static/``), wrapped in ``Markup`` at the call site that vouches for it.
Undefined names fail loudly so that a renamed field is a test failure, not a
blank cell.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

__all__ = ["environment", "stylesheet"]


@cache
def environment() -> Environment:
    """Templates from ``tracegraph/render/templates``, escaped, strict about names."""
    return Environment(loader=PackageLoader("tracegraph.render", "templates"),
                       autoescape=True, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


@cache
def stylesheet(name: str = "report.css") -> Markup:
    """A stylesheet from ``static/``, to inline into a ``<style>`` element.

    Inlined rather than linked so that a report is one file that opens offline.
    """
    return Markup(files("tracegraph.render").joinpath("static", name).read_text("utf-8"))
