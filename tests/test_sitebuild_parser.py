"""The offline builder's ``.qmd`` parser (sitebuild.qmd): front matter, chunks, options,
fences that stay markdown, inline expressions and error reporting with line numbers."""

import nbformat
import pytest

from sitebuild.qmd import (
    QmdSyntaxError,
    cell_info,
    fenced_line_mask,
    front_matter,
    inline_expressions,
    parse_options,
    parse_qmd,
    split_front_matter,
    strip_options,
)


def kinds(nb):
    return [c.cell_type for c in nb.cells]


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


# -- front matter ----------------------------------------------------------------------------
def test_front_matter_goes_to_metadata():
    nb = parse_qmd('---\ntitle: "Why?"\nlevel: Beginner\ntime: 25\n---\n\nHello.\n')
    assert front_matter(nb) == {"title": "Why?", "level": "Beginner", "time": 25}
    assert kinds(nb) == ["markdown"]
    assert nb.cells[0].source.strip() == "Hello."
    assert cell_info(nb.cells[0])["line"] == 6  # first line after the closing ---


def test_no_front_matter():
    nb = parse_qmd("Just text.\n")
    assert front_matter(nb) == {}
    assert cell_info(nb.cells[0])["line"] == 1


def test_front_matter_dates_become_json_safe():
    nb = parse_qmd("---\ndate: 2024-05-01\n---\nx\n")
    assert front_matter(nb) == {"date": "2024-05-01"}
    nbformat.validate(nb)


def test_front_matter_closed_with_dots():
    fm, lines, first = split_front_matter("---\ntitle: A\n...\nbody")
    assert fm == {"title": "A"} and lines == ["body"] and first == 4


def test_unclosed_front_matter_is_an_error():
    with pytest.raises(QmdSyntaxError) as err:
        parse_qmd("---\ntitle: A\n\nbody\n", "p.qmd")
    assert err.value.line == 1 and "never closed" in str(err.value)


def test_invalid_front_matter_yaml_names_the_line():
    with pytest.raises(QmdSyntaxError) as err:
        parse_qmd("---\ntitle: A\nbad: [1, 2\n---\nx\n", "p.qmd")
    assert "p.qmd:" in str(err.value) and "front matter" in str(err.value)
    assert err.value.line >= 2


def test_front_matter_must_be_a_mapping():
    with pytest.raises(QmdSyntaxError):
        parse_qmd("---\n- a\n- b\n---\nx\n")


# -- code chunks -----------------------------------------------------------------------------
SOURCE = """\
---
title: T
---

Intro text.

```{python}
#| label: fig-x
#| fig-cap: "A caption"
#| echo: false
x = 1
print(x)
```

Middle.

```{python}
y = 2
```
"""


def test_chunks_become_code_cells_in_order():
    nb = parse_qmd(SOURCE)
    assert kinds(nb) == ["markdown", "code", "markdown", "code"]
    first, second = code_cells(nb)
    assert first.source == ('#| label: fig-x\n#| fig-cap: "A caption"\n#| echo: false\n'
                            "x = 1\nprint(x)")
    assert second.source == "y = 2"


def test_option_lines_are_parsed_and_kept_in_the_source():
    cell = code_cells(parse_qmd(SOURCE))[0]
    info = cell_info(cell)
    assert info["options"] == {"label": "fig-x", "fig-cap": "A caption", "echo": False}
    assert info["option_lines"] == 3
    assert cell.source.startswith("#| label: fig-x")  # Python sees comments
    assert strip_options(cell.source) == "x = 1\nprint(x)"


def test_chunk_line_numbers_are_the_opening_fence():
    first, second = code_cells(parse_qmd(SOURCE))
    assert cell_info(first)["line"] == 7
    assert cell_info(second)["line"] == 17
    middle = parse_qmd(SOURCE).cells[2]
    assert middle.source.strip() == "Middle." and cell_info(middle)["line"] == 14


def test_notebook_is_valid_nbformat_v4_with_python_kernel():
    nb = parse_qmd(SOURCE)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert [c["id"] for c in nb.cells] == ["cell-0", "cell-1", "cell-2", "cell-3"]


def test_adjacent_chunks_leave_no_empty_markdown_cell():
    nb = parse_qmd("```{python}\na = 1\n```\n\n```{python}\nb = 2\n```\n")
    assert kinds(nb) == ["code", "code"]


def test_closing_fence_must_have_the_same_length():
    text = "````{python}\ns = '''\n```\n'''\n````\nafter\n"
    nb = parse_qmd(text)
    assert kinds(nb) == ["code", "markdown"]
    assert code_cells(nb)[0].source == "s = '''\n```\n'''"


def test_unclosed_chunk_is_an_error_with_its_line():
    with pytest.raises(QmdSyntaxError) as err:
        parse_qmd("text\n\n```{python}\nx = 1\n", "t.qmd")
    assert err.value.line == 3
    assert str(err.value).startswith("t.qmd:3:")


def test_invalid_option_yaml_is_an_error():
    with pytest.raises(QmdSyntaxError) as err:
        parse_qmd("x\n```{python}\n#| fig-cap: [unclosed\n1\n```\n", "o.qmd")
    assert err.value.line == 3 and "cell options" in str(err.value)


def test_options_must_be_key_value_lines():
    with pytest.raises(QmdSyntaxError):
        parse_qmd("```{python}\n#| just text\n1\n```\n")


def test_multiline_yaml_option():
    nb = parse_qmd("```{python}\n#| fig-alt: >\n#|   A long\n#|   description.\n"
                   "#| echo: true\n1\n```\n")
    info = cell_info(code_cells(nb)[0])
    assert info["options"] == {"fig-alt": "A long description.\n", "echo": True}
    assert info["option_lines"] == 4


def test_option_prefix_variants():
    options, n = parse_options("#|echo: false\n# | output: false\nx = 1")
    assert options == {"echo": False, "output": False} and n == 2


def test_options_only_at_the_top_of_a_cell():
    options, n = parse_options("x = 1\n#| echo: false")
    assert options == {} and n == 0


def test_header_options_are_read_and_cell_options_win():
    nb = parse_qmd('```{python echo=false, label="a"}\n#| label: b\n1\n```\n')
    assert cell_info(code_cells(nb)[0])["options"] == {"echo": False, "label": "b"}


def test_indented_chunk_is_dedented():
    nb = parse_qmd("1. Step\n\n   ```{python}\n   x = 1\n   if x:\n       y = 2\n   ```\n")
    assert code_cells(nb)[0].source == "x = 1\nif x:\n    y = 2"


def test_crlf_and_bom_are_normalised():
    nb = parse_qmd("\ufeff---\r\ntitle: W\r\n---\r\n```{python}\r\nx = 1\r\n```\r\n")
    assert front_matter(nb) == {"title": "W"}
    assert code_cells(nb)[0].source == "x = 1"


# -- fences that stay markdown ---------------------------------------------------------------
@pytest.mark.parametrize("block", [
    "```python\nimport mlsysim\n```",
    "```{.python}\nx = 1\n```",
    "```{mermaid}\ngraph LR\n  A --> B\n```",
    "```{=html}\n<div>raw</div>\n```",
    "~~~\n```{python}\nnot_run()\n```\n~~~",
    "````markdown\n```{python}\nnot_run()\n```\n````",
    "```{r}\nx <- 1\n```",
])
def test_non_python_fences_stay_markdown(block):
    nb = parse_qmd(f"Before.\n\n{block}\n\nAfter.\n")
    assert kinds(nb) == ["markdown"]
    assert block in nb.cells[0].source


def test_example_chunk_in_a_longer_fence_then_a_real_chunk():
    text = "`````md\n````{python}\nno()\n````\n`````\n\n```{python}\nyes = 1\n```\n"
    nb = parse_qmd(text)
    assert kinds(nb) == ["markdown", "code"]
    assert code_cells(nb)[0].source == "yes = 1"


def test_unclosed_markdown_fence_runs_to_the_end():
    nb = parse_qmd("Text.\n\n````text\n```{python}\nx = 1\n```\n")
    assert kinds(nb) == ["markdown"]  # the chunk is inside the never-closed ```` fence


# -- inline expressions ----------------------------------------------------------------------
def test_inline_expressions_found_with_positions():
    text = "A `{python} x + 1` and `{python}  fmt(y)  ` here."
    found = inline_expressions(text)
    assert [e.expr for e in found] == ["x + 1", "fmt(y)"]
    assert text[found[0].start:found[0].end] == "`{python} x + 1`"
    assert all(e.line == 0 for e in found)


def test_inline_expression_with_format_string():
    found = inline_expressions('Keeps `{python} f"{r.mfu:.0%}"` busy.')
    assert [e.expr for e in found] == ['f"{r.mfu:.0%}"']


def test_inline_expressions_skip_fenced_blocks_and_double_backticks():
    text = ("Real `{python} a`.\n\n```markdown\nExample `{python} b`\n```\n\n"
            "Syntax: `` `{python} c` `` stays.\n")
    assert [e.expr for e in inline_expressions(text)] == ["a"]


def test_inline_expression_line_offsets():
    text = "first\nsecond `{python} one`\n\nfourth `{python} two`"
    assert [(e.expr, e.line) for e in inline_expressions(text)] == [("one", 1), ("two", 3)]


def test_inline_expression_across_a_line_break_is_joined():
    assert [e.expr for e in inline_expressions("x `{python} a +\nb` y")] == ["a + b"]


def test_other_inline_code_is_not_an_expression():
    assert inline_expressions("`{r} x` and `python x` and `{python}x`") == []


def test_fenced_line_mask():
    text = "a\n```\nb\n```\nc"
    assert fenced_line_mask(text) == [False, True, True, True, False]
