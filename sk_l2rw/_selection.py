"""The selection round: a cross-fitted choice between the reweighted fit and its fallback.

At most ``MAX_ROWS`` untrusted rows (a random sample beyond that) are split in
``FOLDS`` folds. For each, nets train on the other folds and every trusted
row: the reweighted fit (warm-up, meta and refinement epochs) and the
fallback, a fresh net trained for the whole budget -- for ``"corrected"``
(Gold Loss Correction as published), on the corrected loss with the
corruption matrix of a plain net fitted to the fold's untrusted rows alone.
Every net scores the held-back fold (the net's ``score_rows``) after each
epoch, the plain net for C included. :func:`choose` keeps the fallback when
its mean held-back score at the end is ahead by more than ``GUARD`` standard
errors of the paired difference, and stops the final fit at the kept kind's
best held-back epoch when that leads its last by more than ``STOP_GUARD``
standard errors (:func:`final_schedule` gives the final fit's epochs and
phases: the same schedule, cut short);
:func:`row_records` gives the per-row weights and records a fit reports,
with the round's out-of-fold record where the task blends it in.
"""

import numpy as np
import torch

# Folds of the untrusted rows, and how many standard errors of the paired
# difference the fallback must be ahead by to be kept.
FOLDS = 2
GUARD = 1.0
# How many standard errors the kept kind's best epoch on the held-back rows
# must lead its last epoch by for the final fit to stop there.
STOP_GUARD = 2.0
# Untrusted rows the round trains on and holds back at most: the choice
# between kinds is settled long before, and the round's cost stays bounded.
MAX_ROWS = 4000
# The fold of a trusted row (trained on in every fold), and of a row the
# round leaves out (beyond MAX_ROWS).
TRUSTED = -1
LEFT_OUT = -2


def assign_folds(n_rows, trusted_rows, n_folds, max_rows=None):
    """Each training row's fold, from torch's generator: at most ``max_rows``
    (default ``MAX_ROWS``) untrusted rows, drawn at random, are dealt out to
    the folds; trusted rows get ``TRUSTED`` (trained on in every fold), the
    others ``LEFT_OUT``."""
    max_rows = MAX_ROWS if max_rows is None else max_rows
    untrusted = np.setdiff1d(np.arange(n_rows), trusted_rows)
    fold = np.full(n_rows, LEFT_OUT, dtype=np.int64)
    order = torch.randperm(len(untrusted)).numpy()
    picked = order[:max_rows]
    fold[untrusted[picked]] = np.arange(len(picked)) % n_folds
    fold[trusted_rows] = TRUSTED
    return fold


def fit_folds(make_net, train, trusted, *, fallback, budget, verbose=0):
    """Fit the nets of every fold, until one is interrupted.

    ``make_net()`` returns a new initialised net; ``train`` is ``(X, y,
    sample_weight)``; ``trusted`` the trusted set as ``set_trusted`` takes it;
    ``budget(n_rows)`` gives ``(max_epochs, warmup, refine)`` of a fit on
    ``n_rows`` rows. Returns each fold's reweighted net, with the fold's
    figures as attributes (``held_rows_``, ``holdout_scores_``, ``holdout_record_``,
    ``holdout_fallback_record_``, ``fold_corruption_``, ``fallback_history_``);
    ``stopped_`` is whether a net of the fold was stopped (KeyboardInterrupt),
    which ends the round. A ``DivergedError`` propagates.
    """
    X, y, weight = train
    n_folds = FOLDS
    fold = assign_folds(len(y), trusted[2], n_folds)
    nets = []
    for k in range(n_folds):
        trained = (fold != k) & (fold != LEFT_OUT)
        held = np.flatnonzero(fold == k)
        epochs, warmup, refine = budget(int(trained.sum()))
        stage = f" of the selection round's fold {k + 1} of {n_folds}"
        fit = _fold_fitter(make_net, train, trusted, epochs, stage)
        if verbose:
            print(
                f"Selection round, fold {k + 1} of {n_folds}: the reweighted fit and the "
                f"fallback ({fallback}), {epochs} epochs each, on {int(trained.sum())} rows; "
                f"{len(held)} held back."
            )
        rows = (X[held], y[held], None if weight is None else weight[held])
        net = fit(~trained, "reweighted fit", rows, warmup_epochs=warmup, refine_epochs=refine)
        net.held_rows_ = held
        net.stopped_ = net.interrupted_
        nets.append(net)
        if net.stopped_:
            break
        main, held_weight, net.holdout_record_ = net.score_rows(*rows)
        curves = {"reweighted": net.held_back_curve_}
        corruption, plain = None, None
        if fallback == "corrected":
            # Published GLC: C from a plain net fitted to the untrusted rows alone.
            plain = fit(
                ~trained | (fold == TRUSTED),
                "plain net for C",
                rows,
                warmup_epochs=0,
                refine_epochs=0,
                fallback="plain",
            )
            if plain.interrupted_:
                net.stopped_ = True
                break
            corruption = plain.corruption_matrix().cpu().numpy()
            # Its curve is reported too (a plain kind, measured and not kept:
            # on given labels it wins where it learns systematic noise).
            curves["plain"] = plain.held_back_curve_
            net.plain_history_ = plain.history
        other = fit(
            ~trained,
            "fallback",
            rows,
            warmup_epochs=0,
            refine_epochs=0,
            fallback=fallback,
            corruption=corruption,
        )
        if other.interrupted_:
            net.stopped_ = True
            break
        scores, _, net.holdout_fallback_record_ = other.score_rows(*rows)
        curves["fallback"] = other.held_back_curve_
        net.holdout_scores_ = {"reweighted": main, "fallback": scores, "weight": held_weight}
        net.holdout_curves_ = {kind: np.stack(curve) for kind, curve in curves.items()}
        net.fold_corruption_ = corruption
        net.fallback_history_ = other.history
        for fitted in (net, plain, other):
            if fitted is not None:
                fitted.held_back_ = None  # the fold's rows are no longer needed
    return nets


def _fold_fitter(make_net, train, trusted, epochs, stage):
    """``fit(holdout, what, held, **params)``: a new net of a fold, fitted
    for ``epochs`` epochs to the rows ``holdout`` does not mark, scoring the
    held-back rows ``held`` (``(X, y, sample_weight)``) after every epoch."""
    X, y, weight = train

    def fit(holdout, what, held, **params):
        net = make_net()
        net.set_trusted(*trusted)
        net.set_sample_weight(weight)
        net.held_back_ = held
        net.record_clean_loss = False
        net.stage_ = f"{stage} (its {what})"
        net.set_params(max_epochs=epochs, holdout=holdout, **params)
        net.partial_fit(X, y, epochs=epochs)
        return net

    return fit


def paired_difference(diff, w):
    """The ``w``-weighted mean of per-row paired differences ``diff`` (``w``
    summing to 1) and its standard error."""
    mean = float(w @ diff)
    return mean, float(np.sqrt((w @ (diff - mean) ** 2) * (w @ w)))


def ahead(mean, standard_error, guard=None):
    """Whether a paired lead ``mean`` is more than ``guard`` (default
    ``GUARD``) standard errors, and positive."""
    return mean > max((GUARD if guard is None else guard) * standard_error, 0.0)


def pooled_curve(folds, kind):
    """The held-back scores of ``kind``'s nets after each epoch: one row per
    epoch, the folds' held-back rows side by side (each fold cut to the
    fewest epochs a fold had)."""
    curves = [net.holdout_curves_[kind] for net in folds]
    n = min(len(curve) for curve in curves)
    return np.concatenate([curve[:n] for curve in curves], axis=1)


def best_epoch(curve, w, guard):
    """``(epoch, lead, standard_error)``: the epoch (from 0) of ``curve``'s
    best ``w``-weighted mean score when it is ahead of the last epoch by more
    than ``guard`` standard errors of the paired difference, else the last;
    the best epoch's lead over the last and its standard error."""
    last = len(curve) - 1
    best = int(np.argmax(curve @ w))
    mean, se = paired_difference(curve[best] - curve[last], w)
    return (best if ahead(mean, se, guard) else last), mean, se


def choose(folds, guard=None, verbose=0):
    """``(selected, selection)`` from the folds' held-back scores.

    The fallback when its (weighted) mean score at the end of training is
    ahead of the reweighted fit's by more than ``guard`` (default ``GUARD``)
    standard errors of the paired difference, else the reweighted fit; then
    where the final fit stops: at the kept kind's best epoch on the
    held-back rows when that is ahead of its last by more than
    ``STOP_GUARD`` standard errors. The curves of every net the folds
    fitted (the plain nets for Gold Loss Correction's ``C`` included) are
    reported, weighted and pooled, in ``selection["curves"]``.
    """
    scores = {
        key: np.concatenate([net.holdout_scores_[key] for net in folds])
        for key in ("reweighted", "fallback", "weight")
    }
    total = scores["weight"].sum()
    w = scores["weight"] / total if total > 0 else None
    selection = {"n_rows": len(scores["weight"]), "folds": len(folds), "stop_epoch": None}
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
        curves = {kind: pooled_curve(folds, kind) for kind in folds[0].holdout_curves_}
        stop, lead, stop_se = best_epoch(curves[selected], w, STOP_GUARD)
        selection.update(stop_lead=lead, stop_standard_error=stop_se)
        if stop < len(curves[selected]) - 1:
            selection["stop_epoch"] = stop + 1
        selection["curves"] = {kind: curve @ w for kind, curve in curves.items()}
    selection["histories"] = [net.history for net in folds]
    selection["fallback_histories"] = [net.fallback_history_ for net in folds]
    if all(hasattr(net, "plain_history_") for net in folds):
        selection["plain_histories"] = [net.plain_history_ for net in folds]
    if verbose:
        figures = "no untrusted row"
        if w is not None:
            figures = (
                f"reweighted {selection['reweighted']:.4f}, fallback {selection['fallback']:.4f}"
                f" (standard error of the difference {selection['standard_error']:.4f})"
            )
        stop = selection["stop_epoch"]
        where = "" if stop is None else f", stopped after epoch {stop} (its best held back)"
        print(
            f"Selection round ({len(folds)} folds, {selection['n_rows']} held-back rows): "
            f"{figures}; the final fit is the {selected} kind{where}."
        )
    return selected, selection


def final_schedule(selected, stop_epoch, epochs, warmup, refine):
    """``(n_epochs, warmup, refine)`` of the final fit of kind ``selected``:
    the budget's schedule (``epochs`` in all, ``warmup`` and ``refine`` of
    them for the reweighted kind), cut after ``stop_epoch`` epochs (None: not
    cut); the fallback has neither warm-up nor refinement."""
    n = epochs if stop_epoch is None else min(stop_epoch, epochs)
    if selected != "reweighted":
        return n, 0, 0
    # The same phases epoch for epoch: a cut one ends before its refinement.
    return n, min(warmup, n), max(0, n - (epochs - refine))


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


def fallback_corruption(folds):
    """The final fallback fit's corruption matrix: the mean of the folds'
    (None when the fallback has none)."""
    matrices = [net.fold_corruption_ for net in folds]
    if any(m is None for m in matrices):
        return None
    return np.mean(matrices, axis=0)


def row_records(net, folds, selected, *, blend):
    """Per training row of the final ``net``: its weights and its record.

    The final net's; when that has no meta epoch (the fallback, or a
    reweighted fit stopped in its warm-up), the weights of the selection
    round, each row's from the folds' reweighted fits that
    trained on it (1 for a row the round left out). With a selection round
    and ``blend``, the record of each untrusted row the round held back is
    the mean of that and its record under the kept kind's model of the fold
    that held it back. Rows the net
    held back (a fold stopped by KeyboardInterrupt) get NaN.
    """
    weights = net.weights()
    # The fallback, or a reweighted fit stopped before its meta epochs.
    if folds and (selected != "reweighted" or net.weight_epochs_ == 0):
        weights = fold_mean(folds, [fold.weights() for fold in folds])
        weights = np.where(np.isnan(weights), 1.0, weights)
    records = net.records()
    if folds and blend:
        kept = "" if selected == "reweighted" else f"{selected}_"
        oof = np.full(len(records), np.nan)
        for fold in folds:
            oof[fold.held_rows_] = getattr(fold, f"holdout_{kept}record_")
        records = np.where(np.isnan(oof), records, (records + oof) / 2)
    return np.where(net.holdout_, np.nan, [weights, records])
