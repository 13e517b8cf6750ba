"""Live preview, as ``quarto preview`` does: ``python -m sitebuild serve`` builds the site,
serves it, watches the sources and the ``mlsysim`` package, rebuilds what changed one page at a
time and reloads the tabs that show a rebuilt page.

What a change rebuilds: a page's source → that page (all pages when its title changes, as the
navigation shows titles); a ``_metadata.yml`` → the pages below it; ``_quarto*.yml``, filters,
bibliographies, an added or removed page, the package → every page (the content cache decides
which re-execute: the package is in every page's key). Stylesheets and images are copied
without a rebuild. Pages being edited go first, then pages open in a tab, then the rest; a save
during a build is picked up right after it. A page that fails shows its error in the tab (the
builder's error page) until a save fixes it.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

from . import preview_kernels
from .build import build_site, copy_support_files, format_errors, site_chrome
from .cache import package_digest
from .config import load_site
from .errors import BuildError, PageNotFoundError
from .navigation import out_path, plain_title
from .preview_watch import Watcher
from .qmd import QmdSyntaxError, split_front_matter
from .serve import Hub, bind, running, serve_directory, url_of

QUIET = 0.1        # seconds a changed file must stay unchanged before a build starts
MAX_SETTLE = 2.0   # ... but a file written without pause does not hold builds off longer
_FIGURES = re.compile(r"^(.*?)_files/")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder``: relative POSIX path → (mtime_ns, size)."""
    files = {}
    for dirpath, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(dirpath, name)
            try:
                stat = os.stat(path)
            except OSError:
                continue
            files[os.path.relpath(path, folder).replace(os.sep, "/")] = (stat.st_mtime_ns,
                                                                         stat.st_size)
    return files


def changed_pages(before: dict, after: dict) -> list[str]:
    """Output pages whose HTML, figures or notebook changed; ``*`` for any other file."""
    pages = set()
    for path in (p for p in before.keys() | after.keys() if before.get(p) != after.get(p)):
        if path == "search.json":
            continue
        if path.endswith(".ipynb"):
            path = path[:-len(".ipynb")] + ".html"
        figures = _FIGURES.match(path)
        pages.add(path if path.endswith(".html") else
                  f"{figures.group(1)}.html" if figures else "*")
    return sorted(pages)


def _stamps(batch: set) -> dict:
    stamps = {}
    for _kind, path, _change in batch:
        try:
            stat = path.stat()
            stamps[path] = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamps[path] = None
    return stamps


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _shown(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix() if root in path.parents else str(path)


def page_title(root: Path, rel: str) -> str | None:
    try:
        fm, _, _ = split_front_matter((root / rel).read_text(encoding="utf-8"), rel)
    except (OSError, ValueError, QmdSyntaxError):  # ValueError: not UTF-8
        return None
    return plain_title(fm.get("title") or Path(rel).stem)


class Previewer:
    """The build loop: takes change batches from ``changes``, keeps the pages still to build
    in ``stale`` and publishes every build to ``hub``."""

    def __init__(self, root: Path, hub: Hub, pool, *, profile: str | None, jobs: int | None,
                 timeout: int = 600):
        self.root, self.hub, self.pool = Path(root).resolve(), hub, pool
        self.profile, self.jobs, self.timeout = profile, jobs, timeout
        self.site = load_site(self.root, profile)
        self.changes: queue.Queue[set] = queue.Queue()
        self.stop = threading.Event()
        self.stale: dict[str, None] = {}   # pages to build, in order of discovery
        self.edited: list[str] = []        # pages saved in this session, latest first
        self.listed: list[str] = []
        self.titles: dict[str, str | None] = {}
        self.sources: dict[str, str | None] = {}  # digest of each page's source when built
        self.blocked = False               # the project cannot build until the next change
        self.outputs = snapshot(self.site.output_dir)

    # -- events ----------------------------------------------------------------------------
    def _publish(self, **extra) -> None:
        after = snapshot(self.site.output_dir)
        changed = changed_pages(self.outputs, after)
        self.outputs = after
        self.hub.publish("built", {"changed": changed, "more": bool(self.stale), **extra})

    def _fail(self, message: str) -> None:
        self.blocked = True
        log(f"error: {message}")
        self.hub.publish("failed", {"message": message})

    # -- planning --------------------------------------------------------------------------
    def _add(self, pages) -> None:
        for rel in pages:
            self.stale.setdefault(rel, None)

    def _index(self, listed: list[str]) -> None:
        self.listed = listed
        self.titles = {rel: page_title(self.root, rel) for rel in listed}

    def plan(self, batch: set) -> None:
        """Turn a batch of ``(kind, path, change)`` into pages to build (or copied assets)."""
        try:
            site = load_site(self.root, self.profile)
            listed, _ = site.render_list()
        except BuildError as exc:
            return self._fail(str(exc))
        self.site, self.blocked = site, False
        everything = set(listed) != set(self.listed)
        assets, edited, planned = False, [], len(self.stale)
        for kind, path, _change in sorted(batch, key=str):
            rel = path.relative_to(self.root).as_posix() if self.root in path.parents else ""
            if kind == "package":
                package_digest.cache_clear()
                everything = True
            elif kind == "config":
                everything = True
            elif kind == "metadata":
                folder = str(Path(rel).parent.as_posix())
                self._add(p for p in listed if folder == "." or p.startswith(folder + "/"))
            elif kind == "asset":
                assets = True
            elif kind == "page" and rel in listed and (
                    rel not in self.sources or _digest(path) != self.sources[rel]):
                edited.append(rel)  # (a save that changed nothing rebuilds nothing)
        for rel in edited:
            everything |= page_title(self.root, rel) != self.titles.get(rel)
            self.edited = [rel] + [e for e in self.edited if e != rel]
            self._add([rel])
        if everything or assets or edited or len(self.stale) > planned:
            names = sorted({_shown(self.root, path) for _kind, path, _change in batch})
            log(f"changed: {', '.join(names[:6])}" + (f" (+{len(names) - 6})"
                                                      if len(names) > 6 else "")
                + (" → every page" if everything else ""))
        if everything:
            self._index(listed)
            self._add(listed)
        self.stale = {rel: None for rel in self.stale if rel in listed}
        if assets:
            copy_support_files(site, site_chrome(site))
            log("copied stylesheets and assets")
            self._publish()

    def next_page(self) -> str:
        for rel in self.edited:
            if rel in self.stale:
                return rel
        shown = self.hub.open_pages()
        return next((rel for rel in self.stale if out_path(rel) in shown), next(iter(self.stale)))

    # -- building --------------------------------------------------------------------------
    def initial_build(self) -> None:
        self.hub.publish("building", {"pages": []})
        listed, _ = self.site.render_list()
        self.sources = {rel: _digest(self.root / rel) for rel in listed}
        try:
            report = build_site(self.root, profile=self.profile, jobs=self.jobs,
                                allow_missing=True, error_pages=True, timeout=self.timeout,
                                log=log)
        except BuildError as exc:
            return self._fail(str(exc))
        self._index(listed)
        if report.errors:
            log(format_errors(report.errors))
        log(f"built {len(report.results)} pages in {report.seconds:.1f} s"
            + (f"; {len(report.errors)} failed (their tabs show the error)" if report.errors
               else ""))
        self._publish()

    def build(self, rel: str) -> None:
        """Build one page in this process (where the pre-started kernels are)."""
        self.hub.publish("building", {"pages": [rel], "left": len(self.stale) - 1})
        request, adopted = self.pool.latest, self.pool.adopted
        self.sources[rel] = _digest(self.root / rel)
        start = time.perf_counter()
        try:
            report = build_site(self.root, profile=self.profile, pages=[rel], jobs=1,
                                allow_missing=True, error_pages=True, timeout=self.timeout,
                                log=log)
        except PageNotFoundError:  # removed meanwhile
            self.stale.pop(rel, None)
            return self._publish()
        except BuildError as exc:
            return self._fail(str(exc))
        self.stale.pop(rel, None)
        if report.errors:
            log(format_errors(report.errors))
        seconds = time.perf_counter() - start
        log(f"{'FAILED' if report.errors else 'rebuilt'} {rel} in {seconds:.1f} s"
            + (" (pre-started kernel)" if self.pool.adopted > adopted else "")
            + (f"; {len(self.stale)} page(s) to go" if self.stale else ""))
        self._publish(page=out_path(rel), errors=len(report.errors))
        started = self.pool.latest
        if started is not request and started is not None and self.edited[:1] == [rel]:
            self.pool.prepare(started)  # for the next save of the page being edited

    def _drain(self) -> set:
        batch: set = set()
        while True:
            try:
                batch |= self.changes.get_nowait()
            except queue.Empty:
                return batch

    def _take(self, block: bool) -> set:
        """The changes reported so far; when there are some, wait until the changed files
        have been quiet for QUIET seconds (a burst of saves is one change)."""
        try:
            batch = self.changes.get(timeout=0.2) if block else self.changes.get_nowait()
        except queue.Empty:
            return set()
        batch |= self._drain()
        stamps, quiet_since = _stamps(batch), time.monotonic()
        deadline = quiet_since + MAX_SETTLE
        while time.monotonic() < deadline and not self.stop.is_set():
            time.sleep(QUIET / 4)
            batch |= self._drain()
            now = _stamps(batch)
            if now != stamps:
                stamps, quiet_since = now, time.monotonic()
            elif time.monotonic() - quiet_since >= QUIET:
                break
        return batch

    def run(self) -> None:
        """Build everything, then rebuild on changes until ``stop`` is set."""
        self._guarded(self.initial_build)
        while not self.stop.is_set():
            batch = self._take(block=self.blocked or not self.stale)
            if batch:
                self._guarded(self.plan, batch)
            if self.stale and not self.blocked and not self.stop.is_set():
                self._guarded(self.build, self.next_page())

    def _guarded(self, step, *args) -> None:
        try:
            step(*args)
        except Exception as exc:  # a builder bug must not end the preview
            if self.stop.is_set():
                return
            traceback.print_exc()
            self._fail(f"internal error: {type(exc).__name__}: {exc}")


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def preview(root: Path, *, port: int, profile: str | None = None, jobs: int | None = None,
            timeout: int = 600) -> int:
    """Serve the site with live reload until Ctrl-C (or SIGTERM); the exit status."""
    root = Path(root).resolve()
    try:
        site = load_site(root, profile)
    except BuildError as exc:
        log(f"error: {exc}")
        return 1
    hub = Hub()
    try:
        httpd = bind(site.output_dir, port, hub)
    except OSError as exc:
        log(f"error: cannot serve on port {port}: {exc}")
        return 1
    with preview_kernels.installed() as pool, running(httpd, hub):
        previewer = Previewer(root, hub, pool, profile=profile, jobs=jobs, timeout=timeout)
        watcher = Watcher(root, [site.output_dir], previewer.changes.put)
        watcher.start()
        log(f"Preview at {url_of(httpd)} (watching {root}; Ctrl-C to stop)")
        builder = threading.Thread(target=previewer.run, name="sitebuild-preview", daemon=True)
        builder.start()
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            while builder.is_alive():
                builder.join(0.5)
        except KeyboardInterrupt:
            log("\nstopping")
        finally:
            signal.signal(signal.SIGTERM, previous)
            previewer.stop.set()
            watcher.stop()
            pool.shutdown()  # a page's kernel dies now, so its build ends at once
            for child in multiprocessing.active_children():  # workers of a parallel build
                child.terminate()
            builder.join(timeout=10)
    log("stopped")
    return 0


def quarto_preview(quarto: str, root: Path, port: int, profile: str | None) -> int:
    """Real Quarto, when installed, previews itself."""
    cmd = [quarto, "preview", "--port", str(port), "--no-browser"]
    cmd += ["--profile", profile] if profile else []
    log("$ " + " ".join(cmd))
    try:
        return subprocess.run(cmd, cwd=root, check=False).returncode
    except KeyboardInterrupt:
        return 0


def build_and_serve(root: Path, *, port: int, profile: str | None, jobs: int | None,
                    timeout: int = 600) -> int:
    """Build once (Quarto when on PATH, else sitebuild), then serve without watching."""
    quarto = shutil.which("quarto")
    if quarto:
        cmd = [quarto, "render"] + (["--profile", profile] if profile else [])
        log("$ " + " ".join(cmd))
        if subprocess.run(cmd, cwd=root, check=False).returncode != 0:
            return 1
        return serve_directory(load_site(root, profile).output_dir, port)
    try:
        report = build_site(root, profile=profile, jobs=jobs, allow_missing=True,
                            error_pages=True, timeout=timeout, log=log)
    except BuildError as exc:
        log(f"error: {exc}")
        return 1
    if report.errors:
        log(format_errors(report.errors))
    log(f"built {len(report.results)} pages in {report.seconds:.1f} s")
    return serve_directory(report.output_dir, port)
