"""Render Quarto-shaped Markdown to HTML parts with pandoc 3 (from the pypandoc-binary wheel).

Filters run in Quarto's order: conditional content, callouts, cross references, ``.qmd``
links, and only then ``--citeproc`` (which would otherwise read ``@fig-x`` as a missing
citation); the project's own filters (``filters:``) run at their Quarto stage (``at:``).
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BuildError, PageError

HERE = Path(__file__).resolve().parent
FILTERS = HERE / "filters"
FRAGMENT = HERE / "templates" / "fragment.html"
_PART = re.compile(r"<!--sb:(\w+)-->(.*?)<!--/sb-->", re.S)
_DIAGNOSTIC = re.compile(r"^\[sitebuild\] ([\w-]+) (.*)$")
_MIN_VERSION = (3, 0)


@dataclass
class Rendered:
    """The HTML pieces of one page and pandoc's warnings."""

    pagetitle: str = ""
    title: str = ""
    subtitle: str = ""
    description: str = ""
    toc: str = ""
    body: str = ""
    warnings: list[str] = field(default_factory=list)
    diagnostics: list[tuple[str, str]] = field(default_factory=list)


def _version(path: str) -> tuple[int, ...]:
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"pandoc(?:\.exe)? (\d+)\.(\d+)", out.stdout)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


@functools.lru_cache(maxsize=1)
def pandoc_path() -> str:
    """pandoc ≥ 3 from the pypandoc-binary wheel, else from PATH."""
    candidates = []
    try:
        import pypandoc

        candidates.append(pypandoc.get_pandoc_path())
    except (ImportError, OSError):
        pass
    if shutil.which("pandoc"):
        candidates.append(shutil.which("pandoc"))
    for path in candidates:
        if path and _version(path) >= _MIN_VERSION:
            return path
    raise BuildError("pandoc 3 not found: install the site extras "
                     "(pip install -e '.[site]', which brings pypandoc-binary)")


def lua_filters(project_filters: list) -> list[Path]:
    """All Lua filters in the order they run. A project filter is a path (run before callouts
    are parsed) or (Quarto stage, path), placed where that stage falls in this pipeline:
    pre-ast first; post-ast/pre-quarto once callouts are parsed (they are raw HTML then, as
    they are custom nodes in Quarto); post-quarto/pre-render after cross references;
    post-render last, before citeproc (as in Quarto)."""
    at: dict[str, list[Path]] = {"ast": [], "quarto": [], "render": [], "end": []}
    slot = {"pre-ast": "ast", "post-ast": "quarto", "pre-quarto": "quarto",
            "post-quarto": "render", "pre-render": "render", "post-render": "end"}
    for entry in project_filters:
        stage, path = entry if isinstance(entry, tuple) else ("pre-ast", entry)
        if stage not in slot:
            raise BuildError(f"{path}: unknown filter stage {stage!r}")
        at[slot[stage]].append(path)
    return [*at["ast"], FILTERS / "profile.lua", FILTERS / "callouts.lua", *at["quarto"],
            FILTERS / "crossref.lua", *at["render"], FILTERS / "links.lua", *at["end"]]


def render(markdown: str, *, page: str, project_filters: list[Path], toc: bool = True,
           toc_depth: int = 3, cwd: Path | None = None) -> Rendered:
    """Run pandoc on ``markdown`` (with its YAML front matter) and split the HTML parts."""
    args = [pandoc_path(), "--from=markdown", "--to=html5", f"--template={FRAGMENT}",
            "--mathml", "--wrap=none", "--syntax-highlighting=default"]
    for path in lua_filters(project_filters):
        if not path.is_file():
            raise BuildError(f"{page}: Lua filter not found: {path}")
        args.append(f"--lua-filter={path}")
    args += ["--citeproc", f"--lua-filter={FILTERS / 'references.lua'}",
             "--metadata=reference-section-title:References", "--metadata=link-citations:true"]
    if toc:
        args += ["--toc", f"--toc-depth={toc_depth}"]
    proc = subprocess.run(args, input=markdown, capture_output=True, text=True,
                          encoding="utf-8", cwd=cwd, check=False)
    if proc.returncode != 0:
        raise PageError(page, f"pandoc failed (exit {proc.returncode})",
                        detail=proc.stderr.strip())
    parts = dict(_PART.findall(proc.stdout))
    warnings, diagnostics = [], []
    for line in proc.stderr.splitlines():
        match = _DIAGNOSTIC.match(line.strip())
        if match:
            diagnostics.append((match.group(1), match.group(2)))
        elif line.strip():
            warnings.append(line.strip())
    return Rendered(warnings=warnings, diagnostics=diagnostics,
                    **{k: v.strip() for k, v in parts.items()})


def render_inline(text: str) -> str:
    """A short Markdown snippet (footer text ...) as inline HTML (``.qmd`` links → ``.html``)."""
    proc = subprocess.run([pandoc_path(), "--from=markdown", "--to=html5", "--wrap=none",
                           f"--lua-filter={FILTERS / 'links.lua'}"],
                          input=text, capture_output=True, text=True, encoding="utf-8",
                          check=False)
    html = proc.stdout.strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    return html
