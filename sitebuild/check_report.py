"""Results of the browser check and their plain-text report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

#: Problem kinds, in report order, with the heading each is shown under.
KINDS = {
    "build": "page not built",
    "load": "page did not load",
    "console": "console error",
    "pageerror": "uncaught exception",
    "request": "failed request",
    "external": "external request (blocked)",
    "image": "image not decoded",
    "link": "broken internal link",
    "anchor": "missing link anchor",
    "raw": "raw Quarto/pandoc text",
    "details": "collapsed details do not open",
}
MAX_PER_KIND = 8  # longer lists are cut in the text report (the CheckReport keeps them all)


@dataclass(frozen=True)
class Problem:
    kind: str  # one of KINDS
    message: str


@dataclass
class PageResult:
    """What the browser saw on one page (``path`` is relative to the site, POSIX style)."""

    path: str
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    screenshot: Path | None = None

    def add(self, kind: str, message: str) -> None:
        problem = Problem(kind, message)
        if problem not in self.problems:
            self.problems.append(problem)

    def kinds(self) -> set[str]:
        return {p.kind for p in self.problems}

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class CheckReport:
    site_dir: Path
    pages: list[PageResult] = field(default_factory=list)
    seconds: float = 0.0
    launch_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)  # run-level failures (no pages, no browser)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.pages) and all(p.ok for p in self.pages)

    def page(self, path: str) -> PageResult:
        for result in self.pages:
            if result.path == path:
                return result
        raise KeyError(path)

    def problems(self) -> list[tuple[str, Problem]]:
        return [(p.path, problem) for p in self.pages for problem in p.problems]

    def format(self, verbose: bool = False) -> str:
        """A readable report: one block per failing page (every page when ``verbose``)."""
        lines = [f"Browser check of {self.site_dir}"]
        lines += [f"ERROR: {e}" for e in self.errors]
        for page in self.pages:
            if page.ok and not page.warnings and not verbose:
                continue
            status = "ok" if page.ok else f"{len(page.problems)} problem(s)"
            lines.append(f"\n{page.path}  [{status}, {page.seconds:.2f} s]")
            for kind, heading in KINDS.items():
                found = [p.message for p in page.problems if p.kind == kind]
                for message in found[:MAX_PER_KIND]:
                    lines.append(f"  ✗ {heading}: {message}")
                if len(found) > MAX_PER_KIND:
                    lines.append(f"  ✗ … and {len(found) - MAX_PER_KIND} more {heading}(s)")
            lines += [f"  ! {w}" for w in page.warnings]
        counts = Counter(problem.kind for _, problem in self.problems())
        failing = sum(not p.ok for p in self.pages)
        per_page = (self.seconds - self.launch_seconds) / max(len(self.pages), 1)
        lines.append(
            f"\n{len(self.pages)} page(s) checked, {failing} failing, "
            f"{sum(counts.values())} problem(s) in {self.seconds:.1f} s "
            f"(browser start {self.launch_seconds:.1f} s, {per_page:.2f} s per page)"
        )
        if counts:
            lines.append("  " + ", ".join(f"{KINDS[k]}: {n}" for k, n in counts.items()))
        lines.append("PASS" if self.ok else "FAIL")
        return "\n".join(lines)
