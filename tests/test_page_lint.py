"""Static checks of the site's pages (no execution): house rules of CONTRIBUTING.md
("Writing pages") that Quarto would not catch, or would only warn about."""

import re
from pathlib import Path

import pytest

from sitebuild.config import load_site
from sitebuild.navigation import is_external
from sitebuild.qmd import cell_info, fenced_line_mask, read_qmd

ROOT = Path(__file__).resolve().parents[1]
SITE = load_site(ROOT)
PAGES, _ = SITE.render_list()
BIB_KEYS = set(re.findall(r"^\s*@\w+\s*\{\s*([^,\s]+)\s*,", (ROOT / "references.bib").read_text(),
                          re.M))
_CROSSREF = ("fig-", "tbl-", "sec-", "eq-", "lst-", "thm-")
_CITE = re.compile(r"(?<![\w@.\\/])-?@([A-Za-z0-9_]+(?:[:.#$%&+?<>~/-][A-Za-z0-9_]+)*)")
_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|href=\"([^\"]+)\"")


def _prose(page: str) -> str:
    """The page's markdown without fenced blocks, code spans, math, HTML tags and URLs."""
    nb = read_qmd(ROOT / page, page)
    parts = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.split("\n")
        mask = fenced_line_mask(cell.source)
        parts.append("\n".join(line for line, fenced in zip(lines, mask, strict=True)
                               if not fenced))
    text = "\n".join(parts)
    text = re.sub(r"(`+)[\s\S]*?\1", " ", text)
    text = re.sub(r"\$\$[\s\S]*?\$\$|\$[^$\n]+\$", " ", text)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"\b[a-z][a-z0-9+.-]*://\S+", " ", text)


def _code_cells(page: str):
    return [c for c in read_qmd(ROOT / page, page).cells if c.cell_type == "code"]


@pytest.mark.parametrize("page", PAGES)
def test_no_ojs_and_no_import_tricks(page):
    text = (ROOT / page).read_text(encoding="utf-8")
    assert not re.search(r"^\s*`{3,}\s*\{ojs", text, re.M), \
        f"{page}: {{ojs}} needs Quarto's runtime"
    assert "`{ojs}" not in text
    for cell in _code_cells(page):
        for trick in ("sys.path", "importlib"):
            assert trick not in cell.source, (
                f"{page}:{cell_info(cell)['line']}: pages `import mlsysim`; no {trick}")


@pytest.mark.parametrize("page", PAGES)
def test_citations_exist_in_references_bib(page):
    keys = {k for k in _CITE.findall(_prose(page)) if not k.startswith(_CROSSREF)}
    missing = sorted(keys - BIB_KEYS)
    assert not missing, f"{page}: citation keys not in references.bib: {missing}"


@pytest.mark.parametrize("page", PAGES)
def test_cross_references_resolve(page):
    labels = {str((cell_info(c).get("options") or {}).get("label")) for c in _code_cells(page)}
    text = (ROOT / page).read_text(encoding="utf-8")
    labels |= set(re.findall(r"\{#((?:fig|tbl)-[\w-]+)", text))
    refs = {k for k in _CITE.findall(_prose(page)) if k.startswith(("fig-", "tbl-"))}
    assert not refs - labels, f"{page}: unresolved cross-references: {sorted(refs - labels)}"


@pytest.mark.parametrize("page", PAGES)
def test_qmd_links_resolve(page):
    text = (ROOT / page).read_text(encoding="utf-8")
    mask = fenced_line_mask(text)
    prose = "\n".join(line for line, fenced in zip(text.split("\n"), mask, strict=True)
                      if not fenced)
    broken = []
    for match in _LINK.finditer(prose):
        target = (match.group(1) or match.group(2) or "").split("#")[0].split("?")[0]
        if not target or is_external(target) or not target.endswith(".qmd"):
            continue
        if not ((ROOT / page).parent / target).resolve().is_file():
            broken.append(target)
    assert not broken, f"{page}: links to missing pages: {broken}"


@pytest.mark.parametrize("page", PAGES)
def test_figure_cells_have_caption_and_alt_text(page):
    for cell in _code_cells(page):
        opts = cell_info(cell).get("options") or {}
        label = str(opts.get("label") or "")
        where = f"{page}:{cell_info(cell)['line']}"
        if label.startswith("fig-"):
            assert opts.get("fig-cap"), f"{where}: figure {label} has no fig-cap"
            assert opts.get("fig-alt"), f"{where}: figure {label} has no fig-alt"
        if opts.get("fig-cap") or opts.get("fig-alt"):
            assert label.startswith("fig-"), f"{where}: a captioned figure needs a fig- label"
        if label.startswith("tbl-"):
            assert opts.get("tbl-cap"), f"{where}: table {label} has no tbl-cap"


def test_navigation_entries_exist():
    website = SITE.website
    entries = list((website.get("navbar") or {}).get("left") or [])
    entries += list((website.get("navbar") or {}).get("right") or [])

    def walk(items):
        for item in items or []:
            if isinstance(item, dict) and "contents" in item:
                yield from walk(item["contents"])
            else:
                yield item

    entries += list(walk((website.get("sidebar") or {}).get("contents")))
    hrefs = [e if isinstance(e, str) else e.get("href", "") for e in entries]
    missing = [h for h in hrefs if h and not is_external(h) and not (ROOT / h).is_file()]
    assert not missing, f"_quarto.yml navigation lists missing pages: {missing}"
