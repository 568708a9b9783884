"""Model selection on the rows you trust.

A search scored on noisy labels reports accuracies that are off by the noise,
and under class-dependent noise it can prefer the candidate that agrees best
with the noise. :func:`trusted_scorer` scores every test fold on its trusted
rows, told by the same ``clean_mask`` the estimator is fitted with, and
:class:`TrustedStratifiedKFold` makes sure every fold has trusted rows of
every class to score on and to train with. Both get the mask by scikit-learn's
metadata routing, so ``search.fit(X, y, clean_mask=mask)`` is the one place it
is given (the estimators request it by default)::

    import sklearn
    sklearn.set_config(enable_metadata_routing=True)
    search = GridSearchCV(
        MetaReweightClassifier(), grid, scoring=trusted_scorer(), cv=TrustedStratifiedKFold(3)
    )
    search.fit(X, y, clean_mask=mask)

Read more in the :ref:`User Guide <model_selection>`.
"""

from numbers import Integral

import numpy as np
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, StrOptions, validate_params
from sklearn.utils.validation import _num_samples, column_or_1d

from ._trusted_scoring import ESTIMATES, TrustedScorer, check_mask

__all__ = ["TrustedStratifiedKFold", "trusted_scorer"]


@validate_params(
    {
        "scoring": [str, HasMethods("__call__")],
        "estimate": [StrOptions(set(ESTIMATES))],
    },
    prefer_skip_nested_validation=True,
)
def trusted_scorer(scoring="accuracy", *, estimate="trusted"):
    """A scorer that scores each test fold on its trusted rows.

    Wraps a scikit-learn scorer so that, in ``cross_validate``,
    ``GridSearchCV``, ``RandomizedSearchCV`` or ``HalvingGridSearchCV``, each
    test fold is scored on the rows that ``clean_mask`` marks as trusted
    rather than on its noisy labels. The scorer requests ``clean_mask`` by
    metadata routing (``sklearn.set_config(enable_metadata_routing=True)``),
    so the mask given to the search's ``fit`` reaches both the estimator's
    ``fit`` (for its training fold) and this scorer (for its test fold). It
    can be one entry of a multi-metric ``scoring={...}`` dict.

    Read more in the :ref:`User Guide <model_selection>`.

    Parameters
    ----------
    scoring : str or callable, default="accuracy"
        The scorer to apply to the trusted rows: a name known to
        ``sklearn.metrics.get_scorer`` or a scorer ``scorer(estimator, X,
        y)``. Other metadata it requests (``sample_weight``, after
        ``set_score_request(sample_weight=True)`` on the returned scorer) is
        sliced to the trusted rows with them.
    estimate : {"trusted", "prediction-powered"}, default="trusted"
        ``"trusted"``: the score of the trusted rows of the fold alone.
        ``"prediction-powered"`` (``scoring="accuracy"`` only): the mean
        confidence (largest predicted probability) over all rows of the fold,
        noisy ones included, plus the mean of ``correct - confidence`` over
        its trusted rows. That is unbiased whatever the confidence is worth,
        and has lower variance than the trusted rows alone when confidence
        tracks correctness. The model selection benchmark measured both:
        the trusted rows alone picked better candidates (the "Model
        selection on trusted rows" page of the documentation says by how
        much), so they are the default.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y, clean_mask=...)``, with
        ``set_score_request`` and ``get_metadata_routing``. It raises a
        ``ValueError`` for a test fold without trusted rows (the search turns
        it into its ``error_score``, with a warning, unless
        ``error_score="raise"``) and when it gets no ``clean_mask`` (routing
        off, or the mask not passed). Score a clean test set with
        ``clean_mask=numpy.ones(len(y), dtype=bool)``.

    See Also
    --------
    TrustedStratifiedKFold : Folds with trusted rows of every class.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyClassifier
    >>> from sk_l2rw.model_selection import trusted_scorer
    >>> X = np.zeros((6, 1))
    >>> y = np.array([0, 0, 0, 1, 1, 1])
    >>> trusted = np.array([True, False, False, True, False, True])
    >>> clf = DummyClassifier(strategy="constant", constant=1).fit(X, y)
    >>> float(trusted_scorer()(clf, X, y, clean_mask=trusted))  # 2 of 3 trusted rows
    0.666...
    """
    if estimate == "prediction-powered" and scoring != "accuracy":
        raise ValueError(
            "estimate='prediction-powered' is defined for scoring='accuracy' only; "
            f"got scoring={scoring!r}. Use estimate='trusted' for other scorers."
        )
    return TrustedScorer(scoring, estimate)


class TrustedStratifiedKFold(BaseCrossValidator):
    """K-fold split stratified on class x trusted.

    Every fold has trusted rows of every class in its training part and in
    its test part, so that the estimator fits each fold with a trusted set of
    every class and :func:`trusted_scorer` has trusted rows to score. The
    rows of each (class, trusted) stratum are dealt round the folds in turn,
    as ``StratifiedKFold`` does, so fold sizes differ by at most one row and
    a stratum of at least ``n_splits`` rows is in every fold.

    The mask reaches :meth:`split` by metadata routing: ``clean_mask`` is
    requested by default, so with
    ``sklearn.set_config(enable_metadata_routing=True)`` the one given to
    ``search.fit(X, y, clean_mask=mask)`` is routed here as well as to the
    estimator and the scorer (scikit-learn routes ``fit`` metadata to a
    splitter's ``split`` when the splitter requests it).

    Read more in the :ref:`User Guide <model_selection>`.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, at least 2. Each class needs at least ``n_splits``
        trusted rows.
    shuffle : bool, default=False
        Whether to shuffle the rows of each stratum before dealing them.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffle when ``shuffle=True``; an int gives the same folds
        at every call (which ``HalvingGridSearchCV`` requires).

    See Also
    --------
    trusted_scorer : Score each test fold on its trusted rows.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_l2rw.model_selection import TrustedStratifiedKFold
    >>> y = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    >>> trusted = np.array([1, 1, 0, 0, 0, 1, 1, 0, 0, 0], dtype=bool)
    >>> cv = TrustedStratifiedKFold(2)
    >>> for train, test in cv.split(np.zeros((10, 1)), y, clean_mask=trusted):
    ...     print(test, y[test][trusted[test]])
    [1 2 4 5 8] [0 1]
    [0 3 6 7 9] [0 1]
    """

    __metadata_request__split = {"clean_mask": True}

    def __init__(self, n_splits=5, *, shuffle=False, random_state=None):
        if not isinstance(n_splits, Integral) or isinstance(n_splits, bool) or n_splits < 2:
            raise ValueError(f"n_splits must be an int of at least 2; got {n_splits!r}.")
        if not isinstance(shuffle, (bool, np.bool_)):
            raise TypeError(f"shuffle must be True or False; got {shuffle!r}.")
        if not shuffle and random_state is not None:
            raise ValueError(
                "Setting a random_state has no effect since shuffle is False; leave "
                "random_state=None or set shuffle=True."
            )
        self.n_splits = int(n_splits)
        self.shuffle = shuffle
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None, clean_mask=None):
        """The number of folds, ``n_splits``.

        Parameters
        ----------
        X, y, groups, clean_mask : object
            Ignored; present for the scikit-learn splitter interface.

        Returns
        -------
        n_splits : int
        """
        return self.n_splits

    def split(self, X, y, groups=None, clean_mask=None):
        """Training and test indices of each fold.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows (only their number is used).
        y : array-like of shape (n_samples,)
            Labels: trusted labels on trusted rows, the given (possibly noisy)
            ones elsewhere.
        groups : None
            Ignored.
        clean_mask : array-like of bool, shape (n_samples,)
            True for trusted rows; routed from the search's ``fit``.

        Yields
        ------
        train : ndarray of int
        test : ndarray of int
        """
        n_rows = _num_samples(X)
        mask = check_mask(clean_mask, n_rows, "TrustedStratifiedKFold.split")
        y = column_or_1d(y, warn=True)
        if len(y) != n_rows:
            raise ValueError(f"y has {len(y)} entries but X has {n_rows} rows.")
        classes, codes = np.unique(y, return_inverse=True)
        n_trusted = np.bincount(codes[mask], minlength=len(classes))
        short = n_trusted < self.n_splits
        if short.any():
            counts = dict(zip(classes[short].tolist(), n_trusted[short].tolist(), strict=True))
            raise ValueError(
                f"TrustedStratifiedKFold(n_splits={self.n_splits}) needs at least "
                f"{self.n_splits} trusted rows of every class, so that every fold has "
                f"trusted rows of it to train with and to score; these classes have "
                f"fewer (class: trusted rows): {counts}. Use fewer folds or mark more "
                "trusted rows."
            )
        rng = check_random_state(self.random_state) if self.shuffle else None
        strata = 2 * codes + mask
        order = []
        for stratum in np.unique(strata):
            rows = np.flatnonzero(strata == stratum)
            order.append(rng.permutation(rows) if rng is not None else rows)
        fold = np.empty(n_rows, dtype=int)
        fold[np.concatenate(order)] = np.arange(n_rows) % self.n_splits
        for k in range(self.n_splits):
            yield np.flatnonzero(fold != k), np.flatnonzero(fold == k)
