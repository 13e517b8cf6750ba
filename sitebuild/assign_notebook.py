"""The notebooks of an assignment: otter's master notebook, and clean-ups of otter's output.

The master notebook (otter-grader's assignment format) holds, in order: the ``# ASSIGNMENT
CONFIG`` raw cell; with variants, the ``STUDENT``/``VARIANT`` cell; a title; the page's setup
code; then one ``# BEGIN QUESTION`` block per exercise: its question and hint (Markdown, the
inline values computed), its context code, a ``# BEGIN SOLUTION`` block with the worked
solution's code (each cell wrapped in ``# BEGIN SOLUTION NO PROMPT`` … ``# END SOLUTION``; the
last one ends with otter's in-cell prompt, the student's placeholders ``ex1_batch = ...``) and
prose, and a ``# BEGIN TESTS`` block with one hidden one-point test per checkable answer:
``grade(env, "ex1_batch")`` from the autograder's support module (``assign_support.py``).
"""

from __future__ import annotations

import re

import nbformat

from .assign_parse import Block, Page
from .qmd import KERNELSPEC

META = "mlsysim_assign"          # cell metadata: {"role": ..., "block": index}
SUPPORT_MODULE = "mlsysim_autograde"
ANSWER_CELL_TAG = "otter_answer_cell"
SOLUTION_CELL_TAG = "otter_assign_solution_cell"
_MARKER = re.compile(r"^\s*# (BEGIN SOLUTION( NO PROMPT)?|END SOLUTION)\s*$")


def _cell(kind: str, source: str, **meta) -> nbformat.NotebookNode:
    make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
            "raw": nbformat.v4.new_raw_cell}[kind]
    cell = make(source)
    if meta:
        cell.metadata[META] = meta
    return cell


def markdown_for(block: Block, text: str) -> str:
    """A prose block as notebook Markdown (a hint folds into a <details> element)."""
    if block.role == "hint":
        return f"<details><summary>Hint</summary>\n\n{text}\n\n</details>"
    return text


def placeholder(answer) -> str:
    """The student's line for one declared answer: ``name = ...  # what to give``."""
    if answer.kind == "free-text":
        return f"{answer.name} = '...'  # in words; not graded automatically"
    if answer.kind == "set":
        return f"{answer.name} = ...  # a set, such as {{'A', 'B'}}"
    if answer.kind == "choice":
        what = ("True or False" if answer.value in ("yes", "no")
                else "text, as the question asks (case does not matter)")
        return f"{answer.name} = ...  # {what}"
    unit = f"a number in {answer.unit}, or a quantity with its unit" if answer.unit \
        else "a number"
    if answer.rtol or answer.atol:
        within = f"within {answer.rtol:.0%}" if answer.rtol >= answer.atol else \
            f"within ± {answer.atol:g}"
    else:
        within = "exact"
    return f"{answer.name} = ...  # {unit} ({within})"


def _prompt(title: str, answers: list) -> str:
    lines = [f"# Your answers to {title.split(':')[0]}: replace each ..."]
    lines += [placeholder(a) for a in answers]
    return '""" # BEGIN PROMPT\n' + "\n".join(lines) + '\n""" # END PROMPT'


def _test(name: str) -> str:
    return ('""" # BEGIN TEST CONFIG\nhidden: true\npoints: 1\n""" # END TEST CONFIG\n'
            f"def test_{name}(env):\n"
            f"    from {SUPPORT_MODULE} import grade\n"
            f"    grade(env, {name!r})")


def _config(page: Page, validate: bool, files: list[str]) -> str:
    return "\n".join([
        "# ASSIGNMENT CONFIG",
        f"name: {page.slug}",
        "init_cell: false          # students need only mlsysim, not otter",
        "check_all_cell: false",
        "export_cell: false",
        f"run_tests: {'true' if validate else 'false'}",
        "requirements: requirements.txt",
        "tests:",
        "  files: true",
        "  ok_format: false        # exception-based tests",
        "autograder_files:",
        *[f"  - {name}" for name in files],
    ])


def master_notebook(page: Page, rendered: dict[int, str], answers: dict[str, list],
                    variant: dict | None, validate: bool, files: list[str]):
    """Otter's master notebook for ``page`` (see the module docstring)."""
    fm = page.front
    cells = [_cell("raw", _config(page, validate, files))]
    if variant is not None:
        cells.append(_cell("code", variant_source(None, variant), role="variant"))
    head = [f"# {fm.get('title') or page.slug}"]
    if fm.get("subtitle"):
        head.append(f"*{fm['subtitle']}*")
    head.append(
        f"The exercises of the tutorial `{page.rel}`. Run the setup cells first. Then answer "
        "each exercise in its answer cell: replace each `...` with your answer, computed with "
        "`mlsysim` (the comment says what to give: a number in the unit it names or a quantity "
        "with its unit, `True`/`False`, text or a set). The notebook is graded by running it "
        "from top to bottom and comparing each answer with the engine's.")
    cells.append(_cell("markdown", "\n\n".join(head)))
    setup = [b for b in page.blocks if b.role == "setup" and not b.skip and b.text.strip()]
    if setup:
        cells.append(_cell("markdown", "## Setup\n\nThe tutorial's code that the exercises "
                                       "build on."))
        cells += [_cell("code", b.text, role="setup") for b in setup]
    cells.append(_cell("markdown", "## Exercises"))
    for i, block in enumerate(page.blocks):
        if block.role in ("intro", "context") and block.exercise is None:
            cells.append(_block_cell(i, block, rendered))
    for exercise in page.exercises:
        cells += _question(page, exercise, rendered, answers.get(exercise.key, []))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def _block_cell(i: int, block: Block, rendered: dict[int, str]):
    if block.kind == "code":
        return _cell("code", block.text, role=block.role, block=i)
    return _cell("markdown", markdown_for(block, rendered.get(i, block.text)),
                 role=block.role, block=i)


def _question(page: Page, exercise, rendered: dict[int, str], answers: list) -> list:
    mine = [(i, b) for i, b in enumerate(page.blocks) if b.exercise == exercise.key
            and not b.skip and b.text.strip()]
    cells = [_cell("raw", f"# BEGIN QUESTION\nname: {exercise.key}\ncheck_cell: false")]
    cells += [_block_cell(i, b, rendered) for i, b in mine if b.role != "solution"]
    cells.append(_cell("raw", "# BEGIN SOLUTION"))
    code = [b for _, b in mine if b.role == "solution" and b.kind == "code"]
    for k, block in enumerate(code or [None]):
        source = "" if block is None else \
            f"# BEGIN SOLUTION NO PROMPT\n{block.text}\n# END SOLUTION"
        if k == max(len(code) - 1, 0):
            source = (source + "\n" if source else "") + _prompt(exercise.title, answers)
        cells.append(_cell("code", source, role="solution", exercise=exercise.key))
    cells += [_block_cell(i, b, rendered) for i, b in mine
              if b.role == "solution" and b.kind == "markdown"]
    cells.append(_cell("raw", "# END SOLUTION"))
    graded = [a.name for a in answers if a.kind != "free-text"]
    if graded:
        cells.append(_cell("raw", "# BEGIN TESTS"))
        cells += [_cell("code", _test(name)) for name in graded]
        cells.append(_cell("raw", "# END TESTS"))
    cells.append(_cell("raw", "# END QUESTION"))
    return cells


def variant_source(student: str | None, variant: dict) -> str:
    return ("# Your variant of the exercises: keep this cell as it was handed out.\n"
            f"STUDENT = {student!r}\nVARIANT = {variant!r}")


def tidy_student(nb) -> None:
    """Drop the empty answer cells otter leaves where a worked solution's code was."""
    nb.cells = [c for c in nb.cells if not (
        c.cell_type == "code" and ANSWER_CELL_TAG in c.metadata.get("tags", [])
        and not c.source.strip())]


def solution_notebook(autograder_nb):
    """Otter's autograder notebook without otter's markers: the worked solutions as code."""
    nb = nbformat.from_dict(autograder_nb)
    for cell in nb.cells:
        if cell.cell_type != "code" or SOLUTION_CELL_TAG not in cell.metadata.get("tags", []):
            continue
        kept, prompt = [], False
        for line in cell.source.split("\n"):
            if line.rstrip().endswith("# BEGIN PROMPT"):
                prompt = True
            elif line.rstrip().endswith("# END PROMPT"):
                prompt = False
            elif not prompt and not _MARKER.match(line):
                kept.append(line)
        cell.source = "\n".join(kept).strip("\n")
        cell.metadata["tags"] = [t for t in cell.metadata["tags"] if t != SOLUTION_CELL_TAG]
        if not cell.metadata["tags"]:
            del cell.metadata["tags"]
    nb.cells = [c for c in nb.cells if c.cell_type != "code" or c.source.strip()]
    return nb


def apply_variant(nb, student: str, variant: dict, page: Page, rendered: dict[int, str]):
    """A copy of the student notebook ``nb`` for ``student``: their ``VARIANT`` in the first
    cell and the question prose computed with it."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        meta = cell.metadata.get(META) or {}
        if meta.get("role") == "variant":
            cell.source = variant_source(student, variant)
        elif cell.cell_type == "markdown" and "block" in meta:
            block = page.blocks[meta["block"]]
            cell.source = markdown_for(block, rendered.get(meta["block"], block.text))
    return nb
