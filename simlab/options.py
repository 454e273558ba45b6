"""Config fields with their documentation: the one source of every flag's help and choices.

Kept apart from :mod:`simlab.cli` (which builds the flags from them) so that the config
dataclasses (TrainConfig, ToyConfig, ScaleConfig) import nothing that imports the experiments.
"""

from __future__ import annotations

import dataclasses


def option(default=dataclasses.MISSING, help: str = "", choices=None, *, flag: bool = True,
           default_factory=dataclasses.MISSING):
    """A config dataclass field with its documentation: ``help`` (and ``choices``) are the one
    source of its flag's help text and allowed values (:func:`config_flags`); ``flag=False``
    gives it no flag. ``lr: float = option(0.1, "learning rate η")``."""
    meta = {"help": help}
    if choices is not None:
        meta["choices"] = tuple(choices)
    if not flag:
        meta["flag"] = False
    return dataclasses.field(default=default, default_factory=default_factory, metadata=meta)


def field_help(f: dataclasses.Field) -> str | None:
    """A field's documented help (``option(help=...)`` / ``metadata["help"]``), or None."""
    return f.metadata.get("help") or None
