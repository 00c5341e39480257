"""Parse a file in a second process while this one writes: the import's two cores.

Reading a trace file is pure Python work (JSON to structs) and holds the GIL;
writing is SQLite work.  Threads could not overlap them (measured: slower), so
the reader runs in a child process and hands over batches encoded with
msgpack, which decodes back into the same structs in a fraction of the time it
took to build them.  At most ``QUEUE_DEPTH`` batches wait, so memory stays
bounded however large the file.  The child stops by itself when its parent is
gone (an import killed with SIGKILL leaves no reader behind).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from typing import Any, Iterator

import msgspec

from ..errors import InputError, TracegraphError
from ..formats import read_stream
from ..model import Trace

__all__ = ["ParsedBatch", "parse_in_worker"]

QUEUE_DEPTH = 2
_POLL_SECONDS = 1.0


class ParsedBatch(msgspec.Struct, frozen=True):
    """Traces read, records rejected, and how far into the file the reader is."""

    traces: list[Trace]
    rejected: list[InputError]
    position: int


_ErrorFields = tuple[str, str, str, str, str | None]


def _fields(error: InputError) -> _ErrorFields:
    return (error.message, error.source, error.record, error.field, error.trace_id)


def _error(fields: _ErrorFields) -> InputError:
    message, source, record, field, trace_id = fields
    return InputError(message, source=source, record=record, field=field, trace_id=trace_id)


def _put(out: Any, item: Any, parent: int) -> None:
    while True:
        try:
            out.put(item, timeout=_POLL_SECONDS)
            return
        except queue.Full:
            if os.getppid() != parent:  # the importer is gone: nobody will read this
                os._exit(0)


def _read_file(path: str, source: str, format: str, batch_steps: int, out: Any,
               parent: int) -> None:
    """The child's work: read ``path`` and put encoded batches on ``out``."""
    encoder = msgspec.msgpack.Encoder(decimal_format="string")
    try:
        with open(path, "rb") as stream:
            _, items = read_stream(stream, source=source, format=format)
            traces: list[Trace] = []
            errors: list[_ErrorFields] = []
            size = 0
            for item in items:
                if isinstance(item, InputError):
                    errors.append(_fields(item))
                    continue
                traces.append(item)
                size += len(item.steps) + 1
                if size >= batch_steps:
                    _put(out, ("batch", encoder.encode(traces), errors, stream.tell()), parent)
                    traces, errors, size = [], [], 0
            _put(out, ("batch", encoder.encode(traces), errors, stream.tell()), parent)
        _put(out, ("done",), parent)
    except TracegraphError as exc:
        _put(out, ("failed", str(exc)), parent)
    except OSError as exc:
        _put(out, ("failed", f"{source}: cannot read: {exc.strerror or exc}"), parent)


def parse_in_worker(path: str, *, format: str, batch_steps: int,
                    source: str | None = None) -> Iterator[ParsedBatch]:
    """Batches of ``path`` read by a child process, in file order.

    Raises :class:`TracegraphError` if the child could not read the file, or
    died without saying why.
    """
    context: Any = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
    out = context.Queue(maxsize=QUEUE_DEPTH)
    child = context.Process(target=_read_file, name="tracegraph-reader", daemon=True,
                            args=(path, source or path, format, batch_steps, out,
                                  os.getpid()))
    child.start()
    decoder = msgspec.msgpack.Decoder(list[Trace])
    try:
        while True:
            try:
                message = out.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if not child.is_alive():
                    raise TracegraphError(
                        f"{path}: the reader process stopped (exit code {child.exitcode})"
                    ) from None
                continue
            if message[0] == "done":
                return
            if message[0] == "failed":
                raise TracegraphError(message[1])
            _, blob, errors, position = message
            yield ParsedBatch(traces=decoder.decode(blob),
                              rejected=[_error(e) for e in errors], position=position)
    finally:
        if child.is_alive():
            child.terminate()
        child.join()
        out.close()
