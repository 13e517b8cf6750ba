"""Site navigation from ``_quarto.yml``: navbar, docked sidebar and previous/next order.

Hrefs in the configuration are project-relative ``.qmd`` paths; links in a page are made
relative to that page's output file, so the site works from any folder or URL prefix.
Sidebar ``contents`` may be generated from the pages as Quarto does (``contents: auto``, a
folder or glob as ``contents``, an ``- auto: "tutorials/*.qmd"`` item), in Quarto's order.
"""

from __future__ import annotations

import html
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from .qmd import QmdSyntaxError, split_front_matter


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
    link: Link | None = None                    # the heading links to this page, if any


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
                    heading = (self._a(Link(entry.text, entry.link.href, entry.link.page),
                                       current, "sb-sidebar-heading-link") if entry.link
                               else html.escape(entry.text))
                    out.append(f'<li class="sb-sidebar-section"><p class="sb-sidebar-heading">'
                               f"{heading}</p><ul>{render(entry.items)}</ul></li>")
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


# -- generated sidebar items (Quarto's website-sidebar-auto) ---------------------------------
_INDEX = re.compile(r"^index\.\w+$")


def _glob_regex(pattern: str) -> re.Pattern:
    """A Quarto glob as a regex over project-relative paths: ``*`` and ``?`` stay inside a
    folder, ``**`` crosses folders; without a slash it matches at any depth, a leading slash
    anchors it at the project root."""
    if pattern.startswith("/"):
        pattern = pattern[1:]
    elif "/" not in pattern:
        pattern = "**/" + pattern
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[" and "]" in pattern[i + 1:]:
            end = pattern.index("]", i + 1)
            body = pattern[i + 1:end]
            out += "[" + ("^" + body[1:] if body.startswith("!") else body) + "]"
            i = end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def _is_dir(name: str, pages: set[str]) -> bool:
    return bool(name) and any(p.startswith(name.rstrip("/") + "/") for p in pages)


def _title_from_path(name: str) -> str:
    words = re.sub(r"[_\-]+", " ", posixpath.basename(name)).split()
    return " ".join(w[:1].upper() + w[1:] for w in words) if " " not in name else name


class _AutoSidebar:
    """Expands ``auto`` sidebar entries into plain entries, as Quarto does: titles from the
    pages, sub-folders as sections (linked to their ``index`` page), a folder's own index
    page left out, numeric ``order:`` front matter first, then files by name, then folders."""

    def __init__(self, pages: set[str], titles: dict[str, str], root: Path | None):
        self.pages, self.titles, self.root = pages, titles, root
        self._orders: dict[str, float | None] = {}

    def order(self, page: str) -> float | None:
        if page not in self._orders:
            value = None
            if self.root is not None:
                try:
                    fm, _, _ = split_front_matter((self.root / page).read_text("utf-8"), page)
                    value = fm.get("order")
                except (OSError, QmdSyntaxError):
                    value = None
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            self._orders[page] = float(value) if ok else None
        return self._orders[page]

    def items(self, auto) -> list:
        """Plain sidebar entries for ``auto: true | "glob" | [globs]``."""
        globs = ["*"] if auto is True else [] if auto in (False, None) else (
            [auto] if isinstance(auto, str) else [str(a) for a in auto])
        auto_dir = (isinstance(auto, str) and "*" not in auto
                    and _is_dir(auto.strip("/"), self.pages))
        entries: list[dict] = []
        for glob in globs:
            if "*" not in glob and _is_dir(glob.strip("/"), self.pages):
                glob = glob.strip("/") + "/**"
            rx = _glob_regex(glob)
            matched = sorted(p for p in self.pages if rx.match(p))
            match = re.match(r"(.*?)/\*", glob.lstrip("/"))
            base = match.group(1) if match and _is_dir(match.group(1), self.pages) else ""
            tree: dict = {}
            for page in matched:
                rel = page[len(base) + 1:] if base else page
                node = tree
                for part in rel.split("/"):
                    node = node.setdefault(part, {})
            if auto_dir:  # a folder given by name becomes one section
                parent, _, name = base.rpartition("/")
                base, tree = parent, {name: tree}
            entries += self._entries(base + "/" if base else "", tree)
        return [self._item(e) for e in sorted(entries, key=self._key)]

    def _entries(self, prefix: str, nodes: dict) -> list[dict]:
        out = []
        for name, children in nodes.items():
            href = prefix + name
            if children:  # a folder
                index = next((n for n in children if _INDEX.match(n) and not children[n]), None)
                rest = {n: c for n, c in children.items() if n != index}
                entry = self._page(f"{href}/{index}") if index else {
                    "title": _title_from_path(name), "order": None}
                entry.update(name=name, children=self._entries(href + "/", rest))
                out.append(entry)
            elif not _INDEX.match(name):  # a folder's index page links its section
                out.append(self._page(href))
        return sorted(out, key=self._key)

    def _page(self, href: str) -> dict:
        return {"title": self.titles.get(href) or _title_from_path(Path(href).stem),
                "href": href, "order": self.order(href), "name": Path(href).stem}

    @staticmethod
    def _key(entry: dict):
        name = entry["name"].casefold()
        if entry["order"] is not None:
            return (0, entry["order"], 0, name)
        return (1, 0, int("children" in entry), name)

    def _item(self, entry: dict):
        if "children" in entry:
            section = entry.get("href") or entry["title"]
            return {"section": section, "contents": [self._item(e) for e in entry["children"]]}
        return {"text": entry["title"], "href": entry["href"]}


def build_navigation(site_config: dict, titles: dict[str, str], pages: set[str],
                     current_hint: str | None = None, *, root: Path | None = None) -> Navigation:
    """Navigation from the ``website:`` section; ``titles`` maps source pages to titles.

    ``root`` (default: the folder a loaded configuration came from) is read for the
    ``order:`` front matter of pages that a generated sidebar entry lists."""
    website = site_config.get("website") or {}
    auto = _AutoSidebar(pages, titles, root or getattr(site_config, "root", None))
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

    def section(entry: dict) -> Section:
        value, contents = entry["section"], entry.get("contents")
        target = entry.get("href") or value
        link = _link({"href": target, "text": entry.get("text")}, titles, pages) \
            if isinstance(target, str) and posixpath.normpath(target) in pages else None
        if link is None and isinstance(contents, str):  # a globbed folder: link its index
            match = re.match(r"(.*?)/\*", contents)
            folder = contents.strip("/") if _is_dir(contents.strip("/"), pages) else (
                match.group(1) if match else "")
            index = next((p for p in sorted(pages) if folder and posixpath.dirname(p) == folder
                          and _INDEX.match(posixpath.basename(p))), None)
            if index:
                link = Link(str(entry.get("text") or value), index, index)
        if link is not None and link.page and link.page not in order:
            order.append(link.page)
        text = str(entry.get("text") or (link.text if link and value == target else value))
        return Section(text, tree(contents), link)

    def tree(entries) -> list:
        if isinstance(entries, str) or entries is True:  # contents: auto | folder | glob
            entries = [{"auto": True if entries in ("auto", True) else entries}]
        out: list = []
        for entry in entries or []:
            if isinstance(entry, dict) and "section" in entry:
                sec = section(entry)
                if sec.items or sec.link:
                    out.append(sec)
            elif isinstance(entry, dict) and "auto" in entry:
                out.extend(tree(auto.items(entry["auto"])))
            elif entry == "auto":
                out.extend(tree(auto.items(True)))
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
