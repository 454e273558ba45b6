"""Lowell 2022's figures and Table 1 for scale-regime records.

The figure code lives once, in :mod:`simlab.figures` (reading records through
:mod:`simlab.claims.readers`); this module keeps the scale regime's import path
(``simlab.scale.figures.make_figures``) for the scale run and experiments.
"""

from __future__ import annotations

from simlab.figures import make_figures, table1

__all__ = ["make_figures", "table1"]
