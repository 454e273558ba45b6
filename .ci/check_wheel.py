"""Check an installed (non-editable) simlab against the checkout it was built from.

    python .ci/check_wheel.py CHECKOUT      # run with the environment's python, outside CHECKOUT

Every ``.py`` file under the folders of pyproject.toml's ``[tool.setuptools.package-dir]``
(simlab/, toy/, scale/, paper/) must be importable under its installed name (toy/run.py →
``simlab.toy.run``) from this environment's own site-packages, not from the checkout (an editable
install elsewhere on the path would hide a module the wheel left out), and the package data
(``simlab/slq_validation.json``) must be installed. Prints one line per problem; exit 1 if any.
"""

from __future__ import annotations

import importlib
import importlib.resources
import importlib.util
import sys
import tomllib
from pathlib import Path

# importing simlab.__main__ runs the CLI; `python -m simlab --help` exercises it instead
SKIP = {"simlab.__main__"}
DATA = [("simlab", "slq_validation.json")]


def expected_modules(checkout: Path) -> dict[str, Path]:
    """{installed module name: its source file} for every .py under each mapped folder."""
    mapping = tomllib.loads((checkout / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    mods = {}
    for name, folder in mapping.items():
        root = checkout / folder
        for py in sorted(root.rglob("*.py")):
            rel = py.relative_to(root).with_suffix("")
            if "__pycache__" in rel.parts or any(p.startswith(".") for p in rel.parts):
                continue
            parts = [name, *rel.parts]
            if parts[-1] == "__init__":
                parts.pop()
            mods[".".join(parts)] = py
    return mods


def main(argv: list[str]) -> int:
    checkout = Path(argv[0]).resolve()
    if Path.cwd().resolve().is_relative_to(checkout):
        print(f"run this outside the checkout {checkout}, not in {Path.cwd()}")
        return 2
    prefix = Path(sys.prefix).resolve()
    problems = []
    mods = expected_modules(checkout)
    for name in sorted(mods):
        if name in SKIP:
            continue
        try:
            mod = importlib.import_module(name)
        except Exception as e:  # noqa: BLE001 - every failure is reported, one line each
            problems.append(f"{name} ({mods[name].relative_to(checkout)}): "
                            f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
            continue
        where = Path(mod.__file__).resolve()
        if not where.is_relative_to(prefix):
            problems.append(f"{name}: imported from {where}, not from the installed wheel under "
                            f"{prefix} (the wheel lacks it)")
    for name in SKIP:
        spec = importlib.util.find_spec(name)
        if spec is None or not Path(spec.origin).resolve().is_relative_to(prefix):
            problems.append(f"{name}: not in the installed wheel")
    for package, resource in DATA:
        if not importlib.resources.files(package).joinpath(resource).is_file():
            problems.append(f"package data {package}/{resource} is not installed")
    for p in problems:
        print(f"wheel: {p}")
    print(f"wheel: {len(mods)} modules and {len(DATA)} data file(s) checked against {prefix}: "
          + (f"{len(problems)} problem(s)" if problems else "all installed"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
