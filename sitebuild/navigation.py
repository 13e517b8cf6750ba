"""Site navigation from ``_quarto.yml``: navbar, docked sidebar and previous/next order.

Hrefs in the configuration are project-relative ``.qmd`` paths; links in a page are made
relative to that page's output file, so the site works from any folder or URL prefix.
"""

from __future__ import annotations

import html
import posixpath
import re
from dataclasses import dataclass, field


def out_path(rel: str) -> str:
    """Output path of a source page: ``tutorials/01_x.qmd`` → ``tutorials/01_x.html``."""
    return re.sub(r"\.(qmd|ipynb|md)$", ".html", rel)


def is_external(href: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+.-]*:|^//|^#", href, re.I))


def relative(from_rel: str, to_out: str) -> str:
    """URL of ``to_out`` (an output path) as seen from the page ``from_rel``."""
    if is_external(to_out):
        return to_out
    path, _, anchor = to_out.partition("#")
    url = posixpath.relpath(path, posixpath.dirname(out_path(from_rel)) or ".")
    return url + (f"#{anchor}" if anchor else "")


def plain_title(text: str) -> str:
    """A front-matter title as plain text (Markdown emphasis and code marks removed)."""
    return re.sub(r"[*_`]", "", str(text)).strip()


@dataclass
class Link:
    text: str
    href: str            # project-relative source path (.qmd) or external URL
    page: str | None     # the source page it points to, if any


@dataclass
class Section:
    text: str
    items: list = field(default_factory=list)   # Link | Section


@dataclass
class Navigation:
    """Everything a page template needs to draw the navbar, sidebar and pager."""

    title: str
    navbar_left: list[Link]
    navbar_right: list[Link]
    sidebar: list            # Link | Section
    order: list[str]         # pages in sidebar order (prev/next)
    page_navigation: bool = True
    skipped: list[str] = field(default_factory=list)   # listed pages that do not exist

    # -- rendering ----------------------------------------------------------------------
    def _a(self, link: Link, current: str, cls: str = "") -> str:
        target = link.href if is_external(link.href) else relative(current, out_path(link.href))
        active = link.page == current
        classes = " ".join(c for c in (cls, "active" if active else "") if c)
        attrs = f' class="{classes}"' if classes else ""
        if active:
            attrs += ' aria-current="page"'
        return f'<a href="{html.escape(target)}"{attrs}>{html.escape(link.text)}</a>'

    def navbar_html(self, current: str) -> str:
        def item(link: Link) -> str:
            section = (link.page and posixpath.dirname(link.page)
                       and posixpath.basename(link.page) == "index.qmd"
                       and current.startswith(posixpath.dirname(link.page) + "/"))
            cls = "sb-nav-link" + (" section-active" if section else "")
            return f"<li>{self._a(link, current, cls)}</li>"

        left = "".join(item(x) for x in self.navbar_left)
        right = "".join(item(x) for x in self.navbar_right)
        return (f'<ul class="sb-nav-links">{left}</ul>'
                + (f'<ul class="sb-nav-links sb-nav-right">{right}</ul>' if right else ""))

    def sidebar_html(self, current: str) -> str:
        def render(items: list) -> str:
            out = []
            for entry in items:
                if isinstance(entry, Section):
                    out.append(f'<li class="sb-sidebar-section"><p class="sb-sidebar-heading">'
                               f"{html.escape(entry.text)}</p><ul>{render(entry.items)}</ul></li>")
                else:
                    out.append(f"<li>{self._a(entry, current, 'sb-sidebar-link')}</li>")
            return "".join(out)

        return f'<ul class="sb-sidebar-list">{render(self.sidebar)}</ul>'

    def neighbours(self, current: str) -> tuple[str | None, str | None]:
        if not self.page_navigation or current not in self.order:
            return None, None
        i = self.order.index(current)
        prev = self.order[i - 1] if i > 0 else None
        nxt = self.order[i + 1] if i + 1 < len(self.order) else None
        return prev, nxt


def _link(entry, titles: dict[str, str], root_pages: set[str]) -> Link | None:
    """A navbar/sidebar entry (string path or mapping) as a Link; None for a missing page."""
    if isinstance(entry, str):
        href, text = entry, None
    else:
        href = entry.get("href") or entry.get("file") or ""
        text = entry.get("text")
    if is_external(href):
        return Link(text or href, href, None)
    page = posixpath.normpath(href.lstrip("/"))
    if page not in root_pages:
        return None
    return Link(text or titles.get(page) or page, page, page)


def build_navigation(site_config: dict, titles: dict[str, str], pages: set[str],
                     current_hint: str | None = None) -> Navigation:
    """Navigation from the ``website:`` section; ``titles`` maps source pages to titles."""
    website = site_config.get("website") or {}
    skipped: list[str] = []

    def links(entries) -> list[Link]:
        out = []
        for entry in entries or []:
            link = _link(entry, titles, pages)
            if link is None:
                skipped.append(entry if isinstance(entry, str) else str(entry.get("href")))
            else:
                out.append(link)
        return out

    navbar = website.get("navbar") or {}
    sidebar_cfg = website.get("sidebar") or {}
    if isinstance(sidebar_cfg, list):  # several sidebars: the one listing the page, else first
        chosen = next((s for s in sidebar_cfg if current_hint and current_hint in str(s)),
                      sidebar_cfg[0] if sidebar_cfg else {})
        sidebar_cfg = chosen

    order: list[str] = []

    def tree(entries) -> list:
        out: list = []
        for entry in entries or []:
            if isinstance(entry, dict) and "section" in entry:
                section = Section(str(entry["section"]), tree(entry.get("contents")))
                if section.items:
                    out.append(section)
            elif entry == "auto":
                out.extend(tree(sorted(pages)))
            else:
                link = _link(entry, titles, pages)
                if link is None:
                    skipped.append(entry if isinstance(entry, str) else str(entry.get("href")))
                    continue
                out.append(link)
                if link.page and link.page not in order:
                    order.append(link.page)
        return out

    sidebar = tree(sidebar_cfg.get("contents"))
    return Navigation(
        title=str(website.get("title") or ""),
        navbar_left=links(navbar.get("left")),
        navbar_right=links(navbar.get("right")),
        sidebar=sidebar,
        order=order,
        page_navigation=bool(website.get("page-navigation", True)),
        skipped=list(dict.fromkeys(skipped)),
    )
