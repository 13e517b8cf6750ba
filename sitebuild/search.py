"""The client-side search index: one entry per page section (title, heading, text).

Only text a reader sees is indexed: never the contents of ``<script>`` elements (the answer
declarations of ``mlsysim.answer`` and the data of interactive figures are JSON in scripts), nor
styles, SVG, math, templates or code blocks. What a profile's filters removed from a page (the
student edition's solutions) is not in its HTML, so not in its entries either."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

MAX_TEXT = 4000
_SKIP = {"script", "style", "svg", "math", "template", "pre"}  # code and raw output too
_HEADINGS = {"h1", "h2", "h3", "h4"}


class _Sections(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sections: list[dict] = [{"id": "", "heading": "", "text": []}]
        self._skip = 0
        self._heading: dict | None = None

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self._skip += 1
        elif tag in _HEADINGS and not self._skip:
            ident = dict(attrs).get("id") or ""
            self._heading = {"id": ident, "heading": "", "text": []}
            self.sections.append(self._heading)

    def handle_endtag(self, tag):
        if tag in _SKIP and self._skip:
            self._skip -= 1
        elif tag in _HEADINGS:
            self._heading = None

    def handle_data(self, data):
        if self._skip:
            return
        if self._heading is not None:
            self._heading["heading"] += data
        else:
            self.sections[-1]["text"].append(data)


def page_entries(href: str, title: str, body_html: str) -> list[dict]:
    """Search entries of one page: ``href`` is its output path from the site root."""
    parser = _Sections()
    parser.feed(body_html)
    entries = []
    for section in parser.sections:
        text = " ".join(" ".join(section["text"]).split())[:MAX_TEXT]
        heading = " ".join(section["heading"].split())
        if not (text or heading):
            continue
        anchor = f"#{section['id']}" if section["id"] else ""
        entries.append({"href": href + anchor, "title": title, "section": heading,
                        "text": text})
    return entries


def write_index(path: Path, entries_by_page: dict[str, list[dict]], merge: bool = True,
                drop: set[str] = frozenset()) -> None:
    """Write ``search.json``; with ``merge``, an existing index keeps the pages not rebuilt
    (except those in ``drop``: pages that failed)."""
    merged: dict[str, list[dict]] = {}
    if merge and path.is_file():
        try:
            for entry in json.loads(path.read_text(encoding="utf-8")):
                merged.setdefault(entry["href"].split("#")[0], []).append(entry)
        except (ValueError, KeyError, TypeError):
            merged = {}
    for page in drop:
        merged.pop(page, None)
    merged.update(entries_by_page)
    flat = [e for page in sorted(merged) for e in merged[page]]
    path.write_text(json.dumps(flat, ensure_ascii=False, separators=(",", ":")),
                    encoding="utf-8")
