"""Keep an assignment light: only the setup cells the exercises depend on.

The exercises' code (context and worked solutions) and the inline expressions of their prose
need some names; a setup cell is kept when it binds one of them, and then the names it reads
are needed too, back to the first cell. A name counts as bound by a cell that assigns,
imports or defines it, assigns to an item or attribute of it (``rows[i] = …``), calls a method
of it as a statement (``rows.append(…)``) or passes it to a function called as a statement
(``fill(rows)``): the last two are likely mutations.

A cell that may change shared state is always kept: one that assigns into an imported module
(``mlsysim.x.y = …``), declares ``global``, or calls an imported name for its effect other than
to display (``Hardware.register(…)`` would; ``show.table(…)``, ``viz.…``, ``plt.…`` and
``mlsysim.prediction(…)`` do not). Cells that only display (tables, figures) or back the page's
prose with asserts fall away. This reads names, not values: if the exercises fail without the
cells left out, :func:`sitebuild.assign.assign_page` keeps every setup cell.
"""

from __future__ import annotations

import ast

from .assign_parse import Page
from .qmd import inline_expressions

# what a call made for its effect may resolve to and still only display something
DISPLAY = ("mlsysim.show", "mlsysim.viz", "mlsysim.prediction", "mlsysim.fmt", "matplotlib",
           "IPython.display", "print", "display")


def _base(node) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def imports(source: str) -> dict[str, str]:
    """The names a cell imports, and what each imports (``table``: ``mlsysim.show.table``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            module = f"{node.module or ''}." if isinstance(node, ast.ImportFrom) else ""
            for alias in node.names:
                name = alias.asname or alias.name.split(".")[0]
                out[name] = module + (alias.name if alias.asname else name)
    return out


def _resolved(call: ast.Call, imported: dict[str, str]) -> str | None:
    """``mlsysim.show.table`` for ``table(...)`` after ``from mlsysim.show import table``."""
    root, _, rest = _dotted(call.func).partition(".")
    if root not in imported:
        return None
    return ".".join(filter(None, [imported[root], rest]))


def _displays(name: str | None) -> bool:
    return name is not None and any(name == d or name.startswith(d + ".") for d in DISPLAY)


def names(source: str, imported: dict[str, str]) -> tuple[set[str], set[str]]:
    """(bound, free) names of a cell (see the module docstring); free names are read and not
    bound in the cell (flow-insensitive: ``x = x + 1`` hides a read of an earlier ``x``, and
    the run without the cells left out fails). A cell that does not parse binds ``*``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {"*"}, set()
    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.arg):  # a parameter of a function or a lambda
            bound.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {a.asname or a.name.split(".")[0] for a in node.names}
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            bound.update(b for t in targets if not isinstance(t, ast.Name)
                         for b in [_base(t)] if b)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            call = node.value
            if isinstance(call.func, ast.Attribute):
                mutated = _base(call.func.value)
                if mutated and mutated not in imported:
                    bound.add(mutated)
            if not _displays(_resolved(call, imported)):
                bound.update(b for arg in call.args for b in [_base(arg)]
                             if b and b not in imported)
    return bound, read - bound


def may_change_state(source: str, imported: dict[str, str]) -> bool:
    """Could the cell change state that other cells see, beyond the names it binds?"""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return True
    for node in ast.walk(tree):
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            return True
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) \
                else [node.target]
            if any(not isinstance(t, ast.Name) and _base(t) in imported for t in targets):
                return True
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            name = _resolved(node.value, imported)
            if name is not None and not _displays(name):
                return True
    return False


def _expression_names(text: str) -> set[str]:
    out: set[str] = set()
    for expr in inline_expressions(text):
        try:
            tree = ast.parse(expr.expr, mode="eval")
        except SyntaxError:
            continue
        out |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return out


def unused_setup(page: Page) -> set[int]:
    """Indices of the setup blocks no exercise depends on (see the module docstring)."""
    code = [b for b in page.blocks if b.kind == "code"]
    imported = {k: v for b in code for k, v in imports(b.text).items()}
    needed: set[str] = set()
    for block in page.blocks:
        if block.role == "setup" or block.skip:
            continue
        if block.kind == "code":
            needed |= names(block.text, imported)[1]
        else:
            needed |= _expression_names(block.text)
    unused = set()
    for i in reversed(range(len(page.blocks))):
        block = page.blocks[i]
        if block.role != "setup" or block.skip:
            continue
        bound, free = names(block.text, imported)
        own = imports(block.text)
        # a module used for display (show.table(...)) is not bound by that use
        bound = {n for n in bound if n not in imported or n in own}
        if "*" in bound or bound & needed or may_change_state(block.text, imported):
            needed |= free
        else:
            unused.add(i)
    return unused
