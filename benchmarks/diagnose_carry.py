"""Which check chooses the way to carry best? ReweightedClassifier's check, scored several ways.

For each seed of a scenario of ``carry.py`` and an estimator, it rebuilds
``ReweightedClassifier``'s check exactly (its folds, its fold reweighters,
each way's estimator fitted on the other fold and the trusted rows) and
keeps each way's predictions on the held-back rows, with those rows' given
and true labels and the fold reweighter's class probabilities; and each
way's test accuracy when carried from the reweighter fitted on every row.
Then it replays the choice under several scoring rules of the held-back
rows, each with the guard (a way other than ``"none"`` kept when ahead of
it by more than one standard error of the paired per-row difference):

- ``given``: right on the given label (the check's rule), classes weighted
  as the reweighter's ``class_weight`` weights them;
- ``posterior``: the probability of the predicted class under the
  posterior of the true label given the row and its given label,
  ``q_i(x) T[i, given]`` normalised, with ``q`` the fold reweighter's
  probabilities and ``T[i, l]`` estimated on the held-back rows as the
  ``q``-weighted share of given label ``l`` among rows of class ``i``
  (an unbiased score of true accuracy when ``q`` and ``T`` are right);
- ``reweighter``: ``q`` of the predicted class (agreement with the fold
  reweighter; for reference);
- ``true``: right on the true label (an oracle, for reference).

Each rule is replayed with the ways of the first turn (none, weights,
filter) and with all five. Reported per scenario: the mean test accuracy
of the chosen way per rule, beside ``carry.py``'s baselines, and issue 19's
verdict (met: a win or a tie within one paired SE against the best of
noisy, trusted-up and cleanlab; harm: below noisy by more than one).

Needs ``carry.py``'s results for the scenario (its baselines) and reuses
its reweighter cache::

    python benchmarks/diagnose_carry.py --scenarios heldout-hastie-oneway-30 \
        --cache benchmarks/.cache/carry --json /tmp/diag.json
"""

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import carry  # noqa: E402
import quality  # noqa: E402

from sk_l2rw import ReweightedClassifier  # noqa: E402
from sk_l2rw._selection import ahead, paired_difference  # noqa: E402

FIRST = ("none", "weights", "filter")
ALL = ("none", "weights", "filter", "upweight", "prune")
RULES = ("given", "posterior", "reweighter", "true")


def collect(spec, seed, est):
    """Held-back predictions per way and test accuracy per way, for one seed."""
    X, y_true, y, trusted, X_te, y_te, metric = quality.scenario_data(spec, seed)
    make = carry.ESTIMATORS[est]
    clf = ReweightedClassifier(
        make(seed),
        reweighter=carry.CachedReweighter(max_epochs=spec["epochs"], random_state=seed),
        random_state=seed,
    )
    classes = np.unique(y)
    seed2, fold = carry.check_folds(seed, trusted, clf.n_folds)
    held = {"pred": {w: [] for w in ALL}, "given": [], "true": [], "q": [], "w": []}
    for k in range(clf.n_folds):
        train, back = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        rw = clf._fit_reweighter(X[train], y[train], trusted[train], None, seed2)
        for way in ALL:
            model = clf._fit_carried(
                make(seed), rw, X[train], y[train], trusted[train], None, way, seed2
            )
            held["pred"][way].append(model.predict(X[back]))
        held["given"].append(y[back])
        held["true"].append(y_true[back])
        held["q"].append(rw.predict_proba(X[back]))
        held["w"].append(clf._held_weights(rw, y[back], y[trusted], y))
    held = {
        key: (
            {w: np.concatenate(v) for w, v in val.items()} if key == "pred" else np.concatenate(val)
        )
        for key, val in held.items()
    }
    rw = clf._fit_reweighter(X, y, trusted, None, seed2)
    test = {}
    for way in ALL:
        model = clf._fit_carried(make(seed), rw, X, y, trusted, None, way, seed2)
        test[way] = float(metric(y_te, model.predict(X_te)))
    return held, test, classes


def scores(held, classes, rule):
    """Per held-back row and way, the row's score under ``rule``."""
    given = np.searchsorted(classes, held["given"])
    if rule == "given":
        return {w: (p == held["given"]).astype(float) for w, p in held["pred"].items()}
    if rule == "true":
        return {w: (p == held["true"]).astype(float) for w, p in held["pred"].items()}
    q = held["q"]
    if rule == "posterior":
        onehot = np.eye(len(classes))[given]
        T = q.T @ onehot / np.maximum(q.sum(axis=0)[:, None], 1e-12)  # T[i, l]
        post = q * T[:, given].T
        q = post / np.maximum(post.sum(axis=1, keepdims=True), 1e-12)
    return {w: q[np.arange(len(q)), np.searchsorted(classes, p)] for w, p in held["pred"].items()}


def choose(row_scores, weight, ways):
    weight = weight / weight.sum()
    diffs = {}
    for w in ways[1:]:
        diffs[w] = paired_difference(row_scores[w] - row_scores["none"], weight)
    best = max(diffs, key=lambda w: diffs[w][0])
    return best if ahead(*diffs[best]) else "none"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", required=True)
    parser.add_argument("--estimators", default=",".join(carry.ESTIMATORS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--cache", required=True)
    parser.add_argument("--json", help="write the per-seed choices and accuracies here")
    parser.add_argument(
        "--baselines", default=str(carry.RESULTS), help="carry.py's results to take baselines from"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    carry.CACHE = args.cache
    specs = carry.noise_scenarios()
    saved = (
        json.loads(Path(args.json).read_text()) if args.json and Path(args.json).exists() else {}
    )
    for name in args.scenarios.split(","):
        for est in args.estimators.split(","):
            base = json.loads((Path(args.baselines) / f"{name}--{est}.json").read_text())
            rows = []
            for seed in range(args.seeds):
                held, test, classes = collect(specs[name], seed, est)
                row = {m: base[str(seed)][m] for m in carry.BASELINES}
                row.update({f"way:{w}": test[w] for w in ALL})
                for rule in RULES:
                    s = scores(held, classes, rule)
                    for label, ways in (("3", FIRST), ("5", ALL)):
                        pick = choose(s, held["w"], ways)
                        row[f"{rule}/{label}"] = test[pick]
                        row[f"{rule}/{label}:pick"] = pick
                rows.append(row)
            saved[f"{name}--{est}"] = rows
            if args.json:
                Path(args.json).write_text(json.dumps(saved, indent=1))
            report(name, est, rows)


def report(name, est, rows):
    means = {k: np.mean([r[k] for r in rows]) for k in rows[0] if not k.endswith(":pick")}
    best = max(carry.BASELINES, key=means.get)
    parts = [f"{name} {est}: best baseline {best} {means[best]:.3f}, noisy {means['noisy']:.3f}"]
    parts.append("ways " + " ".join(f"{w} {means['way:' + w]:.3f}" for w in ALL))
    for rule in RULES:
        for label in ("3", "5"):
            key = f"{rule}/{label}"
            d, se = quality.paired_stats([r[key] - r[best] for r in rows])
            h, hse = quality.paired_stats([r[key] - r["noisy"] for r in rows])
            verdict = ("win" if d > 0 else "tie") if d >= -se else "LOST"
            verdict += " HARM" if h < -hse else ""
            picks = "".join(r[key + ":pick"][0] for r in rows)
            parts.append(f"  {key:13s} {means[key]:.3f} {verdict:9s} {d:+.3f}±{se:.3f} {picks}")
    print("\n".join(parts), flush=True)


if __name__ == "__main__":
    main()
