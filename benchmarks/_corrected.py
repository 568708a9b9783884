"""Estimates of a model's clean accuracy from held-back rows with noisy labels.

Under class-conditional noise with transition matrix ``C`` (``C[i, j]``: the
probability that a row of true class ``i`` is given label ``j``), the
expectation of ``g(given)`` for a row of true class ``i`` is ``(C g)[i]``. So
``g = C^-1 e_pred`` reads correctness through the noise: for a row predicted
``pred`` and given ``given``, ``C^-1[given, pred]`` has expectation
``1{pred == true}`` (Natarajan et al. 2013's backward correction, applied to
the 0-1 score). Its mean over held-back rows is an unbiased estimate of clean
accuracy that uses every held-back row.

``C`` is estimated as Gold Loss Correction does: a model of the given labels,
fitted to the untrusted rows, averaged per true class over the trusted rows.
Where ``C`` is near-singular (condition number above ``MAX_CONDITION``) the
correction would amplify its estimation error without bound; the estimate
then falls back to the trusted rows alone, and says so.

The trusted rows give a second unbiased estimate (per-class accuracy weighted
by the class prior, itself estimated from the given labels through ``C``);
``combined`` weights the two by their inverse variances.
"""

import numpy as np
from _baselines import corruption_matrix as transition_matrix  # noqa: F401 (GLC's C)

# Above this condition number of C, the correction is not used.
MAX_CONDITION = 10.0


def corrected_scores(C, given, pred):
    """Per row, ``C^-1[given, pred]``: unbiased for ``1{pred == true}``."""
    return np.linalg.inv(C)[given, pred]


def class_prior(C, given, n_classes):
    """The true classes' shares, from the given labels' shares ``s = C^T p``
    (clipped to non-negative and normalised)."""
    shares = np.bincount(given, minlength=n_classes) / len(given)
    prior = np.clip(np.linalg.solve(C.T, shares), 0, None)
    return prior / prior.sum() if prior.sum() > 0 else shares


def estimates(C, given, pred, y_trusted, pred_trusted, n_classes):
    """Each estimate of clean accuracy (and its variance where it has one):
    ``noisy`` (accuracy on the given labels), ``trusted`` (the trusted rows'
    per-class accuracy at the estimated prior), ``corrected`` and ``combined``
    (None where ``C`` is near-singular: ``combined`` is then ``trusted``)."""
    out = {"noisy": float(np.mean(given == pred)), "condition": float(np.linalg.cond(C))}
    usable = out["condition"] <= MAX_CONDITION
    prior = class_prior(C if usable else np.eye(n_classes), given, n_classes)
    acc, var = 0.0, 0.0
    for c in range(n_classes):
        rows = y_trusted == c
        if rows.any():
            n, hits = rows.sum(), np.sum(pred_trusted[rows] == c)
            acc += prior[c] * hits / n
            smooth = (hits + 0.5) / (n + 1)  # no variance of 0 from a few rows
            var += prior[c] ** 2 * smooth * (1 - smooth) / n
    out["trusted"] = float(acc)
    try:  # kept for every C, so that a page can be made again at another bound
        scores = corrected_scores(C, given, pred)
        out["corrected_any_condition"] = float(scores.mean())
    except np.linalg.LinAlgError:
        out["corrected_any_condition"] = None
    if not usable:
        out.update(corrected=None, combined=float(acc))
        return out
    out["corrected"] = float(scores.mean())
    var_c = scores.var() / len(scores)
    # Inverse-variance weights.
    w = var / (var + var_c) if var + var_c > 0 else 0.5
    out["combined"] = float(w * out["corrected"] + (1 - w) * acc)
    return out
