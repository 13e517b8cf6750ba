"""``python -m sitebuild serve``: build (with Quarto when installed) and serve on 127.0.0.1."""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

from .build import build_site, format_errors
from .config import load_site


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map: ClassVar[dict[str, str]] = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".svg": "image/svg+xml", ".json": "application/json", ".js": "text/javascript",
        ".ipynb": "application/x-ipynb+json"}

    def log_request(self, code="-", size="-"):
        if str(code).isdigit() and int(code) >= 400:  # only problems, not every request
            super().log_request(code, size)


def build_for_serving(root: Path, profile: str | None, jobs: int | None) -> Path | None:
    """Render with ``quarto`` when it is on PATH, else with sitebuild (missing pages get a
    placeholder, failing pages show their error); the output folder, None if Quarto failed."""
    quarto = shutil.which("quarto")
    if quarto:
        cmd = [quarto, "render"] + (["--profile", profile] if profile else [])
        print("$ " + " ".join(cmd), file=sys.stderr)
        if subprocess.run(cmd, cwd=root, check=False).returncode != 0:
            return None
        return load_site(root, profile).output_dir
    report = build_site(root, profile=profile, jobs=jobs, allow_missing=True, error_pages=True)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if report.errors:  # still serve: the failing pages show their error in the browser
        print(format_errors(report.errors), file=sys.stderr)
        print(f"{len(report.errors)} page(s) failed; they show the error when opened",
              file=sys.stderr)
    print(f"built {len(report.results)} pages in {report.seconds:.1f} s", file=sys.stderr)
    return report.output_dir


def serve_directory(directory: Path, port: int) -> None:
    """Serve ``directory`` on http://127.0.0.1:port until Ctrl-C."""
    handler = functools.partial(_Handler, directory=str(directory))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as httpd:
        print(f"Serving {directory} at http://localhost:{port}/ (Ctrl-C to stop)",
              file=sys.stderr)
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            print("\nstopped", file=sys.stderr)
