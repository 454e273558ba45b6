"""The API reference page: generated from the docstrings, committed, and current."""

from __future__ import annotations

import simlab
from simlab import apidoc


def test_committed_api_page_is_what_the_docstrings_give():
    committed = apidoc.DEFAULT_OUT.read_text()
    assert committed == apidoc.page(), ("docs/API.md is stale: run `python -m simlab.apidoc` "
                                        "and commit it")


def test_every_public_name_is_on_the_page_with_its_own_docstring():
    text = apidoc.page()
    for name in simlab.__all__:
        obj = getattr(simlab, name)
        assert f"## `simlab.{name}`" in text
        assert obj.__doc__ and obj.__doc__.strip(), f"simlab.{name} has no docstring"
        assert apidoc.section(f"simlab.{name}", obj).count("(no docstring)") <= 2, name
    assert "## `simlab.claims.evaluate`" in text


def test_the_page_goes_to_standard_output(capsys):
    assert apidoc.main(["--out", "-"]) == 0
    assert capsys.readouterr().out == apidoc.page()
