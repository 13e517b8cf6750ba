"""Checks of a rendered page, reported at their source lines.

- Local links and images (reported by ``filters/links.lua``, and those in raw HTML such as
  cell output) must reach a page that is built, a page's output, a figure of this page or a
  file of the project; such a file is copied into the site, as Quarto copies linked files.
  Images need alt text and must not come from the network.
- Pandoc's warnings: an unresolved ``@fig-``/``@tbl-`` reference, a citation missing from the
  bibliography and a label used twice are errors; other warnings are mapped to source lines.
- Source syntax left in the HTML text (``:::``, a code fence, a shortcode, ``{python}``) and a
  same-page ``#anchor`` without its target are errors.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

from .emit import EmitContext, source_line
from .lint import Problem, locate
from .navigation import out_path

_CITATION = re.compile(r"^\[WARNING\] Citeproc: citation (\S+) not found")
_XREF = re.compile(r"^\[WARNING\] crossref: unresolved reference @(\S+)")
_AT_LINE = re.compile(r"\bline (\d+)")
_EXTERNAL = re.compile(r"^([a-zA-Z][\w+.-]*:|//|#|/)")
_SKIP = {"pre", "code", "script", "style", "math", "svg", "template", "kbd", "samp"}
LEFTOVERS = [(":::", "a fenced div marker ':::'"), ("```", "a code fence"),
             ("{{<", "a shortcode (not supported by sitebuild)"),
             ("{python}", "an unevaluated `{python}` expression")]


@dataclass
class Findings:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    copies: list[tuple[Path, Path]] = field(default_factory=list)  # (source file, output)


class _Text(HTMLParser):
    """Text outside code-like elements, ids and same-page anchors of an HTML fragment."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.ids: set[str] = set()
        self.anchors: list[str] = []
        self.targets: list[tuple[str, str]] = []  # (link|image, local href or src)
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"])
        href = values.get("href") if tag == "a" else values.get("src") if tag == "img" else None
        if href and href.startswith("#"):
            self.anchors.append(unquote(href[1:]))
        elif href and not _EXTERNAL.match(href):
            self.targets.append(("link" if tag == "a" else "image", href))
        if tag in _SKIP:
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in _SKIP and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


@dataclass
class PageFacts:
    """What the checks need to know about the page and the site."""

    rel: str                    # source path, POSIX, relative to the project
    source: str                 # the page's source text
    body_start: int             # first line after the front matter
    root: Path                  # project folder
    output_dir: Path
    pages: set[str]             # every page built (source paths)
    header_lines: int = 0       # lines before the body in pandoc's input


def _token_line(facts: PageFacts, *tokens: str) -> int | None:
    for token in tokens:
        line = locate(facts.source, token, facts.body_start)
        if line:
            return line
    return None


def _target(facts: PageFacts, kind: str, target: str, ctx: EmitContext,
            found: Findings) -> None:
    path = unquote(target.split("#", 1)[0].split("?", 1)[0])
    if not path:
        return
    line = _token_line(facts, f"({target}", f"]: {target}", target)
    base = "" if path.startswith("/") else posixpath.dirname(facts.rel)
    rel = posixpath.normpath(posixpath.join(base, path.lstrip("/")))
    if rel == ".." or rel.startswith("../"):
        found.problems.append(Problem(line, f"{kind} target {target} is outside the project"))
        return
    if rel.endswith(".qmd") or (facts.root / rel).is_dir():
        page = rel if rel.endswith(".qmd") else posixpath.join(rel, "index.qmd")
        if page not in facts.pages:
            why = ("is not rendered (not in project.render)" if (facts.root / page).is_file()
                   else "does not exist")
            found.problems.append(Problem(line, f"{kind} to a missing page: {target} ({page} "
                                          f"{why})"))
        return
    if (facts.output_dir / rel) in ctx.figures:
        return
    if any(out_path(p) == rel or out_path(p)[:-5] + ".ipynb" == rel for p in facts.pages):
        return
    source = facts.root / rel
    if source.is_file() and facts.output_dir not in source.resolve().parents:
        found.copies.append((source, facts.output_dir / rel))
        return
    found.problems.append(Problem(line, f"{kind} target not found: {target} (looked for {rel} "
                                  "in the project)"))


def _diagnostics(facts: PageFacts, diagnostics, ctx: EmitContext, found: Findings) -> None:
    figures = {f.relative_to(ctx.out_dir).as_posix() for f in ctx.figures}
    for kind, value in diagnostics:
        if kind in ("link", "image"):
            _target(facts, kind, value, ctx, found)
        elif kind == "image-no-alt" and value not in figures:
            found.problems.append(Problem(_token_line(facts, f"({value}", value),
                                          f"image {value} has no alt text: write ![what it "
                                          "shows](...) or add fig-alt=\"...\""))
        elif kind == "image-external":
            found.problems.append(Problem(_token_line(facts, value), f"image {value} is "
                                          "loaded from the network (the site must work offline)"))
        elif kind == "xref-duplicate":
            found.problems.append(Problem(_token_line(facts, f"label: {value}", f"#{value}"),
                                          f"label {value} is used twice"))


def _warnings(facts: PageFacts, warnings: list[str], ctx: EmitContext,
              found: Findings) -> None:
    for text in warnings:
        citation, xref = _CITATION.match(text), _XREF.match(text)
        if xref:
            ref = xref.group(1)
            found.problems.append(Problem(_token_line(facts, f"@{ref}"), f"unresolved cross "
                                          f"reference @{ref} (no figure or table labelled {ref})"))
        elif citation:
            key = citation.group(1)
            what = (f"cross reference @{key}: sitebuild numbers only fig- and tbl- labels"
                    if re.match(r"(sec|eq|lst|thm|lem|cor|exm|exr)-", key)
                    else f"citation @{key} is not in the bibliography")
            found.problems.append(Problem(_token_line(facts, f"@{key}"), what))
        else:
            at = _AT_LINE.search(text)
            line = source_line(ctx, int(at.group(1)) - facts.header_lines) if at else None
            where = f"{facts.rel}:{line}" if line else facts.rel
            found.warnings.append(f"{where}: {text}")


def _html(facts: PageFacts, body: str, ctx: EmitContext, found: Findings, missing: set[str],
          seen: set[str]) -> None:
    parser = _Text()
    parser.feed(body)
    parser.close()
    for kind, target in dict.fromkeys(parser.targets):
        if target not in seen:  # in raw HTML: the filter did not see it
            _target(facts, kind, target, ctx, found)
    text = "".join(parser.text)
    for token, what in LEFTOVERS:
        if token in text:
            line = next((k + 1 for k, ln in enumerate(facts.source.split("\n"))
                         if k + 1 >= facts.body_start and token in ln
                         and not ln.strip().startswith(token)), None)
            start = text.index(token)
            snippet = " ".join(text[max(start - 30, 0):start + 30].split())
            found.problems.append(Problem(line, f"{what} shows as text in the page: "
                                          f"“…{snippet}…”"))
    for anchor in dict.fromkeys(parser.anchors):
        if anchor and anchor not in parser.ids and anchor not in missing:
            found.problems.append(Problem(_token_line(facts, f"(#{anchor}"), f"link to "
                                          f"#{anchor}: no such id in the page"))


def rendered_findings(facts: PageFacts, parts, ctx: EmitContext) -> Findings:
    """Problems (errors), mapped warnings and files to copy for one rendered page."""
    found = Findings(problems=list(ctx.problems))
    _diagnostics(facts, parts.diagnostics, ctx, found)
    _warnings(facts, parts.warnings, ctx, found)
    cited = {f"ref-{m.group(1)}" for m in map(_CITATION.match, parts.warnings) if m}
    seen = {re.sub(r"\.qmd(?=$|[#?])", ".html", v) for k, v in parts.diagnostics
            if k in ("link", "image")}
    # a missing citation links to #ref-key: said once
    _html(facts, parts.body, ctx, found, cited, seen)
    found.problems.sort(key=lambda p: (p.line is None, p.line or 0))
    return found
