"""Internal link resolution for the browser check: URL → file in the site, anchors in a page."""

from __future__ import annotations

import html.parser
import posixpath
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True)
class Link:
    """An internal ``a[href]`` of a page: its href as written, target page and fragment."""

    href: str
    target: str | None  # site-relative POSIX path of the file served, None if nothing is served
    fragment: str  # decoded, '' when the link has none


def site_path(url_path: str, site_dir: Path) -> str | None:
    """The site-relative file a URL path serves (as ``http.server`` does), or None."""
    path = posixpath.normpath(unquote(url_path))
    rel = path.lstrip("/")
    rel = "" if rel == "." else rel
    candidate = site_dir / rel if rel else site_dir
    if candidate.is_dir():
        candidate = candidate / "index.html"
        rel = posixpath.join(rel, "index.html") if rel else "index.html"
    if not candidate.is_file():
        return None
    try:
        candidate.resolve().relative_to(site_dir.resolve())
    except ValueError:
        return None
    return rel


def internal_link(href: str, url: str, base: str, site_dir: Path) -> Link | None:
    """A :class:`Link` when ``url`` (the resolved ``href``) lies inside the served site."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != base:
        return None
    return Link(href, site_path(parts.path or "/", site_dir), unquote(parts.fragment))


class _IdCollector(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value and (name == "id" or (name == "name" and tag == "a")):
                self.ids.add(value)


def static_ids(page: Path) -> set[str]:
    """Element ids (and ``a[name]``) of an HTML file, parsed without a browser."""
    collector = _IdCollector()
    collector.feed(page.read_text(encoding="utf-8", errors="replace"))
    collector.close()
    return collector.ids


def is_html(rel: str) -> bool:
    return rel.endswith((".html", ".htm"))
