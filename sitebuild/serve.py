"""HTTP side of ``python -m sitebuild serve``: a static server for the output folder on
127.0.0.1 that, in preview mode, injects a reload script into HTML responses (never into the
files) and streams build events to it over Server-Sent Events (``/__preview/events``)."""

from __future__ import annotations

import contextlib
import errno
import functools
import http.server
import json
import queue
import re
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import ClassVar

PREFIX = "/__preview/"
CLIENT_JS = Path(__file__).resolve().parent / "preview_client.js"
PORT_ATTEMPTS = 20
_BODY_END = re.compile(rb"</body\s*>", re.I)
_NOT_BUILT = (b"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Not built yet"
              b"</title></head><body><p>This page is not built (yet). It appears here when it "
              b"is.</p></body></html>")


class Hub:
    """Build events for every connected tab, and which pages the tabs show.

    ``generation`` grows with every published build; ``changed_at`` remembers when each
    output path last changed, so a tab served before a build it missed reloads on connect."""

    def __init__(self):
        self._lock = threading.Lock()
        self._clients: dict[queue.Queue, str] = {}
        self.generation = time.time_ns()
        self.changed_at: dict[str, int] = {}
        self.state: tuple[str, dict] | None = None  # the latest building/failed event

    def subscribe(self, page: str, since: int) -> queue.Queue:
        inbox: queue.Queue = queue.Queue()
        with self._lock:
            self._clients[inbox] = page
            if self.changed_at.get(page, 0) > since or self.changed_at.get("*", 0) > since:
                inbox.put(("reload", {"page": page}))
            elif self.state:
                inbox.put(self.state)
        return inbox

    def unsubscribe(self, inbox: queue.Queue) -> None:
        with self._lock:
            self._clients.pop(inbox, None)

    def open_pages(self) -> set[str]:
        """Output paths (``tutorials/x.html``) shown in connected tabs."""
        with self._lock:
            return set(self._clients.values())

    def publish(self, event: str, data: dict) -> None:
        with self._lock:
            if event == "built":
                self.generation = max(self.generation + 1, time.time_ns())
                for path in data.get("changed", []):
                    self.changed_at[path] = self.generation
                data = {**data, "generation": self.generation}
                self.state = None
            elif event in ("building", "failed"):
                self.state = (event, data)
            for inbox in self._clients:
                inbox.put((event, data))

    def close(self) -> None:
        with self._lock:
            for inbox in self._clients:
                inbox.put(None)
            self._clients.clear()


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map: ClassVar[dict[str, str]] = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".svg": "image/svg+xml", ".json": "application/json", ".js": "text/javascript",
        ".ipynb": "application/x-ipynb+json"}

    def __init__(self, *args, hub: Hub | None = None, **kwargs):
        self.hub = hub
        super().__init__(*args, **kwargs)

    def log_request(self, code="-", size="-"):
        if str(code).isdigit() and int(code) >= 400:  # only problems, not every request
            super().log_request(code, size)

    def end_headers(self):
        if self.hub is not None:  # preview: the browser re-validates everything
            self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def do_GET(self):
        self._respond(body=True)

    def do_HEAD(self):
        self._respond(body=False)

    def _respond(self, body: bool) -> None:
        url = urllib.parse.urlsplit(self.path)
        if self.hub is not None and url.path.startswith(PREFIX):
            return self._preview(url, body)
        target = Path(self.translate_path(url.path))
        if url.path.endswith("/"):
            target = target / "index.html"
        if self.hub is None or target.suffix != ".html":  # includes folder → folder/ redirects
            return super().do_GET() if body else super().do_HEAD()
        self._html(target, body)

    def _html(self, target: Path, body: bool) -> None:
        generation = self.hub.generation  # before reading: a later build makes the tab reload
        try:
            data, status = target.read_bytes(), 200
        except OSError:
            data, status = _NOT_BUILT, 404
        tag = (f'<script src="{PREFIX}client.js" data-generation="{generation}"></script>'
               ).encode()
        ends = list(_BODY_END.finditer(data))
        at = ends[-1].start() if ends else len(data)
        data = data[:at] + tag + data[at:]
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _preview(self, url, body: bool) -> None:
        if url.path == PREFIX + "client.js":
            data = CLIENT_JS.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data)
        elif url.path == PREFIX + "events" and body:
            self._events(urllib.parse.parse_qs(url.query))
        else:
            self.send_error(404)

    def _events(self, query: dict) -> None:
        page = (query.get("page") or ["index.html"])[0].lstrip("/")
        try:
            since = int((query.get("generation") or ["0"])[0])
        except ValueError:
            since = 0
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        inbox = self.hub.subscribe(page, since)
        try:
            self.wfile.write(b"retry: 1000\n\n")
            self.wfile.flush()
            while True:
                try:
                    item = inbox.get(timeout=15)
                except queue.Empty:
                    self.wfile.write(b": ping\n\n")  # finds closed tabs
                else:
                    if item is None:
                        break
                    event, data = item
                    self.wfile.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            pass
        finally:
            self.hub.unsubscribe(inbox)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def bind(directory: Path, port: int, hub: Hub | None = None,
         attempts: int = PORT_ATTEMPTS) -> http.server.ThreadingHTTPServer:
    """A server for ``directory`` on 127.0.0.1: ``port``, or the next free one when it is in
    use (saying so on stderr); port 0 picks any free port. Not yet serving."""
    handler = functools.partial(_Handler, directory=str(directory), hub=hub)
    for offset in range(attempts if port else 1):
        try:
            httpd = _Server(("127.0.0.1", port + offset if port else 0), handler)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            continue
        if offset:
            print(f"port {port} is in use; using {port + offset} instead", file=sys.stderr)
        return httpd
    raise OSError(errno.EADDRINUSE, f"ports {port}-{port + attempts - 1} are all in use; "
                  "choose another with --port")


@contextlib.contextmanager
def running(httpd: http.server.ThreadingHTTPServer, hub: Hub | None = None):
    """Serve in a daemon thread for the duration of the block; close tabs' streams after."""
    thread = threading.Thread(target=httpd.serve_forever, name="sitebuild-serve", daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        if hub is not None:
            hub.close()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def url_of(httpd) -> str:
    return f"http://localhost:{httpd.server_address[1]}/"


def serve_directory(directory: Path, port: int) -> int:
    """Serve ``directory`` as it is (no watching, no reload) until Ctrl-C."""
    try:
        httpd = bind(directory, port)
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    with running(httpd):
        print(f"Serving {directory} at {url_of(httpd)} (Ctrl-C to stop)", file=sys.stderr)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("\nstopped", file=sys.stderr)
    return 0
