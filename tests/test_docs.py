"""The documentation covers the public API and every example.

Cheap consistency checks; the full build (``python -m sphinx -W ...``) runs
in CI and catches broken references.
"""

import ast
import json
import re
from pathlib import Path

import pytest
from _benchmarks import benchmark_module

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


def _page_and_command(name):
    page = (ROOT / "docs" / "benchmarks" / name).read_text()
    return page, page.split("```\n")[1].strip("\n")


# The docs' benchmark tables must not drift from the saved results in
# benchmarks/results: assembling them again (as --assemble-only does) gives
# the committed page back, byte for byte.


def test_quality_table_is_what_the_saved_results_give():
    quality = benchmark_module("quality")
    page, command = _page_and_command("quality.md")
    table, results = quality.assemble(quality.RESULTS, command)
    assert results, "no saved results in benchmarks/results"
    assert table == page


@pytest.mark.parametrize(
    "page_name, results_dir, kind",
    [
        ("ablation.md", "ISSUE18_RESULTS", "issue-18"),
        ("ablation_earlier.md", "VARIANT_RESULTS", "earlier"),
        ("ablation_class_weight.md", "ISSUE18_RESULTS", "class-weight"),
    ],
)
def test_ablation_table_is_what_the_saved_results_give(page_name, results_dir, kind):
    variants_module = benchmark_module("quality_variants")
    page, command = _page_and_command(page_name)
    lines = page.splitlines()
    header = next(line for line in lines if line.startswith("| scenario |"))
    variants = re.findall(r"`([^`]+)`", header)
    names = [line.split("|")[1].strip() for line in lines if line.startswith("| ")][1:]
    directory = getattr(variants_module, results_dir)
    results = {name: json.loads((directory / f"{name}.json").read_text()) for name in names}
    assert variants and results
    assert variants_module.wide_table(results, variants, command, kind=kind) == page


def test_regression_table_is_what_the_saved_results_give():
    module = benchmark_module("quality_regression")
    page, command = _page_and_command("quality_regression.md")
    assert command == "python benchmarks/quality_regression.py"
    assert page == module.assemble(command)


def test_carry_table_is_what_the_saved_results_give():
    module = benchmark_module("carry")
    page = (ROOT / "docs" / "benchmarks" / "carry.md").read_text()
    assert "| heldout-hastie-oneway-30 |" in page
    assert page == module.assemble(None)


@pytest.mark.parametrize(
    "score, scenario",
    [
        ("given", "carry-heldout3-wine-background-40"),
        ("posterior", "carry-heldout5-fair-background-30"),
    ],
)
def test_other_check_score_carry_tables_are_what_the_saved_results_give(score, scenario):
    module = benchmark_module("carry")
    page = (ROOT / "docs" / "benchmarks" / f"carry_{score}.md").read_text()
    saved, module.CHECK_SCORE = module.CHECK_SCORE, score
    try:
        assert f"| {scenario} |" in page
        assert page == module.assemble(None)
    finally:
        module.CHECK_SCORE = saved


def test_speed_page_is_what_the_saved_figures_give():
    """The speed page rendered again from benchmarks/results/speed.json, with
    the sections and repeats its first line names."""
    module = benchmark_module("speed")
    page = (ROOT / "docs" / "benchmarks" / "speed.md").read_text()
    command = page.split("`")[1]
    args = command.split()
    sections = args[args.index("--sections") + 1].split(",") if "--sections" in args else None
    repeats = int(args[args.index("--repeats") + 1]) if "--repeats" in args else 5
    results = json.loads((ROOT / "benchmarks" / "results" / "speed.json").read_text())
    kwargs = {} if sections is None else {"sections": sections}
    rendered = module.render(results, repeats, "--quick" in args, **kwargs)
    # The first lines name the machine the last run was on.
    assert rendered.split("\n", 3)[3] == page.split("\n", 3)[3]
    assert "| 20,000 | 10 |" in page and "`n_jobs=3`" in page


# What a reader meets stays short and free of the project's history.

DOCS = ROOT / "docs"
# Pages a reader reads: the README, the hand-written docs, the generated
# benchmark pages, the package and the examples.
READ = [
    ROOT / "README.md",
    ROOT / "CONTRIBUTING.md",
    DOCS / "conf.py",
    *sorted(DOCS.glob("*.rst")),
    *sorted(DOCS.glob("user_guide/*.rst")),
    *sorted(DOCS.glob("benchmarks/*.md")),
    *sorted((ROOT / "sk_l2rw").glob("*.py")),
    *sorted((ROOT / "examples").glob("*.py")),
]
ISSUE = re.compile(r"\bissues?\s*#?\s*\d+", re.IGNORECASE)


@pytest.mark.parametrize("path", READ, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_issue_numbers(path):
    found = ISSUE.findall(path.read_text())
    assert not found, f"{path.name} cites {found}: give the reason and link the page instead"


@pytest.mark.parametrize(
    "path",
    [
        *sorted(DOCS.glob("*.rst")),
        *sorted(DOCS.glob("user_guide/*.rst")),
        *sorted(DOCS.glob("benchmarks/*.md")),
    ],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_user_doc_pages_are_short(path):
    assert len(path.read_text()) <= 25_000, f"{path.name}: {len(path.read_text())} characters"


def test_changelog_is_short():
    assert len((DOCS / "changelog.rst").read_text()) < 12_000


def _public_docstrings():
    from sk_l2rw import model_selection

    objects = [getattr(sk_l2rw, name) for name in sk_l2rw.__all__ if name[0].isupper()]
    objects += [getattr(datasets, name) for name in datasets.__all__]
    objects += [getattr(model_selection, name) for name in model_selection.__all__]
    for obj in objects:
        yield obj.__qualname__, obj.__doc__ or ""
        for name, member in vars(obj).items() if isinstance(obj, type) else ():
            if not name.startswith("_") and callable(member) and member.__doc__:
                yield f"{obj.__qualname__}.{name}", member.__doc__


def test_public_docstrings_carry_no_benchmark_figures():
    """Figures drift; they belong on the benchmark pages. The Examples
    sections, which doctests run, are left out."""
    figures = {
        name: re.findall(r"\b\d\.\d{3}\b", doc.split("Examples\n")[0])
        for name, doc in _public_docstrings()
    }
    figures = {name: found for name, found in figures.items() if found}
    assert not figures, figures


def test_main_docstrings_are_readable_in_one_sitting():
    from sk_l2rw import MetaReweightClassifier

    assert len(MetaReweightClassifier.__doc__) <= 10_000
    guided = {
        "MetaReweightClassifier",
        "MetaReweightRegressor",
        "ReweightedClassifier",
        "ReweightedRegressor",
        "TrustedStratifiedKFold",
        "trusted_scorer",
    }
    for name, doc in _public_docstrings():
        if name in guided:
            assert "Read more in the :ref:`User Guide" in doc, name
