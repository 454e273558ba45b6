"""Config fields with their documentation: the one source of every flag's help and choices.

Kept apart from :mod:`simlab.cli` (which builds the flags from them) so that the config
dataclasses (TrainConfig, ToyConfig, ScaleConfig) import nothing that imports the experiments.
"""

from __future__ import annotations

import dataclasses


# the one meaning of every config's ``experiment`` field (ToyConfig, ScaleConfig): which
# experiment a run belongs to. A regime may add how its command expands one (the scale regime's
# sweeps), not a second meaning
EXPERIMENT_HELP = ("the experiment the run belongs to: its record's label, by which the claims "
                   "group records (a sweep's members carry the sweep's name)")


def option(default=dataclasses.MISSING, help: str = "", choices=None, *, flag: bool = True,
           default_factory=dataclasses.MISSING):
    """A config dataclass field with its documentation: ``help`` (and ``choices``) are the one
    source of its flag's help text and allowed values (:func:`config_flags`); ``flag=False``
    gives it no flag. ``lr: float = option(0.1, "learning rate η")``; a field another
    config already documents is taken with :func:`retune`."""
    meta = {"help": help}
    if choices is not None:
        meta["choices"] = tuple(choices)
    if not flag:
        meta["flag"] = False
    return dataclasses.field(default=default, default_factory=default_factory, metadata=meta)


def retune(cls, name: str, default=dataclasses.MISSING, *, choices=None):
    """``cls``'s field ``name`` as a field of another config: its documentation (help and
    choices) is ``cls``'s — one meaning per field name — and only its default (``default``,
    else ``cls``'s) and a narrower set of ``choices`` may differ. How a regime's config takes a
    trainer setting without restating it: ``lr: float = retune(TrainConfig, "lr", 0.1)``."""
    f = cls.__dataclass_fields__[name]
    if default is dataclasses.MISSING:
        default = f.default
    own = f.metadata.get("choices")
    if choices is not None and own is not None and not set(choices) <= set(own):
        raise ValueError(f"{name}: choices {choices} are not among {cls.__name__}'s {own}")
    return option(default, f.metadata.get("help", ""), own if choices is None else choices,
                  flag=f.metadata.get("flag", True))


def field_help(f: dataclasses.Field) -> str | None:
    """A field's documented help (``option(help=...)`` / ``metadata["help"]``), or None."""
    return f.metadata.get("help") or None
