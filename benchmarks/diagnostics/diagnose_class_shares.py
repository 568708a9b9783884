"""Class weights to the true class shares estimated from Gold Loss Correction's C.

A lead left by issue 18 (the note of its class-weight session): weighting the
loss by ``pi_true / pi_given`` per class, with the true shares estimated from
the given labels' shares through the corruption matrix (``pi_given = C^T
pi_true``), would be right both when the trusted set's shares are the data's
and when users label k rows per class. This script measures it before anything
is built: for each seed of a quality-benchmark scenario, ``C`` as published
(a plain net fitted to the untrusted rows, its mean softmax on the trusted rows
of each class), ``pi_true`` by non-negative least squares with the shares
summing to 1, and ``MetaReweightClassifier``'s defaults with the training
rows' loss weighted by ``pi_true / pi_given`` and the trusted rows' by
``pi_true / pi_trusted``, in every phase. It prints the accuracy beside the
saved ``l2rw`` (the defaults) and GLC of ``benchmarks/quality.py``, and the
estimated, true and given shares.

Usage::

    python benchmarks/diagnostics/diagnose_class_shares.py --seeds 3 \
        --scenarios risk-synth2-oneway-40,cw-digits-pair-30
"""

import json
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import nnls

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the shared benchmark modules
import quality  # noqa: E402
from _baselines import PlainNet, corruption_matrix  # noqa: E402

from sk_l2rw import MetaReweightClassifier  # noqa: E402


class _SharesWeighted(MetaReweightClassifier):
    """The defaults with per-class factors on the training and trusted rows' weights."""

    factors = None  # (training rows' factor per class, trusted rows' factor per class)

    def _task_weights(self, y_train, train_weight, trusted):
        train_factor, trusted_factor = self.factors
        train_weight = train_factor[y_train] * (1.0 if train_weight is None else train_weight)
        X_clean, y_clean, rows, w_clean = trusted
        w_clean = trusted_factor[y_clean] * (1.0 if w_clean is None else w_clean)
        return train_weight, (X_clean, y_clean, rows, w_clean)


def true_shares(C, given):
    """``pi`` >= 0 summing to 1 that brings ``C^T pi`` closest to ``given``."""
    k = len(given)
    pi, _ = nnls(np.vstack([C.T, 100 * np.ones(k)]), np.concatenate([given, [100.0]]))
    return pi / pi.sum()


def run_seed(spec, seed):
    X_tr, y_tr, y_fit, trusted, X_te, y_te, metric = quality.scenario_data(spec, seed)
    classes, y_enc = np.unique(y_fit, return_inverse=True)
    k = len(classes)
    first = PlainNet(max_epochs=spec["epochs"], random_state=seed)
    first.fit(X_tr[~trusted], y_fit[~trusted])
    C = corruption_matrix(first.predict_proba(X_tr[trusted]), y_enc[trusted], k)
    given = np.bincount(y_enc, minlength=k) / len(y_enc)
    trusted_shares = np.bincount(y_enc[trusted], minlength=k) / trusted.sum()
    pi = true_shares(C, given)
    clf = _SharesWeighted(random_state=seed)
    clf.factors = tuple(
        np.where(shares > 0, pi / np.maximum(shares, 1e-12), 0.0)
        for shares in (given, trusted_shares)
    )
    clf.fit(X_tr, y_fit, clean_mask=trusted)
    true = np.bincount(np.searchsorted(classes, y_tr), minlength=k) / len(y_tr)
    return float(metric(y_te, clf.predict(X_te))), pi, true, given


def main(argv=None):
    args, specs = quality.scenario_cli(__doc__, argv, seeds=3)
    for name in args.scenarios.split(","):
        saved = json.loads((quality.RESULTS / f"{name}.json").read_text())["runs"]
        accs = []
        for seed in range(args.seeds):
            acc, pi, true, given = run_seed(specs[name], seed)
            accs.append(acc)
            print(
                f"{name} seed {seed}: estimated-shares {acc:.3f}, l2rw "
                f"{saved[seed]['acc']['l2rw']:.3f}, glc {saved[seed]['acc']['glc']:.3f}; "
                f"shares estimated {np.round(pi, 3).tolist()}, true {np.round(true, 3).tolist()}, "
                f"given {np.round(given, 3).tolist()}",
                flush=True,
            )
        means = [np.mean([r["acc"][m] for r in saved[: args.seeds]]) for m in ("l2rw", "glc")]
        print(
            f"{name}: mean over {args.seeds} seeds, estimated-shares {np.mean(accs):.4f}, "
            f"l2rw {means[0]:.4f}, glc {means[1]:.4f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
