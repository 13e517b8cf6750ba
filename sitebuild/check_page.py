"""One page in the browser: listeners, images, links, leftover source text, collapsed details,
the classroom boxes."""

from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

from sitebuild.check_links import Link, internal_link
from sitebuild.check_report import KINDS, PageResult

KINDS.setdefault("classroom", "classroom box not made")

# Wait for every image (lazy ones made eager) and the fonts; report each image's state.
_SETTLE_JS = """async () => {
  const imgs = [...document.images];
  for (const img of imgs) if (img.loading === 'lazy') img.loading = 'eager';
  const decoded = imgs.map(img => img.decode().then(() => true, () => false));
  const timeout = new Promise(r => setTimeout(() => r('timeout'), 8000));
  const done = await Promise.race([Promise.all(decoded), timeout]);
  await Promise.race([document.fonts.ready, timeout]);
  return imgs.map((img, i) => ({
    src: img.getAttribute('src') || '', url: img.currentSrc || img.src || '',
    ok: img.complete && (img.naturalWidth > 0 || (Array.isArray(done) && done[i])),
  }));
}"""

# Links, ids, and the text a reader can see (text nodes outside code blocks; inline code apart).
_SCAN_JS = r"""() => {
  const skip = 'pre, script, style, noscript, template, textarea, svg, math, head';
  const texts = [];
  const walker = document.createTreeWalker(document.body || document.documentElement,
                                           NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || !n.nodeValue.trim() || el.closest(skip)) continue;
    texts.push([n.nodeValue, !!el.closest('code, kbd, samp')]);
  }
  const ids = [...document.querySelectorAll('[id]')].map(e => e.id)
    .concat([...document.querySelectorAll('a[name]')].map(e => e.name));
  const links = [...document.querySelectorAll('a[href]')]
    .map(a => [a.getAttribute('href'), a.href]);
  const hints = [...document.querySelectorAll('link[rel~="preconnect"], link[rel~="dns-prefetch"]')]
    .map(l => l.href);
  const missing = [...document.querySelectorAll('.citation[data-cites]')].flatMap(
    el => el.dataset.cites.split(/\s+/).filter(k => k && el.textContent.includes(k + '?')));
  const status = document.querySelector('meta[name="sitebuild-status"]');
  const error = document.querySelector('.sb-build-error');
  return {texts, ids, links, hints, missing, status: status ? status.content : (
    error ? 'build-error' : ''), errorText: error ? error.innerText.slice(0, 300) : ''};
}"""

# After a click on a summary: is its details open, and is anything but the summary visible?
_OPENED_JS = """s => new Promise(resolve => requestAnimationFrame(() => {
  const d = s.parentElement;
  const shown = el => el.getClientRects().length > 0 && el.getBoundingClientRect().height > 0
    && (!el.checkVisibility || el.checkVisibility({visibilityProperty: true}));
  const kids = [...d.children].filter(c => c !== s);
  const visible = kids.some(shown)
    || d.getBoundingClientRect().height > s.getBoundingClientRect().height + 1;
  resolve({open: d.open, visible});
}))"""

# Answers and predictions a page declares (mlsysim.classroom): the names of those that
# assets/classroom.js did not give a box (it sets data-mlsysim-box to the box's id).
_CLASSROOM_JS = r"""() => [...document.querySelectorAll(
    'script[type="application/json"].mlsysim-answer')]
  .filter(s => !(s.dataset.mlsysimBox && document.getElementById(s.dataset.mlsysimBox)))
  .map(s => { try { return String(JSON.parse(s.textContent).name); } catch (e) { return '?'; } })"""

# Source text that should never reach a reader: (what it means, pattern).
PYTHON_LITERAL = ("literal {python}", re.compile(r"\{python\}"))  # unevaluated inline code
RAW_PATTERNS = [
    ("fenced div marker", re.compile(r":::")),
    ("missing reference", re.compile(r"\?\?\?")),
    ("unresolved cross-reference", re.compile(r"\?@[\w-]+")),
    ("unresolved citation", re.compile(r"(?<![\w.+?@-])@[A-Za-z][\w-]*(?:[:./][\w-]+)*")),
    PYTHON_LITERAL,
    ("code fence", re.compile(r"```")),
    ("shortcode", re.compile(r"\{\{<")),
    ("attribute block", re.compile(r"\{[#.][A-Za-z][\w-]*(?:\s[^{}]*)?\}")),
]
INLINE_CODE_PATTERNS = [PYTHON_LITERAL]  # inline code may show any syntax but `{python} expr`


def page_url(base: str, rel: str) -> str:
    return f"{base}/{quote(rel)}"


def raw_leftovers(texts: list[tuple[str, bool]]) -> list[str]:
    """Messages for leftover source syntax in ``(text, in_inline_code)`` pairs."""
    found = []
    for text, in_code in texts:
        for label, pattern in INLINE_CODE_PATTERNS if in_code else RAW_PATTERNS:
            for m in pattern.finditer(text):
                start, end = max(m.start() - 30, 0), min(m.end() + 30, len(text))
                snippet = " ".join(text[start:end].split())
                found.append(f"{label} {m.group(0)!r} in “…{snippet}…”")
    return found


class PageVisitor:
    """One browser tab that visits pages in turn, collecting everything that goes wrong."""

    def __init__(self, context, base: str, site_dir: Path) -> None:
        self.context, self.base, self.site_dir = context, base, site_dir
        self.page = None
        self._reset("")

    def _reset(self, rel: str) -> None:
        self.rel = rel
        self.result = PageResult(rel)
        self.blocked: set[str] = set()
        self.failed: set[str] = set()
        self.links: list[Link] = []
        self.ids: set[str] | None = None  # set once the page was scanned

    def _open_tab(self):
        page = self.context.new_page()
        page.route("**/*", self._route)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.result.add("pageerror", _one_line(str(exc))))
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)
        page.on("websocket", self._websocket)
        return page

    def close(self) -> None:
        page, self.page = self.page, None
        if page is not None:
            with contextlib.suppress(Exception):  # a crashed tab may refuse to close
                page.close()

    # -- listeners ------------------------------------------------------------------------
    def _local(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme not in ("http", "https", "ws", "wss") or (
            f"{parts.scheme}://{parts.netloc}" == self.base
        )

    def _route(self, route, request) -> None:
        if self._local(request.url):
            route.continue_()
        else:
            self.blocked.add(request.url)
            self.result.add("external", f"{request.resource_type} {request.url}")
            route.abort("blockedbyclient")

    def _console(self, msg) -> None:
        if msg.type != "error":
            return
        url = (msg.location or {}).get("url", "")
        if msg.text.startswith("Failed to load resource") and url in self.blocked | self.failed:
            return  # already reported as a failed or blocked request
        line = (msg.location or {}).get("lineNumber", 0) + 1
        where = f" ({_short(url, self.base)}:{line})" if url else ""
        self.result.add("console", _one_line(msg.text) + where)

    def _request_failed(self, request) -> None:
        if request.url in self.blocked:
            return
        self.failed.add(request.url)
        self.result.add("request", f"{_short(request.url, self.base)} ({request.failure})")

    def _response(self, response) -> None:
        if response.status >= 400:
            self.failed.add(response.url)
            url = _short(response.url, self.base)
            self.result.add("request", f"{url} → HTTP {response.status}")

    def _websocket(self, ws) -> None:
        if not self._local(ws.url):
            self.result.add("external", f"websocket {ws.url}")

    # -- the visit ------------------------------------------------------------------------
    def visit(self, rel: str, screenshot: Path | None) -> PageResult:
        """Open ``rel``; ``self.links`` and ``self.ids`` then hold what it links to and defines."""
        start = time.perf_counter()
        self._reset(rel)
        try:
            if self.page is None:
                self.page = self._open_tab()
            self._visit(screenshot)
        except Exception as exc:  # a page that cannot be driven is a failing page, not a crash
            self.result.add("load", _one_line(f"{type(exc).__name__}: {exc}"))
            self.close()  # the next page gets a fresh tab
        self.result.seconds = time.perf_counter() - start
        return self.result

    def _visit(self, screenshot: Path | None) -> None:
        self.page.goto(page_url(self.base, self.rel), wait_until="load", timeout=30_000)
        for img in self.page.evaluate(_SETTLE_JS):
            if not img["ok"]:
                self.result.add("image", _short(img["url"] or repr(img["src"]), self.base))
        scan = self.page.evaluate(_SCAN_JS)
        for url in scan["hints"]:
            if url and not self._local(url):
                self.result.add("external", f"<link rel=preconnect/dns-prefetch> {url}")
        self.ids = set(scan["ids"])
        for message in raw_leftovers(scan["texts"]):
            self.result.add("raw", message)
        if scan["status"] == "build-error":
            self.result.add("build", f"the page shows a build error instead of its content: "
                            f"{_one_line(scan['errorText'])}")
        elif scan["status"] == "placeholder":
            self.result.add("build", "placeholder page: its source does not exist")
        for key in scan["missing"]:  # how citeproc renders a key not in the bibliography
            self.result.add("raw", f"unresolved citation '{key}' (shown as “({key}?)”)")
        boxless = self.page.evaluate(_CLASSROOM_JS)
        if boxless:
            names = ", ".join(boxless[:6]) + (", …" if len(boxless) > 6 else "")
            self.result.add("classroom", f"no box for {len(boxless)} declared answer(s) or "
                            f"prediction(s) ({names}): is assets/classroom.js loaded "
                            "(format.html include-after-body in _quarto.yml)?")
        for href, url in dict.fromkeys(map(tuple, scan["links"])):
            link = internal_link(href, url, self.base, self.site_dir)
            if link is not None:
                self.links.append(link)
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(screenshot), full_page=True)
            self.result.screenshot = screenshot
        self._open_details()

    def _open_details(self) -> None:
        """Click the first visible collapsed summary: its details must open and show content."""
        if self.page.locator("details:not([open])").count() == 0:
            return
        summary = self.page.locator("details:not([open]) > summary:visible").first
        if summary.count() == 0:
            self.result.add("details", "no visible <summary> to click on a collapsed <details>")
            return
        handle = summary.element_handle()
        label = _one_line(handle.inner_text())[:60]
        try:
            handle.click(timeout=5_000)
        except Exception as exc:  # e.g. another element covers the summary
            self.result.add("details", f"could not click “{label}”: {_one_line(str(exc))}")
            return
        state = handle.evaluate(_OPENED_JS)
        if not state["open"]:
            self.result.add("details", f"clicking “{label}” did not open it")
        elif not state["visible"]:
            self.result.add("details", f"“{label}” opened but its content is not visible")
        self.page.wait_for_timeout(50)  # let errors raised by the click arrive


def mobile_screenshot(browser, base: str, rel: str, path: Path) -> list[str]:
    """Full-page screenshot of ``rel`` 390 px wide; warnings if it overflows horizontally."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  service_workers="block")
    try:
        context.route("**/*", lambda route, request: route.continue_()
                      if request.url.startswith(base + "/") else route.abort("blockedbyclient"))
        page = context.new_page()
        page.goto(page_url(base, rel), wait_until="load", timeout=30_000)
        page.evaluate(_SETTLE_JS)
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        if width <= 391:
            return []
        return [f"at 390 px the page is {width} px wide (horizontal scrolling)"]
    finally:
        context.close()


def _one_line(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= 300 else text[:297] + "…"


def _short(url: str, base: str) -> str:
    return url[len(base):] if url.startswith(base + "/") else url
