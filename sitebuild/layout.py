"""The HTML page around pandoc's body: head, navbar, docked sidebar, title block, table of
contents, previous/next links, footer and the ``format.html`` includes (inline form). Everything
it links is local to the site."""

from __future__ import annotations

import html
import posixpath
import re
from dataclasses import dataclass, field

from .config import html_options
from .errors import PageError
from .navigation import Navigation, out_path, plain_title, relative
from .pandoc import Rendered

STATIC_DIR = "site_libs/sitebuild"
_HREF = re.compile(r'\b(href|src)="(?![a-zA-Z][a-zA-Z0-9+.-]*:|/|#)([^"]*)"')

# Inline SVG icons (no icon font, no emoji: headless browsers lack emoji fonts)
_ICON_MENU = ('<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">'
              '<path d="M3 6h18M3 12h18M3 18h18" stroke="currentColor" stroke-width="2" '
              'fill="none"/></svg>')
_ICON_THEME = ('<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><circle cx="12" '
               'cy="12" r="5" fill="currentColor"/><path d="M12 1v3M12 20v3M1 12h3M20 12h3M4.2 '
               '4.2l2.1 2.1M17.7 17.7l2.1 2.1M4.2 19.8l2.1-2.1M17.7 6.3l2.1-2.1" '
               'stroke="currentColor" stroke-width="2"/></svg>')
_ICON_DOWNLOAD = ('<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path d="M12 '
                  '3v12m-5-5 5 5 5-5M4 20h16" stroke="currentColor" stroke-width="2" '
                  'fill="none"/></svg>')

# Runs before first paint: the remembered theme, else the system preference.
_THEME_INIT = ("<script>(function(){var t=null;try{t=localStorage.getItem('sb-theme')}"
               "catch(e){}if(t!=='light'&&t!=='dark'){t=window.matchMedia&&"
               "matchMedia('(prefers-color-scheme: dark)').matches?'dark':'light'}"
               "document.documentElement.setAttribute('data-theme',t)})();</script>")


@dataclass
class SiteChrome:
    """Site-wide pieces shared by all pages (prepared once per build)."""

    title: str
    description: str = ""
    favicon: str | None = None                 # project-relative path
    stylesheets: list[str] = field(default_factory=list)   # project-relative paths
    footer: dict[str, str] = field(default_factory=dict)  # left/center/right → HTML
    search: bool = True


@dataclass
class PageInfo:
    rel: str                                   # source path, e.g. tutorials/01_x.qmd
    meta: dict                                 # merged page metadata
    notebook: str | None = None                # output path of the downloadable .ipynb
    stub: bool = False                         # a listed page that does not exist yet
    error: str | None = None                   # the build error shown instead (serve)


def _includes(page: PageInfo, key: str) -> list[str]:
    """Quarto's ``format.html`` option ``include-in-header`` / ``include-before-body`` /
    ``include-after-body``, inline form only (``- text: |`` then HTML), copied verbatim as Quarto
    does. A file include is refused: its path would need the project folder, and the page cache
    would not see the file change; give its HTML inline instead."""
    value = html_options(page.meta).get(key)
    items = value if isinstance(value, list) else [] if value in (None, "") else [value]
    texts = []
    for item in items:
        if not (isinstance(item, dict) and set(item) == {"text"} and isinstance(item["text"], str)):
            raise PageError(page.rel, f"format.html.{key}: {item!r}: the offline builder takes "
                            "inline includes only (a list item `- text: |` followed by the HTML)")
        texts.append(item["text"].rstrip("\n"))
    return texts


def _root(rel: str) -> str:
    depth = out_path(rel).count("/")
    return "../" * depth


def _title_block(page: PageInfo, parts: Rendered) -> str:
    meta = page.meta
    rows = []
    cats = meta.get("categories") or []
    if isinstance(cats, str):
        cats = [cats]
    if cats:
        chips = "".join(f'<li class="sb-category">{html.escape(str(c))}</li>' for c in cats)
        rows.append(f'<ul class="sb-categories" aria-label="Categories">{chips}</ul>')
    rows.append(f'<h1 class="title">{parts.title or html.escape(str(meta.get("title", "")))}</h1>')
    if parts.subtitle:
        rows.append(f'<p class="subtitle">{parts.subtitle}</p>')
    if parts.description:
        rows.append(f'<div class="description">{parts.description}</div>')
    facts = []
    for key, label in (("level", "Level"), ("time", "Time")):
        if meta.get(key) not in (None, ""):
            value = str(meta[key])
            if key == "time" and value.isdigit():
                value += " min"
            facts.append(f"<div><dt>{label}</dt><dd>{html.escape(value)}</dd></div>")
    if facts:
        rows.append(f'<dl class="sb-page-facts">{"".join(facts)}</dl>')
    if page.notebook:
        href = html.escape(posixpath.basename(page.notebook))
        rows.append(f'<p class="sb-formats"><a class="sb-download" href="{href}" download>'
                    f"{_ICON_DOWNLOAD}<span>Download notebook</span></a></p>")
    return f'<header class="sb-title-block">{"".join(rows)}</header>'


def _pager(nav: Navigation, rel: str, titles: dict[str, str]) -> str:
    prev, nxt = nav.neighbours(rel)
    if not (prev or nxt):
        return ""
    out = ['<nav class="sb-pager" aria-label="Previous and next page">']
    for page, cls, label in ((prev, "prev", "Previous"), (nxt, "next", "Next")):
        if page:
            href = html.escape(relative(rel, out_path(page)))
            title = html.escape(titles.get(page, page))
            out.append(f'<a class="sb-pager-{cls}" href="{href}" rel="{cls}">'
                       f'<span class="sb-pager-dir">{label}</span>'
                       f'<span class="sb-pager-title">{title}</span></a>')
        else:
            out.append(f'<span class="sb-pager-{cls}"></span>')
    out.append("</nav>")
    return "".join(out)


def _rooted(fragment: str, root: str) -> str:
    """Relative links of a site-wide snippet (written from the site root) for one page."""
    return _HREF.sub(lambda m: f'{m.group(1)}="{root}{m.group(2)}"', fragment)


def _footer(chrome: SiteChrome, root: str) -> str:
    if not chrome.footer:
        return ""
    cells = "".join(f'<div class="sb-footer-{k}">{_rooted(chrome.footer.get(k, ""), root)}</div>'
                    for k in ("left", "center", "right"))
    return f'<footer class="sb-footer">{cells}</footer>'


def page_html(chrome: SiteChrome, nav: Navigation, page: PageInfo, parts: Rendered,
              titles: dict[str, str]) -> str:
    """The complete HTML document of one page."""
    rel = page.rel
    root = _root(rel)
    title = parts.pagetitle or plain_title(page.meta.get("title", "")) or chrome.title
    full_title = title if title == chrome.title else f"{title} – {chrome.title}"
    description = plain_title(page.meta.get("description") or chrome.description)
    head = [
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="sitebuild (offline Quarto renderer)">',
        '<meta name="color-scheme" content="light dark">',
        f"<title>{html.escape(full_title)}</title>",
    ]
    if description:
        head.append(f'<meta name="description" content="{html.escape(description)}">')
    if page.error or page.stub:  # the browser check fails such a page
        status = "build-error" if page.error else "placeholder"
        head.append(f'<meta name="sitebuild-status" content="{status}">')
    if chrome.favicon:
        kind = "image/svg+xml" if chrome.favicon.endswith(".svg") else "image/png"
        head.append(f'<link rel="icon" href="{root}{html.escape(chrome.favicon)}" type="{kind}">')
    head.append(f'<link rel="stylesheet" href="{root}{STATIC_DIR}/sitebuild.css">')
    for css in chrome.stylesheets:
        head.append(f'<link rel="stylesheet" href="{root}{html.escape(css)}">')
    head.append(_THEME_INIT)
    head.append(f'<script src="{root}{STATIC_DIR}/site.js" defer></script>')
    # as in Quarto's website pages: the way back to the site root, for site-wide scripts
    head.append(f'<meta name="quarto:offset" content="{root or "./"}">')
    head += _includes(page, "include-in-header")
    before_body = "".join(f"{text}\n" for text in _includes(page, "include-before-body"))
    after_body = "".join(f"{text}\n" for text in _includes(page, "include-after-body"))

    search = ""
    if chrome.search:
        search = ('<div class="sb-search" role="search">'
                  '<input type="search" id="sb-search-input" placeholder="Search" '
                  'aria-label="Search this site" autocomplete="off" '
                  f'data-index="{root}search.json" data-root="{root}">'
                  '<ul id="sb-search-results" class="sb-search-results" role="listbox" '
                  'aria-label="Search results" hidden></ul></div>')
    home = relative(rel, "index.html")
    navbar = (
        '<header class="sb-navbar">'
        '<button type="button" class="sb-icon-button sb-sidebar-toggle" aria-label="Show pages" '
        f'aria-controls="sb-sidebar" aria-expanded="false">{_ICON_MENU}</button>'
        f'<a class="sb-brand" href="{html.escape(home)}">{html.escape(chrome.title)}</a>'
        f'<nav class="sb-nav" aria-label="Main">{nav.navbar_html(rel)}</nav>'
        f"{search}"
        '<button type="button" class="sb-icon-button sb-theme-toggle" '
        f'aria-label="Switch between light and dark theme" title="Light/dark">{_ICON_THEME}'
        "</button></header>")
    toc = ""
    if parts.toc and "<li" in parts.toc:
        toc = (f'<nav class="sb-toc" aria-label="On this page"><h2 class="sb-toc-title">'
               f"On this page</h2>{parts.toc}</nav>")
    stub = ('<p class="sb-stub">This page has not been written yet.</p>' if page.stub else "")
    if page.error:
        stub = ('<div class="sb-stub sb-build-error" role="alert"><p>This page failed to build:'
                f"</p><pre>{html.escape(page.error)}</pre></div>")
    main = (f'<main id="content" class="sb-main">{_title_block(page, parts)}{stub}'
            f'<div class="sb-content">{parts.body}</div>{_pager(nav, rel, titles)}</main>')
    sidebar = (f'<nav id="sb-sidebar" class="sb-sidebar" aria-label="Pages">'
               f"{nav.sidebar_html(rel)}</nav>")
    return ("<!DOCTYPE html>\n"
            f'<html lang="{html.escape(str(page.meta.get("lang", "en")))}" data-theme="light">\n'
            f"<head>\n{chr(10).join(head)}\n</head>\n"
            f'<body class="sb">\n{before_body}'
            '<a class="sb-skip" href="#content">Skip to content</a>\n'
            f"{navbar}\n"
            f'<div class="sb-layout{" sb-has-toc" if toc else ""}">\n{sidebar}\n{main}\n'
            f"{toc}\n</div>\n{_footer(chrome, root)}\n{after_body}</body>\n</html>\n")
