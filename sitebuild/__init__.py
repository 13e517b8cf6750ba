"""Offline renderer of the MLSys·im Quarto site (not shipped in the wheel).

``python -m sitebuild build|serve|check``. Pipeline per page, in worker processes:
``qmd`` (parse .qmd → notebook) → ``execute`` (fresh Jupyter kernel, Quarto options, inline
expressions) with ``cache`` → ``emit`` (Quarto-shaped Markdown, figures) → ``pandoc`` (pandoc 3
and the Lua filters in ``filters/``) → ``layout`` (page template, ``navigation``) plus
``download`` (the .ipynb) and ``search`` (index entries). ``config`` reads ``_quarto.yml``,
profiles and ``_metadata.yml``; ``build`` orchestrates; ``serve`` serves the result.
"""
