"""The documentation covers the public API and every example.

Cheap consistency checks; the full build (``python -m sphinx -W ...``) runs
in CI and catches broken references.
"""

import ast
from pathlib import Path

import sk_l2rw
from sk_l2rw import datasets

ROOT = Path(__file__).parents[1]
API = (ROOT / "docs" / "api.rst").read_text()


def test_every_public_name_is_in_the_api_reference():
    names = [name for name in sk_l2rw.__all__ if name not in {"datasets", "__version__"}]
    names += list(datasets.__all__)
    missing = [name for name in names if f"\n   {name}\n" not in API]
    assert not missing, f"not in docs/api.rst: {missing}"


def test_every_public_name_has_a_numpydoc_example():
    objects = [getattr(sk_l2rw, name) for name in sk_l2rw.__all__ if name[0].isupper()]
    objects += [getattr(datasets, name) for name in datasets.__all__]
    no_example = [
        obj.__name__
        for obj in objects
        if obj.__doc__ is None or "Examples\n" not in obj.__doc__ or ">>> " not in obj.__doc__
    ]
    assert not no_example, f"docstrings without an Examples section: {no_example}"


def test_every_example_has_a_gallery_title():
    for path in sorted((ROOT / "examples").glob("plot_*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text()), clean=False)
        assert doc, f"{path.name} has no docstring"
        lines = doc.strip("\n").splitlines()
        rule, title, rule2 = lines[:3]
        assert set(rule) == {"="} and rule == rule2, f"{path.name}: title not over/underlined"
        assert len(rule) >= len(title), f"{path.name}: title rule shorter than the title"


def test_quality_table_is_what_the_saved_results_give():
    # The docs' quality table must not drift from benchmarks/results: assembling
    # the saved JSON again (as `quality.py --assemble-only` does) gives it back.
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import quality
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    committed = (ROOT / "docs" / "benchmarks" / "quality.md").read_text()
    command = committed.split("```\n")[1].strip("\n")
    table, results = quality.assemble(quality.RESULTS, command)
    assert results, "no saved results in benchmarks/results"
    assert table == committed
