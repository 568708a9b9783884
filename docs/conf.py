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
# The benchmark tables are included into benchmarks.rst (see below), not pages
# of their own.
exclude_patterns = ["_build", "benchmarks/*.md", "auto_examples/*.ipynb"]
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

# -- Benchmarks: include whichever committed tables exist -------------------

BENCHMARK_TABLES = (
    ("quality.md", "Quality"),
    ("quality_regression.md", "Quality: regression with corrupted targets"),
    ("ablation.md", "Ablations of the defaults"),
    ("ablation_earlier.md", "Ablations of the defaults before issue 18"),
    ("ablation_class_weight.md", "Class weighting on the development scenarios"),
    ("carry.md", "The weights carried to other models"),
    ("carry_posterior.md", "The weights carried, the check scoring the posterior always"),
    ("carry_given.md", "The weights carried, the check scoring the given labels"),
    ("speed.md", "Speed"),
    ("speed_trusted_batch.md", "Speed against the trusted minibatch size"),
    ("speed_sparse.md", "Sparse input"),
    ("selection.md", "Model selection on trusted rows"),
)


def _benchmark_includes(app, docname, source):
    """Append an include for each committed table under ``docs/benchmarks/``.

    The tables are written by ``benchmarks/`` scripts; a missing one is named
    in the page instead of breaking the build.
    """
    if docname != "benchmarks":
        return
    parts = []
    for filename, title in BENCHMARK_TABLES:
        path = HERE / "benchmarks" / filename
        figure = path.with_suffix(".png")
        if path.exists():
            app.env.note_dependency(str(path))
            # The table brings its own headings.
            parts.append(f"\n.. include:: benchmarks/{filename}\n   :parser: myst_parser.sphinx_\n")
        else:
            parts.append(
                f"\n{title}\n{'=' * len(title)}\n\nNo results committed yet: "
                f"``docs/benchmarks/{filename}`` is written by the benchmark scripts.\n"
            )
        if figure.exists():
            app.env.note_dependency(str(figure))
            parts.append(f"\n.. image:: benchmarks/{figure.name}\n   :width: 100%\n")
    source[0] += "".join(parts)


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
    if docname == "user_guide":
        source[0] = source[0].replace(".. sk-l2rw-defaults-table::", _defaults_table())


def _always_reread_benchmarks(app, env, added, changed, removed):
    # Tables may appear or vanish between builds.
    return ["benchmarks"]


def setup(app):
    app.connect("env-get-outdated", _always_reread_benchmarks)
    app.connect("source-read", _benchmark_includes)
    app.connect("source-read", _insert_defaults_table)
