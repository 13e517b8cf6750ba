"""Fast unit tests of the offline builder without a kernel: configuration merging, Markdown
emission from (hand-made) executed cells, pandoc filters, navigation and notebook download."""

import base64
import json
from pathlib import Path

import nbformat
import pytest

from sitebuild.config import Site, execute_options, load_site, merge
from sitebuild.download import download_notebook
from sitebuild.emit import EmitContext, code_cell, inline_value, markdown_cell
from sitebuild.navigation import build_navigation, relative
from sitebuild.pandoc import render
from sitebuild.qmd import parse_qmd

ROOT = Path(__file__).resolve().parents[1]
PNG_1PX = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)).decode()


# -- configuration ---------------------------------------------------------------------------
def test_merge_follows_quarto_rules():
    base = {"format": {"html": {"toc": True}}, "filters": ["a.lua"], "title": "A"}
    over = {"format": {"html": "default", "ipynb": "default"}, "filters": ["a.lua", "b.lua"],
            "title": "B"}
    assert merge(base, over) == {"format": {"html": {"toc": True}, "ipynb": "default"},
                                 "filters": ["a.lua", "b.lua"], "title": "B"}


def test_project_config_profile_and_directory_metadata(monkeypatch):
    monkeypatch.delenv("QUARTO_PROFILE", raising=False)
    site = load_site(ROOT, profile="instructor")
    assert site.profiles == ("instructor",)
    assert site.config["instructor"] is True
    assert site.output_dir.name == "_site-instructor"
    assert load_site(ROOT).output_dir.name == "_site"
    meta = site.page_metadata("tutorials/00_hello_roofline.qmd", {"title": "T"})
    assert set(meta["format"]) == {"html", "ipynb"}
    assert meta["format"]["html"]["toc"] is True  # `html: default` keeps project options
    assert execute_options(meta)["warning"] is False  # from _quarto.yml execute:


def test_render_list_globs_and_missing_pages(tmp_path):
    (tmp_path / "a.qmd").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.qmd").write_text("x")
    (tmp_path / "sub" / "_partial.qmd").write_text("x")
    config = {"project": {"render": ["a.qmd", "missing.qmd", "sub/*.qmd", "none/*.qmd"]}}
    pages, missing = Site(tmp_path, config).render_list()
    assert pages == ["a.qmd", "sub/b.qmd"]
    assert missing == ["missing.qmd"]  # a glob that matches nothing is fine


# -- emission --------------------------------------------------------------------------------
def test_inline_values_follow_quarto():
    assert inline_value({"data": {"text/plain": "'3.35 TB/s'"}}) == "3.35 TB/s"
    assert inline_value({"data": {"text/plain": "42"}}) == "42"
    assert inline_value({"data": {"text/markdown": "*x*", "text/plain": "X"}}) == "*x*"
    assert inline_value({"data": {"text/html": "<b>1</b>", "text/plain": "1"}}) \
        == "`<b>1</b>`{=html}"
    assert inline_value({"data": {"text/html": "<b>1</b>", "text/plain": "1"}}, html=False) == "1"


def _executed(source: str, outputs: list, **meta):
    nb = parse_qmd(source)
    cell = next(c for c in nb.cells if c.cell_type == "code")
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    cell.execution_count = 1
    cell.metadata.update(meta)
    return nb, cell


def _ctx(tmp_path, **defaults):
    return EmitContext(page="p.qmd", out_dir=tmp_path,
                       defaults={"echo": True, "output": True, "include": True,
                                 "warning": False, **defaults})


def test_code_cell_shapes_like_quarto(tmp_path):
    _, cell = _executed("```{python}\n#| echo: true\nprint(1)\n```\n", [
        {"output_type": "stream", "name": "stdout", "text": "1\n"},
        {"output_type": "stream", "name": "stderr", "text": "Warning!\n"},
        {"output_type": "display_data", "metadata": {},
         "data": {"text/html": "<table class='mlsysim-table'></table>", "text/plain": "T"}},
    ])
    md = code_cell(_ctx(tmp_path), cell, 0)
    assert md.startswith("::: {.cell execution_count=1}")
    assert "``` {.python .cell-code}\nprint(1)\n```" in md  # option lines stripped
    assert "::: {.cell-output .cell-output-stdout}\n```\n1\n```\n:::" in md
    assert "Warning!" not in md  # warning: false drops stderr
    assert "::: {.cell-output-display}\n```{=html}\n<table class='mlsysim-table'>" in md


def test_echo_output_include_options(tmp_path):
    out = [{"output_type": "stream", "name": "stdout", "text": "shown\n"}]
    _, hidden_code = _executed("```{python}\n#| echo: false\nprint(1)\n```\n", out)
    md = code_cell(_ctx(tmp_path), hidden_code, 0)
    assert "cell-code" not in md and "shown" in md
    _, no_output = _executed("```{python}\n#| output: false\nprint(1)\n```\n", out)
    assert "shown" not in code_cell(_ctx(tmp_path), no_output, 0)
    _, excluded = _executed("```{python}\n#| include: false\nprint(1)\n```\n", out)
    assert code_cell(_ctx(tmp_path), excluded, 0) == ""
    _, asis = _executed("```{python}\n#| output: asis\nprint('**b**')\n```\n",
                        [{"output_type": "stream", "name": "stdout", "text": "**b**\n"}])
    assert "\n**b**" in code_cell(_ctx(tmp_path, echo=False), asis, 0)


def test_labelled_figure_writes_png_and_a_float(tmp_path):
    _, cell = _executed(
        '```{python}\n#| label: fig-roof\n#| fig-cap: "Roof."\n#| fig-alt: "Alt \\"q\\"."\n'
        "plot()\n```\n",
        [{"output_type": "display_data", "metadata": {"image/png": {"width": 300}},
          "data": {"image/png": PNG_1PX, "text/plain": "<Figure>"}}])
    ctx = _ctx(tmp_path)
    md = code_cell(ctx, cell, 3)
    png = tmp_path / "p_files" / "figure-html" / "fig-roof-output-1.png"
    assert png.read_bytes().startswith(b"\x89PNG") and ctx.figures == [png]
    assert "::: {#fig-roof .sb-float .sb-float-fig}" in md
    assert '![](p_files/figure-html/fig-roof-output-1.png){width=300 fig-alt="Alt \\"q\\"."}' \
        in md
    assert "::: {.sb-caption}\nRoof.\n:::" in md


def test_markdown_cell_substitutes_and_keeps_mermaid_as_code():
    nb = parse_qmd("Value `{python} x` here.\n\n```{mermaid}\ngraph LR\n```\n")
    cell = nb.cells[0]
    cell.metadata["user_expressions"] = [{"expression": "x",
                                          "result": {"data": {"text/plain": "'7 ms'"}}}]
    md = markdown_cell(cell)
    assert "Value 7 ms here." in md and "``` {.mermaid}\ngraph LR" in md


# -- pandoc and filters ----------------------------------------------------------------------
def test_filters_callouts_crossrefs_links_and_profiles():
    md = """---
title: "T"
sitebuild-profiles: [instructor]
---

::: {.callout-tip collapse="true"}
## Hint
Folded.
:::

::: {.callout-note}
Untitled.
:::

See @fig-a, [-@fig-a] and @tbl-b; missing @fig-zz. [Next](other.qmd#part) and
[web](https://example.org/x.qmd).

::: {#fig-a .sb-float .sb-float-fig}
![](a.png){fig-alt="Alt text"}

::: {.sb-caption}
Cap *A*.
:::
:::

::: {#tbl-b .sb-float .sb-float-tbl}
<table></table>

::: {.sb-caption}
Cap B.
:::
:::

::: {.content-visible when-profile="instructor"}
For instructors.
:::

::: {.content-hidden when-profile="instructor"}
For students.
:::

::: {.content-visible when-format="pdf"}
Only in PDF.
:::
"""
    out = render(md, page="t.qmd", project_filters=[ROOT / "filters" / "solutions.lua"])
    body = out.body
    assert '<details class="callout callout-tip"><summary class="callout-header">' in body
    assert "Hint" in body and "<h2" not in body
    assert '<div class="callout callout-note" role="note">' in body and "Note" in body
    assert '<a href="#fig-a" class="quarto-xref">Figure\u00a01</a>' in body
    assert '<a href="#fig-a" class="quarto-xref">1</a>' in body
    assert '<a href="#tbl-b" class="quarto-xref">Table\u00a01</a>' in body
    assert "?@fig-zz" in body and any("fig-zz" in w for w in out.warnings)
    assert 'href="other.html#part"' in body and 'href="https://example.org/x.qmd"' in body
    assert '<figure id="fig-a" class="sb-figure">' in body and 'alt="Alt text"' in body
    assert "Figure\u00a01: Cap <em>A</em>." in body
    assert "Table\u00a01: Cap B." in body
    assert "For instructors." in body and "For students." not in body
    assert "Only in PDF." not in body
    assert out.title == "T" and out.pagetitle == "T"


def test_project_solutions_filter_with_and_without_instructor():
    md = "::: {.callout-tip .solution}\n## Solution\nAnswer.\n:::\n"
    student = render("---\ntitle: S\n---\n" + md, page="s.qmd",
                     project_filters=[ROOT / "filters" / "solutions.lua"]).body
    teacher = render("---\ntitle: S\ninstructor: true\n---\n" + md, page="s.qmd",
                     project_filters=[ROOT / "filters" / "solutions.lua"]).body
    assert '<details class="callout callout-tip solution">' in student
    assert '<details class="callout callout-tip solution" open>' in teacher


# -- navigation and download -----------------------------------------------------------------
def test_navigation_skips_missing_pages_and_orders_prev_next():
    config = {"website": {"title": "S", "navbar": {"left": [{"href": "index.qmd", "text": "Home"},
                                                             "gone.qmd"]},
                          "sidebar": {"contents": [{"section": "A", "contents": [
                              "index.qmd", "t/one.qmd", "gone.qmd", "t/two.qmd"]}]}}}
    titles = {"index.qmd": "Home page", "t/one.qmd": "One", "t/two.qmd": "Two"}
    nav = build_navigation(config, titles, set(titles))
    assert nav.order == ["index.qmd", "t/one.qmd", "t/two.qmd"]
    assert nav.skipped == ["gone.qmd"]
    assert nav.neighbours("t/one.qmd") == ("index.qmd", "t/two.qmd")
    html = nav.sidebar_html("t/one.qmd")
    assert '<a href="one.html" class="sb-sidebar-link active" aria-current="page">One</a>' in html
    assert 'href="../index.html"' in html
    assert relative("t/one.qmd", "t/two.html#x") == "two.html#x"


def test_download_notebook_is_clean(tmp_path):
    source = ('---\ntitle: "Nb"\n---\n\n::: {.callout-note}\n## Note\nText `{python} x`.\n:::\n\n'
              "```{python}\n#| echo: false\nx = 1\n```\n\n"
              '::: {.content-visible when-profile="instructor"}\nSecret.\n:::\n\n'
              "See [next](next.qmd).\n")
    nb = parse_qmd(source)
    executed = parse_qmd(source)
    executed.cells[0].metadata["user_expressions"] = [
        {"expression": "x", "result": {"data": {"text/plain": "1"}}}]
    out = download_notebook(nb, executed)
    nbformat.validate(out)
    sources = [c.source for c in out.cells]
    assert sources[0] == "# Nb"
    assert sources[1] == "## Note\nText 1."
    assert sources[2] == "#| echo: false\nx = 1" and out.cells[2].outputs == []
    assert sources[3] == "See [next](next.html)."
    assert "Secret." not in json.dumps(sources)
    assert "Secret." in download_notebook(nb, executed, ("instructor",)).cells[3].source


@pytest.mark.parametrize("path", ["sitebuild/static/site.js", "sitebuild/static/sitebuild.css",
                                  "assets/site.css"])
def test_static_files_request_nothing_external(path):
    text = (ROOT / path).read_text()
    assert "http://" not in text and "https://" not in text and "@import" not in text


def test_check_command_without_the_check_module(monkeypatch, capsys):
    import importlib

    from sitebuild.__main__ import main

    real = importlib.import_module

    def fake(name, *args):
        if name == "sitebuild.check":
            raise ModuleNotFoundError("No module named 'sitebuild.check'", name=name)
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", fake)
    assert main(["check", "--site", "_site"]) == 2
    assert "browser check is not available" in capsys.readouterr().err
