"""Import files into a store: the use case behind ``tracegraph import`` and the API.

Reads each file with its reader (detected unless forced), groups the traces
into batches of about ``batch_steps`` steps and writes each batch in one
transaction.  Memory stays flat: a batch is the most that is ever held.
Rejected records are collected with their reasons (file, record, field) and
never stop the rest of the file unless ``strict``.
"""

from __future__ import annotations

import gc
import os
import shutil
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator

from ..errors import InputError, TracegraphError
from ..formats import read_stream
from ..model import Trace
from ..store import Store, WriteResult
from .parsing_worker import parse_in_worker

__all__ = ["FileReport", "ImportReport", "import_paths", "import_stream", "import_traces",
           "expand_paths", "StrictImportError"]

TRACE_SUFFIXES = (".json", ".jsonl", ".ndjson")


class StrictImportError(TracegraphError):
    """``--strict``: the first rejected record stops the import."""

    def __init__(self, error: InputError) -> None:
        self.error = error
        super().__init__(f"{error} (stopped: --strict)")


@dataclass
class FileReport:
    """What one file gave: by format, traces and steps written, records rejected."""

    path: str
    format: str = ""
    traces: int = 0
    steps: int = 0
    unchanged: int = 0
    rejected: list[InputError] = field(default_factory=list)
    failed: str | None = None
    """Why the whole file could not be read (unknown format, unreadable)."""


@dataclass
class ImportReport:
    files: list[FileReport] = field(default_factory=list)

    @property
    def traces(self) -> int:
        return sum(f.traces for f in self.files)

    @property
    def steps(self) -> int:
        return sum(f.steps for f in self.files)

    @property
    def rejected(self) -> int:
        return sum(len(f.rejected) for f in self.files) + sum(1 for f in self.files if f.failed)

    @property
    def ok(self) -> bool:
        return self.rejected == 0


ProgressFn = Callable[[int], None]
"""Called with the number of bytes read so far in the current file."""


PARALLEL_MIN_BYTES = 4 << 20
"""Smaller files are read in-process: starting a reader costs more than it saves."""

STDIN = "-"
"""The path that means standard input (``cat export.jsonl | tracegraph import -``)."""


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files named, and the trace files under folders named, in a stable order."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if str(raw) == STDIN:
            found.append(path)
            continue
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*")
                                if p.is_file() and p.suffix.lower() in TRACE_SUFFIXES))
        else:
            found.append(path)
    return found


def import_paths(store: Store, paths: Iterable[str | Path], *, format: str | None = None,
                 strict: bool = False, batch_steps: int = 5_000, parallel: bool = True,
                 on_file: Callable[[Path, int], ProgressFn] | None = None) -> ImportReport:
    """Import every file; ``on_file(path, size)`` may return a progress callback.

    Files of ``PARALLEL_MIN_BYTES`` or more are parsed in a child process while
    this one writes (``parallel``), except under ``strict``, where nothing may
    be read ahead of a rejection.
    """
    report = ImportReport()
    for path in expand_paths(paths):
        file_report = FileReport(path=str(path))
        report.files.append(file_report)
        source = str(path)
        try:
            if str(path) == STDIN:
                path, source = _spool_stdin(), "<stdin>"
                file_report.path = source
            size = path.stat().st_size
            progress = on_file(path, size) if on_file else None
            if strict or not parallel or size < PARALLEL_MIN_BYTES:
                with open(path, "rb") as stream:
                    import_stream(store, stream, source=source, format=format,
                                  strict=strict, batch_steps=batch_steps, report=file_report,
                                  progress=progress)
            else:
                _import_file_in_parallel(store, path, source=source, format=format,
                                         batch_steps=batch_steps, report=file_report,
                                         progress=progress)
        except StrictImportError:
            raise
        except OSError as exc:
            file_report.failed = f"{source}: cannot read: {exc.strerror or exc}"
            if strict:
                raise StrictImportError(InputError(file_report.failed)) from None
        except TracegraphError as exc:
            file_report.failed = str(exc)
            if strict:
                raise StrictImportError(InputError(str(exc))) from None
        finally:
            if source == "<stdin>":
                path.unlink(missing_ok=True)
    return report


def _spool_stdin() -> Path:
    """Standard input copied to a temporary file, in chunks.

    Readers need to look at a file's first record and then read it from the
    start (and the reader process opens it by name), which a pipe cannot do.
    """
    with tempfile.NamedTemporaryFile(prefix="tracegraph-stdin-", suffix=".jsonl",
                                     delete=False) as spool:
        shutil.copyfileobj(sys.stdin.buffer, spool, 1 << 20)
    return Path(spool.name)


def _import_file_in_parallel(store: Store, path: Path, *, source: str, format: str | None,
                             batch_steps: int, report: FileReport,
                             progress: ProgressFn | None) -> None:
    if format is None:
        with open(path, "rb") as stream:
            format, _ = read_stream(stream, source=source)  # detection only
    report.format = format
    with _relaxed_gc():
        for parsed in parse_in_worker(str(path), source=source, format=format,
                                      batch_steps=batch_steps):
            report.rejected.extend(parsed.rejected)
            if parsed.traces:
                _record(report, store.write_traces(parsed.traces), source=source,
                        strict=False)
            if progress is not None:
                progress(parsed.position)


def _record(report: FileReport, result: WriteResult, *, source: str, strict: bool) -> None:
    """Count a batch's write in the report; under ``strict`` a rejection stops all."""
    report.traces += result.traces_written
    report.steps += result.steps_written
    report.unchanged += result.traces_unchanged
    for error in result.rejected:
        located = error.located(source=source)
        report.rejected.append(located)
        if strict:
            raise StrictImportError(located)


def import_stream(store: Store, stream: IO[bytes], *, source: str, format: str | None = None,
                  strict: bool = False, batch_steps: int = 5_000,
                  report: FileReport | None = None,
                  progress: ProgressFn | None = None) -> FileReport:
    """Import one seekable stream (a file, or an API payload in a ``BytesIO``)."""
    report = report or FileReport(path=source)
    report.format, items = read_stream(stream, source=source, format=format)

    def after_batch() -> None:
        if progress is not None:
            try:
                progress(stream.tell())
            except (OSError, ValueError):
                pass

    import_traces(store, items, source=source, strict=strict, batch_steps=batch_steps,
                  report=report, after_batch=after_batch)
    if progress is not None:
        try:
            progress(os.fstat(stream.fileno()).st_size)
        except (OSError, AttributeError, ValueError):
            pass
    return report


def import_traces(store: Store, items: Iterable[Trace | InputError], *, source: str,
                  strict: bool = False, batch_steps: int = 5_000,
                  report: FileReport | None = None,
                  after_batch: Callable[[], None] | None = None) -> FileReport:
    """Write traces a reader gave (errors among them are counted as rejected).

    The one write path of every import: batches of about ``batch_steps`` steps,
    one transaction each, fragments merged by the store.  ``POST /v1/traces``
    calls it with the traces of one decoded request.
    """
    report = report or FileReport(path=source)
    with _relaxed_gc():
        for batch in _batches(iter(items), batch_steps, report, strict):
            _record(report, store.write_traces(batch), source=source, strict=strict)
            if after_batch is not None:
                after_batch()
    return report


_gc_lock = threading.Lock()
_gc_relaxed = 0
_gc_thresholds: tuple[int, int, int] = gc.get_threshold()


@contextmanager
def _relaxed_gc() -> Iterator[None]:
    """Run the cyclic collector less often while importing.

    Parsing allocates millions of small acyclic objects (dicts, structs); at
    the default thresholds the collector runs every 700 allocations and costs
    about a tenth of the import.  Reference counting frees them either way.
    The thresholds are the process's: imports running at once in a server's
    threads share one relaxation, and the last to finish restores them.
    """
    global _gc_relaxed, _gc_thresholds
    with _gc_lock:
        if _gc_relaxed == 0:
            _gc_thresholds = gc.get_threshold()
            gc.set_threshold(100_000, 50, 50)
        _gc_relaxed += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_relaxed -= 1
            if _gc_relaxed == 0:
                gc.set_threshold(*_gc_thresholds)


def _batches(items: Iterator[Trace | InputError], batch_steps: int, report: FileReport,
             strict: bool) -> Iterator[list[Trace]]:
    batch: list[Trace] = []
    size = 0
    for item in items:
        if isinstance(item, InputError):
            report.rejected.append(item)
            if strict:
                raise StrictImportError(item)
            continue
        batch.append(item)
        size += len(item.steps) + 1
        if size >= batch_steps:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch
