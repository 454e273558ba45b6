"""The paper's grids are declared once, in :mod:`simlab.experiments`; this module keeps the old
import path (``simlab.paper.grids``) working."""

from simlab.experiments import (CLASS_COUNTS, PRESETS, Run, expand, grid, grid_names,  # noqa: F401
                                names, select)
