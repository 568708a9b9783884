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
- ``guarded``: ``posterior`` where the fold reweighters agree with the
  held-back rows' given labels at least as often as the estimator on the rows
  as given does (a network that fits the data no worse than the estimator),
  else ``given`` (a candidate against the posterior's bias towards the ways
  the network itself derives, seen where it fits worse: diamonds);
- ``guarded-b``: ``guarded`` with the agreement class-balanced (each given
  class weighing the same), so that an estimator copying the class that
  background noise fills does not look ahead of the network;
- ``guarded-b1``: ``guarded-b`` where the fold reweighters lead unless they
  trail by more than one standard error of the paired per-row difference
  (``ReweightedClassifier``'s default check since issue 19's seventh turn);
- ``reweighter``: ``q`` of the predicted class (agreement with the fold
  reweighter; for reference);
- ``true``: right on the true label (an oracle, for reference).

Each rule is replayed with the ways of the first turn (none, weights,
filter), with the library's five, and with six: the five and a candidate,
``prune-cl``, the rows cleanlab's ``CleanLearning`` flags by default
(``filter_by="prune_by_noise_rate"`` on the calibrated confident joint, at
least 10 rows kept per class; cleanlab computes it) on the out-of-fold
probabilities of ``prune``; and with two more candidates of issue 19's
fifth turn: ``both`` (the rows ``filter`` and ``prune`` both keep) and
``relabel`` (the library's ``carry="relabel"``: every row, those ``filter``
drops labelled with the reweighter's prediction), each added to the five
(``5+b``, ``5+r``, ``5+br``), and ``5+r?``: ``relabel`` added only where the
fold networks lead in the sense of ``guarded``. Reported per scenario: the mean test accuracy
of the chosen way per rule, beside ``carry.py``'s baselines, and issue 19's
verdict (met: a win or a tie within one paired SE against the best of
noisy, trusted-up and cleanlab; harm: below noisy by more than one).

Needs ``carry.py``'s results for the scenario (its baselines) and reuses
its cache of reweighter and estimator fits; ``--dump DIR`` keeps each seed's
held-back predictions, so that a new rule replays without a fit; the last
lines tally every rule's verdicts (``--summary-only``: from ``--json`` alone)::

    python benchmarks/diagnostics/diagnose_carry.py --scenarios heldout-hastie-oneway-30 \
        --cache benchmarks/.cache/carry --dump benchmarks/.cache/diag --json /tmp/diag.json

``--n-folds`` sets the check's folds (``ReweightedClassifier``'s ``n_folds``;
its dumps are kept apart). Saved outputs: ``benchmarks/results/diagnose_carry/``
(``guard-trees.txt``: the ``guarded`` rule on five scenarios;
``folds3-trees.txt``: the check on three folds; ``relabel-trees.txt``: the
candidates ``both`` and ``relabel`` with trees on digits with one trusted
row per class and on diamonds; ``relabel-lightgbm.txt``: with LightGBM on the
first; ``guarded-b-trees.txt``: every rule with trees on all 36 scenarios of
``carry.py`` but its ``carry-heldout5-*``, the tally at the end;
``guarded-b-heldout5-trees.txt``: those three; ``guarded-b1-trees.txt``:
every rule with trees on the 39 scenarios before ``carry-heldout6-*``).
"""

import argparse
import json
import pickle
import sys
import warnings
from collections import namedtuple
from pathlib import Path

import numpy as np
import torch
from sklearn.base import clone

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the shared benchmark modules
import carry  # noqa: E402
import quality  # noqa: E402

from sk_l2rw import ReweightedClassifier  # noqa: E402
from sk_l2rw._confident import confident_issues, out_of_fold_proba  # noqa: E402
from sk_l2rw._selection import ahead, paired_difference  # noqa: E402

FIRST = ("none", "weights", "filter")
FIVE = ("none", "weights", "filter", "upweight", "prune")
# A candidate way, not in the library: "prune" with the rows cleanlab's
# CleanLearning flags by default (filter_by="prune_by_noise_rate" on the
# calibrated confident joint, at least 10 rows left per class) instead of
# filter_by="confident_learning".
# Two more candidates (issue 19's fifth turn, against the loss on digits with
# one trusted row per class, where no way of the five reaches cleanlab):
# "both", the trusted rows and those both "filter" and "prune" keep; and
# "relabel", every row, those with ``label_quality_ <= 0`` relabelled with the
# reweighter's own prediction.
ALL = (*FIVE, "prune-cl", "both", "relabel")
RULES = ("given", "posterior", "guarded", "guarded-b", "guarded-b1", "reweighter", "true")
# The lead test of each guarded rule: (class-balanced, tolerance in standard errors).
LEAD_TESTS = {"guarded": (False, None), "guarded-b": (True, None), "guarded-b1": (True, 1.0)}
# The sets of ways each rule is replayed with, by their name.
WAY_SETS = {
    "3": FIRST,
    "5": FIVE,
    "6": (*FIVE, "prune-cl"),
    "5+b": (*FIVE, "both"),
    "5+r": (*FIVE, "relabel"),
    "5+br": (*FIVE, "both", "relabel"),
    # "relabel" offered only where the fold networks lead (``network_leads``).
    "5+r?": (*FIVE, "relabel"),
}


def collect(spec, seed, est, n_folds=2):
    """Held-back predictions per way and test accuracy per way, for one seed."""
    X, y_true, y, trusted, X_te, y_te, metric = quality.scenario_data(spec, seed)
    make = carry.ESTIMATORS[est]
    clf = ReweightedClassifier(
        make(seed),
        reweighter=carry.CachedReweighter(max_epochs=spec["epochs"], random_state=seed),
        n_folds=n_folds,
        random_state=seed,
    )
    classes = np.unique(y)
    seed2, fold = carry.check_folds(seed, trusted, clf.n_folds)
    held = {"pred": {w: [] for w in ALL}, "given": [], "true": [], "q": [], "w": []}
    for k in range(clf.n_folds):
        train, back = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        rw = clf._fit_reweighter(X[train], y[train], trusted[train], None, seed2)
        for way in ALL:
            model = fit_way(clf, make(seed), rw, X[train], y[train], trusted[train], way, seed2)
            held["pred"][way].append(model.predict(X[back]))
        held["given"].append(y[back])
        held["true"].append(y_true[back])
        held["q"].append(rw.predict_proba(X[back]))
        factor = clf._class_factors(rw.class_weight, y[trusted], y)
        held["w"].append(factor[np.searchsorted(classes, y[back])])
    held = {
        key: (
            {w: np.concatenate(v) for w, v in val.items()} if key == "pred" else np.concatenate(val)
        )
        for key, val in held.items()
    }
    rw = clf._fit_reweighter(X, y, trusted, None, seed2)
    test = {}
    for way in ALL:
        model = fit_way(clf, make(seed), rw, X, y, trusted, way, seed2)
        test[way] = float(metric(y_te, model.predict(X_te)))
    return held, test, classes


def fit_way(clf, estimator, rw, X, y, trusted, way, seed):
    """The estimator carried ``way``: the library's ``_fit_carried``, or for
    ``"prune-cl"`` the trusted rows and those cleanlab's default filter keeps,
    on the same out-of-fold probabilities as ``"prune"``."""
    if way in ("both", "relabel"):
        return fit_candidate(estimator, rw, X, y, trusted, way, seed)
    if way != "prune-cl":
        return clf._fit_carried(estimator, rw, X, y, trusted, None, way, seed)
    from cleanlab.count import compute_confident_joint
    from cleanlab.filter import find_label_issues

    classes, codes = np.unique(y, return_inverse=True)
    proba = out_of_fold_proba(estimator, X, codes, len(classes), None, seed)
    rows = np.arange(len(y))
    if proba is not None:
        joint = compute_confident_joint(codes, proba, calibrate=True)
        issues = find_label_issues(
            codes, proba, confident_joint=joint, min_examples_per_class=10, n_jobs=1
        )
        keep = trusted | ~issues
        if len(np.unique(y[keep])) == len(classes):
            rows = np.flatnonzero(keep)
    return clone(estimator).fit(X[rows], y[rows])


def fit_candidate(estimator, rw, X, y, trusted, way, seed):
    """The estimator carried one of the candidate ways "both" or "relabel"."""
    estimator = clone(estimator)
    quality_ok = trusted | (np.nan_to_num(rw.label_quality_, nan=1.0) > 0)
    if way == "relabel":
        return estimator.fit(X, np.where(quality_ok, y, rw.predict(X)))
    classes, codes = np.unique(y, return_inverse=True)
    proba = out_of_fold_proba(estimator, X, codes, len(classes), None, seed)
    keep = quality_ok if proba is None else quality_ok & (trusted | ~confident_issues(proba, codes))
    rows = np.flatnonzero(keep) if len(np.unique(y[keep])) == len(classes) else np.arange(len(y))
    return estimator.fit(X[rows], y[rows])


def collected(spec, seed, est, dump, name, n_folds=2):
    """``collect``, kept in and reused from ``dump`` (a directory) when given."""
    if dump is None:
        return collect(spec, seed, est, n_folds)
    folds = "" if n_folds == 2 else f"--folds{n_folds}"
    path = Path(dump) / f"{name}--{est}--{seed}{folds}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    out = collect(spec, seed, est, n_folds)
    carry.write_pickle(path, out)
    return out


def network_leads(held, classes, balanced=False, tolerance=None):
    """Whether the fold reweighters agree with the held-back rows' given labels
    at least as often as the estimator on the rows as given (``"none"``) does,
    each row weighted as the check weighs it (``balanced``: each given class
    weighing the same in all, so that copying a class the noise fills does
    not lead); with ``tolerance``, unless they trail by more than that many
    standard errors of the paired per-row difference."""
    w = held["w"]
    if balanced:
        given = np.searchsorted(classes, held["given"])
        w = 1.0 / np.bincount(given, minlength=len(classes))[given]
    w = w / w.sum()
    network = classes[np.argmax(held["q"], axis=1)] == held["given"]
    estimator = held["pred"]["none"] == held["given"]
    if tolerance is None:
        return float(w @ network) >= float(w @ estimator)
    mean, se = paired_difference(network.astype(float) - estimator, w)
    return not ahead(-mean, se, tolerance)


def scores(held, classes, rule):
    """Per held-back row and way, the row's score under ``rule``."""
    given = np.searchsorted(classes, held["given"])
    if rule in LEAD_TESTS:
        leads = network_leads(held, classes, *LEAD_TESTS[rule])
        return scores(held, classes, "posterior" if leads else "given")
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
    parser.add_argument(
        "--n-folds", type=int, default=2, help="the check's folds (ReweightedClassifier's n_folds)"
    )
    parser.add_argument("--json", help="write the per-seed choices and accuracies here")
    parser.add_argument(
        "--dump",
        help="keep each seed's held-back predictions and test accuracies in this directory "
        "and reuse them (a rule replays without refitting)",
    )
    parser.add_argument(
        "--baselines", default=str(carry.RESULTS), help="carry.py's results to take baselines from"
    )
    parser.add_argument(
        "--summary-only",
        action="store_true",
        help="only tally the verdicts of --json's seeds over --scenarios",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    carry.CACHE = args.cache
    specs = carry.noise_scenarios()
    saved = (
        json.loads(Path(args.json).read_text()) if args.json and Path(args.json).exists() else {}
    )
    names = args.scenarios.split(",")
    if args.summary_only:
        for est in args.estimators.split(","):
            summary(saved, names, est)
        return
    for name in names:
        for est in args.estimators.split(","):
            base = json.loads((Path(args.baselines) / f"{name}--{est}.json").read_text())
            rows = []
            for seed in range(args.seeds):
                held, test, classes = collected(
                    specs[name], seed, est, args.dump, name, args.n_folds
                )
                row = {m: base[str(seed)][m] for m in carry.BASELINES}
                row.update({f"way:{w}": test[w] for w in ALL})
                for rule in RULES:
                    s = scores(held, classes, rule)
                    lead_test = LEAD_TESTS.get(rule, (False, None))
                    for label, ways in WAY_SETS.items():
                        if label == "5+r?" and not network_leads(held, classes, *lead_test):
                            ways = FIVE
                        pick = choose(s, held["w"], ways)
                        row[f"{rule}/{label}"] = test[pick]
                        row[f"{rule}/{label}:pick"] = pick
                rows.append(row)
            saved[f"{name}--{est}"] = rows
            if args.json:
                Path(args.json).write_text(json.dumps(saved, indent=1))
            report(name, est, rows)
    for est in args.estimators.split(","):
        summary(saved, names, est)


LETTER = {
    "none": "n",
    "weights": "w",
    "filter": "f",
    "upweight": "u",
    "prune": "p",
    "prune-cl": "c",
    "both": "b",
    "relabel": "r",
}


Verdict = namedtuple("Verdict", "mean best difference se met win harm")


def verdict(rows, key):
    """Mean of ``key`` over the seeds, its paired difference (and SE) to the
    best baseline, and issue 19's verdict: met, a win, harm."""
    means = {m: np.mean([r[m] for r in rows]) for m in carry.BASELINES}
    best = max(carry.BASELINES, key=means.get)
    d, se = quality.paired_stats([r[key] - r[best] for r in rows])
    h, hse = quality.paired_stats([r[key] - r["noisy"] for r in rows])
    return Verdict(np.mean([r[key] for r in rows]), best, d, se, d >= -se, d > 0, h < -hse)


def report(name, est, rows):
    means = {m: np.mean([r[m] for r in rows]) for m in carry.BASELINES}
    best = max(carry.BASELINES, key=means.get)
    parts = [f"{name} {est}: best baseline {best} {means[best]:.3f}, noisy {means['noisy']:.3f}"]
    parts.append(
        "ways " + " ".join(f"{w} {np.mean([r['way:' + w] for r in rows]):.3f}" for w in ALL)
    )
    for rule in RULES:
        for label in WAY_SETS:
            key = f"{rule}/{label}"
            v = verdict(rows, key)
            text = ("win" if v.win else "tie") if v.met else "LOST"
            text += " HARM" if v.harm else ""
            picks = "".join(LETTER[r[key + ":pick"]] for r in rows)
            parts.append(
                f"  {key:15s} {v.mean:.3f} {text:9s} {v.difference:+.3f}±{v.se:.3f} {picks}"
            )
    print("\n".join(parts), flush=True)


def summary(saved, names, est):
    """Per rule and set of ways: scenarios met (wins), harmed, lost, over ``names``."""
    done = [n for n in names if f"{n}--{est}" in saved]
    lines = [f"{est}, {len(done)} scenarios:"]
    for rule in RULES:
        for label in WAY_SETS:
            key = f"{rule}/{label}"
            out = [verdict(saved[f"{n}--{est}"], key) for n in done]
            lost = [n for n, v in zip(done, out) if not v.met]
            lines.append(
                f"  {key:15s} met {sum(v.met for v in out)} (wins {sum(v.win for v in out)}), "
                f"harm {sum(v.harm for v in out)}; lost: {', '.join(lost) or 'none'}"
            )
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
