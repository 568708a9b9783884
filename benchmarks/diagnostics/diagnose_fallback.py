"""How the fallback's rule was chosen: the selection round's figures against
what each kind of final fit reaches on the test set.

For every scenario and seed of ``quality.py``, the default fit is run twice
with the selection round's decision forced, once to each kind, so that both
final fits' test accuracies are known alongside the round's figures (the
held-back scores, their paired difference and its standard error, which do
not depend on the decision). The table then shows, for each guard ``z`` (keep
the fallback when the difference exceeds ``z`` standard errors), the mean
test accuracy the rule would give, next to each kind's and the better one's
per seed. The defaults use ``z = 1`` (``sk_l2rw._selection.GUARD``).

Usage::

    python benchmarks/diagnostics/diagnose_fallback.py                  # development, 5 seeds
    python benchmarks/diagnostics/diagnose_fallback.py --scenarios risk-moons-uniform-30 --seeds 2
    python benchmarks/diagnostics/diagnose_fallback.py --assemble-only  # from saved results
    python benchmarks/diagnostics/diagnose_fallback.py --folds 3        # 3 folds (not the default)

Results: ``benchmarks/results/fallback/<scenario>.json`` (``fallback-<k>folds/``
for another number of folds). The saved ones are of the fallback before issue
18 (Gold Loss Correction from the reweighted fit's warm-up, one hidden layer
of 100, 50 epochs): how the guard was chosen; not rerun since.
"""

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the shared benchmark modules
import quality  # noqa: E402

import sk_l2rw._base as base  # noqa: E402
import sk_l2rw._selection as selection_round  # noqa: E402
from sk_l2rw import MetaReweightClassifier  # noqa: E402

RESULTS = quality.RESULTS / "fallback"
# The development scenarios of the noise kinds (quality.py), chosen before the rule.
DEVELOPMENT = (
    "digits-uniform-40",
    "digits-background-40",
    "digits-pair-30",
    "synth-matrix-40",
    "risk-moons-uniform-30",
    "risk-circles-uniform-30",
    "risk-wine-pair-30",
    "risk-digits600-pair-30",
    "risk-cancer-oneway-30",
    "risk-synth2-oneway-40",
    "trusted-1",
    "trusted-3",
    "trusted-30",
)
GUARDS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)


def run_seed(spec, seed):
    """The round's figures and both kinds' test accuracy, for one seed."""
    X_tr, _, y_fit, trusted, X_te, y_te, metric = quality.scenario_data(spec, seed)
    original = base.MetaReweightBase._choose
    out = {}
    for kind in ("reweighted", "fallback"):

        def forced(self, folds, kind=kind):
            _, selection = original(self, folds)
            out["round"] = {
                k: v for k, v in selection.items() if k not in ("histories", "fallback_histories")
            }
            return kind, selection

        base.MetaReweightBase._choose = forced
        try:
            clf = MetaReweightClassifier(max_epochs=spec["epochs"], random_state=seed)
            clf.fit(X_tr, y_fit, clean_mask=trusted)
        finally:
            base.MetaReweightBase._choose = original
        out[kind] = float(metric(y_te, clf.predict(X_te)))
    return out


def table(results):
    lines = [
        "| scenario | reweighted | fallback | better per seed | "
        + " | ".join(f"z={z:g}" for z in GUARDS)
        + " |",
        "|---" * (4 + len(GUARDS)) + "|",
    ]
    short = {z: [] for z in GUARDS}
    for name, runs in results.items():
        kinds = {k: np.mean([r[k] for r in runs]) for k in ("reweighted", "fallback")}
        best = np.mean([max(r["reweighted"], r["fallback"]) for r in runs])
        cells = []
        for z in GUARDS:
            picks = [
                r["fallback"]
                if r["round"]["difference"] > max(z * r["round"]["standard_error"], 0)
                else r["reweighted"]
                for r in runs
            ]
            cells.append(f"{np.mean(picks):.4f}")
            short[z].append(np.mean(picks) - max(kinds.values()))
        lines.append(
            f"| {name} | {kinds['reweighted']:.4f} | {kinds['fallback']:.4f} | {best:.4f} | "
            + " | ".join(cells)
            + " |"
        )
    lines.append(
        "| mean (worst) rule − better kind | | | | "
        + " | ".join(f"{np.mean(v):+.4f} ({min(v):+.4f})" for v in short.values())
        + " |"
    )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default=",".join(DEVELOPMENT))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--assemble-only", action="store_true")
    parser.add_argument(
        "--folds", type=int, default=selection_round.FOLDS, help="folds of the selection round"
    )
    args = parser.parse_args(argv)
    results_dir = RESULTS
    if args.folds != selection_round.FOLDS:
        selection_round.FOLDS = args.folds
        results_dir = RESULTS.parent / f"fallback-{args.folds}folds"
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    specs = quality.scenarios()
    names = args.scenarios.split(",")
    results = {}
    for name in names:
        path = results_dir / f"{name}.json"
        if args.assemble_only:
            if path.exists():
                results[name] = json.loads(path.read_text())
            continue
        runs = []
        for seed in range(args.seeds):
            runs.append(run_seed(specs[name], seed))
            print(name, seed, runs[-1], flush=True)
        results_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(runs, indent=1))
        results[name] = runs
    print(table(results))


if __name__ == "__main__":
    main()
