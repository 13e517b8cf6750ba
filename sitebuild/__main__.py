"""``python -m sitebuild build|serve`` (placeholder until the full offline renderer lands:
it writes a catalog overview page so the README's serve command works on a fresh machine)."""

from __future__ import annotations

import argparse
import functools
import html
import http.server
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_site"


def build() -> Path:
    import mlsysim
    from mlsysim.cli import _zoo_rows
    from mlsysim.show import Table

    SITE.mkdir(exist_ok=True)
    parts = ["<!doctype html><meta charset=utf-8><title>MLSys·im</title>",
             "<h1>MLSys·im</h1><p>The tutorial pages arrive with the site issue; "
             "meanwhile, the catalog:</p>"]
    for kind in ("hardware", "models"):
        headers, rows, _ = _zoo_rows(kind)
        parts.append(f"<h2>{html.escape(kind.title())}</h2>{Table(headers, rows)._repr_html_()}")
    parts.append(f"<p>mlsysim {html.escape(mlsysim.__version__)}</p>")
    out = SITE / "index.html"
    out.write_text("\n".join(parts), encoding="utf-8")
    return out


def serve(port: int) -> None:
    build()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(SITE))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as httpd:
        print(f"Serving {SITE} at http://localhost:{port}/ (Ctrl-C to stop)")
        httpd.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sitebuild")
    parser.add_argument("command", choices=["build", "serve"])
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    if args.command == "build":
        print(build())
    else:
        serve(args.port)


if __name__ == "__main__":
    main()
