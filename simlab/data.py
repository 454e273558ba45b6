"""What both regimes' data loaders share: where data lives by default.

The loaders themselves are regime-specific (``simlab.toy.data``: blobs, random inputs, digits,
MNIST; ``simlab.scale.data``: CIFAR-10); each reads from a data root and never downloads unless
asked, and each record states which data it used.
"""

from __future__ import annotations

import os
from pathlib import Path


def default_data_root() -> Path:
    """``$SIMLAB_DATA`` when set, else ``~/.cache/simlab``."""
    env = os.environ.get("SIMLAB_DATA")
    return Path(env).expanduser() if env else Path("~/.cache/simlab").expanduser()
