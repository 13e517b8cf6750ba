"""Grading-time support for the assignments ``python -m sitebuild assign`` writes.

This file is copied, unchanged, into every autograder (as ``mlsysim_autograde.py``, beside
``mlsysim_assignment.json``: the page's code in page order, the answer names and any variant
choices). It imports only the standard library and ``mlsysim``: the grading environment needs
no ``sitebuild``. Each otter test is one line, ``grade(env, "ex1_batch")``:

1. the *expected* answers are computed now, from the engine: the page's setup code and its
   exercises' code (worked solutions included) run in a fresh namespace, with ``assert``
   statements dropped (they back the page's prose, not the answers), while
   :func:`mlsysim.classroom.recording` collects what each worked solution declares. This runs
   once per grading process and variant, so a catalog correction never leaves a stale key;
2. the student's variable of that name is graded with :func:`mlsysim.classroom.check`; a wrong
   or missing answer fails with a message naming the exercise and the answer.

Variants: a page may declare ``VARIANTS = {"batch": [64, 16, 32], ...}`` (literal lists, the
first item is the page's own value) and read ``VARIANT = globals().get("VARIANT") or {k: v[0]
for k, v in VARIANTS.items()}``. A per-student notebook starts with ``STUDENT = "id"`` and
``VARIANT = draw_variant(...)`` for that student; grading draws the same variant from the
seed, refuses a notebook whose ``VARIANT`` was edited, and recomputes with it.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import io
import json
import random
from pathlib import Path

PROGRAM_FILE = "mlsysim_assignment.json"
_expected_cache: dict[str, dict] = {}


class _DropAsserts(ast.NodeTransformer):
    def visit_Assert(self, node):  # a statement list never ends up empty: pass stands in
        return ast.copy_location(ast.Pass(), node)


def compile_cell(source: str, filename: str, line: int = 1):
    """Code of a page cell without its ``assert`` statements, numbered as in the page."""
    tree = _DropAsserts().visit(ast.parse(source, filename))
    ast.increment_lineno(tree, max(line - 1, 0))
    return compile(ast.fix_missing_locations(tree), filename, "exec")


def new_namespace(variant: dict | None = None) -> dict:
    """A fresh namespace for a page's code: quiet ``display``, and ``VARIANT`` when given."""
    ns: dict = {"__name__": "__main__", "display": lambda *args, **kwargs: None}
    if variant is not None:
        ns["VARIANT"] = dict(variant)
    return ns


def draw_variant(choices: dict | None, seed, assignment: str, student) -> dict | None:
    """The variant of ``student`` (None: the page's own, every first choice); the same seed,
    assignment and student always draw the same values."""
    if not choices:
        return None
    if student is None:
        return {key: values[0] for key, values in choices.items()}
    rng = random.Random(f"{seed}:{assignment}:{student}")
    return {key: rng.choice(values) for key, values in choices.items()}


def run_chunks(chunks: list[dict], ns: dict, page: str) -> dict[str, list]:
    """Execute ``chunks`` (dicts with ``source``, ``line``, ``role``) in ``ns``, printing
    nothing; returns the answers each exercise's worked solution declared."""
    from mlsysim.classroom import recording

    declared: dict[str, list] = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for chunk in chunks:
            code = compile_cell(chunk["source"], page, chunk["line"])
            if chunk["role"] != "solution":
                exec(code, ns)
                continue
            with recording() as got:
                exec(code, ns)
            declared.setdefault(chunk["exercise"], []).extend(got)
    _close_figures()
    return declared


def _close_figures() -> None:
    import sys

    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")


def expected_answers(program: dict, variant: dict | None) -> dict:
    """Every declared answer of the page, by name, computed now (cached per program and
    variant: once per grading process)."""
    key = hashlib.sha256(json.dumps([program["page"], program["chunks"], variant],
                                    sort_keys=True).encode()).hexdigest()
    if key not in _expected_cache:
        declared = run_chunks(program["chunks"], new_namespace(variant), program["page"])
        _expected_cache[key] = {a.name: a for answers in declared.values() for a in answers}
    return _expected_cache[key]


def load_program(folder: Path | None = None) -> dict:
    folder = Path(__file__).resolve().parent if folder is None else folder
    return json.loads((folder / PROGRAM_FILE).read_text(encoding="utf-8"))


_MISSING = object()


def grade(env: dict, name: str, program: dict | None = None) -> None:
    """Grade the student's ``name`` in ``env`` (the notebook's globals); raise AssertionError
    with a message naming the exercise and the answer when it is wrong or missing."""
    from mlsysim.classroom import check

    program = load_program() if program is None else program
    title = program["answers"][name]["title"]
    variant = _variant_of(env, program)
    try:
        expected = expected_answers(program, variant)
    except Exception as exc:  # the page's code itself fails: say so, not "wrong answer"
        raise AssertionError(f"{title}: the expected answers could not be computed "
                             f"({type(exc).__name__}: {exc})") from None
    if name not in expected:
        raise AssertionError(f"{title}: the worked solution no longer declares {name!r}")
    submitted = env.get(name, _MISSING)
    if submitted is _MISSING or submitted is Ellipsis:
        raise AssertionError(f"{title}: {name}: not answered (replace the ... after "
                             f"'{name} =' in the exercise's answer cell)")
    verdict = check(expected[name], submitted)
    if not verdict.correct:
        raise AssertionError(f"{title}: {verdict.message}")


def _variant_of(env: dict, program: dict) -> dict | None:
    spec = program.get("variants")
    if not spec:
        return None
    student = env.get("STUDENT")
    variant = draw_variant(spec["choices"], spec["seed"], program["assignment"], student)
    if env.get("VARIANT") != variant:
        raise AssertionError(f"VARIANT is not the one issued to STUDENT = {student!r}: run the "
                             "notebook's first cell as it was handed out (expected "
                             f"VARIANT = {variant!r})")
    return variant
