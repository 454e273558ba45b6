"""``python -m simlab.apidoc [--out docs/API.md]``: the API reference, generated from docstrings.

One section per public name of :mod:`simlab` (``simlab.__all__``) and for
:func:`simlab.claims.evaluate`: its signature and its docstring as written; a class also lists
its public methods and properties with theirs. The page is generated, never edited by hand;
``tests/test_apidoc.py`` checks that the committed ``docs/API.md`` is what this writes.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
from pathlib import Path

HEADER = ("# simlab API reference\n\n"
          "Generated from the docstrings by `python -m simlab.apidoc` (do not edit by hand). "
          "Every name below is importable as `from simlab import NAME`, except "
          "`simlab.claims.evaluate`.\n")


def _signature(obj) -> str:
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "(…)"


def _doc(obj) -> str:
    return inspect.cleandoc(obj.__doc__) if obj.__doc__ else "(no docstring)"


def _members(cls) -> list[tuple[str, object]]:
    """A class's own public methods and properties, in source order (dataclass fields aside)."""
    out = []
    for name, value in vars(cls).items():
        if name.startswith("_") or not (inspect.isfunction(value) or isinstance(value, property)):
            continue
        out.append((name, value))
    return out


def section(qualname: str, obj) -> str:
    kind = "class" if inspect.isclass(obj) else "function"
    lines = [f"## `{qualname}`\n", f"```python\n{kind} {qualname.rsplit('.', 1)[-1]}"
             f"{_signature(obj)}\n```\n", _doc(obj) + "\n"]
    if inspect.isclass(obj):
        for name, m in _members(obj):
            if isinstance(m, property):
                lines.append(f"### `{name}` (property)\n\n{_doc(m)}\n")
            else:
                lines.append(f"### `{name}{_signature(m)}`\n\n{_doc(m)}\n")
    return "\n".join(lines)


def page() -> str:
    import simlab

    parts = [HEADER]
    for name in simlab.__all__:
        parts.append(section(f"simlab.{name}", getattr(simlab, name)))
    claims = importlib.import_module("simlab.claims")
    parts.append(section("simlab.claims.evaluate", claims.evaluate))
    return "\n".join(parts)


DEFAULT_OUT = Path(__file__).resolve().parent.parent / "docs" / "API.md"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m simlab.apidoc", description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the Markdown file written "
                   "(default docs/API.md beside the package; '-' for standard output)")
    a = p.parse_args(argv)
    text = page()
    if str(a.out) == "-":
        sys.stdout.write(text)
        return 0
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(text)
    print(f"wrote {a.out} ({text.count(chr(10) + '## ')} entries)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
