"""One tree of expected errors; anything else is a bug and is reported as one.

Surfaces turn a :class:`TracegraphError` into one sentence and an exit code (the
CLI) or an error code (the API); they never show a stack trace for these.
"""

from __future__ import annotations

__all__ = ["TracegraphError", "InputError", "UnknownFormatError", "StoreError", "NotFound"]


class TracegraphError(Exception):
    """Base of every error tracegraph expects and explains."""


class InputError(TracegraphError):
    """A record of an input file that cannot be read as a trace.

    Names the file, the record (line number for JSONL, index otherwise) and the
    field, so the user can open the file at the right place.
    """

    def __init__(self, message: str, *, source: str = "", record: str = "",
                 field: str = "", trace_id: str | None = None) -> None:
        self.message = message
        self.source = source
        self.record = record
        self.field = field
        self.trace_id = trace_id
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ", ".join(p for p in (self.source, self.record,
                                      f"field {self.field}" if self.field else "") if p)
        return f"{where}: {self.message}" if where else self.message

    def located(self, *, source: str | None = None, record: str | None = None,
                trace_id: str | None = None) -> "InputError":
        """The same error with the location filled in by an outer reader."""
        return InputError(self.message, source=source or self.source,
                          record=record or self.record, field=self.field,
                          trace_id=trace_id or self.trace_id)


class UnknownFormatError(TracegraphError):
    """No reader recognises the file."""


class StoreError(TracegraphError):
    """The store cannot be opened or written (wrong URL, newer schema, locked)."""


class NotFound(TracegraphError):
    """A trace or step id that the store does not hold."""
