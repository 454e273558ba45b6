"""Package discovery for the wheel (the metadata lives in pyproject.toml).

pyproject.toml's ``[tool.setuptools.package-dir]`` maps each installed package to its folder
(simlab/ → simlab, toy/ → simlab.toy, scale/ → simlab.scale, paper/ → simlab.paper). The
``find`` of pyproject.toml cannot rename what it finds (it would install toy/ as a top-level
``toy``), so the packages are found here: every folder with an ``__init__.py`` below each mapped
folder, under its mapped name. No hand list: a hand list once left out simlab.claims.
"""

import sys
from pathlib import Path

from setuptools import find_packages, setup

if sys.version_info >= (3, 11):
    import tomllib
else:  # a build requirement on 3.10 (pyproject.toml [build-system])
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent
PACKAGE_DIR = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]


def discover(package_dir: dict[str, str]) -> list[str]:
    """Every package below each mapped folder, named under its mapping."""
    packages = []
    for name, folder in package_dir.items():
        packages += [name] + [f"{name}.{sub}" for sub in find_packages(str(ROOT / folder))]
    return sorted(set(packages))


setup(packages=discover(PACKAGE_DIR), package_dir=PACKAGE_DIR)
