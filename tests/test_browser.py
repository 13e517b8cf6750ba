"""Layer 7: the built site passes the browser check (Playwright driving Debian's Chromium).

Unit level: a hand-written fixture site with one good page per feature and one page per defect;
the check must pass the good pages and name each defect. Site level: ``python -m sitebuild
build`` then the check over every page of ``_site/`` must find nothing.
"""

import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import yaml

from sitebuild import check
from sitebuild.check_page import raw_leftovers

ROOT = Path(__file__).resolve().parents[1]

HEAD = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<link rel="icon" href="{up}assets/favicon.svg"><link rel="stylesheet" href="{up}assets/site.css">
</head><body><nav><a href="{up}index.html">Home</a> <a href="{up}sub/">Sub</a></nav>
<main>{body}</main><script src="{up}assets/site.js"></script></body></html>"""

GOOD_BODY = """<h1 id="top">Good page</h1>
<p>Write <code>::: {.callout-note}</code> or <code>@fig-x</code> in a page; mail a@b.org;
a chip at 1.4 @ 3 GHz; <code>mlsysim.fmt(x)</code>. See <a href="#more">below</a>,
<a href="sub/index.html#deep">a deep anchor</a>, <a href="sub/">the sub page</a>,
<a href="data/notebook.ipynb">the notebook</a>, <a href="https://example.com/paper">a paper</a>
and <a href="mailto:x@example.com">mail</a>, as in
<span class="citation" data-cites="doe2020">(Doe 2020)</span>.</p>
<pre><code>@property
def f(self): return a if b else c  # ::: ??? {python}</code></pre>
<figure><img src="img/dot.png" alt="a dot"><img src="img/logo.svg" alt="logo"
  loading="lazy"></figure>
<div style="height: 1500px"></div>
<h2 id="more">More</h2>
<details><summary>Solution</summary><p>It is 42.</p></details>
"""

DEFECTS = {  # page → (body, problem kinds the check must report, a word each message shows)
    "console_error.html": ("<p>x</p><script>console.error('boom: console')</script>",
                           {"console"}, "boom"),
    "page_error.html": ("<p>x</p><script>undefinedFunction()</script>",
                        {"pageerror"}, "undefinedFunction"),
    "broken_link.html": ('<a href="missing.html">gone</a> <a href="index.html#nope">no anchor</a>'
                         ' <a href="#also-missing">here</a>',
                         {"link", "anchor"}, "missing.html"),
    "missing_image.html": ('<img src="img/missing.png" alt="missing">',
                           {"image", "request"}, "img/missing.png"),
    "corrupt_image.html": ('<img src="img/corrupt.png" alt="corrupt">', {"image"}, "corrupt.png"),
    "external.html": ('<img src="https://example.com/x.png" alt="remote">'
                      '<script src="https://cdn.example.net/lib.js"></script>'
                      '<link rel="preconnect" href="https://fonts.gstatic.com">',
                      {"external", "image"}, "https://example.com/x.png"),
    "raw.html": ("<p>::: {.callout-note}</p><p>As shown by @williams2009, see ?@fig-x.</p>"
                 "<p>Cited (???), <span class='citation' data-cites='nokey'>(<strong>nokey?"
                 "</strong>)</span>.</p><p>Peak is <code>{python} fmt(peak)</code>.</p>",
                 {"raw"}, ":::"),
    "raw_hidden.html": ("<details><summary>Solution</summary><p>As in (???).</p></details>",
                        {"raw"}, "???"),
    "details_stuck.html": ("<details><summary>Solution</summary><p>hidden</p></details>"
                           "<script>document.querySelector('summary').addEventListener("
                           "'click', e => e.preventDefault())</script>",
                           {"details"}, "did not open"),
    "details_empty.html": ("<details><summary>Solution</summary>"
                           "<div style='display:none'>never shown</div></details>",
                           {"details"}, "not visible"),
}


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x20\x60\xc0" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                               0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def make_fixture_site(site: Path) -> Path:
    """A small site: good pages (``index.html``, ``sub/index.html``) and one page per defect."""
    files = {
        "assets/favicon.svg": '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8">'
                              '<circle cx="4" cy="4" r="4"/></svg>',
        "assets/site.css": ("body { font-family: sans-serif; max-width: 60rem; margin: auto; }"
                            " pre { overflow-x: auto; }"),
        "assets/site.js": "document.body.dataset.ready = 'yes';",
        "img/logo.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">'
                        '<rect width="40" height="20" fill="teal"/></svg>',
        "img/corrupt.png": "this is not a PNG",
        "data/notebook.ipynb": '{"cells": [], "metadata": {}, "nbformat": 4, '
                               '"nbformat_minor": 5}',
        "index.html": HEAD.format(title="Home", up="", body=GOOD_BODY),
        "sub/index.html": HEAD.format(title="Sub", up="../", body=(
            '<h1 id="deep">Deep</h1><p><a href="../index.html#top">up</a> '
            '<a href="../">home</a></p>')),
    }
    files.update({name: HEAD.format(title=name, up="", body=body)
                  for name, (body, _, _) in DEFECTS.items()})
    for name, text in files.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text, encoding="utf-8")
    (site / "img/dot.png").write_bytes(_png(4, 3))
    return site


@pytest.fixture(scope="session")
def fixture_site(tmp_path_factory):
    return make_fixture_site(tmp_path_factory.mktemp("fixture-site"))


@pytest.fixture(scope="session")
def fixture_report(fixture_site, tmp_path_factory):
    return check.run(fixture_site, tmp_path_factory.mktemp("shots"))


# -- unit level: the fixture site ---------------------------------------------------------------
@pytest.mark.slow
def test_good_pages_pass(fixture_report):
    for page in ("index.html", "sub/index.html"):
        result = fixture_report.page(page)
        assert result.ok and not result.warnings, fixture_report.format()


@pytest.mark.slow
def test_every_page_is_checked_home_first(fixture_report):
    paths = [p.path for p in fixture_report.pages]
    assert paths[0] == "index.html"
    assert sorted(paths) == sorted(["index.html", "sub/index.html", *DEFECTS])


@pytest.mark.slow
@pytest.mark.parametrize("page", sorted(DEFECTS))
def test_each_defect_is_caught(fixture_report, page):
    _, kinds, word = DEFECTS[page]
    result = fixture_report.page(page)
    assert result.kinds() == kinds, fixture_report.format()
    assert any(word in p.message for p in result.problems), fixture_report.format()


@pytest.mark.slow
def test_link_problems_name_the_href(fixture_report):
    messages = {p.kind: p.message for p in fixture_report.page("broken_link.html").problems
                if p.kind == "link"}
    assert "missing.html" in messages["link"]
    anchors = [p.message for p in fixture_report.page("broken_link.html").problems
               if p.kind == "anchor"]
    assert any("nope" in m for m in anchors) and any("also-missing" in m for m in anchors)


@pytest.mark.slow
def test_raw_text_kinds(fixture_report):
    text = " ".join(p.message for p in fixture_report.page("raw.html").problems)
    for needle in (":::", "@williams2009", "?@fig-x", "???", "{python}", "'nokey'"):
        assert needle in text, text


@pytest.mark.slow
def test_external_requests_are_blocked_and_named(fixture_report):
    external = [p.message for p in fixture_report.page("external.html").problems
                if p.kind == "external"]
    assert any("example.com/x.png" in m for m in external)
    assert any("cdn.example.net/lib.js" in m for m in external)
    assert any("fonts.gstatic.com" in m for m in external)


@pytest.mark.slow
def test_screenshots(fixture_report):
    for page in fixture_report.pages:
        assert page.screenshot is not None and page.screenshot.is_file()
        width, height = _png_size(page.screenshot)
        assert width == 1280 and height >= 900
    assert _png_size(fixture_report.page("index.html").screenshot)[1] > 1500  # full page
    mobile = fixture_report.page("index.html").screenshot.with_name("index-390px.png")
    assert _png_size(mobile)[0] == 390


@pytest.mark.slow
def test_report_and_exit_status(fixture_report, fixture_site, capsys):
    assert not fixture_report.ok
    text = fixture_report.format()
    assert "FAIL" in text and "raw.html" in text and "sub/index.html" not in text
    assert check.main(["--site", str(fixture_site), "--no-screenshots",
                       "--page", "index.html", "--page", "sub/index.qmd"]) == 0
    assert "PASS" in capsys.readouterr().out


def test_missing_site_fails_without_a_browser(tmp_path):
    report = check.run(tmp_path / "nothing")
    assert not report.ok and "no site" in report.errors[0]
    assert check.main(["--site", str(tmp_path / "nothing"), "--no-screenshots"]) == 2


def test_find_pages_skips_screenshots_and_hidden(tmp_path):
    for name in ("z.html", "index.html", "a/b.html", "shots/x.html", ".cache/y.html", "c.css"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("<p>x</p>")
    assert check.find_pages(tmp_path, skip=tmp_path / "shots") == ["index.html", "z.html",
                                                                   "a/b.html"]


def test_unknown_page_is_an_error(fixture_site):
    report = check.run(fixture_site, pages=["nope.qmd"])
    assert not report.ok and report.errors[0] == "no page nope.html in the site"


def test_raw_leftovers_spares_ordinary_prose():
    fine = [("mail a@b.org, 1.4 @ 3 GHz, x ? y : z, ratio 3:1, what?", False),
            ("::: @fig-x ???", True)]  # inline code may show syntax
    assert raw_leftovers(fine) == []
    caught = raw_leftovers([("see @williams2009; ?@fig-x.", False), ("{python} x", True)])
    assert len(caught) == 3


# -- site level: the real built site ------------------------------------------------------------
def _quarto_pages() -> list[str]:
    """The site's ``.html`` pages that ``_quarto.yml`` says to render."""
    config = yaml.safe_load((ROOT / "_quarto.yml").read_text(encoding="utf-8"))
    pages = set()
    for pattern in config["project"]["render"]:
        for path in ROOT.glob(pattern):
            if not path.name.startswith("_"):
                pages.add(path.relative_to(ROOT).with_suffix(".html").as_posix())
    return sorted(pages)


@pytest.fixture(scope="session")
def built_site():
    proc = subprocess.run([sys.executable, "-m", "sitebuild", "build"], cwd=ROOT,
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, f"site build failed:\n{proc.stdout}\n{proc.stderr}"
    return ROOT / "_site"


@pytest.mark.slow
def test_built_site_passes_browser_check(built_site):
    report = check.run(built_site, ROOT / "_build" / "screenshots")
    assert report.ok, report.format()
    checked = {p.path for p in report.pages}
    missing = [p for p in _quarto_pages() if p not in checked]
    assert not missing, f"pages not built: {missing}"
