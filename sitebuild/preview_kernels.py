"""Pre-started Jupyter kernels for the preview: a page that is saved again runs in a kernel that
was started, exactly as the builder would start it, while the author was editing.

A kernel is still fresh when a page gets it: nothing has run in it. The only difference the
builder's request may have from the pre-started one is its per-run temp folder (``TMPDIR``,
``TEMP``, ``TMP``), which is set in the kernel before the page's first request; any other
difference means a cold start. The pool plugs into the builder by swapping
``sitebuild.execute.NotebookClient`` for a subclass while :func:`installed` is active (in-process
builds only; worker processes are not affected).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field

import nbformat
from jupyter_core.utils import run_sync

from . import execute

PER_RUN_KEYS = ("TMPDIR", "TEMP", "TMP")
_SYNC = """exec(compile({src!r}, "<sitebuild-preview>", "exec"), {{}})"""
_SYNC_SRC = """\
import os, tempfile
for key, value in {env!r}.items():
    if value is None:
        os.environ.pop(key, None)
    else:
        os.environ[key] = value
tempfile.tempdir = None
"""


@dataclass
class KernelRequest:
    """How the builder asked for a kernel (what a pre-started one must match)."""

    kernel_name: str
    cwd: str
    extra_arguments: list[str]
    env: dict[str, str]
    log: str | None = None

    def key(self) -> tuple:
        env = {k: v for k, v in self.env.items() if k not in PER_RUN_KEYS}
        return (self.kernel_name, self.cwd, tuple(self.extra_arguments),
                tuple(sorted(env.items())))


@dataclass
class _Warm:
    key: tuple
    ready: threading.Event = field(default_factory=threading.Event)
    km: object | None = None
    env: dict[str, str] = field(default_factory=dict)
    starting: object | None = None  # the kernel manager while its kernel starts


class KernelPool:
    """At most one pre-started kernel, for the page most likely to be saved next."""

    def __init__(self, base: type):
        self.base = base
        self._lock = threading.Lock()
        self._warm: _Warm | None = None
        self._active: set = set()
        self.latest: KernelRequest | None = None  # the builder's latest request
        self.adopted = 0

    def prepare(self, request: KernelRequest) -> None:
        """Start a kernel for ``request`` in the background (replacing another one)."""
        key = request.key()
        with self._lock:
            old = self._warm
            if old is not None and old.key == key:
                return
            warm = self._warm = _Warm(key)
        if old is not None:
            threading.Thread(target=self._discard, args=(old,), daemon=True).start()
        threading.Thread(target=self._start, args=(warm, request), daemon=True,
                         name="sitebuild-warm-kernel").start()

    def _start(self, warm: _Warm, request: KernelRequest) -> None:
        env = {k: v for k, v in request.env.items() if k not in PER_RUN_KEYS}
        env.update({k: os.environ[k] for k in PER_RUN_KEYS if k in os.environ})
        client = self.base(nbformat.v4.new_notebook(), kernel_name=request.kernel_name,
                           extra_arguments=list(request.extra_arguments),
                           resources={"metadata": {"path": request.cwd}})
        log = open(request.log, "ab") if request.log else subprocess.DEVNULL  # noqa: SIM115
        try:
            client.km = warm.starting = client.create_kernel_manager()
            client.start_new_kernel(env=env, stdout=log, stderr=log)
            warm.km, warm.env = client.km, env
        except Exception:  # a failed pre-start only means a cold start later
            warm.km = None
        finally:
            if request.log:
                log.close()
            warm.ready.set()
        with self._lock:
            stale = self._warm is not warm
        if stale:
            self._discard(warm)

    def take(self, request: KernelRequest, wait: float = 30.0):
        """The pre-started kernel manager for ``request`` with its temp folder set, or None."""
        with self._lock:
            warm = self._warm
            if warm is None or warm.key != request.key():
                return None
            self._warm = None
        if not warm.ready.wait(wait) or warm.km is None:
            self._discard(warm)
            return None
        try:
            if not run_sync(warm.km.is_alive)():
                raise RuntimeError("the pre-started kernel died")
            changed = {k: request.env.get(k) for k in PER_RUN_KEYS
                       if request.env.get(k) != warm.env.get(k)}
            if changed:
                _run_silently(warm.km, _SYNC.format(src=_SYNC_SRC.format(env=changed)))
        except Exception:  # fall back to a cold start
            self._discard(warm)
            return None
        self.adopted += 1
        return warm.km

    def track(self, km, active: bool) -> None:
        with self._lock:
            (self._active.add if active else self._active.discard)(km)

    def retire(self, km) -> None:
        """Shut a used kernel down in the background (killed by :meth:`shutdown` if still
        running then)."""
        def stop():
            try:
                with contextlib.suppress(Exception):
                    run_sync(km.shutdown_kernel)()
            finally:
                self.track(km, False)

        threading.Thread(target=stop, name="sitebuild-kernel-stop", daemon=True).start()

    def _discard(self, warm: _Warm) -> None:
        warm.ready.wait(60)
        if warm.km is not None:
            with contextlib.suppress(Exception):
                run_sync(warm.km.shutdown_kernel)(now=True)
            warm.km = None

    def shutdown(self) -> None:
        """Stop the pre-started kernel and kill kernels still running a page (Ctrl-C)."""
        with self._lock:
            warm, self._warm = self._warm, None
            active = list(self._active)
        for km in active:  # Popen.send_signal never signals a process already reaped
            process = getattr(getattr(km, "provisioner", None), "process", None)
            if process is not None:
                with contextlib.suppress(OSError):
                    process.send_signal(signal.SIGTERM)
        if warm is None:
            return
        if warm.ready.is_set():
            self._discard(warm)
            return
        # still starting: Ctrl-C must not wait for it (under load a start takes tens of
        # seconds). Its process is stopped now; the starting thread finds the pool no longer
        # holds it and discards what is left.
        process = getattr(getattr(warm.starting, "provisioner", None), "process", None)
        if process is not None:
            with contextlib.suppress(OSError):
                process.send_signal(signal.SIGTERM)


def _run_silently(km, code: str, timeout: float = 30.0) -> None:
    """Run ``code`` in the kernel (no history, no output) and wait for its reply; only the
    shell channel is opened, the quickest round trip."""
    kc = km.client()
    kc.start_channels(iopub=False, stdin=False, hb=False, control=False)
    try:
        msg_id = kc.execute(code, silent=True, store_history=False, allow_stdin=False)
        deadline = time.monotonic() + timeout
        while True:
            reply = run_sync(kc.get_shell_msg)(timeout=max(deadline - time.monotonic(), 0.01))
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        if reply["content"].get("status") != "ok":
            raise RuntimeError(f"kernel set-up failed: {reply['content'].get('evalue')}")
    finally:
        kc.stop_channels()


def _client_class(pool: KernelPool, base: type) -> type:
    class PreviewClient(base):
        """The builder's NotebookClient, taking a pre-started kernel when one matches."""

        def start_new_kernel(self, **kwargs):
            log = getattr(kwargs.get("stdout"), "name", None)
            request = KernelRequest(
                kernel_name=self.kernel_name, extra_arguments=list(self.extra_arguments),
                cwd=str((self.resources.get("metadata") or {}).get("path") or os.getcwd()),
                env=dict(kwargs.get("env") or os.environ),
                log=log if isinstance(log, str) else None)
            pool.latest = request
            km = pool.take(request) if set(kwargs) <= {"env", "stdout", "stderr"} else None
            if km is not None:
                self.km = km
            else:
                super().start_new_kernel(**kwargs)
            pool.track(self.km, True)

        def _cleanup_kernel(self):
            """As nbclient's, but the kernel shuts down in the background: the page's
            build does not wait for it."""
            km, self.km = self.km, None
            if self.kc is not None:
                self.kc.stop_channels()
                self.kc = None
            if km is not None:
                pool.retire(km)

    return PreviewClient


@contextlib.contextmanager
def installed():
    """While active, in-process page builds use (and report to) the yielded pool."""
    base = execute.NotebookClient
    pool = KernelPool(base)
    execute.NotebookClient = _client_class(pool, base)
    try:
        yield pool
    finally:
        execute.NotebookClient = base
        pool.shutdown()
