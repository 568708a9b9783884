"""Confident learning with an estimator's own out-of-fold probabilities.

What :class:`~sk_l2rw.ReweightedClassifier`'s ``carry="prune"`` drops: the
rows whose given label the estimator itself, cross-fitted, confidently
contradicts -- the off-diagonal of the confident joint of Northcutt et al.,
"Confident Learning: Estimating Uncertainty in Dataset Labels" (JAIR 2021),
which cleanlab's ``CleanLearning`` computes with ``filter_by="confident_learning"``.
Pure NumPy and scikit-learn; no cleanlab needed.
"""

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold

# Folds of the out-of-fold probabilities, as cleanlab's ``cv_n_folds``.
N_FOLDS = 5
# The lowest threshold, as cleanlab's ``CONFIDENT_THRESHOLDS_LOWER_BOUND``.
_LOWEST = 2e-6


def out_of_fold_proba(estimator, X, codes, n_classes, weight, seed):
    """Each row's class probabilities from a clone of ``estimator`` fitted
    on the folds that do not hold it (stratified on ``codes``, the given
    labels as ``0 .. n_classes - 1``), or None when some class has fewer
    than two rows (no fold split keeps every class on both sides)."""
    n_splits = min(N_FOLDS, int(np.bincount(codes, minlength=n_classes).min()))
    if n_splits < 2:
        return None
    proba = np.zeros((len(codes), n_classes))
    folds = StratifiedKFold(n_splits, shuffle=True, random_state=seed)
    for train, test in folds.split(np.zeros(len(codes)), codes):
        kwargs = {} if weight is None else {"sample_weight": weight[train]}
        model = clone(estimator).fit(X[train], codes[train], **kwargs)
        proba[np.ix_(test, model.classes_.astype(int))] = model.predict_proba(X[test])
    return proba


def confident_issues(proba, codes):
    """Rows whose given label (``codes``) is off the confident joint's
    diagonal, as cleanlab counts it: class ``j`` is confident for a row when
    its probability reaches ``t_j``, the mean probability of ``j`` over the
    rows labelled ``j`` (a class no row is labelled never is); a row with
    one confident class is counted there, with several at its most probable
    class; it is an issue when that class is not its given one, unless the
    given label is (within 1e-6) the most probable."""
    n_classes = proba.shape[1]
    labelled = np.bincount(codes, minlength=n_classes)
    self_confidence = proba[np.arange(len(codes)), codes]
    threshold = np.bincount(codes, weights=self_confidence, minlength=n_classes)
    threshold = np.where(labelled > 0, threshold / np.maximum(labelled, 1), 2.0)
    above = proba >= np.maximum(threshold, _LOWEST) - 1e-6  # cleanlab's tolerance
    n_above = above.sum(axis=1)
    guess = np.where(n_above > 1, proba.argmax(axis=1), above.argmax(axis=1))
    lifted = proba.copy()
    lifted[np.arange(len(codes)), codes] += 1e-6
    return (n_above > 0) & (guess != codes) & (lifted.argmax(axis=1) != codes)
