"""python -m sitebuild assign: a tutorial's exercises as an otter-grader assignment.

The full loop (generate; fill the placeholders with the worked solutions; grade with otter's
local, non-containerised runner) on the fixture page (tests/data/assign_fixture, with
per-student variants) and on the first real tutorial that declares answers; every other
tutorial that declares answers is generated and linted only. The grading support module is
also driven in-process, without a kernel.
"""

from __future__ import annotations

import json
import re
import textwrap
import zipfile
from pathlib import Path

import nbformat
import pytest

from sitebuild import assign_support as support
from sitebuild.assign import assign_page, read_roster
from sitebuild.assign_parse import parse_page
from sitebuild.assign_slice import unused_setup
from sitebuild.errors import BuildError, PageError

pytest.importorskip("otter", reason="otter-grader (the 'classroom' extra) is not installed")
# otter 7.0 on pandas 3 (its own code, not ours)
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword:Warning")

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "assign_fixture"
FIXTURE_PAGE = FIXTURE / "tutorials" / "01_shared_step.qmd"
TAG = "otter_answer_cell"


def _declaring_tutorials() -> list[Path]:
    return [p for p in sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.qmd"))
            if re.search(r"\banswer\s*\(", p.read_text(encoding="utf-8"))]


def _fill(student: Path, solution: Path, target: Path, extra: dict | None = None) -> Path:
    """The student notebook with each answer cell replaced by its exercise's worked solution
    (plus ``extra[exercise]`` lines after it)."""
    nb = nbformat.read(student, as_version=4)
    code: dict[str, list[str]] = {}
    for cell in nbformat.read(solution, as_version=4).cells:
        meta = cell.metadata.get("mlsysim_assign") or {}
        if cell.cell_type == "code" and meta.get("role") == "solution":
            code.setdefault(meta["exercise"], []).append(cell.source)
    filled = 0
    for cell in nb.cells:
        if TAG in cell.metadata.get("tags", []):
            key = cell.metadata["mlsysim_assign"]["exercise"]
            cell.source = "\n".join(code[key] + [(extra or {}).get(key, "")])
            filled += 1
    assert filled == len(code)
    nbformat.write(nb, target)
    return target


def _grade(submission: Path, autograder: Path):
    from otter.api import grade_submission

    results = grade_submission(str(submission), str(autograder), quiet=True)
    failures = [r.message for f in results.results.values() for r in f.test_case_results
                if not r.passed]
    return results.total, results.possible, failures


@pytest.fixture(scope="module")
def fixture_assignment(tmp_path_factory):
    out = tmp_path_factory.mktemp("assign_fixture")
    written = assign_page(FIXTURE_PAGE, FIXTURE, out, students=["alice", "bob"], seed=3,
                          validate=False)
    return written, json.loads((written.folder / "variants" / "roster.json").read_text())


def test_fixture_variants_differ_and_the_prose_shows_each_students_numbers(
        fixture_assignment):
    written, roster = fixture_assignment
    alice, bob = roster["alice"], roster["bob"]
    assert alice != bob  # seed 3 draws two different variants (else pick another seed)
    for sid, variant in roster.items():
        assert variant == support.draw_variant(
            {"batch": [16, 8, 32, 64], "gpu": ["H100", "A100", "H200"]}, 3,
            "01_shared_step", sid)
        nb = nbformat.read(written.variants[sid], as_version=4)
        assert nb.cells[0].source.endswith(f"STUDENT = {sid!r}\nVARIANT = {variant!r}")
        prompt = next(c.source for c in nb.cells if "### Exercise 1" in c.source)
        assert f"With {variant['batch']} users" in prompt
    # the default notebooks hold the page's own variant (every first choice)
    default = nbformat.read(written.student, as_version=4).cells[0].source
    assert "STUDENT = None" in default and "{'batch': 16, 'gpu': 'H100'}" in default


def test_fixture_full_marks_for_the_worked_solutions(fixture_assignment, tmp_path):
    written, _ = fixture_assignment
    submission = _fill(written.variants["alice"], written.solution, tmp_path / "alice.ipynb")
    total, possible, failures = _grade(submission, written.autograder)
    assert failures == []
    assert (total, possible) == (5, 5)  # 6 answers, one of them free text (not graded)


def test_fixture_one_wrong_answer_costs_one_point_and_says_which(fixture_assignment,
                                                                  tmp_path):
    written, _ = fixture_assignment
    # bob's own variant, solved; then one answer flipped
    submission = _fill(written.variants["bob"], written.solution, tmp_path / "bob.ipynb",
                       extra={"ex2": "ex2_fits = not ex2_fits"})
    total, possible, failures = _grade(submission, written.autograder)
    assert (total, possible) == (4, 5)
    (message,) = failures
    assert "Exercise 2: what limits the shared step?" in message
    assert "ex2_fits:" in message and "is not the answer" in message


def test_fixture_notebooks(fixture_assignment):
    written, _ = fixture_assignment
    student = nbformat.read(written.student, as_version=4)
    text = "\n".join(c.source for c in student.cells)
    # only the setup the exercises need: the 4,096-user table and the claims cell are left out
    assert "crowd" not in text and "alone = Engine.solve" in text
    assert "mlsysim.answer(" not in text and "BEGIN SOLUTION" not in text
    assert "after_the_exercises" not in text and "Key takeaways" not in text
    assert "candidates = (" in text  # an exercise's own (non-solution) code stays
    assert "<details><summary>Hint</summary>" in text
    assert "ex3_why = '...'  # in words; not graded automatically" in text
    assert "ex1_latency = ...  # a number in s, or a quantity with its unit (within 5%)" in text
    solution = nbformat.read(written.solution, as_version=4)
    sol_text = "\n".join(c.source for c in solution.cells)
    assert "BEGIN PROMPT" not in sol_text and "# END SOLUTION" not in sol_text
    assert "ex2_fits = bool(shared.feasible)" in sol_text
    assert "It is limited by **Memory**." in sol_text  # inline values computed
    assert "assert ex2_bottleneck" not in sol_text  # a claims-only cell


def _lint(written) -> None:
    """Valid notebooks; every graded answer has a placeholder and a test in the zip."""
    student = nbformat.read(written.student, as_version=4)
    solution = nbformat.read(written.solution, as_version=4)
    nbformat.validate(student)
    nbformat.validate(solution)
    program = json.loads((written.folder / "source" / support.PROGRAM_FILE).read_text())
    answers = program["answers"]
    assert list(answers) == written.answers
    answer_cells = "\n".join(c.source for c in student.cells
                             if TAG in c.metadata.get("tags", []))
    with zipfile.ZipFile(written.autograder) as z:
        tests = {n: z.read(n).decode() for n in z.namelist() if n.startswith("tests/")}
        assert {f"files/{support.PROGRAM_FILE}", "files/mlsysim_autograde.py"} <= set(
            z.namelist())
    for name, info in answers.items():
        assert re.search(rf"^{name} = (\.\.\.|'\.\.\.')  # ", answer_cells, re.M), name
        graded = info["kind"] != "free-text"
        assert (f"grade(env, {name!r})" in tests.get(f"tests/{info['exercise']}.py", "")) \
            is graded, name
    assert "mlsysim.answer(" not in "\n".join(c.source for c in student.cells)


@pytest.fixture(scope="module")
def tutorials(tmp_path_factory):
    pages = _declaring_tutorials()
    if not pages:
        pytest.skip("no tutorial declares answers yet")
    out = tmp_path_factory.mktemp("assign_tutorials")
    return [assign_page(p, ROOT, out, validate=False) for p in pages]


def test_every_declaring_tutorial_generates_lint_clean_notebooks(tutorials):
    for written in tutorials:
        _lint(written)


def test_a_real_tutorial_round_trip_gets_full_marks(tutorials, tmp_path):
    written = tutorials[0]
    submission = _fill(written.student, written.solution, tmp_path / "submission.ipynb")
    total, possible, failures = _grade(submission, written.autograder)
    assert failures == []
    graded = [n for n, a in json.loads(
        (written.folder / "source" / support.PROGRAM_FILE).read_text())["answers"].items()
        if a["kind"] != "free-text"]
    assert (total, possible) == (len(graded), len(graded)) and possible > 0


# --- the grading support, in-process -----------------------------------------------------

def _program(tmp_path, variants=None):
    page = tmp_path / "tutorials" / "05_tiny.qmd"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(textwrap.dedent('''\
        ---
        title: "Tiny"
        ---

        ```{python}
        import mlsysim
        VARIANTS = {"n": [2, 3, 5]}
        VARIANT = globals().get("VARIANT") or {k: v[0] for k, v in VARIANTS.items()}
        base = VARIANT["n"]
        ```

        ## Exercises

        ### Exercise 1: double it

        Double `{python} base` into `twice`.

        ::: {.callout-tip .solution}
        ## Worked solution
        ```{python}
        twice = 2 * base
        assert twice > 100  # a claim that does not hold: asserts are not run
        mlsysim.answer("twice", twice, rtol=0)
        ```
        :::
        '''), encoding="utf-8")
    from sitebuild.assign import program, run_page

    parsed = parse_page(page, tmp_path)
    prog = program(parsed, run_page(parsed).answers, variants)
    return parsed, prog


def test_grade_messages_name_the_exercise_and_the_answer(tmp_path):
    _, prog = _program(tmp_path)
    support.grade({"twice": 4}, "twice", prog)
    cases = [({}, "not answered"), ({"twice": ...}, "not answered"),
             ({"twice": 5}, "5 is too high")]
    for env, expected in cases:
        with pytest.raises(AssertionError) as err:
            support.grade(env, "twice", prog)
        assert str(err.value).startswith("Exercise 1: double it:") and expected in str(err.value)
        assert "twice" in str(err.value)


def test_grade_recomputes_each_students_variant_and_refuses_an_edited_one(tmp_path):
    _, prog = _program(tmp_path, {"choices": {"n": [2, 3, 5]}, "seed": 11})
    students = {sid: support.draw_variant({"n": [2, 3, 5]}, 11, prog["assignment"], sid)
                for sid in ("ana", "ben", "cai", "dev")}
    assert len({v["n"] for v in students.values()}) > 1
    for sid, variant in students.items():
        support.grade({"STUDENT": sid, "VARIANT": variant, "twice": 2 * variant["n"]},
                      "twice", prog)
    sid, variant = next((s, v) for s, v in students.items() if v["n"] != 2)
    with pytest.raises(AssertionError, match="VARIANT is not the one issued"):
        support.grade({"STUDENT": sid, "VARIANT": {"n": 2}, "twice": 4}, "twice", prog)


def test_a_page_that_breaks_shows_up_as_an_instructor_error_not_a_wrong_answer(tmp_path):
    _, prog = _program(tmp_path)
    prog["chunks"][-1]["source"] = "twice = 1 / 0"
    with pytest.raises(AssertionError, match=r"could not be computed .*ZeroDivisionError"):
        support.grade({"twice": 4}, "twice", prog)


def test_parse_roles_slicing_and_variants():
    page = parse_page(FIXTURE_PAGE, FIXTURE)
    assert [e.key for e in page.exercises] == ["ex1", "ex2", "ex3"]
    assert page.exercises[0].title == "Exercise 1: how long is the shared step?"
    assert page.variants == {"batch": [16, 8, 32, 64], "gpu": ["H100", "A100", "H200"]}
    roles = {(b.role, b.kind) for b in page.blocks}
    assert roles == {("setup", "code"), ("intro", "markdown"), ("prompt", "markdown"),
                     ("hint", "markdown"), ("solution", "code"), ("solution", "markdown"),
                     ("context", "code")}
    skipped = [b.text for b in page.blocks if b.skip]
    assert skipped == ["assert not crowd.feasible", "assert ex2_bottleneck == \"Memory\""]
    unused = unused_setup(page)
    assert [page.blocks[i].text.splitlines()[0] for i in unused] == [
        "# a table the exercises do not need: the assignment leaves it out"]


def _cells(*sources: str, exercise: str = "") -> str:
    cells = "\n\n".join(f"```{{python}}\n{src}\n```" for src in sources)
    return (f"{cells}\n\n## Exercises\n\n### Exercise 1: x\n\n::: {{.solution}}\n"
            f"```{{python}}\n{exercise}\n```\n:::\n")


def test_setup_cells_the_exercises_need_stay_and_state_changes_are_kept(tmp_path,
                                                                        monkeypatch):
    monkeypatch.setenv("MLSYSIM_ASSIGN_TEST", "0")  # the page sets it; restored after
    page = tmp_path / "t.qmd"
    page.write_text(_cells(
        "import os\nimport mlsysim\nfrom mlsysim.show import table\nrows = [1, 2]",
        'table(["n"], [[len(rows)]])',          # display only: out
        "rows.append(3)",                       # mutates a needed name: in
        'os.environ["MLSYSIM_ASSIGN_TEST"] = "1"',   # changes shared state: in
        "unused = 5",                           # out
        "def fill(x):\n    x.append(4)",       # needed by the next cell: in
        "fill(rows)",                           # may mutate rows: in
        exercise='total = sum(rows)\nmlsysim.answer("total", total, rtol=0)'),
        encoding="utf-8")
    parsed = parse_page(page, tmp_path)
    dropped = sorted(parsed.blocks[i].text for i in unused_setup(parsed))
    assert dropped == ['table(["n"], [[len(rows)]])', "unused = 5"]
    written = assign_page(page, tmp_path, tmp_path / "out", validate=False)
    assert written.notes == []
    support.grade({"total": 10}, "total", json.loads(
        (written.folder / "source" / support.PROGRAM_FILE).read_text()))


def test_if_the_exercises_fail_without_the_cells_left_out_every_setup_cell_stays(tmp_path):
    page = tmp_path / "t.qmd"
    # the exercise rebinds x from the setup's x: read and bound in one cell, so x looks unneeded
    page.write_text(_cells("import mlsysim", "x = 1", "shown = 2",
                           exercise='x = x + 1\nmlsysim.answer("x", x, rtol=0)'),
                    encoding="utf-8")
    written = assign_page(page, tmp_path, tmp_path / "out", validate=False)
    (note,) = written.notes
    assert "the notebooks keep every setup cell" in note and "NameError" in note
    text = written.student.read_text()
    assert "x = 1" in text and "shown = 2" in text


@pytest.mark.parametrize("solution, message", [
    ('mlsysim.answer("x", 2)', "defines no variable of that name"),
    ('x = 3\nmlsysim.answer("x", 2, rtol=0)', "does not hold the declared answer"),
    ('x = 2', "no exercise declares an answer"),
    ('x = 2\nmlsysim.answer("x", x)\nmlsysim.answer("x", x)', "names must be unique"),
])
def test_a_worked_solution_must_leave_its_answers_in_variables(tmp_path, solution, message):
    page = tmp_path / "t.qmd"
    page.write_text(f"```{{python}}\nimport mlsysim\n```\n\n## Exercises\n\n### Exercise 1: x"
                    f"\n\n::: {{.solution}}\n```{{python}}\n{solution}\n```\n:::\n",
                    encoding="utf-8")
    from sitebuild.assign import run_page

    with pytest.raises(PageError, match=message):
        run_page(parse_page(page, tmp_path))


@pytest.mark.parametrize("value, message", [
    ("[1, 2]", "expected a non-empty dict"), ("{'n': []}", "non-empty list"),
    ("{'n': [[1]]}", "not a string or a number"), ("{'n': x}", "must be a literal"),
])
def test_bad_variants_are_clear_errors(tmp_path, value, message):
    page = tmp_path / "t.qmd"
    page.write_text(f"```{{python}}\nVARIANTS = {value}\n```\n\n## Exercises\n\n"
                    "### Exercise 1: x\n", encoding="utf-8")
    with pytest.raises(PageError, match=message):
        parse_page(page, tmp_path)


def test_command_line_errors(tmp_path, capsys):
    args = ["--root", str(FIXTURE), "assign", "--out", str(tmp_path)]
    assert main_cli(args) == 2
    assert "name a tutorial" in capsys.readouterr().err
    assert main_cli([*args, "tutorials/01_shared_step.qmd", "--variants", "a b"]) == 2
    assert "bad ids: ['a b']" in capsys.readouterr().err
    (tmp_path / "01_shared_step").mkdir()
    (tmp_path / "01_shared_step" / "mine.txt").write_text("not ours")
    assert main_cli([*args, "tutorials/01_shared_step.qmd", "--no-validate"]) == 1
    assert "refusing to replace it" in capsys.readouterr().err
    roster = tmp_path / "roster.txt"
    roster.write_text("# class of 2026\nana\n\nben\n")
    assert read_roster(str(roster)) == ["ana", "ben"]
    with pytest.raises(BuildError, match="appears twice"):
        read_roster("ana,ana")


def main_cli(argv: list[str]) -> int:
    from sitebuild.__main__ import main as sitebuild_main

    return sitebuild_main(argv)


def test_running_a_page_for_an_assignment_leaves_the_environment_as_it_was(tmp_path):
    """assign runs page code in this process with a headless backend; kernels started later
    by the same process (a site build, a test worker) must still get inline figures."""
    import os

    from sitebuild import assign

    before = os.environ.get("MPLBACKEND")
    with assign._headless_plots():
        assert os.environ["MPLBACKEND"] == "Agg"
    assert os.environ.get("MPLBACKEND") == before
