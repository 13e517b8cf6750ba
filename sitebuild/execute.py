"""Execute a parsed page in a fresh Jupyter kernel, the way Quarto's Jupyter engine does.

Cells run in order in one kernel whose working directory is the page's folder. Each markdown
cell's inline `` `{python} expr` `` expressions are evaluated when the walk reaches it, i.e.
right after the code cells that precede it, with ``user_expressions`` (no history, no output);
the results are stored in ``cell.metadata["user_expressions"]`` as Quarto does. Helper code
(figure defaults, the audit hook of ``kernel_audit``) runs as a silent request and never
becomes, or replaces, a notebook cell. Every request, inline expressions included, is bounded
by the cell timeout. The kernel gets a private temp folder (``TMPDIR``), removed afterwards; what
the page read and wrote is returned in ``nb.metadata["sitebuild"]["audit"]``.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import run_sync

from . import kernel_audit
from .errors import PageError, strip_ansi
from .qmd import cell_info, inline_expressions, strip_options

FIGURE_DEFAULTS = {"fig-width": 7, "fig-height": 5, "fig-format": "retina", "fig-dpi": 96}
_CELL_FRAME = re.compile(r"Cell In\[(\d+)\], line (\d+)")

_SETUP = """\
def __sitebuild_setup(rc, formats):
    import sys
    ip = get_ipython()
    ip.config.InlineBackend.rc = rc
    ip.config.InlineBackend.figure_formats = formats
    if "matplotlib_inline.config" in sys.modules:  # backend already configured: update it
        from matplotlib_inline.config import InlineBackend
        backend = InlineBackend.instance()
        backend.rc, backend.figure_formats = rc, formats
__sitebuild_setup({rc!r}, {formats!r})
del __sitebuild_setup
"""


@dataclass(frozen=True)
class WritePolicy:
    """Where cells may write (``allowed``; the page folder first) and may never write
    (``forbidden``); folders whose reads are not recorded (``ignored``: caches; ``packages``:
    libraries whose files the cache key digests already)."""

    allowed: list[str]
    forbidden: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)


def check_timeout(timeout) -> int:
    """A cell timeout in whole seconds (>= 1); 0 or less would silently mean "no limit"."""
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        raise ValueError(f"the cell timeout must be a whole number of seconds >= 1, got "
                         f"{timeout!r} (for no practical limit give a large value, e.g. 86400)")
    return timeout


def effective_options(defaults: dict, cell) -> dict:
    """A code cell's execution options: page defaults overridden by its ``#|`` options."""
    return {**defaults, **(cell_info(cell).get("options") or {})}


def _setup_code(figure: dict) -> str:
    fmt = str(figure.get("fig-format", "retina"))
    dpi = figure.get("fig-dpi", 96)
    rc = {"figure.figsize": (float(figure.get("fig-width", 7)),
                             float(figure.get("fig-height", 5))),
          "figure.dpi": dpi, "savefig.dpi": dpi}
    return _SETUP.format(rc=rc, formats={fmt})


def _kernel_env(figure: dict, profiles: tuple[str, ...], tmp: str) -> dict:
    env = dict(os.environ)
    env.update({"TMPDIR": tmp, "TEMP": tmp, "TMP": tmp})
    fmt = str(figure.get("fig-format", "retina"))
    dpi = float(figure.get("fig-dpi", 96))
    env.update({
        "QUARTO_FIG_WIDTH": str(figure.get("fig-width", 7)),
        "QUARTO_FIG_HEIGHT": str(figure.get("fig-height", 5)),
        "QUARTO_FIG_FORMAT": "png" if fmt == "retina" else fmt,
        "QUARTO_FIG_DPI": str(dpi * 2 if fmt == "retina" else dpi),
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    })
    if profiles:
        env["QUARTO_PROFILE"] = ",".join(profiles)
    return env


def _request(client: NotebookClient, code: str, expressions: dict | None = None) -> dict:
    """Send one execute request outside the notebook's cells and return the reply content.

    Bounded by the client's timeout: raises CellTimeoutError (nbclient's own wait would fail an
    assertion for a request that is not a cell)."""
    msg_id = client.kc.execute(code, silent=False, store_history=False,
                               user_expressions=expressions or {}, allow_stdin=False)
    what = code or "\n".join(f"`{{python}} {e}`" for e in (expressions or {}).values())
    reply = client.wait_for_reply(msg_id, cell=nbformat.from_dict({"source": what}))
    if reply is None:
        raise CellTimeoutError(f"no reply to {what!r}")
    return reply.get("content") or {}


def _interrupt(client: NotebookClient) -> None:
    """Stop what a timed-out request runs, so the kernel shuts down at once."""
    with contextlib.suppress(Exception):
        run_sync(client.km.interrupt_kernel)()


def _guard_code(policy: WritePolicy) -> str:
    source = Path(kernel_audit.__file__).read_text(encoding="utf-8")
    return (f"__sitebuild_ns = {{}}\nexec(compile({source!r}, '<sitebuild-audit>', 'exec'), "
            f"__sitebuild_ns)\n__sitebuild_ns['install']({policy.allowed!r}, "
            f"{policy.forbidden!r}, {policy.ignored!r}, {policy.packages!r})\ndel __sitebuild_ns\n")


def _numbered(source: str, first_line: int, mark: int | None) -> str:
    rows = []
    for k, text in enumerate(source.split("\n")):
        n = first_line + k
        rows.append(f"  {'>' if n == mark else ' '} {n:4d} | {text}")
    return "\n".join(rows)


def _cell_error(page: str, cell, exc: Exception) -> PageError:
    """One readable error for a failing cell: page, source line, the code and the traceback."""
    info = cell_info(cell)
    fence_line = info.get("line", 0)
    first = fence_line + 1 + info.get("option_lines", 0)  # first executed source line
    error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
    if error is not None:
        ename, evalue = error.get("ename", "Error"), error.get("evalue", "")
        traceback = strip_ansi("\n".join(error.get("traceback", [])))
    else:
        ename = getattr(exc, "ename", type(exc).__name__)
        evalue = getattr(exc, "evalue", str(exc))
        traceback = strip_ansi(str(exc))
    frames = [(int(n), int(ln)) for n, ln in _CELL_FRAME.findall(traceback)]
    line = None
    if frames:
        newest = max(n for n, _ in frames)
        line = first + next(ln for n, ln in frames if n == newest) - 1
    code = strip_options(cell.source)
    detail = (f"in the ```{{python}} cell at line {fence_line}:\n"
              f"{_numbered(code, first, line)}\n"
              f"traceback:\n{traceback.strip()}")
    return PageError(page, f"cell failed: {ename}: {strip_ansi(str(evalue))}",
                     line=line or fence_line, detail=detail)


def _evaluate_inline(client: NotebookClient, page: str, cell) -> None:
    exprs = inline_expressions(cell.source)
    cell.metadata.pop("user_expressions", None)
    if not exprs:
        return
    start = cell_info(cell).get("line", 0)
    recorded = []
    for expr in dict.fromkeys(e.expr for e in exprs):
        line = start + next(e.line for e in exprs if e.expr == expr)
        where = f"inline expression `{{python}} {expr}`"
        try:
            content = _request(client, "", {"0": expr})
        except CellTimeoutError:
            _interrupt(client)
            raise PageError(page, f"{where} did not finish within the {client.timeout} s "
                            "cell timeout", line=line) from None
        except DeadKernelError:
            raise PageError(page, f"{where}: the kernel died while evaluating it",
                            line=line) from None
        result = (content.get("user_expressions") or {}).get("0") or {
            "status": "error", "ename": "Error",
            "evalue": f"no result from the kernel (reply status {content.get('status')!r})"}
        if result.get("status") != "ok":
            raise PageError(page, f"{where} failed: "
                            f"{result.get('ename')}: {strip_ansi(str(result.get('evalue')))}",
                            line=line)
        recorded.append({"expression": expr, "result": result})
    cell.metadata["user_expressions"] = recorded


def execute_notebook(nb, *, page: str, cwd: Path, options: dict, figure: dict | None = None,
                     profiles: tuple[str, ...] = (), timeout: int = 600,
                     kernel_log: Path | None = None,
                     policy: WritePolicy | None = None) -> nbformat.NotebookNode:
    """Run ``nb`` (from :func:`sitebuild.qmd.parse_qmd`) and return an executed copy.

    ``options`` are the page's execution defaults (``eval``, ``error`` ...); each cell's
    ``#|`` options override them. ``policy`` says where cells may write (default: ``cwd``).
    Raises :class:`PageError` naming the page and source line.
    """
    check_timeout(timeout)
    nb = copy.deepcopy(nb)
    figure = {**FIGURE_DEFAULTS, **(figure or {})}
    client = NotebookClient(nb, kernel_name="python3", timeout=timeout, startup_timeout=120,
                            allow_errors=bool(options.get("error", False)),
                            record_timing=False, shell_timeout_interval=1,
                            resources={"metadata": {"path": str(cwd)}})
    tmp = tempfile.mkdtemp(prefix="sitebuild-kernel-")
    policy = policy or WritePolicy(allowed=[str(Path(cwd).resolve())])
    private = str(Path(tmp).resolve())
    policy = WritePolicy([*policy.allowed, private], policy.forbidden,
                         [*policy.ignored, private], policy.packages)
    log = open(kernel_log, "wb") if kernel_log else subprocess.DEVNULL  # noqa: SIM115
    try:
        with client.setup_kernel(env=_kernel_env(figure, profiles, tmp), stdout=log,
                                 stderr=log):
            setup = _request(client, _setup_code(figure) + _guard_code(policy))
            if setup.get("status") != "ok":
                raise PageError(page, f"kernel setup failed: {setup.get('ename')}: "
                                f"{setup.get('evalue')}")
            for index, cell in enumerate(nb.cells):
                if cell.cell_type == "markdown":
                    _evaluate_inline(client, page, cell)
                elif cell.cell_type == "code":
                    _execute_code(client, page, cell, index, options)
            audit = _audit_report(client, page)
    except PageError:
        raise
    except (DeadKernelError, RuntimeError, TimeoutError) as exc:
        raise PageError(page, f"the Jupyter kernel failed: {strip_ansi(str(exc))}") from None
    finally:
        if kernel_log:
            log.close()
        shutil.rmtree(tmp, ignore_errors=True)
    _refuse_blocked_writes(page, nb, audit)
    nb.metadata.setdefault("sitebuild", {})["audit"] = audit
    return nb


def _audit_report(client: NotebookClient, page: str) -> dict:
    """What the cells read and wrote (``kernel_audit``)."""
    content = _request(client, "", {"audit": kernel_audit.REPORT_EXPRESSION})
    result = (content.get("user_expressions") or {}).get("audit") or {}
    if result.get("status") != "ok":
        raise PageError(page, f"could not read the kernel's file audit: {result.get('ename')}: "
                        f"{result.get('evalue')}")
    return json.loads(ast.literal_eval(result["data"]["text/plain"]))


def _refuse_blocked_writes(page: str, nb, audit: dict) -> None:
    """A refused write fails the page even when a cell caught the PermissionError."""
    if not audit.get("blocked"):
        return
    ran = [c for c in nb.cells if c.cell_type == "code" and c.get("execution_count")]
    lines = []
    for path, ordinal in audit["blocked"]:
        cell = ran[ordinal - 1] if 0 < ordinal <= len(ran) else None
        line = cell_info(cell).get("line") if cell is not None else None
        lines.append((line, path))
    first_line = next((ln for ln, _ in lines if ln), None)
    detail = "\n".join(f"  {page}:{ln}: {path}" if ln else f"  {page}: {path}"
                       for ln, path in lines)
    raise PageError(page, f"a cell wrote (or tried to write) outside the page's folder: "
                    f"{lines[0][1]} (cells may write in their page's folder and the temp "
                    "folder, never in the site output)", line=first_line, detail=detail)


def _execute_code(client: NotebookClient, page: str, cell, index: int, defaults: dict) -> None:
    opts = effective_options(defaults, cell)
    cell.outputs, cell.execution_count = [], None
    if not opts.get("eval", True):
        return
    allow = bool(opts.get("error", False))
    tags = list(cell.metadata.get("tags", []))
    if allow:
        cell.metadata["tags"] = [*tags, "raises-exception"]
    source = cell.source
    cell.source = strip_options(source)  # as Quarto: cell magics see their first line
    try:
        client.execute_cell(cell, index, store_history=True)
    except CellTimeoutError as exc:
        _interrupt(client)
        raise PageError(page, f"cell timed out: {strip_ansi(str(exc)).splitlines()[0]}",
                        line=cell_info(cell).get("line")) from None
    except CellExecutionError as exc:
        cell.source = source
        raise _cell_error(page, cell, exc) from None
    except DeadKernelError:
        raise PageError(page, "the kernel died while running this cell (os._exit, a crash or "
                        "out of memory)", line=cell_info(cell).get("line")) from None
    finally:
        cell.source = source
        if allow:
            if tags:
                cell.metadata["tags"] = tags
            else:
                cell.metadata.pop("tags", None)
