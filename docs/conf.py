"""Sphinx configuration for the sk_l2rw documentation.

Build from the repository root, offline, with warnings as errors::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

import os
from pathlib import Path

import sk_l2rw

HERE = Path(__file__).parent
# Examples call torch.set_num_threads(1); matplotlib must not open windows.
os.environ.setdefault("MPLBACKEND", "Agg")

project = "sk_l2rw"
author = "sk_l2rw developers"
copyright = "sk_l2rw developers, BSD-3-Clause"  # noqa: A001
version = release = sk_l2rw.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
templates_path = ["_templates"]
# The generated benchmark tables (docs/benchmarks/*.md) are pages of their own,
# listed by benchmarks.rst (see below).
exclude_patterns = ["_build", "auto_examples/*.ipynb"]
root_doc = "index"

# No intersphinx: the build must work offline, and no inventory of
# scikit-learn, skorch or torch ships with their packages. References to their
# names are written as literals.
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()

myst_heading_anchors = 3
suppress_warnings = ["myst.header"]

plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]

sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "plot_gallery": "True",
    "image_scrapers": ("matplotlib",),
    "reference_url": {"sk_l2rw": None},
    "doc_module": ("sk_l2rw",),
    "backreferences_dir": "gen_modules/backreferences",
}

html_theme = "furo"
html_title = f"sk_l2rw {release}"
html_show_sourcelink = False

# -- Benchmarks: one page per committed table ------------------------------

# The order of the benchmark pages; any other table under docs/benchmarks/
# is listed after these, so that a new one never breaks the build.
BENCHMARK_PAGES = (
    "quality",
    "ablation",
    "ablation_class_weight",
    "ablation_earlier",
    "quality_regression",
    "carry",
    "carry_posterior",
    "carry_given",
    "real_tables",
    "selection",
    "selection_real",
    "speed",
    "speed_trusted_batch",
    "speed_sparse",
)


def _benchmark_toctree(app, docname, source):
    """Append a toctree of the committed tables under ``docs/benchmarks/``."""
    if docname != "benchmarks":
        return
    present = {path.stem for path in (HERE / "benchmarks").glob("*.md")}
    pages = [p for p in BENCHMARK_PAGES if p in present]
    pages += sorted(present - set(pages))
    entries = "".join(f"   benchmarks/{page}\n" for page in pages)
    source[0] += f"\n.. toctree::\n   :maxdepth: 1\n\n{entries}"


# -- The table of MetaReweightClassifier's defaults, read from the code -----


def _first_sentence(text):
    text = " ".join(text.split())
    for abbrev in ("e.g.", "i.e."):
        text = text.replace(abbrev, abbrev.replace(".", "\0"))
    first = text.split(". ")[0].rstrip(".").replace("\0", ".")
    return first + "." if first else ""


def _defaults_table():
    """RST list-table: each parameter, its default and its docstring summary."""
    import inspect

    from numpydoc.docscrape import ClassDoc

    from sk_l2rw import MetaReweightClassifier

    described = {p.name: p for p in ClassDoc(MetaReweightClassifier)["Parameters"]}
    rows = []
    for name, param in inspect.signature(MetaReweightClassifier).parameters.items():
        doc = described.get(name)
        summary = _first_sentence(" ".join(doc.desc)) if doc else ""
        rows.append(f"   * - ``{name}``\n     - ``{param.default!r}``\n     - {summary}\n")
    header = (
        ".. list-table::\n   :header-rows: 1\n   :widths: 20 20 60\n\n"
        "   * - parameter\n     - default\n     - what it does\n"
    )
    return header + "".join(rows)


def _insert_defaults_table(app, docname, source):
    if docname == "user_guide/default_fit":
        source[0] = source[0].replace(".. sk-l2rw-defaults-table::", _defaults_table())


def _always_reread_benchmarks(app, env, added, changed, removed):
    # Tables may appear or vanish between builds.
    return ["benchmarks"]


def setup(app):
    app.connect("env-get-outdated", _always_reread_benchmarks)
    app.connect("source-read", _benchmark_toctree)
    app.connect("source-read", _insert_defaults_table)
