"""Model selection benchmark: which scoring rule picks the best candidate?

Protocol: ``../shared/BENCHMARKS.md`` (model selection part). For every
scenario and seed, one ``GridSearchCV`` over a grid of
``MetaReweightClassifier`` candidates (learning rate, epochs, hidden width),
3-fold ``TrustedStratifiedKFold``, scores every fold with three rules at once:

- ``noisy``: accuracy on all rows of the test fold with their given labels
  (scikit-learn's default; noisy labels, trusted rows true);
- ``trusted``: ``trusted_scorer(estimate="trusted")``, accuracy on the trusted
  rows of the test fold;
- ``prediction-powered``: ``trusted_scorer(estimate="prediction-powered")``,
  the mean confidence over every row of the fold plus the trusted rows' mean
  of ``correct - confidence``.

Every candidate is also fitted on the whole training part and scored on the
clean test labels. For each rule: its pick (the candidate with the best mean
CV score), the pick's clean test accuracy, the regret (best clean test
accuracy among the candidates minus the pick's), the mean absolute error of
its CV score as an estimate of each candidate's clean test accuracy, and the
Spearman correlation of its CV scores with the clean test accuracies over the
candidates (how well it ranks them all).

Usage::

    python benchmarks/selection.py                  # 4 scenarios x 3 seeds
    python benchmarks/selection.py --quick          # 1 seed, 2 scenarios, 2 candidates
    python benchmarks/selection.py --assemble-only  # table from saved JSON

Results go to ``benchmarks/results/selection/<scenario>.json``; the Markdown
table (``docs/benchmarks/selection.md``) is assembled from every such JSON.
"""

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import sklearn
import torch
from scipy.stats import spearmanr
from sklearn.model_selection import GridSearchCV

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import markdown_header, noise_data  # noqa: E402

from sk_l2rw import MetaReweightClassifier  # noqa: E402
from sk_l2rw.model_selection import TrustedStratifiedKFold, trusted_scorer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "selection"
MARKDOWN = ROOT / "docs" / "benchmarks" / "selection.md"
COMMAND = "python benchmarks/selection.py"
RULES = ("noisy", "trusted", "prediction-powered")
SCENARIOS = {
    "digits-uniform-40": dict(data="digits", kind="uniform", rate=0.4, k=10),
    "digits-pair-30": dict(data="digits", kind="pair", rate=0.3, k=10),
    "digits-uniform-40-k5": dict(data="digits", kind="uniform", rate=0.4, k=5),
    "synth-matrix-40": dict(data="synth", kind="matrix", rate=0.4, k=10),
}
GRID = {
    "lr": [3e-4, 3e-3],
    "max_epochs": [10, 40],
    "hidden_layer_sizes": [(32,), (256,)],
}
QUICK_GRID = {"lr": [3e-4, 3e-3], "max_epochs": [5], "hidden_layer_sizes": [(32,)]}


def scorers():
    return {
        "noisy": "accuracy",
        "trusted": trusted_scorer(estimate="trusted"),
        "prediction-powered": trusted_scorer(estimate="prediction-powered"),
    }


def run_seed(spec, seed, grid):
    """CV scores of every rule and clean test accuracy for every candidate."""
    X_tr, _, y_fit, trusted, X_te, y_te = noise_data(spec, seed)
    X_tr, X_te = X_tr.astype(np.float32), X_te.astype(np.float32)
    with sklearn.config_context(enable_metadata_routing=True), warnings.catch_warnings():
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        # The reweighted fit alone (as when the saved results were measured):
        # what is compared here is how the folds are scored, not the fallback.
        clf = MetaReweightClassifier(random_state=seed, fallback=None)
        clf.set_fit_request(clean_mask=True)
        search = GridSearchCV(
            clf,
            grid,
            scoring=scorers(),
            cv=TrustedStratifiedKFold(3, shuffle=True, random_state=seed),
            refit=False,
            error_score="raise",
        )
        search.fit(X_tr, y_fit, clean_mask=trusted)
        test_acc = [
            MetaReweightClassifier(random_state=seed, fallback=None, **params)
            .fit(X_tr, y_fit, clean_mask=trusted)
            .score(X_te, y_te)
            for params in search.cv_results_["params"]
        ]
    return {
        "params": [
            {k: list(v) if isinstance(v, tuple) else v for k, v in p.items()}
            for p in search.cv_results_["params"]
        ],
        "cv": {rule: search.cv_results_[f"mean_test_{rule}"].tolist() for rule in RULES},
        "cv_std": {rule: search.cv_results_[f"std_test_{rule}"].tolist() for rule in RULES},
        "test_accuracy": [float(a) for a in test_acc],
    }


def rule_figures(seed_result, rule):
    """Pick's clean test accuracy, regret, MAE of the estimate, Spearman rho."""
    cv = np.asarray(seed_result["cv"][rule])
    test = np.asarray(seed_result["test_accuracy"])
    pick = int(np.argmax(cv))  # GridSearchCV's best_index_: first of the ties
    rho = spearmanr(cv, test).statistic if np.ptp(cv) and np.ptp(test) else float("nan")
    return {
        "pick": pick,
        "pick_acc": float(test[pick]),
        "regret": float(test.max() - test[pick]),
        "mae": float(np.mean(np.abs(cv - test))),
        "spearman": float(rho),
    }


def load_results(directory=RESULTS):
    """Scenario name -> saved result, in the order of SCENARIOS then any others."""
    found = {p.stem: p for p in directory.glob("*.json")}
    names = [n for n in SCENARIOS if n in found] + sorted(set(found) - set(SCENARIOS))
    return {name: json.loads(found[name].read_text()) for name in names}


def _mean(values):
    values = [v for v in values if np.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")


def assemble(results, command=COMMAND):
    """The Markdown page: one row per scenario and rule, means over seeds."""
    lines = markdown_header("Model selection on trusted rows", command)
    grid = next(iter(results.values()))["grid"] if results else GRID
    n_candidates = int(np.prod([len(v) for v in grid.values()]))
    lines += [
        "A `GridSearchCV` over "
        + ", ".join(f"`{k}` in {_grid_values(v)}" for k, v in grid.items())
        + f" ({n_candidates} candidates of `MetaReweightClassifier`, "
        "3-fold `TrustedStratifiedKFold`), "
        "each fold scored by three rules: `noisy` (accuracy on the fold's given labels, "
        "scikit-learn's default), `trusted` (accuracy on the fold's trusted rows) and "
        "`prediction-powered` (mean confidence over all the fold's rows, corrected by "
        "the trusted rows' `correct - confidence`). Means over seeds of: the clean test "
        "accuracy of each rule's pick; its regret (best candidate's clean test accuracy "
        "minus the pick's); the mean absolute error of the rule's CV score as an estimate "
        "of each candidate's clean test accuracy (fitted on the whole training part); the "
        "Spearman correlation of the CV scores with those accuracies over the candidates.",
        "",
        "| scenario | seeds | rule | pick's test acc. | regret | MAE of estimate | Spearman |",
        "|---|---|---|---|---|---|---|",
    ]
    overall = {rule: [] for rule in RULES}
    for name, result in results.items():
        seeds = result["seeds"]
        for rule in RULES:
            figures = [rule_figures(seeds[s], rule) for s in sorted(seeds)]
            overall[rule] += figures
            lines.append(_row(name, len(seeds), rule, figures))
    if results:
        for rule in RULES:
            lines.append(_row("**all**", len(overall[rule]), rule, overall[rule]))
        mae = {rule: _mean([f["mae"] for f in overall[rule]]) for rule in RULES}
        regret = {rule: _mean([f["regret"] for f in overall[rule]]) for rule in RULES}
        lines += [
            "",
            "Over all scenarios and seeds, the CV score estimates clean accuracy "
            + ", ".join(
                f"{mae['noisy'] / mae[rule]:.1f}x as closely with `{rule}` as with `noisy`"
                for rule in RULES[1:]
            )
            + "; the picks' mean regret is "
            + ", ".join(f"{regret[rule]:.4f} (`{rule}`)" for rule in RULES)
            + ".",
        ]
    return "\n".join(lines) + "\n"


def _grid_values(values):
    return "[" + ", ".join(str(tuple(v)) if isinstance(v, list) else str(v) for v in values) + "]"


def _row(name, n, rule, figures):
    pick, regret, mae, rho = (
        _mean([f[k] for f in figures]) for k in ("pick_acc", "regret", "mae", "spearman")
    )
    return f"| {name} | {n} | `{rule}` | {pick:.4f} | {regret:.4f} | {mae:.4f} | {rho:.2f} |"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 seed, 2 scenarios, 2 candidates")
    parser.add_argument("--scenarios", help="comma-separated names (default: all)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    parser.add_argument("--markdown", type=Path, default=MARKDOWN)
    parser.add_argument("--assemble-only", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    names = args.scenarios.split(",") if args.scenarios else list(SCENARIOS)
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenarios {unknown}; known: {sorted(SCENARIOS)}")
    grid, n_seeds = GRID, args.seeds
    if args.quick:
        names, grid, n_seeds = names[:2], QUICK_GRID, 1
    if not args.assemble_only:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        for name in names:
            result = {"scenario": SCENARIOS[name], "grid": grid, "seeds": {}}
            for seed in range(n_seeds):
                result["seeds"][str(seed)] = run_seed(SCENARIOS[name], seed, grid)
                summary = {r: rule_figures(result["seeds"][str(seed)], r) for r in RULES}
                print(name, seed, json.dumps(summary), flush=True)
            (args.out_dir / f"{name}.json").write_text(json.dumps(result, indent=1))
    table = assemble(load_results(args.out_dir))
    if not args.quick:
        args.markdown.write_text(table)
    print(table)


if __name__ == "__main__":
    main()
