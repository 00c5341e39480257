"""The waste report's figures folded from rows, the same for every store.

Each store reads its own way (SQL over tables, Cypher over the graph) but hands
the same rows here: one per analysed trace, and one per (tool, model, reason)
group of wasted steps.  Money arrives as exact decimals (or their text) and is
summed exactly; the result is the dict ``Store.waste_totals`` promises.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Sequence

__all__ = ["WasteFold"]

_ZERO = Decimal(0)


def _amount(value: str | Decimal) -> Decimal:
    """Most stored amounts of a kind are zero: one shared Decimal for them, no parsing."""
    if isinstance(value, Decimal):
        return value
    return _ZERO if value == "0" else Decimal(value)


class WasteFold:
    """Add traces and wasted-step groups, then read the totals."""

    def __init__(self) -> None:
        self.sums = dict.fromkeys(("cost", "wasted", "bloat_usd", "human_minutes", "retry"),
                                  _ZERO)
        self.counts = dict.fromkeys(("traces", "steps", "unpriced", "bloat_tokens",
                                     "successes", "first_try"), 0)
        self.workflows: dict[str | None, list[Any]] = {}
        self.per_trace: list[tuple[Decimal, str, str | None, str, Decimal]] = []
        self.by_reason: dict[str, Decimal] = {}
        self.by_tool: dict[str, Decimal] = {}
        self.by_model: dict[str, Decimal] = {}
        self.wasted_steps: dict[str, int] = {}
        self.retried: dict[str, list[Any]] = {}

    def add_trace(self, trace_id: str, workflow: str | None, outcome: str, steps: int,
                  cost: str | Decimal, wasted: str | Decimal, unpriced: int,
                  bloat_tokens: int, bloat_usd: str | Decimal, human_minutes: str | Decimal,
                  failed_attempts: int, retry_usd: str | Decimal) -> None:
        spent, lost = _amount(cost), _amount(wasted)
        sums, counts = self.sums, self.counts
        sums["cost"] += spent
        sums["wasted"] += lost
        sums["retry"] += _amount(retry_usd)
        sums["bloat_usd"] += _amount(bloat_usd)
        sums["human_minutes"] += _amount(human_minutes)
        counts["traces"] += 1
        counts["steps"] += steps
        counts["unpriced"] += unpriced
        counts["bloat_tokens"] += bloat_tokens
        counts["successes"] += outcome == "success"
        counts["first_try"] += outcome == "success" and not failed_attempts
        row = self.workflows.setdefault(workflow, [0, _ZERO, _ZERO])
        row[0] += 1
        row[1] += spent
        row[2] += lost
        self.per_trace.append((spent, trace_id, workflow, outcome, lost))

    def add_wasted(self, tool: str | None, model: str | None, reason: str, count: int,
                   usd: Decimal) -> None:
        self.by_reason[reason] = self.by_reason.get(reason, _ZERO) + usd
        self.wasted_steps[reason] = self.wasted_steps.get(reason, 0) + count
        if tool is not None:
            self.by_tool[tool] = self.by_tool.get(tool, _ZERO) + usd
            if reason == "failed_attempt":
                entry = self.retried.setdefault(tool, [0, _ZERO])
                entry[0] += count
                entry[1] += usd
        if model is not None:
            self.by_model[model] = self.by_model.get(model, _ZERO) + usd

    def totals(self, documents: Sequence[tuple[str, int, int, int]]) -> dict[str, Any]:
        """What ``Store.waste_totals`` returns, with the store's document rows."""
        per_trace = sorted(self.per_trace, key=lambda row: (-row[0], row[1]))
        sums, counts = self.sums, self.counts
        return {"traces": counts["traces"], "steps": counts["steps"],
                "total_usd": sums["cost"], "wasted_usd": sums["wasted"],
                "unpriced_steps": counts["unpriced"],
                "context_bloat_tokens": counts["bloat_tokens"],
                "context_bloat_usd": sums["bloat_usd"],
                "successes": counts["successes"], "first_try_successes": counts["first_try"],
                "human_minutes": sums["human_minutes"], "retry_usd": sums["retry"],
                "by_reason": self.by_reason, "wasted_steps": self.wasted_steps,
                "by_tool": self.by_tool, "by_model": self.by_model,
                "by_workflow": [(name, n, cost, wasted) for name, (n, cost, wasted) in
                                sorted(self.workflows.items(),
                                       key=lambda kv: (kv[0] is None, kv[0] or ""))],
                "retried_tools": sorted(((tool, n, usd) for tool, (n, usd)
                                         in self.retried.items()),
                                        key=lambda r: (-r[1], r[0]))[:20],
                "documents": list(documents),
                "costliest": [(t, name, outcome, cost, wasted)
                              for cost, t, name, outcome, wasted in per_trace[:10]],
                "costs": [row[0] for row in reversed(per_trace)]}
