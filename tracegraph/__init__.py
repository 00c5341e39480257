"""tracegraph: agent traces as a decision graph, priced, with evidence."""

__version__ = "0.1.0"
