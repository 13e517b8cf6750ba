"""Command line: ``python -m sitebuild build|serve|check|new|assign``.

    python -m sitebuild build [--profile instructor] [--jobs N] [--no-cache] [PAGE ...]
    python -m sitebuild serve [--port 8000] [--profile P] [--no-watch]   (live preview)
    python -m sitebuild check [--site DIR]      (browser check, sitebuild/check.py)
    python -m sitebuild new tutorial NAME [--title "A question?"]   (sitebuild/new.py)
    python -m sitebuild assign PAGE ... | --all [--out DIR] [--variants ROSTER]   (assign.py)
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from .errors import BuildError


def _build(args) -> int:
    from .build import build_site, format_errors

    try:
        report = build_site(args.root, profile=args.profile, jobs=args.jobs,
                            use_cache=not args.no_cache, pages=args.pages or None,
                            allow_missing=args.allow_missing, timeout=args.timeout)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if report.errors:
        print(format_errors(report.errors), file=sys.stderr)
        return 1
    executed = sum(r.executed for r in report.results)
    print(f"built {len(report.results)} pages ({executed} executed) into {report.output_dir} "
          f"in {report.seconds:.1f} s", file=sys.stderr)
    return 0


def _serve(args) -> int:
    import shutil

    from . import preview

    root = Path(args.root)
    if args.no_watch:
        return preview.build_and_serve(root, port=args.port, profile=args.profile,
                                       jobs=args.jobs, timeout=args.timeout)
    quarto = shutil.which("quarto")
    if quarto:
        return preview.quarto_preview(quarto, root, args.port, args.profile)
    return preview.preview(root, port=args.port, profile=args.profile, jobs=args.jobs,
                           timeout=args.timeout)


def _new(args) -> int:
    from .new import new_tutorial

    try:
        path = new_tutorial(Path(args.root), args.name, args.title)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path}\nnext: edit it, preview with `make serve`, test with "
          "`.venv/bin/python -m pytest -q tests/test_page_lint.py` (CONTRIBUTING.md, "
          "\"Adding a tutorial\")", file=sys.stderr)
    return 0


def _check(argv: list[str]) -> int:
    try:
        check = importlib.import_module("sitebuild.check")
    except ModuleNotFoundError as exc:
        if exc.name != "sitebuild.check":
            raise
        print("error: the browser check is not available (sitebuild/check.py is missing)",
              file=sys.stderr)
        return 2
    return int(check.main(argv) or 0)


def _check_root(root: str, options: list[str]) -> int:
    """``--root DIR check [options]``: the check of DIR's site, screenshots in DIR/_build."""
    root = Path(root)
    if not any(o == "--site" or o.startswith("--site=") for o in options):
        options = ["--site", str(root / "_site"), *options]
    if not any(o == "--screenshots" or o.startswith("--screenshots=") for o in options):
        options = ["--screenshots", str(root / "_build" / "screenshots"), *options]
    return _check(options)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "check":  # the check module parses its own options
        return _check(argv[1:])
    given = 2 if argv[:1] == ["--root"] else 1 if argv[:1] and argv[0].startswith("--root=") else 0
    if given and argv[given:given + 1] == ["check"]:  # --root DIR check [options]
        return _check_root(argv[given - 1].removeprefix("--root="), argv[given + 1:])
    parser = argparse.ArgumentParser(prog="python -m sitebuild",
                                     description="Render the Quarto site without Quarto.")
    parser.add_argument("--root", default=".", help="project folder (with _quarto.yml)")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="execute and render pages into the output folder")
    build.add_argument("pages", nargs="*", metavar="PAGE", help="only these .qmd files")
    build.add_argument("--profile", help="Quarto profile(s), e.g. instructor")
    build.add_argument("--jobs", type=int, help="parallel pages (default: number of CPUs)")
    build.add_argument("--no-cache", action="store_true", help="re-execute every page")
    build.add_argument("--allow-missing", action="store_true",
                       help="placeholder pages for listed pages that do not exist")
    build.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    serve = sub.add_parser("serve", aliases=["preview"],
                           help="build, serve on http://127.0.0.1:PORT, rebuild and reload "
                                "on every save (sitebuild/preview.py)")
    serve.add_argument("--port", type=int, default=8000,
                       help="the next free port is used when it is taken; 0: any free port")
    serve.add_argument("--profile")
    serve.add_argument("--jobs", type=int, help="parallel pages in the first build")
    serve.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    serve.add_argument("--no-watch", action="store_true",
                       help="build once and serve as it is: no watching, no reload")
    check = sub.add_parser("check", help="browser check of the built site (sitebuild/check.py)")
    check.add_argument("options", nargs=argparse.REMAINDER,
                       help="sitebuild/check.py's options (--site defaults to ROOT/_site)")
    new = sub.add_parser("new", help="start a page from a template: new tutorial NAME")
    new.add_argument("kind", choices=["tutorial"])
    new.add_argument("name", help="a simple slug, e.g. kv_cache (tutorials/NN_kv_cache.qmd)")
    new.add_argument("--title", help="the question the page answers (default from NAME)")
    assign = sub.add_parser("assign", help="a tutorial's exercises as an otter-grader "
                            "assignment: notebooks and autograder (sitebuild/assign.py)")
    assign.add_argument("pages", nargs="*", metavar="PAGE", help="tutorials/NN_name.qmd ...")
    assign.add_argument("--all", action="store_true", help="every tutorials/NN_*.qmd")
    assign.add_argument("--out", default="_assignments", help="output folder")
    assign.add_argument("--variants", metavar="ROSTER",
                        help="per-student variants: a file of student ids, or id1,id2")
    assign.add_argument("--seed", type=int, default=0, help="seed of the variants' draw")
    assign.add_argument("--no-validate", action="store_true",
                        help="skip grading the solution notebook with the new autograder")
    args = parser.parse_args(argv)
    if args.command == "assign":
        from .assign import main as assign_main

        return assign_main(args)
    if args.command == "build":
        return _build(args)
    if args.command == "new":
        return _new(args)
    return _serve(args)


if __name__ == "__main__":
    sys.exit(main())
