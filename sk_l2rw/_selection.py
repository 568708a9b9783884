"""The selection round: a cross-fitted choice between the reweighted fit and its fallback.

The untrusted rows are split in ``FOLDS`` folds. For each, a net trains on the
other folds and every trusted row: the reweighted fit (warm-up, meta and
refinement epochs), then, from the end of its warm-up, the fallback's epochs;
both models then score the held-back fold (the net's ``_score_holdout``).
:func:`choose` keeps the fallback when its mean held-back score is ahead by
more than ``GUARD`` standard errors of the paired difference;
:func:`row_records` gives the per-row weights and records a fit reports,
with the round's out-of-fold record where the task blends it in.
"""

import numpy as np
import torch

# Folds of the untrusted rows, and how many standard errors of the paired
# difference the fallback must be ahead by to be kept.
FOLDS = 2
GUARD = 1.0


def assign_folds(n_rows, trusted_rows, n_folds):
    """Each training row's fold, from torch's generator: untrusted rows are
    dealt out at random, trusted rows get -1 (trained on in every fold)."""
    untrusted = np.setdiff1d(np.arange(n_rows), trusted_rows)
    fold = np.empty(n_rows, dtype=np.int64)
    fold[untrusted] = torch.randperm(len(untrusted)).numpy() % n_folds
    fold[trusted_rows] = -1
    return fold


def fit_folds(make_net, train, trusted, *, fallback, epochs, verbose=0):
    """Fit one net per fold, until one is interrupted (``interrupted_``).

    ``make_net()`` returns a new initialised net; ``train`` is ``(X, y,
    sample_weight)``; ``trusted`` the trusted set as ``set_trusted`` takes it;
    ``epochs`` is ``(warmup, refine, max_epochs)`` of the reweighted fit. A
    ``DivergedError`` propagates.
    """
    X, y, weight = train
    warmup, refine, total = epochs
    fallback_epochs = total - warmup
    n_folds = FOLDS
    fold = assign_folds(len(y), trusted[2], n_folds)
    nets = []
    for k in range(n_folds):
        net = make_net()
        net.set_trusted(*trusted)
        net.set_sample_weight(weight)
        net.stage_ = f" of the selection round's fold {k + 1} of {n_folds}"
        net.set_params(
            max_epochs=total + fallback_epochs,
            warmup_epochs=warmup,
            refine_epochs=refine,
            fallback=fallback,
            selection_epochs=fallback_epochs,
            holdout=fold == k,
        )
        if verbose:
            print(
                f"Selection round, fold {k + 1} of {n_folds}: the reweighted fit, then "
                f"{fallback_epochs} epochs of the fallback ({fallback}) from its warm-up, "
                f"on {int((fold != k).sum())} rows; {int((fold == k).sum())} held back."
            )
        nets.append(net)
        net.partial_fit(X, y, epochs=total + fallback_epochs)
        # skorch stops quietly on KeyboardInterrupt.
        net.interrupted_ = net.holdout_scores_ is None
        if net.interrupted_:
            break
    return nets


def paired_difference(diff, w):
    """The ``w``-weighted mean of per-row paired differences ``diff`` (``w``
    summing to 1) and its standard error."""
    mean = float(w @ diff)
    return mean, float(np.sqrt((w @ (diff - mean) ** 2) * (w @ w)))


def ahead(mean, standard_error, guard=None):
    """Whether a paired lead ``mean`` is more than ``guard`` (default
    ``GUARD``) standard errors, and positive."""
    return mean > max((GUARD if guard is None else guard) * standard_error, 0.0)


def choose(folds, guard=None, verbose=0):
    """``(selected, selection)`` from the folds' held-back scores: the
    fallback when its (weighted) mean score is ahead by more than ``guard``
    (default ``GUARD``) standard errors of the paired difference."""
    scores = {
        key: np.concatenate([net.holdout_scores_[key] for net in folds])
        for key in ("reweighted", "fallback", "weight")
    }
    total = scores["weight"].sum()
    w = scores["weight"] / total if total > 0 else None
    selection = {"n_rows": len(scores["weight"]), "folds": len(folds)}
    selected = "reweighted"
    if w is not None:
        mean, se = paired_difference(scores["fallback"] - scores["reweighted"], w)
        selection.update(
            reweighted=float(w @ scores["reweighted"]),
            fallback=float(w @ scores["fallback"]),
            difference=mean,
            standard_error=se,
        )
        if ahead(mean, se, guard):
            selected = "fallback"
    selection["histories"] = [net.history for net in folds]
    if verbose:
        figures = (
            f"reweighted {selection['reweighted']:.4f}, fallback {selection['fallback']:.4f}"
            f" (standard error of the difference {selection['standard_error']:.4f})"
            if w is not None
            else "no untrusted row"
        )
        print(
            f"Selection round ({len(folds)} folds, {selection['n_rows']} held-back rows): "
            f"{figures}; the final fit is the {selected} kind."
        )
    return selected, selection


def fold_mean(folds, values):
    """Per training row, the mean of the folds' per-row ``values`` over the
    folds that trained on it (NaN for none)."""
    total = np.zeros(len(folds[0].y_train_))
    seen = np.zeros(len(total))
    for net, value in zip(folds, values, strict=True):
        trained = ~net.holdout_
        total[trained] += value[trained]
        seen += trained
    with np.errstate(invalid="ignore"):
        return total / seen


def row_records(net, folds, selected, *, blend):
    """Per training row of the final ``net``: its weights and its record.

    The final net's; when that is the fallback (no meta epoch), the weights
    (and, without a warm-up record, the records) of the selection round, each
    row's from the folds that trained on it. With a selection round and
    ``blend``, the record of each untrusted row is the mean of that and its
    record under the kept kind's model of the fold that held it back. Rows
    the net held back (a fold stopped by KeyboardInterrupt) get NaN.
    """
    weights = net.weights()
    fallback = bool(folds) and selected == "fallback"
    if fallback:
        weights = fold_mean(folds, [fold.weights() for fold in folds])
    records = net.records()
    if fallback and not net.margin_epochs_:
        records = fold_mean(folds, [fold.records() for fold in folds])
    if folds and blend:
        kept = "" if selected == "reweighted" else "fallback_"
        oof = np.full(len(records), np.nan)
        for fold in folds:
            oof[fold.holdout_] = getattr(fold, f"holdout_{kept}record_")
        records = np.where(np.isnan(oof), records, (records + oof) / 2)
    return np.where(net.holdout_, np.nan, [weights, records])
