"""Offline renderer of the MLSys·im Quarto site (not shipped in the wheel).

``python -m sitebuild build|serve|check``. Pipeline per page, in worker processes:
``qmd`` (parse .qmd → notebook) → ``lint`` (source checks) → ``execute`` (fresh Jupyter
kernel, Quarto options, inline expressions; ``kernel_audit`` records reads and guards writes)
with ``cache`` → ``emit`` (Quarto-shaped Markdown, figures) → ``pandoc`` (pandoc 3 and the Lua
filters in ``filters/``) → ``diagnose`` (checks of the result) → ``layout`` (page template,
``navigation``) plus ``download`` (the .ipynb) and ``search`` (index entries). ``config`` reads
``_quarto.yml``, profiles and ``_metadata.yml``; ``build`` orchestrates; ``outputs`` keeps the
output folder to what the build wrote; ``serve`` serves the result.
"""
