"""Model selection under label noise on the real tables: which estimate of clean accuracy?

The real tables' scenarios (``real_tables.py``: noise, trusted rows, at most
8,000 training rows, the clean test split), a grid of five candidates of
different capacity (gradient-boosted trees small, default, deep and smooth;
logistic regression), each scored by 2-fold cross-fitting on the training
rows, the folds stratified on the given labels with the trusted rows dealt
out by class. Per fold, the candidates train on the other fold's rows (noisy
and trusted) and predict the held-back fold; Gold Loss Correction's ``C``
comes from gradient-boosted trees fitted to the other fold's untrusted rows,
averaged per true class over every trusted row (none of which it trained on).
Four estimates of each candidate's clean accuracy (``_corrected.py``), the
mean of the two folds':

- ``noisy``: accuracy on the held-back untrusted rows' given labels;
- ``trusted``: the held-back trusted rows' per-class accuracy at the class
  prior estimated through ``C``;
- ``corrected``: the backward-corrected score ``C^-1[given, pred]`` over the
  held-back untrusted rows (unbiased under class-conditional noise);
- ``combined``: ``corrected`` and ``trusted`` weighted by inverse variance.

Where ``C`` is near-singular (condition number above 10) ``corrected`` is not
used and ``combined`` is ``trusted``. The truth: each candidate fitted to
every training row, scored on the clean test labels. Per rule: the mean
absolute error of its estimates, and the regret of its pick (the best
candidate's test accuracy minus the pick's).

Run (each table and seed cached as its own JSON)::

    OMP_NUM_THREADS=1 python benchmarks/selection_real.py
    python benchmarks/selection_real.py --assemble-only --out docs/benchmarks/selection_real.md
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _corrected  # noqa: E402
import real_tables  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "selection_real"
COMMAND = (
    "python benchmarks/selection_real.py --assemble-only --out docs/benchmarks/selection_real.md"
)
RULES = ("noisy", "trusted", "corrected", "combined")
CANDIDATES = ("trees-small", "trees", "trees-deep", "trees-smooth", "logistic")


def candidate(name, d, seed):
    """``(model, features)`` of a candidate: the trees read ``Xt``, logistic ``Xn``."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    cat = d["categorical"] if d["categorical"].any() else None
    params = {
        "trees-small": dict(max_iter=20),
        "trees": {},
        "trees-deep": dict(max_iter=200, max_leaf_nodes=127, min_samples_leaf=5),
        "trees-smooth": dict(min_samples_leaf=200, l2_regularization=1.0),
    }
    if name == "logistic":
        return LogisticRegression(max_iter=2000), "Xn"
    model = HistGradientBoostingClassifier(
        categorical_features=cat, early_stopping=False, random_state=seed, **params[name]
    )
    return model, "Xt"


def folds(y, trusted, seed):
    """Each training row's fold (0 or 1): untrusted rows stratified on their
    given label, trusted rows on their (true) label."""
    rng = np.random.RandomState(seed)
    fold = np.zeros(len(y), dtype=int)
    for group in (~trusted, trusted):
        for c in np.unique(y[group]):
            rows = np.flatnonzero(group & (y == c))
            fold[rows[rng.permutation(len(rows))]] = np.arange(len(rows)) % 2
    return fold


def run_seed(table, seed):
    from sklearn.base import clone
    from sklearn.ensemble import HistGradientBoostingClassifier

    d = real_tables.seed_data(table, seed)
    y, trusted, k = d["y"], d["trusted"], d["n_classes"]
    fold = folds(y, trusted, seed)
    out = {"table": table, "noise": real_tables.noise_of(table), "seed": seed, "candidates": {}}
    per_fold = {name: [] for name in CANDIDATES}
    conditions = []
    for f in (0, 1):
        fit, held = fold != f, fold == f
        cat = d["categorical"] if d["categorical"].any() else None
        glc = HistGradientBoostingClassifier(categorical_features=cat, random_state=seed)
        glc.fit(d["Xt"][fit & ~trusted], y[fit & ~trusted])
        proba = np.zeros((trusted.sum(), k))
        proba[:, glc.classes_] = glc.predict_proba(d["Xt"][trusted])
        C = _corrected.transition_matrix(proba, y[trusted], k)
        conditions.append(float(np.linalg.cond(C)))
        given_rows, trusted_rows = held & ~trusted, held & trusted
        for name in CANDIDATES:
            model, X = candidate(name, d, seed)
            model = clone(model).fit(d[X][fit], y[fit])
            pred = model.predict(d[X][held])
            pred_given = pred[~trusted[held]]
            pred_trusted = pred[trusted[held]]
            per_fold[name].append(
                _corrected.estimates(C, y[given_rows], pred_given, y[trusted_rows], pred_trusted, k)
            )
    for name in CANDIDATES:
        model, X = candidate(name, d, seed)
        model.fit(d[X], y)
        test = float(np.mean(model.predict(d[f"{X}_te"]) == d["y_te"]))
        row = {"test": test}
        for rule in (*RULES, "corrected_any_condition"):
            values = [e[rule] for e in per_fold[name]]
            row[rule] = None if any(v is None for v in values) else float(np.mean(values))
        out["candidates"][name] = row
    out["condition"] = conditions
    return out


def result_path(table, seed, results=RESULTS):
    return results / f"{table}--seed{seed}.json"


def run(tables, seeds, results):
    warnings.filterwarnings("ignore", category=UserWarning)
    results.mkdir(parents=True, exist_ok=True)
    for table in tables:
        for seed in range(seeds):
            path = result_path(table, seed, results)
            if path.exists():
                continue
            start = time.perf_counter()
            record = run_seed(table, seed)
            path.write_text(json.dumps(record, indent=1) + "\n")
            print(f"{table} seed {seed}: {time.perf_counter() - start:.0f} s", flush=True)


def _judge(records):
    """Per rule, over ``records``: the absolute errors of its estimates (one
    per candidate) and the regret of its pick (one per record), leaving out
    a record where the rule has no estimate."""
    out = {rule: {"err": [], "regret": []} for rule in RULES}
    for rec in records:
        cands = rec["candidates"]
        best = max(c["test"] for c in cands.values())
        for rule in RULES:
            if any(c[rule] is None for c in cands.values()):
                continue
            out[rule]["err"] += [abs(c[rule] - c["test"]) for c in cands.values()]
            pick = max(cands, key=lambda name: cands[name][rule])
            out[rule]["regret"].append(best - cands[pick]["test"])
    return out


def assemble(results=RESULTS, command=COMMAND):
    """The Markdown page from every saved table and seed."""
    records = [json.loads(p.read_text()) for p in sorted(results.glob("*.json"))]
    lines = [
        "# Model selection under label noise on the real tables",
        "",
        f"Generated by `{command}` from `benchmarks/results/selection_real/`",
        "(`python benchmarks/selection_real.py` fits them; protocol in its docstring).",
        "",
        "Five candidates (gradient-boosted trees: 20 iterations, the defaults, 200 deep",
        "iterations of 127 leaves, leaves of at least 200 rows; logistic regression),",
        "each scored by 2-fold cross-fitting on the training rows, noisy and trusted,",
        "by four estimates of its clean accuracy: `noisy` (the held-back given labels),",
        "`trusted` (the held-back trusted rows, per class at the prior estimated through",
        "C), `corrected` (`C^-1[given, pred]` over the held-back untrusted rows, C from",
        "trees fitted to the other fold's untrusted rows as Gold Loss Correction",
        "estimates it) and `combined` (`corrected` and `trusted` by inverse variance).",
        f"Where C's condition number exceeds {_corrected.MAX_CONDITION:g} `corrected` is",
        "not used (—) and `combined` is `trusted`. Truth: each candidate fitted to every",
        "training row and scored on the clean test labels. `MAE`: mean absolute error of",
        "the estimates over the candidates; `regret`: the best candidate's test accuracy",
        "minus the pick's.",
        "",
    ]
    if not records:
        return "\n".join(lines + ["No results yet."]) + "\n"
    lines += [
        "| table | noise | seeds | max cond(C) | "
        + " | ".join(f"MAE `{r}`" for r in RULES)
        + " | "
        + " | ".join(f"regret `{r}`" for r in RULES)
        + " |",
        "|---|---|---:|---:|" + "---:|" * (2 * len(RULES)),
    ]
    by_table = {}
    for rec in records:
        by_table.setdefault(rec["table"], []).append(rec)
    totals = {rule: {"err": [], "regret": []} for rule in RULES}
    singular = 0
    for table in sorted(by_table, key=lambda t: real_tables._real_data.TABLES[t][5]):
        recs = by_table[table]
        singular += sum(max(rec["condition"]) > _corrected.MAX_CONDITION for rec in recs)
        cells = _judge(recs)
        for rule in RULES:
            for key in ("err", "regret"):
                totals[rule][key] += cells[rule][key]

        def fmt(values):
            return f"{np.mean(values):.3f}" if values else "—"

        row = [table, recs[0]["noise"], str(len(recs))]
        row.append(f"{max(max(r['condition']) for r in recs):.1f}")
        row += [fmt(cells[rule]["err"]) for rule in RULES]
        row += [fmt(cells[rule]["regret"]) for rule in RULES]
        lines.append("| " + " | ".join(row) + " |")
    # The same four rules over the table-seeds where C was usable in both
    # folds, so that corrected is compared on equal terms.
    usable = _judge(
        [r for r in records if all(c["corrected"] is not None for c in r["candidates"].values())]
    )
    n_usable = len(usable["noisy"]["regret"])
    n = len(records)
    row = ["**where C is usable**", "", str(n_usable), ""]
    row += [f"{np.mean(usable[r]['err']):.3f}" if n_usable else "—" for r in RULES]
    row += [f"{np.mean(usable[r]['regret']):.3f}" if n_usable else "—" for r in RULES]
    lines.append("| " + " | ".join(row) + " |")
    row = ["**all**", "", str(n), ""]
    row += [f"**{np.mean(totals[r]['err']):.3f}**" if totals[r]["err"] else "—" for r in RULES]
    row += [
        f"**{np.mean(totals[r]['regret']):.3f}**" if totals[r]["regret"] else "—" for r in RULES
    ]
    lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        f"{len(by_table)} tables, {n} table-seeds; C near-singular in {singular} of them",
        "(`corrected` left out of their rows and of its totals).",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", help="comma-separated (default: all, fewest rows first)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--assemble-only", action="store_true")
    parser.add_argument("--out", type=Path, help="write the page here")
    args = parser.parse_args(argv)
    if not args.assemble_only:
        tables = args.tables.split(",") if args.tables else real_tables.by_size()
        run(tables, args.seeds, args.results)
    page = assemble(args.results)
    print(page)
    if args.out:
        args.out.write_text(page)


if __name__ == "__main__":
    main()
