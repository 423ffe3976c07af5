"""A real HTTP server for tests: the web app on 127.0.0.1 in a thread."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from werkzeug.serving import make_server
from werkzeug.wsgi import ClosingIterator


def free_port() -> int:
    """A port nothing listens on (right now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class _InFlight:
    """The app, counting the requests not yet finished: a request ends when its response is
    closed, after the work the app does on close (judging the events it just recorded)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.running = 0
        self.changed = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with self.changed:
            self.running += 1
        try:
            body: Iterable[bytes] = self.app(environ, start_response)
        except BaseException:
            self._done()
            raise
        return ClosingIterator(body, [self._done])

    def _done(self) -> None:
        with self.changed:
            self.running -= 1
            self.changed.notify_all()

    def wait(self, timeout: float) -> None:
        with self.changed:
            self.changed.wait_for(lambda: self.running == 0, timeout)


@contextmanager
def serving(app: Flask, port: int = 0) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 (``port`` 0 picks one); yields the base URL."""
    # werkzeug's request threads are daemons that server_close() does not wait for: a request
    # still judging would outlive the test's store, whose database is then dropped under it
    inflight = _InFlight(app)
    server = make_server("127.0.0.1", port, inflight, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        inflight.wait(30)
        thread.join(5)
