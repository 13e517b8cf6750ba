"""``python -m sitebuild new tutorial NAME``: start a tutorial from the house template.

Writes ``tutorials/NN_NAME.qmd`` (NN: the next free number) from ``templates/tutorial.qmd``,
a small working tutorial in the house shape. The sidebar lists ``tutorials/*.qmd`` and the
tutorials index lists every ``NN_*.qmd``, so the new file is the only one to add.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .errors import BuildError

TEMPLATE = Path(__file__).resolve().parent / "templates" / "tutorial.qmd"
FOLDER = "tutorials"
_SLUG = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*\Z")
_NUMBERED = re.compile(r"(\d\d)_(.+)\.qmd\Z")
_MAX_NAME = 40


def check_name(name: str) -> str:
    """``name`` if it is a simple slug (``kv_cache``); a BuildError saying why not otherwise."""
    numbered = re.match(r"\d+_(.*)", name)
    if numbered:
        raise BuildError(f"tutorial name {name!r} starts with a number: give the name alone "
                         f"({numbered.group(1)!r}); the number is chosen for you")
    if not _SLUG.match(name) or len(name) > _MAX_NAME:
        raise BuildError(f"tutorial name {name!r} is not a simple slug: use lowercase letters, "
                         f"digits and single underscores, starting with a letter, at most "
                         f"{_MAX_NAME} characters (e.g. kv_cache)")
    return name


def numbered_tutorials(folder: Path) -> dict[int, Path]:
    """The ``NN_slug.qmd`` files of ``folder`` by number."""
    found = {}
    for path in sorted(folder.glob("[0-9][0-9]_*.qmd")):
        match = _NUMBERED.match(path.name)
        if match:
            found[int(match.group(1))] = path
    return found


def next_number(folder: Path) -> int:
    """One more than the highest tutorial number in ``folder`` (0 for the first tutorial)."""
    numbers = numbered_tutorials(folder)
    number = max(numbers) + 1 if numbers else 0
    if number > 99:
        raise BuildError(f"{folder}: tutorial numbers are two digits and 99 is taken")
    return number


def default_title(name: str) -> str:
    return f"What sets the cost of {name.replace('_', ' ')}?"


def render_template(name: str, title: str) -> str:
    """The template with its placeholders filled in (the title as a YAML string body)."""
    text = TEMPLATE.read_text(encoding="utf-8")
    escaped = json.dumps(title, ensure_ascii=False)[1:-1]  # JSON escapes are YAML escapes
    return text.replace("__TITLE__", escaped).replace("__SLUG__", name)


def new_tutorial(root: Path | str, name: str, title: str | None = None) -> Path:
    """Write ``tutorials/NN_name.qmd`` under ``root`` and return its path; never overwrites."""
    folder = Path(root) / FOLDER
    if not folder.is_dir():
        raise BuildError(f"no {FOLDER}/ folder in {Path(root).resolve()} (run this in the "
                         "project folder, or pass --root)")
    check_name(name)
    same = [p for p in numbered_tutorials(folder).values()
            if _NUMBERED.match(p.name).group(2) == name]
    if same:
        raise BuildError(f"a tutorial named {name!r} exists already: "
                         f"{FOLDER}/{same[0].name}; edit it, or choose another name")
    title = (title or default_title(name)).strip()
    if not title.endswith("?"):
        raise BuildError(f"title {title!r} is not a question: a tutorial's title asks the "
                         "question the page answers (end it with '?')")
    path = folder / f"{next_number(folder):02d}_{name}.qmd"
    try:
        with path.open("x", encoding="utf-8") as out:
            out.write(render_template(name, title))
    except FileExistsError:
        raise BuildError(f"{path} exists already; not overwriting it") from None
    return path
