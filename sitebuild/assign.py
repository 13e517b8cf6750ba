"""``python -m sitebuild assign``: a tutorial's exercises as an otter-grader assignment.

    python -m sitebuild assign tutorials/00_hello_roofline.qmd [--out _assignments]
    python -m sitebuild assign --all [--variants ROSTER --seed N] [--no-validate]

For each page it writes ``OUT/<page>/``:

- ``student/<page>.ipynb``: the page's setup code, each exercise's question and hint, and an
  answer cell with a placeholder per answer name (``ex1_batch = ...``); students need only
  ``mlsysim``;
- ``solution/<page>.ipynb``: the same with the worked solutions (runs top to bottom);
- ``autograder/<page>-autograder.zip``: otter's autograder. Its tests compute the expected
  answers from the engine at grading time (``sitebuild/assign_support.py``), one point per
  checkable answer; grade with ``otter run -a that.zip submission.ipynb`` (no Docker) or
  ``otter grade`` (Docker);
- ``source/``: otter's master notebook and the autograder's support files (re-run ``otter
  assign source/<page>.ipynb .`` after editing it by hand);
- with ``--variants ROSTER`` (a file with one student id a line, or ``id1,id2``):
  ``variants/<id>/<page>.ipynb`` per student and ``variants/roster.json``, for pages that
  declare ``VARIANTS`` (see ``assign_support``); ``--seed`` picks the draw.

First the page's code runs here, in-process and in page order: the question prose gets its
inline values, and every declared answer must then be held by a variable of its name (what the
student's notebook must define). Then ``otter assign`` builds the notebooks and the autograder
and (unless ``--no-validate``) grades the solution notebook with it, expecting full marks.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import traceback
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import assign_notebook as notebooks
from . import assign_support as support
from .assign_parse import Page, parse_page
from .assign_slice import unused_setup
from .errors import BuildError, PageError
from .qmd import inline_expressions

MARKER = ".mlsysim-assignment"


class NothingToGrade(PageError):
    """No worked solution of the page declares an answer."""
_STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")


@dataclass
class Run:
    rendered: dict[int, str]      # block index -> Markdown with inline values
    answers: dict[str, list]      # exercise key -> the Answers its worked solution declared


@dataclass
class Written:
    folder: Path
    student: Path
    solution: Path
    autograder: Path
    answers: list[str]
    variants: dict[str, Path]
    notes: list[str]


@contextlib.contextmanager
def _chdir(folder: Path):
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def _inline_text(value) -> str:
    if isinstance(value, str):
        return value
    markdown = getattr(value, "_repr_markdown_", None)
    text = markdown() if callable(markdown) else None
    return text if isinstance(text, str) and text else repr(value)


def _failure(page: Page, what: str, exc: BaseException, line: int) -> PageError:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == page.rel]
    where = frames[-1].lineno if frames else line
    detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return PageError(page.rel, f"{what} raised {type(exc).__name__}", line=where, detail=detail)


@contextlib.contextmanager
def _headless_plots():
    """Matplotlib without a display while the page runs here, and only then: a process-wide
    MPLBACKEND would reach every kernel this process starts later (they would lose their
    inline figures)."""
    before = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "Agg"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = before


def run_page(page: Page, variant: dict | None = None) -> Run:
    """Run the page's setup and exercise code here, in page order (see the module docstring)."""
    ns = support.new_namespace(variant)
    rendered: dict[int, str] = {}
    answers: dict[str, list] = {e.key: [] for e in page.exercises}
    folder = page.path.resolve().parent
    with _chdir(folder), _headless_plots(), contextlib.redirect_stdout(io.StringIO()):
        for i, block in enumerate(page.blocks):
            if block.kind == "code":
                if block.skip:
                    continue
                chunk = {"source": block.text, "line": block.line, "role": block.role,
                         "exercise": block.exercise}
                try:
                    declared = support.run_chunks([chunk], ns, page.rel)
                except Exception as exc:
                    raise _failure(page, "a cell", exc, block.line) from None
                for key, got in declared.items():
                    answers[key] += got
            else:
                rendered[i] = _render(page, block, ns)
            last = i + 1 == len(page.blocks) or page.blocks[i + 1].exercise != block.exercise
            if block.exercise and last:
                _check_solution(page, block.exercise, answers[block.exercise], ns)
    _check_names(page, answers)
    return Run(rendered, answers)


_XREF = re.compile(r"(?<![\w@])@(fig|tbl)-[\w-]+")


def _render(page: Page, block, ns: dict) -> str:
    text = block.text
    for expr in reversed(inline_expressions(text)):
        try:
            value = eval(compile(expr.expr, page.rel, "eval"), ns)
        except Exception as exc:
            raise _failure(page, f"the inline expression `{expr.expr}`", exc,
                           block.line + expr.line) from None
        text = text[:expr.start] + _inline_text(value) + text[expr.end:]
    kinds = {"fig": "figure", "tbl": "table"}
    return _XREF.sub(lambda m: f"the tutorial's {kinds[m.group(1)]}", text)


def _check_solution(page: Page, key: str, declared: list, ns: dict) -> None:
    """Each answer the worked solution declares is held by a variable of its name."""
    from mlsysim.classroom import check

    exercise = page.exercise(key)
    for answer in declared:
        if answer.kind == "free-text":
            continue
        if answer.name not in ns:
            raise PageError(page.rel, f"{exercise.title}: the worked solution declares "
                            f"{answer.name!r} but defines no variable of that name (the "
                            "student's notebook must define it)", line=exercise.line)
        verdict = check(answer, ns[answer.name])
        if not verdict.correct:
            raise PageError(page.rel, f"{exercise.title}: the variable {answer.name} does not "
                            f"hold the declared answer ({verdict.message})", line=exercise.line)


def _check_names(page: Page, answers: dict[str, list]) -> None:
    seen: dict[str, str] = {}
    for key, declared in answers.items():
        for answer in declared:
            if answer.name in seen:
                raise PageError(page.rel, f"the answer {answer.name!r} is declared by "
                                f"{seen[answer.name]} and by {key}: names must be unique",
                                line=page.exercise(key).line)
            seen[answer.name] = key
    if not seen:
        raise NothingToGrade(page.rel, "no exercise declares an answer (mlsysim.answer(...) in a "
                        "worked solution): nothing to grade")


def _light_run(page: Page, variant: dict | None) -> tuple[Run, list[str]]:
    """Run the page with only the setup cells the exercises need (``assign_slice``); if that
    fails, with every setup cell."""
    unused = unused_setup(page)
    for i in unused:
        page.blocks[i].skip = True
    try:
        return run_page(page, variant), []
    except PageError as exc:
        if not unused:
            raise
        for i in unused:
            page.blocks[i].skip = False
        note = (f"{page.rel}: without the setup cells they do not seem to need, the exercises "
                f"fail ({exc.message}): the notebooks keep every setup cell")
        return run_page(page, variant), [note]


def program(page: Page, answers: dict[str, list], variants: dict | None) -> dict:
    """The autograder's copy of the page: its code in order and its answers' exercises."""
    chunks = [{"source": b.text, "line": b.line, "role": b.role, "exercise": b.exercise}
              for b in page.blocks if b.kind == "code" and not b.skip]
    names = {a.name: {"exercise": key, "title": page.exercise(key).title, "kind": a.kind}
             for key, declared in answers.items() for a in declared}
    return {"assignment": page.slug, "page": page.rel, "chunks": chunks, "answers": names,
            "variants": variants}


def read_roster(spec: str) -> list[str]:
    path = Path(spec)
    items = path.read_text(encoding="utf-8").splitlines() if path.is_file() else spec.split(",")
    ids = [s.strip() for s in items if s.strip() and not s.strip().startswith("#")]
    bad = [s for s in ids if not _STUDENT_ID.match(s)]
    if not ids or bad:
        raise BuildError(f"--variants {spec!r}: give a file with one student id a line, or "
                         f"id1,id2 (letters, digits, _ . @ -); bad ids: {bad or 'none given'}")
    if len(set(ids)) != len(ids):
        raise BuildError(f"--variants {spec!r}: a student id appears twice")
    return ids


def _fresh(folder: Path) -> None:
    if folder.exists():
        if not (folder / MARKER).exists() and any(folder.iterdir()):
            raise BuildError(f"{folder} exists and was not written by 'sitebuild assign': "
                             "refusing to replace it")
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MARKER).write_text("written by python -m sitebuild assign\n", encoding="utf-8")


def _otter_assign(master: Path, result: Path, validate: bool) -> None:
    try:
        from otter.assign import main as otter_assign
    except ImportError:
        raise BuildError("otter-grader is not installed: pip install -e '.[classroom]'") from None
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            otter_assign(str(master), str(result), no_pdfs=True, no_run_tests=not validate)
        except RuntimeError as exc:  # otter: the solution notebook did not get full marks
            raise BuildError(f"{master.name}: otter assign: {exc}") from None


def assign_page(path: Path, root: Path, out: Path, *, students: list[str] | None = None,
                seed: int = 0, validate: bool = True) -> Written:
    """Write the assignment of the page at ``path`` under ``out`` (module docstring)."""
    page = parse_page(path, root)
    if students and not page.variants:
        raise PageError(page.rel, "--variants: the page declares no VARIANTS (see "
                        "sitebuild/assign_support.py)")
    default = support.draw_variant(page.variants, seed, page.slug, None) if students else None
    run, notes = _light_run(page, default)
    folder = Path(out) / page.slug
    _fresh(folder)
    source = folder / "source"
    source.mkdir()
    variants = {"choices": page.variants, "seed": seed} if students else None
    prog = program(page, run.answers, variants)
    (source / support.PROGRAM_FILE).write_text(json.dumps(prog, indent=1, ensure_ascii=False),
                                               encoding="utf-8")
    shutil.copyfile(support.__file__, source / f"{notebooks.SUPPORT_MODULE}.py")
    import mlsysim

    (source / "requirements.txt").write_text(f"mlsysim=={mlsysim.__version__}\n",
                                             encoding="utf-8")
    files = [f"{notebooks.SUPPORT_MODULE}.py", support.PROGRAM_FILE]
    master = source / f"{page.slug}.ipynb"
    nbformat.write(notebooks.master_notebook(page, run.rendered, run.answers, default,
                                             validate, files), master)
    _otter_assign(master, folder, validate)
    return _finish(page, folder, run, prog, students or [], seed, notes)


def _finish(page: Page, folder: Path, run: Run, prog: dict, students: list[str],
            seed: int, notes: list[str]) -> Written:
    name = f"{page.slug}.ipynb"
    student = nbformat.read(folder / "student" / name, as_version=4)
    notebooks.tidy_student(student)
    nbformat.validate(student)
    nbformat.write(student, folder / "student" / name)
    shutil.rmtree(folder / "student" / "tests", ignore_errors=True)  # hidden tests only
    solution = notebooks.solution_notebook(
        nbformat.read(folder / "autograder" / name, as_version=4))
    nbformat.validate(solution)
    (folder / "solution").mkdir()
    nbformat.write(solution, folder / "solution" / name)
    zips = sorted((folder / "autograder").glob(f"{page.slug}-autograder_*.zip"))
    zip_path = folder / "autograder" / f"{page.slug}-autograder.zip"
    zips[-1].rename(zip_path)
    written = {}
    if students:
        roster, renders = {}, {}
        for sid in students:
            variant = support.draw_variant(page.variants, seed, page.slug, sid)
            key = json.dumps(variant, sort_keys=True)
            if key not in renders:
                try:
                    renders[key] = run_page(page, variant).rendered
                except PageError as exc:
                    raise PageError(exc.page, f"with VARIANT = {variant!r} (student {sid}): "
                                    f"{exc.message}", line=exc.line, detail=exc.detail) from None
            nb = notebooks.apply_variant(student, sid, variant, page, renders[key])
            target = folder / "variants" / sid / name
            target.parent.mkdir(parents=True)
            nbformat.write(nb, target)
            roster[sid], written[sid] = variant, target
        (folder / "variants" / "roster.json").write_text(json.dumps(roster, indent=1),
                                                         encoding="utf-8")
    names = list(prog["answers"])
    (folder / "README.md").write_text(_readme(page, names, zip_path.name), encoding="utf-8")
    return Written(folder, folder / "student" / name, folder / "solution" / name, zip_path,
                   names, written, notes)


def _readme(page: Page, names: list[str], zip_name: str) -> str:
    return (f"# Assignment: {page.front.get('title') or page.slug}\n\n"
            f"Written by `python -m sitebuild assign {page.rel}` (see sitebuild/assign.py).\n\n"
            f"- `student/{page.slug}.ipynb`: hand this out (or `variants/<id>/`).\n"
            f"- `solution/{page.slug}.ipynb`: the worked solutions.\n"
            f"- `autograder/{zip_name}`: grade a submission without Docker with\n"
            f"  `otter run -a autograder/{zip_name} submission.ipynb`, or a folder of them\n"
            "  with `otter grade` (Docker). The expected answers are computed from the engine\n"
            "  when grading.\n\n"
            f"Answers graded (one point each): {', '.join(names)}.\n")


def pages_for(root: Path, pages: list[str], every: bool) -> list[Path]:
    if every:
        found = sorted((root / "tutorials").glob("[0-9][0-9]_*.qmd"))
        if not found:
            raise BuildError(f"--all: no tutorials/NN_*.qmd under {root}")
        return found
    if not pages:
        raise BuildError("name a tutorial (tutorials/NN_name.qmd) or pass --all")
    out = []
    for page in pages:
        path = Path(page) if Path(page).is_absolute() else root / page
        if not path.is_file():
            raise BuildError(f"{page}: no such page")
        out.append(path)
    return out


def main(args) -> int:
    """The ``assign`` subcommand (arguments parsed in ``sitebuild/__main__.py``)."""
    import sys

    root = Path(args.root)
    out = Path(args.out) if Path(args.out).is_absolute() else root / args.out
    try:
        students = read_roster(args.variants) if args.variants else None
        paths = pages_for(root, args.pages, args.all)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failed = 0
    for path in paths:
        try:
            page_students = students
            if students and args.all and not parse_page(path, root).variants:
                print(f"note: {path.name} declares no VARIANTS: one notebook for everyone",
                      file=sys.stderr)
                page_students = None
            written = assign_page(path, root, out, students=page_students, seed=args.seed,
                                  validate=not args.no_validate)
        except NothingToGrade as exc:
            if not args.all:
                print(f"error: {exc}", file=sys.stderr)
                failed += 1
            else:
                print(f"skipped {exc}", file=sys.stderr)
            continue
        except BuildError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        for note in written.notes:
            print(f"note: {note}", file=sys.stderr)
        print(f"wrote {written.folder} ({len(written.answers)} answers"
              f"{f', {len(written.variants)} variants' if written.variants else ''})",
              file=sys.stderr)
    return 1 if failed else 0
