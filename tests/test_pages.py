"""Every page listed in ``_quarto.yml`` executes in a fresh kernel without error (DESIGN §8.6),
with sitebuild's executor and the page's merged execution options; a listed page that does not
exist fails here with "page not found". Figures that a page draws carry a caption and alt text."""

from pathlib import Path

import pytest

from sitebuild.config import execute_options, html_options, load_site
from sitebuild.execute import execute_notebook
from sitebuild.qmd import cell_info, front_matter, read_qmd

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
SITE = load_site(ROOT)
PAGES, MISSING = SITE.render_list()
_FIGURE_KEYS = ("fig-width", "fig-height", "fig-format", "fig-dpi")


def _images(cell) -> int:
    return sum(1 for out in cell.get("outputs", [])
               if any(m.startswith("image/") for m in (out.get("data") or {})))


@pytest.mark.parametrize("page", PAGES + MISSING)
def test_page_executes(page):
    path = ROOT / page
    assert path.is_file(), f"page not found: {page} (listed in _quarto.yml project.render)"
    nb = read_qmd(path, page)
    meta = SITE.page_metadata(page, front_matter(nb))
    html = html_options(meta)
    executed = execute_notebook(nb, page=page, cwd=path.parent, options=execute_options(meta),
                                figure={k: html[k] for k in _FIGURE_KEYS if k in html})
    # every page cell is still there, in order, unchanged (no helper cell replaced one)
    assert [(c.cell_type, c.source) for c in executed.cells] == \
        [(c.cell_type, c.source) for c in nb.cells]
    for cell in executed.cells:
        if cell.cell_type != "code":
            continue
        info = cell_info(cell)
        opts, line = info.get("options") or {}, info.get("line")
        label = str(opts.get("label") or "")
        if _images(cell):
            assert label.startswith("fig-") and opts.get("fig-cap") and opts.get("fig-alt"), (
                f"{page}:{line}: a cell that draws a figure needs #| label: fig-..., "
                "#| fig-cap and #| fig-alt")
        elif label.startswith("fig-") and opts.get("eval", True) is not False:
            pytest.fail(f"{page}:{line}: cell {label} produced no figure output")
