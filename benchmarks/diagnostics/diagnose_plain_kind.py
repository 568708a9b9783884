"""Would the selection round gain from a third kind, the plain net it already fits?

With ``fallback="auto"`` (Gold Loss Correction) every fold of the classifier's
selection round fits a plain net on the fold's untrusted rows to estimate the
corruption matrix, and throws it away. Scored on the held-back fold like the
other two kinds, it would be a third kind at no training cost: for benign
noise (``make_moons``, 30 % uniform), where plain training is the best the
round could do. This script measures the choice before anything is built.

For each seed of a quality-benchmark scenario it fits the defaults (the same
fit as the saved ``l2rw``), keeps the round's nets, scores the plain nets on
their folds' held-back rows (the round's own ``score_rows``) and applies this
rule: the plain kind when it is ahead of both other kinds by more than the
round's guard (1 standard error of the paired per-row difference), else the
round's own choice. A seed that picks the plain kind is scored with the saved
``plain`` baseline (``PlainNet`` on every row with the same network and budget:
close to what a plain final fit would be, not the same fit); the others with
the defaults' own predictions. It prints per seed the kind chosen, then per
scenario the mean accuracy beside ``l2rw``, ``plain`` and the best baseline,
and the paired difference to the best baseline and to ``plain``.

Usage::

    python benchmarks/diagnostics/diagnose_plain_kind.py --scenarios risk-moons-uniform-30 --seeds 5
"""

import contextlib
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the shared benchmark modules
import quality  # noqa: E402

from sk_l2rw import MetaReweightClassifier, _selection  # noqa: E402


@contextlib.contextmanager
def keeping_plain_nets(plains):
    """Within it, every selection round appends its plain nets for C to ``plains``."""
    fold_fitter = _selection._fold_fitter

    def keeping_fitter(*args):
        fit = fold_fitter(*args)

        def keeping(holdout, what, **params):
            net = fit(holdout, what, **params)
            if what == "plain net for C":
                plains.append(net)
            return net

        return keeping

    _selection._fold_fitter = keeping_fitter
    try:
        yield plains
    finally:
        _selection._fold_fitter = fold_fitter


def _fit_keeping_nets(X, y, trusted, seed):
    """The defaults' fit, with the round's reweighted nets and plain nets for C."""
    folds, plains = [], []
    fit_folds = _selection.fit_folds

    def keeping_folds(*args, **kwargs):
        folds.extend(fit_folds(*args, **kwargs))
        return folds

    _selection.fit_folds = keeping_folds
    try:
        with keeping_plain_nets(plains):
            clf = MetaReweightClassifier(random_state=seed).fit(X, y, clean_mask=trusted)
    finally:
        _selection.fit_folds = fit_folds
    return clf, folds, plains


def run_seed(spec, seed):
    X_tr, _, y_fit, trusted, X_te, y_te, metric = quality.scenario_data(spec, seed)
    X_tr = np.asarray(X_tr, dtype=np.float32)
    clf, folds, plains = _fit_keeping_nets(X_tr, y_fit, trusted, seed)
    y_enc = np.searchsorted(clf.classes_, y_fit)
    scores = {"reweighted": [], "fallback": [], "plain": [], "weight": []}
    for fold, plain in zip(folds, plains, strict=True):
        held = fold.held_rows_
        scores["plain"].append(plain.score_rows(X_tr[held], y_enc[held])[0])
        for key in ("reweighted", "fallback", "weight"):
            scores[key].append(fold.holdout_scores_[key])
    scores = {key: np.concatenate(value) for key, value in scores.items()}
    w = scores["weight"] / scores["weight"].sum()
    ahead = all(
        _selection.ahead(*_selection.paired_difference(scores["plain"] - scores[other], w))
        for other in ("reweighted", "fallback")
    )
    return ("plain" if ahead else clf.selected_), float(metric(y_te, clf.predict(X_te)))


def main(argv=None):
    args, specs = quality.scenario_cli(__doc__, argv, seeds=5)
    for name in args.scenarios.split(","):
        runs, best = quality.saved_runs(name, args.seeds)
        with_plain = []
        for seed, run in enumerate(runs):
            kind, own = run_seed(specs[name], seed)
            acc = run["acc"]["plain"] if kind == "plain" else own
            with_plain.append(acc)
            print(
                f"{name} seed {seed}: kind {kind}, accuracy {acc:.4f} "
                f"(defaults {own:.4f}, saved l2rw {run['acc']['l2rw']:.4f})",
                flush=True,
            )
        means = {m: np.mean([r["acc"][m] for r in runs]) for m in ("l2rw", "plain", best)}
        figures = []
        for m in (best, "plain"):
            mean, se = quality.paired_stats(np.subtract(with_plain, [r["acc"][m] for r in runs]))
            figures.append(f"{m} {mean:+.4f} (SE {se:.4f})")
        print(
            f"{name}: with the plain kind {np.mean(with_plain):.4f}; l2rw {means['l2rw']:.4f}, "
            f"plain {means['plain']:.4f}, best baseline {best} {means[best]:.4f}; "
            "paired difference to " + ", ".join(figures),
            flush=True,
        )


if __name__ == "__main__":
    main()
