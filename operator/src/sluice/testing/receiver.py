"""A real HTTP receiver for notification tests: records every POST, answers as told."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    """One request as the receiver got it."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered (0: it never answered)

    def json(self) -> Any:
        """The body, parsed."""
        return json.loads(self.body)


class Receiver:
    """Answers each POST with the next planned status (then 200), or hangs while `hang` is set."""

    def __init__(self, plan: list[int] | None = None) -> None:
        self.plan = list(plan or [])
        self.hang = threading.Event()
        self.received: list[Received] = []
        self.answered = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                if receiver.hang.is_set():
                    receiver._record(Received(self.path, headers, body, 0))
                    while receiver.hang.is_set():
                        time.sleep(0.1)
                    return  # the client gave up long ago; answer nothing
                with receiver._lock:
                    status = receiver.plan.pop(0) if receiver.plan else 200
                receiver._record(Received(self.path, headers, body, status))
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"try again later")
                with receiver._lock:
                    receiver.answered += 1

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _record(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)

    def requests(self, path: str | None = None) -> list[Received]:
        """What arrived so far (on this path, when given)."""
        with self._lock:
            return [r for r in self.received if path is None or r.path == path]

    def close(self) -> None:
        """Stop serving (and release hanging handlers)."""
        self.hang.clear()
        self.server.shutdown()
        self.server.server_close()
