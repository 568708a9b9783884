"""What the wrappers that carry the trusted-set weights to other models share.

The ways to carry, the fit and the check of :mod:`._reweighted`'s
:class:`~sk_l2rw.ReweightedClassifier`, which fits a reweighter (by default
a :class:`~sk_l2rw.MetaReweightClassifier`) and then its ``estimator`` on
the rows and weights the reweighter's results decide
(:class:`~sk_l2rw.ReweightedRegressor` the same over a
:class:`~sk_l2rw.MetaReweightRegressor`), in the spirit of cleanlab's
``CleanLearning`` and scikit-learn's ``SelfTrainingClassifier``. It reaches
the reweighter only through its public API (``fit``, ``example_weights_``,
``label_quality_``, and ``predict_proba`` in the check).

Which way to carry them (``carry``) is chosen by a check, as the selection
round chooses a kind (:mod:`._selection`): cross-fitted on the untrusted
rows, each way trains the estimator on the other folds and the trusted rows
and scores the held-back fold: a classifier by the posterior probability
that it predicts a row's true label (:mod:`._posterior`, from the fold
reweighter's probabilities and the given labels; classes weighted as the
reweighter's ``class_weight`` weights them) where the fold reweighters agree
with the held-back given labels no less often than the estimator as given,
within ``GUARD`` standard errors (the task's ``_agreement``), else on the
given labels; a regressor by its
error on the given targets. A way
other than the estimator on the rows as given is kept only when ahead of it
by more than ``_selection.GUARD`` standard errors of the paired difference.
Two ways need no reweighter: ``"upweight"`` (the trusted rows weighted up)
and ``"prune"`` (confident learning with the estimator's own out-of-fold
probabilities, :mod:`._confident`); ``"relabel"`` (the classifier's)
keeps every row, those ``"filter"`` drops relabelled with the reweighter's
prediction, and the check may keep it only where the same comparison
finds the fold reweighters ahead (the task's ``_withheld``).
"""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted, has_fit_parameter, validate_data

from ._base import check_mask_rows
from ._confident import confident_issues, out_of_fold_proba
from ._data import check_weights, vstack
from ._selection import ahead, paired_difference

# The ways to carry the reweighter's results to the estimator ("none" first).
# carry="auto" checks them all; the classifier keeps "relabel" only where the
# fold networks predict the held-back given labels (classes balanced) no worse
# than the estimator as given, within one standard error: the posterior check
# picks it where the network is worse, and it loses there
# (benchmarks/results/diagnose_carry/relabel-trees.txt).
CARRIES = ("none", "weights", "filter", "upweight", "prune", "relabel")


def _estimator_has(attr):
    def check(self):
        return hasattr(self.estimator_ if hasattr(self, "estimator_") else self._estimator(), attr)

    return check


class _CarryBase(MetaEstimatorMixin, BaseEstimator):
    """What the two wrappers share: the reweighter, the ways to carry, the check.

    A task sets ``_ways`` (the ways it offers, ``"none"`` first, every one
    of which ``carry="auto"`` checks), ``_quality`` (the
    reweighter's per-row record, which ``"filter"`` and ``"relabel"`` read),
    and implements :meth:`_y_options` (``validate_data``'s for ``y``),
    :meth:`_default_estimator`,
    :meth:`_default_reweighter`, :meth:`_check_targets`,
    :meth:`_held_view` (what a fold reweighter tells the check about its
    held-back rows), :meth:`_agreement` (what the check compares before it
    scores), :meth:`_held_scores` (how the check scores them) and
    :meth:`_withheld` (the checked ways the check may not keep).
    """

    _parameter_constraints = {
        "estimator": [None, HasMethods(["fit", "predict"])],
        "reweighter": [None, HasMethods(["fit"])],
        "carry": [StrOptions({"auto", *CARRIES})],
        "n_folds": [Interval(Integral, 2, None, closed="left")],
        "n_jobs": [None, Integral],
        "random_state": ["random_state"],
    }

    # As the reweighters: the trusted set is requested by default under routing.
    __metadata_request__fit = {"clean_mask": True, "clean_val": True}

    def __init__(
        self,
        estimator=None,
        *,
        reweighter=None,
        carry="auto",
        n_folds=2,
        n_jobs=None,
        random_state=None,
    ):
        self.estimator = estimator
        self.reweighter = reweighter
        self.carry = carry
        self.n_folds = n_folds
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _estimator(self):
        return self._default_estimator() if self.estimator is None else self.estimator

    def _reweighter(self, seed):
        if self.reweighter is None:
            return self._default_reweighter(seed)
        return clone(self.reweighter)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, *, sample_weight=None, clean_val=None, clean_mask=None):
        """Fit the reweighter, then the estimator on the carried rows.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training features (numeric; sparse where both models take it).
        y : array-like of shape (n_samples,)
            Training labels or targets, possibly corrupted.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row, passed to the reweighter and
            multiplied into the estimator's weights.
        clean_val : tuple (X_clean, y_clean), default=None
            A separate trusted set; its rows are appended to ``X`` (weight 1)
            for both models.
        clean_mask : array-like of bool, shape (n_samples,), default=None
            Marks the rows of ``X`` whose labels are trusted.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype="numeric", **self._y_options())
        self._check_targets(y)
        n = X.shape[0]
        weight = check_weights(sample_weight, X)
        X, y, trusted, weight = self._with_trusted(X, y, weight, clean_val, clean_mask)
        self._set_targets(y)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        estimator = self._estimator()
        carries = self._carries(estimator)
        fold = self._check_folds(y, trusted, rng) if len(carries) > 1 else None
        # The check's folds and the reweighter on every row are independent
        # fits, each seeded on its own: run side by side with n_jobs.
        tasks = [
            delayed(self._check_fold)(X, y, trusted, weight, carries, fold == k, seed)
            for k in range(0 if fold is None else self.n_folds)
        ]
        tasks.append(delayed(self._fit_reweighter)(X, y, trusted, weight, seed))
        *fold_results, self.reweighter_ = Parallel(n_jobs=self.n_jobs)(tasks)
        self.carry_check_ = None
        carry = carries[0]
        if len(carries) > 1:
            self.carry_check_ = self._check(y, trusted, weight, carries, fold, fold_results)
            carry = self._pick(self.carry_check_)
        self.carry_ = carry
        self.estimator_ = self._fit_carried(
            estimator, self.reweighter_, X, y, trusted, weight, carry, seed
        )
        self.example_weights_ = self.reweighter_.example_weights_[:n]
        setattr(self, self._quality, getattr(self.reweighter_, self._quality)[:n])
        return self

    def _set_targets(self, y):
        """Set what the task reads off the targets, trusted rows included (nothing here)."""

    # -- the pieces of fit -----------------------------------------------------------

    def _with_trusted(self, X, y, weight, clean_val, clean_mask):
        """``X, y``, the trusted mask (None without a trusted set) and the
        weights, with ``clean_val``'s rows appended."""
        if clean_val is not None and clean_mask is not None:
            raise ValueError("Pass either clean_val or clean_mask, not both.")
        if clean_mask is not None:
            return X, y, check_mask_rows(clean_mask, X.shape[0]), weight
        if clean_val is None:
            return X, y, None, weight
        if not isinstance(clean_val, (tuple, list)) or len(clean_val) != 2:
            raise TypeError("clean_val must be a pair (X_clean, y_clean).")
        X_clean = validate_data(self, clean_val[0], reset=False, accept_sparse="csr")
        y_clean = np.asarray(clean_val[1])
        if y_clean.shape[:1] != (X_clean.shape[0],) or y_clean.shape[1:] != y.shape[1:]:
            raise ValueError(
                "clean_val[1] (y_clean) must have one target per row of X_clean "
                f"({X_clean.shape[0]}), shaped like y; got shape {y_clean.shape}."
            )
        mask = np.r_[np.zeros(X.shape[0], bool), np.ones(len(y_clean), bool)]
        if weight is not None:
            weight = np.r_[weight, np.ones(len(y_clean))]
        return vstack(X, X_clean), np.r_[y, y_clean], mask, weight

    def _carries(self, estimator):
        """The ways to check (``carry="auto"``) or the one asked for, each
        offered where the estimator allows it."""
        takes_weight = has_fit_parameter(estimator, "sample_weight")
        if self.carry not in ("auto", *self._ways):
            raise ValueError(
                f"carry={self.carry!r} is not available to {type(self).__name__}; "
                f"choose one of {['auto', *self._ways]}."
            )
        needs = {
            "weights": (takes_weight, "whose fit takes sample_weight"),
            "upweight": (takes_weight, "whose fit takes sample_weight"),
            "prune": (hasattr(estimator, "predict_proba"), "with predict_proba"),
        }
        if self.carry != "auto":
            ok, what = needs.get(self.carry, (True, ""))
            if not ok:
                raise TypeError(
                    f"carry={self.carry!r} needs an estimator {what}; "
                    f"{type(estimator).__name__} is not one."
                )
            return (self.carry,)
        return tuple(w for w in self._ways if needs.get(w, (True,))[0])

    def _fit_reweighter(self, X, y, trusted, weight, seed):
        reweighter = self._reweighter(seed)
        kwargs = {} if trusted is None else {"clean_mask": trusted}
        if weight is not None:
            kwargs["sample_weight"] = weight
        return reweighter.fit(X, y, **kwargs)

    def _fit_carried(self, estimator, reweighter, X, y, trusted, weight, carry, seed):
        """``estimator`` (cloned) fitted on the rows and weights of ``carry``."""
        estimator = clone(estimator)
        trusted = np.zeros(len(y), bool) if trusted is None else trusted
        base = np.ones(len(y)) if weight is None else weight
        if carry == "weights":
            meta = np.nan_to_num(reweighter.example_weights_, nan=1.0)
            row_weight = np.where(trusted, base, base * meta)
            if not row_weight.any():  # no row kept: the rows as given
                row_weight = base
            return estimator.fit(X, y, sample_weight=row_weight)
        if carry == "upweight":
            total = base[trusted].sum()
            factor = base[~trusted].sum() / total if total > 0 else 1.0
            return estimator.fit(X, y, sample_weight=np.where(trusted, base * factor, base))
        keep = None
        if carry in ("filter", "relabel"):
            keep = trusted | (np.nan_to_num(getattr(reweighter, self._quality), nan=1.0) > 0)
        if carry == "relabel":  # every row; those filter drops get the reweighter's label
            relabelled = y.copy()
            if not keep.all():
                relabelled[~keep] = reweighter.predict(X[~keep])
            if len(np.unique(relabelled)) < len(np.unique(y)):  # a class lost: as given
                relabelled = y
            if weight is None:
                return estimator.fit(X, relabelled)
            return estimator.fit(X, relabelled, sample_weight=weight)
        if carry == "prune":
            classes, codes = np.unique(y, return_inverse=True)
            proba = out_of_fold_proba(estimator, X, codes, len(classes), weight, seed)
            if proba is not None:
                keep = trusted | ~confident_issues(proba, codes)
        rows = np.arange(len(y))
        if keep is not None and len(np.unique(y[keep])) == len(np.unique(y)):
            rows = np.flatnonzero(keep)
        if weight is None:
            return estimator.fit(X[rows], y[rows])
        return estimator.fit(X[rows], y[rows], sample_weight=weight[rows])

    def _check_folds(self, y, trusted, rng):
        """Each row's fold of the check (trusted rows -1), or None when a fold
        would hold no untrusted row or its complement too few targets."""
        mask = np.zeros(len(y), bool) if trusted is None else trusted
        untrusted = np.flatnonzero(~mask)
        fold = np.full(len(y), -1)
        fold[untrusted] = rng.permutation(len(untrusted)) % self.n_folds
        if any(
            not (fold == k).any() or not self._enough_targets(y[fold != k], y)
            for k in range(self.n_folds)
        ):
            return None
        return fold

    def _check_fold(self, X, y, trusted, weight, carries, held_mask, seed):
        """One fold of the check: a reweighter and the estimator carried each
        way, fitted on the rows ``held_mask`` does not mark; per way, the
        predictions on the held-back rows, and what the fold reweighter tells
        the check about them (:meth:`_held_view`)."""
        train, held = np.flatnonzero(~held_mask), np.flatnonzero(held_mask)
        sub_trusted = None if trusted is None else trusted[train]
        sub_weight = None if weight is None else weight[train]
        reweighter = self._fit_reweighter(X[train], y[train], sub_trusted, sub_weight, seed)
        estimator = self._estimator()
        predictions = {}
        for carry in carries:
            model = self._fit_carried(
                estimator, reweighter, X[train], y[train], sub_trusted, sub_weight, carry, seed
            )
            predictions[carry] = model.predict(X[held])
        return predictions, self._held_view(reweighter, X[held])

    def _check(self, y, trusted, weight, carries, fold, fold_results):
        """Each way's per-row score on held-back untrusted rows (see Notes),
        from the folds' results (:meth:`_check_fold`; ``fold`` None: no check,
        the rows as given)."""
        check = {
            "n_rows": 0,
            "score": None,
            "scores": {},
            "differences": {},
            "standard_errors": {},
            "withheld": (),
            "agreement": None,
        }
        if fold is None:
            return check  # too few untrusted rows to check: the rows as given
        mask = np.zeros(len(y), bool) if trusted is None else trusted
        held = np.concatenate([np.flatnonzero(fold == k) for k in range(self.n_folds)])
        predictions, views = zip(*fold_results)
        predicted = {carry: np.concatenate([p[carry] for p in predictions]) for carry in carries}
        held_weight = None if weight is None else weight[held]
        # The fold reweighters are clones of the full one: the same parameters.
        class_weight = getattr(self.reweighter_, "class_weight", None)
        y_trusted = y[mask] if mask.any() else y
        check["agreement"] = self._agreement(predicted, y[held], list(views), held_weight)
        right, w, check["score"] = self._held_scores(
            predicted,
            y[held],
            list(views),
            held_weight,
            class_weight,
            y_trusted,
            y,
            check["agreement"],
        )
        check["withheld"] = self._withheld(predicted, check["agreement"])
        w = w / w.sum()
        check["n_rows"] = len(w)
        for carry in carries:
            check["scores"][carry] = float(w @ right[carry])
            if carry != "none":
                mean, se = paired_difference(right[carry] - right["none"], w)
                check["differences"][carry] = mean
                check["standard_errors"][carry] = se
        return check

    @staticmethod
    def _agreement(predictions, y_held, views, sample_weight):
        """What the check compares before it scores: None here (the
        classifier: how often the fold reweighters and the estimator as given
        agree with the held-back given labels)."""
        return None

    @staticmethod
    def _withheld(predictions, agreement):
        """The checked ways the check may not keep, given :meth:`_agreement`
        (none here)."""
        return ()

    @staticmethod
    def _pick(check):
        """The best way by mean of those not withheld, when ahead of "none"
        by more than GUARD standard errors; else "none"."""
        ways = {w: d for w, d in check["differences"].items() if w not in check["withheld"]}
        if not ways:
            return "none"
        best = max(ways, key=ways.get)
        return best if ahead(ways[best], check["standard_errors"][best]) else "none"

    # -- prediction -------------------------------------------------------------------

    @available_if(_estimator_has("predict"))
    def predict(self, X):
        """Predictions of ``estimator_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        check_is_fitted(self)
        return self.estimator_.predict(validate_data(self, X, reset=False, accept_sparse="csr"))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self._estimator())
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = False  # the reweighter's network takes no NaN
        return tags
