"""``python -m sitebuild new tutorial NAME``: numbering, refusals, the template's house shape,
and, end to end in a copy of the project, a generated tutorial that passes the page lint,
builds, appears in the sidebar through its glob and folds/unfolds its solutions by profile."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sitebuild.__main__ import main
from sitebuild.errors import BuildError
from sitebuild.new import TEMPLATE, new_tutorial, render_template
from sitebuild.qmd import cell_info, parse_qmd, split_front_matter

ROOT = Path(__file__).resolve().parents[1]
_SKIP = shutil.ignore_patterns(".git", ".venv", "_site", "_site-*", "_build", ".sitebuild-cache",
                               "*.egg-info", ".pytest_cache", ".ruff_cache", ".hypothesis",
                               "__pycache__")


@pytest.fixture
def project(tmp_path):
    (tmp_path / "tutorials").mkdir()
    for name in ("00_first.qmd", "03_third.qmd", "index.qmd", "notes.qmd"):
        (tmp_path / "tutorials" / name).write_text("---\ntitle: x\n---\n")
    return tmp_path


def test_next_free_number_and_the_template_filled_in(project):
    path = new_tutorial(project, "kv_cache")
    assert path == project / "tutorials" / "04_kv_cache.qmd"  # after the highest, not a gap
    fm, _, _ = split_front_matter(path.read_text())
    assert fm["title"] == "What sets the cost of kv cache?"
    assert "__" not in path.read_text()  # no placeholder left
    second = new_tutorial(project, "speculation", title='Does "guessing" pay off?')
    assert second.name == "05_speculation.qmd"
    assert split_front_matter(second.read_text())[0]["title"] == 'Does "guessing" pay off?'


def test_first_tutorial_is_number_zero(tmp_path):
    (tmp_path / "tutorials").mkdir()
    assert new_tutorial(tmp_path, "roofline").name == "00_roofline.qmd"


@pytest.mark.parametrize(("name", "message"), [
    ("KV_cache", "not a simple slug"),
    ("kv-cache", "not a simple slug"),
    ("kv cache", "not a simple slug"),
    ("../evil", "not a simple slug"),
    ("kv__cache", "not a simple slug"),
    ("_kv", "not a simple slug"),
    ("x" * 41, "at most 40 characters"),
    ("04_kv_cache", "starts with a number: give the name alone ('kv_cache')"),
])
def test_names_that_are_not_simple_slugs_are_refused(project, name, message):
    with pytest.raises(BuildError, match=re.escape(message)):
        new_tutorial(project, name)
    assert sorted(p.name for p in (project / "tutorials").iterdir()) == \
        ["00_first.qmd", "03_third.qmd", "index.qmd", "notes.qmd"]


def test_an_existing_tutorial_is_never_overwritten(project, monkeypatch):
    with pytest.raises(BuildError, match=r"'third' exists already: tutorials/03_third\.qmd"):
        new_tutorial(project, "third")
    # a file that appeared meanwhile (another writer) is not overwritten either
    monkeypatch.setattr("sitebuild.new.numbered_tutorials", lambda folder: {})
    with pytest.raises(BuildError, match=r"00_first\.qmd exists already; not overwriting"):
        new_tutorial(project, "first")
    assert (project / "tutorials" / "00_first.qmd").read_text() == "---\ntitle: x\n---\n"


def test_title_must_be_a_question_and_folder_must_exist(project, tmp_path):
    with pytest.raises(BuildError, match="is not a question"):
        new_tutorial(project, "kv_cache", title="The KV cache")
    with pytest.raises(BuildError, match="no tutorials/ folder"):
        new_tutorial(tmp_path / "nowhere", "kv_cache")


def test_command_line_reports_the_file_or_the_error(project, capsys):
    assert main(["--root", str(project), "new", "tutorial", "kv_cache"]) == 0
    assert "wrote " + str(project / "tutorials" / "04_kv_cache.qmd") in capsys.readouterr().err
    assert main(["--root", str(project), "new", "tutorial", "kv_cache"]) == 1
    assert "error: a tutorial named 'kv_cache' exists already" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # only tutorials can be made
        main(["--root", str(project), "new", "chapter", "x"])
    assert exc.value.code == 2


def test_template_has_the_house_shape():
    text = render_template("shape_check", "Is this a question?")
    fm, _, _ = split_front_matter(text)
    assert fm["title"].endswith("?")
    assert {"subtitle", "description", "categories", "level", "time"} <= set(fm)
    assert fm["level"] in ("Beginner", "Intermediate", "Advanced")
    assert re.fullmatch(r"\d+ min", fm["time"])
    headings = re.findall(r"^(#{2,3} .+)$", text, re.M)
    for start in ("## Prerequisites", "## What you will learn", "## Predict", "## Compute",
                  "## Reflect", "## Key Insight", "## Exercises", "## Key takeaways",
                  "## Next steps"):
        assert any(h.startswith(start) for h in headings), start
    assert headings.count("## Key Insight") == 1
    order = [next(i for i, h in enumerate(headings) if h.startswith(s))
             for s in ("## Predict", "## Compute", "## Reflect", "## Exercises")]
    assert order == sorted(order)
    assert "Engine.solve(" in text and "from mlsysim import" in text
    assert "`{python} " in text  # computed numbers inline

    cells = [c for c in parse_qmd(text).cells if c.cell_type == "code"]
    options = [cell_info(c).get("options") or {} for c in cells]
    hidden = [c for c, o in zip(cells, options, strict=True) if o.get("include") is False]
    assert hidden and all("assert " in c.source for c in hidden)
    figures = [o for o in options if str(o.get("label", "")).startswith("fig-")]
    assert figures and all(o.get("fig-cap") and o.get("fig-alt") for o in figures)

    exercises = re.split(r"^### Exercise", text.split("## Key takeaways")[0], flags=re.M)[1:]
    assert len(exercises) >= 2
    for block in exercises:
        assert '::: {.callout-tip collapse="true"}\n## Hint' in block
        solution = block.split("::: {.callout-tip .solution", 1)[1]
        assert "```{python}" in solution and "`{python} " in solution  # a computed answer


# -- end to end in a copy of the project -----------------------------------------------------
def _run(args: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.mark.slow
def test_generated_tutorial_passes_lint_builds_and_is_in_the_sidebar(tmp_path):
    copy = tmp_path / "project"
    shutil.copytree(ROOT, copy, ignore=_SKIP)
    made = _run(["-m", "sitebuild", "new", "tutorial", "scaffold_check"], copy)
    assert made.returncode == 0, made.stderr
    page = Path(re.search(r"wrote (\S+\.qmd)", made.stderr).group(1))
    rel = (copy / page).relative_to(copy).as_posix()
    assert re.fullmatch(r"tutorials/\d\d_scaffold_check\.qmd", rel)
    assert "scaffold_check" not in (copy / "_quarto.yml").read_text()  # one file, no config

    lint = _run(["-m", "pytest", "-o", "addopts=", "-v", "-p", "no:cacheprovider",
                 "tests/test_page_lint.py"], copy)
    assert lint.returncode == 0, lint.stdout[-3000:]
    checked = re.findall(rf"\[{re.escape(rel)}\] (\w+)", lint.stdout)
    assert len(checked) >= 5 and set(checked) == {"PASSED"}  # every per-page check ran on it

    student = _run(["-m", "sitebuild", "build", "--jobs", "1", rel], copy)
    assert student.returncode == 0, student.stderr[-3000:]
    out = copy / "_site" / rel.replace(".qmd", ".html")
    html = out.read_text()
    title = split_front_matter((copy / rel).read_text())[0]["title"]
    start = html.index('<nav id="sb-sidebar"')
    sidebar = html[start:html.index("</nav>", start)]
    assert f'aria-current="page">{title}</a>' in sidebar  # listed through tutorials/*.qmd
    assert sidebar.count('href="index.html"') == 1  # the tutorials index, once
    assert "{python}" not in html and "Bottleneck." not in html
    assert '<figure id="fig-batch" class="sb-figure">' in html
    assert (out.parent / f"{out.stem}_files" / "figure-html").is_dir()
    assert html.count('<details class="callout callout-tip solution"><summary') == 2

    teacher = _run(["-m", "sitebuild", "build", "--jobs", "1", "--profile", "instructor", rel],
                   copy)
    assert teacher.returncode == 0, teacher.stderr[-3000:]
    html = (copy / "_site-instructor" / rel.replace(".qmd", ".html")).read_text()
    assert html.count('<details class="callout callout-tip solution" open><summary') == 2
    notebook = json.loads((copy / "_site" / rel.replace(".qmd", ".ipynb")).read_text())
    assert notebook["nbformat"] == 4


def test_template_is_the_one_the_command_uses():
    assert TEMPLATE == ROOT / "sitebuild" / "templates" / "tutorial.qmd" and TEMPLATE.is_file()


def test_check_after_root_checks_that_projects_site(tmp_path, monkeypatch):
    """`python -m sitebuild --root DIR check` hands the check DIR/_site (it used to fall
    through to the preview server and fail with an AttributeError)."""
    from sitebuild import __main__ as cli

    seen = {}
    monkeypatch.setattr(cli, "_check", lambda argv: seen.setdefault("argv", argv) and 0)
    assert cli.main(["--root", str(tmp_path), "check", "--page", "index.html"]) == 0
    argv = seen["argv"]
    assert argv[argv.index("--site") + 1] == str(tmp_path / "_site")
    assert argv[argv.index("--screenshots") + 1] == str(tmp_path / "_build" / "screenshots")
    assert argv[-2:] == ["--page", "index.html"]
    seen.clear()
    cli.main(["--root", str(tmp_path), "check", "--site", "elsewhere"])
    assert seen["argv"].count("--site") == 1 and "elsewhere" in seen["argv"]
