"""Label-corruption and data-set helpers for experiments with noisy labels.

The three functions reproduce the experimental settings of Ren et al. (2018),
"Learning to Reweight Examples for Robust Deep Learning":

- :func:`make_noisy_labels` corrupts a fraction of the labels (uniform flip,
  flip to a background class, pair flip, or a general transition matrix);
- :func:`make_imbalance_pair` builds the two-class imbalance setting of the
  paper's Fig. 2 (e.g. digits 4 vs 9 with the majority class at 90 % to 99.5 % of the rows);
- :func:`split_trusted` draws the small clean (trusted) set, ``n_per_class``
  rows per class, as a boolean mask;
- :func:`make_corrupted_targets` corrupts regression targets (gross outliers,
  or a shifted subgroup).
"""

import math
from numbers import Integral, Real

import numpy as np
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length

__all__ = ["make_corrupted_targets", "make_imbalance_pair", "make_noisy_labels", "split_trusted"]


def _check_labels(y):
    """Return ``y`` as a 1-D array, its sorted classes and the class codes."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got an array of shape {y.shape}.")
    check_classification_targets(y)
    classes, codes = np.unique(y, return_inverse=True)
    if classes.size < 2:
        raise ValueError(f"y must contain at least 2 classes, got {classes.size}: {classes!r}.")
    return y, classes, codes.reshape(-1)


def _check_transition_matrix(transition_matrix, n_classes):
    T = np.asarray(transition_matrix, dtype=float)
    if T.shape != (n_classes, n_classes):
        raise ValueError(
            f"transition_matrix must have shape (n_classes, n_classes) = "
            f"({n_classes}, {n_classes}) for the {n_classes} classes in y, "
            f"got shape {T.shape}."
        )
    if not np.all(np.isfinite(T)) or np.any(T < 0):
        raise ValueError("transition_matrix must hold finite, non-negative values.")
    row_sums = T.sum(axis=1)
    if not np.allclose(row_sums, 1.0, rtol=0, atol=1e-6):
        raise ValueError(f"Each row of transition_matrix must sum to 1, got row sums {row_sums}.")
    return T


@validate_params(
    {
        "y": ["array-like"],
        "noise_rate": [Interval(Real, 0, 1, closed="left"), None],
        "kind": [StrOptions({"uniform", "background", "pair", "matrix"})],
        "transition_matrix": ["array-like", None],
        "background_class": "no_validation",
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_noisy_labels(
    y,
    *,
    noise_rate=None,
    kind="uniform",
    transition_matrix=None,
    background_class=None,
    random_state=None,
):
    """Corrupt class labels with a chosen noise model.

    The classes are the sorted unique values of ``y`` (``np.unique(y)``); the
    noisy labels take values among them only.

    For ``kind`` in ``{"uniform", "background", "pair"}`` exactly
    ``round(noise_rate * n_samples)`` rows, drawn without replacement from all
    rows (not stratified by class), have their label changed, so the realised
    noise rate is ``noise_rate`` up to the rounding to a whole number of rows.
    For ``kind="matrix"`` each row draws its noisy label independently from its
    row of ``transition_matrix``; the realised rate is then random around its
    expectation.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        True labels, of any type (integers, strings, ...). At least 2 classes.

    noise_rate : float in [0, 1), default=None
        Fraction of all rows whose label is changed. Required for ``"uniform"``,
        ``"background"`` and ``"pair"``; must be None for ``"matrix"``, whose
        noise level is set by ``transition_matrix``.

    kind : {"uniform", "background", "pair", "matrix"}, default="uniform"
        The noise model:

        - ``"uniform"``: a corrupted label is drawn uniformly among the *other*
          classes (the paper's "uniform flip").
        - ``"background"``: a corrupted label becomes ``background_class`` (the
          paper's "background flip"). Rows already of the background class are
          never corrupted, so the ``round(noise_rate * n_samples)`` corrupted
          rows are drawn among the other rows; a ValueError is raised if there
          are not enough of them.
        - ``"pair"``: a corrupted label becomes the next class in sorted order,
          the last class going to the first.
        - ``"matrix"``: the noisy label of a row of true class ``i`` is ``j``
          with probability ``transition_matrix[i, j]``.

    transition_matrix : array-like of shape (n_classes, n_classes), default=None
        Class-conditional transition matrix ``T[i, j] = P(noisy=j | true=i)``,
        rows and columns in the order of ``np.unique(y)``; each row sums to 1.
        Required for ``kind="matrix"``, must be None otherwise.

    background_class : label, default=None
        Target class of ``kind="background"``; it must be one of the labels in
        ``y``. None means the first class in sorted order. Must be None for the
        other kinds.

    random_state : int, RandomState instance or None, default=None
        Seed or generator for the choice of rows and of noisy labels.

    Returns
    -------
    y_noisy : ndarray of shape (n_samples,)
        Corrupted labels, with the dtype of ``np.asarray(y)``.

    noise_mask : ndarray of shape (n_samples,), dtype=bool
        True where ``y_noisy`` differs from ``y``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_l2rw.datasets import make_noisy_labels
    >>> y = np.repeat([0, 1, 2], 10)
    >>> y_noisy, noise_mask = make_noisy_labels(y, noise_rate=0.2, random_state=0)
    >>> int(noise_mask.sum())
    6
    >>> bool(np.all(y_noisy[noise_mask] != y[noise_mask]))
    True
    >>> y_pair, _ = make_noisy_labels(["a", "b", "c"], noise_rate=0.9,
    ...                               kind="pair", random_state=0)
    >>> y_pair.tolist()
    ['b', 'c', 'a']
    >>> T = [[0.8, 0.2, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    >>> y_matrix, noise_mask = make_noisy_labels(y, kind="matrix",
    ...                                          transition_matrix=T,
    ...                                          random_state=0)
    >>> sorted(set(y_matrix[noise_mask].tolist()))
    [1]
    """
    y, classes, codes = _check_labels(y)
    n_samples, n_classes = y.shape[0], classes.size
    rng = check_random_state(random_state)

    if kind == "matrix":
        if noise_rate is not None:
            raise ValueError(
                "noise_rate must be None when kind='matrix'; the noise level is "
                "set by transition_matrix."
            )
        if transition_matrix is None:
            raise ValueError("transition_matrix is required when kind='matrix'.")
    else:
        if noise_rate is None:
            raise ValueError(f"noise_rate is required when kind={kind!r}.")
        if transition_matrix is not None:
            raise ValueError(
                f"transition_matrix must be None when kind={kind!r}; use kind='matrix'."
            )
    if background_class is not None and kind != "background":
        raise ValueError(
            f"background_class must be None when kind={kind!r}; use kind='background'."
        )

    noisy_codes = codes.copy()
    if kind == "matrix":
        T = _check_transition_matrix(transition_matrix, n_classes)
        cumulative = np.cumsum(T, axis=1)
        cumulative[:, -1] = 1.0  # guard the last bin against rounding
        u = rng.random_sample(n_samples)
        noisy_codes = (cumulative[codes] <= u[:, None]).sum(axis=1)
    else:
        n_noisy = round(noise_rate * n_samples)
        if kind == "background":
            if background_class is None:
                background_code = 0
            else:
                matches = np.flatnonzero(classes == background_class)
                if matches.size == 0:
                    raise ValueError(
                        f"background_class={background_class!r} is not a label "
                        f"in y; the classes are {classes.tolist()}."
                    )
                background_code = matches[0]
            candidates = np.flatnonzero(codes != background_code)
            if n_noisy > candidates.size:
                raise ValueError(
                    f"noise_rate={noise_rate} asks to change {n_noisy} of "
                    f"{n_samples} labels, but only {candidates.size} rows are not "
                    f"of the background class {classes[background_code]!r}."
                )
            rows = rng.choice(candidates, size=n_noisy, replace=False)
            noisy_codes[rows] = background_code
        else:
            rows = rng.choice(n_samples, size=n_noisy, replace=False)
            if kind == "uniform":
                # An offset in 1..K-1 modulo K is uniform over the other classes.
                shift = rng.randint(1, n_classes, size=n_noisy)
            else:  # pair
                shift = 1
            noisy_codes[rows] = (codes[rows] + shift) % n_classes

    y_noisy = classes[noisy_codes].astype(y.dtype, copy=False)
    return y_noisy, noisy_codes != codes


def _imbalanced_counts(share, n_majority, n_minority, n_samples):
    """Return the (majority, minority) row counts for a majority ``share``."""
    if n_samples is None:
        # Both counts grow with the total, so the totals that fit form a range
        # 0..n; start above its end (each rounded count is within 0.5 of its
        # ideal) and step down to the largest total that fits.
        n_samples = min(
            n_majority + n_minority,
            math.floor((n_majority + 0.5) / share) + 1,
            math.floor((n_minority + 0.5) / (1 - share)) + 1,
        )
        while n_samples > 0:
            n_min = round((1 - share) * n_samples)
            if n_samples - n_min <= n_majority and n_min <= n_minority:
                break
            n_samples -= 1
    n_min = round((1 - share) * n_samples)
    return n_samples - n_min, n_min


@validate_params(
    {
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "majority_class": "no_validation",
        "minority_class": "no_validation",
        "majority_share": [Interval(Real, 0.5, 1, closed="left")],
        "n_samples": [Interval(Integral, 2, None, closed="left"), None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_imbalance_pair(
    X,
    y,
    *,
    majority_class,
    minority_class,
    majority_share,
    n_samples=None,
    random_state=None,
):
    """Subsample two classes to a given class imbalance.

    This is the class-imbalance setting of Ren et al. (2018), Fig. 2 (MNIST 4
    vs 9 with the majority class at 90 % to 99.5 % of the rows). Only the rows of
    ``majority_class`` and ``minority_class`` are kept, and they are subsampled
    without replacement so that ``majority_class`` makes up ``majority_share``
    of the output: the minority count is ``round((1 - majority_share) *
    n_samples)``, the rest is majority.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples_in, n_features)
        Input data; a pandas DataFrame or sparse matrix keeps its type.

    y : array-like of shape (n_samples_in,)
        Labels. They are returned unchanged (not re-encoded to 0/1).

    majority_class : label
        The class to keep as the majority; a label in ``y``.

    minority_class : label
        The class to keep as the minority; a label in ``y``, other than
        ``majority_class``.

    majority_share : float in [0.5, 1)
        Fraction of the output rows that are of ``majority_class``.

    n_samples : int, default=None
        Number of output rows. None takes as many rows as the two classes
        allow: the largest ``n`` whose minority count ``round((1 -
        majority_share) * n)`` and majority count (the rest) are both
        available.

    random_state : int, RandomState instance or None, default=None
        Seed or generator for the subsampling and the shuffle.

    Returns
    -------
    X_out : {ndarray, sparse matrix, DataFrame} of shape (n_samples, n_features)
        The kept rows, shuffled.

    y_out : ndarray of shape (n_samples,)
        Their labels.

    Raises
    ------
    ValueError
        If a class is not in ``y``, if ``n_samples`` is more than the rows of
        the two classes, if either class has fewer rows than it needs, or if
        the share leaves no minority row.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_l2rw.datasets import make_imbalance_pair
    >>> X = np.arange(60).reshape(-1, 1)
    >>> y = np.repeat([4, 9, 7], 20)
    >>> X_out, y_out = make_imbalance_pair(X, y, majority_class=4,
    ...                                    minority_class=9, majority_share=0.9,
    ...                                    random_state=0)
    >>> X_out.shape
    (22, 1)
    >>> int((y_out == 4).sum()), int((y_out == 9).sum())
    (20, 2)
    """
    check_consistent_length(X, y)
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got an array of shape {y.shape}.")
    if not hasattr(X, "shape"):
        X = np.asarray(X)
    for name, label in (
        ("majority_class", majority_class),
        ("minority_class", minority_class),
    ):
        if not np.any(y == label):
            raise ValueError(f"{name}={label!r} is not a label in y.")
    if majority_class == minority_class:
        raise ValueError(
            f"majority_class and minority_class must differ, both are {majority_class!r}."
        )
    majority_rows = np.flatnonzero(y == majority_class)
    minority_rows = np.flatnonzero(y == minority_class)
    n_available = majority_rows.size + minority_rows.size
    if n_samples is not None and n_samples > n_available:
        raise ValueError(
            f"n_samples={n_samples} is more than the {n_available} rows of "
            f"classes {majority_class!r} and {minority_class!r} in y."
        )

    n_maj, n_min = _imbalanced_counts(
        majority_share, majority_rows.size, minority_rows.size, n_samples
    )
    if n_min < 1:
        raise ValueError(
            f"majority_share={majority_share} leaves no row of minority_class "
            f"{minority_class!r} (with {majority_rows.size} majority and "
            f"{minority_rows.size} minority rows available, n_samples="
            f"{n_samples}); lower majority_share or use more rows."
        )
    for name, label, needed, rows in (
        ("majority_class", majority_class, n_maj, majority_rows),
        ("minority_class", minority_class, n_min, minority_rows),
    ):
        if needed > rows.size:
            raise ValueError(
                f"n_samples={n_samples} with majority_share={majority_share} "
                f"needs {needed} rows of {name} {label!r}, but y has only "
                f"{rows.size}."
            )

    rng = check_random_state(random_state)
    rows = np.concatenate(
        [
            rng.choice(majority_rows, size=n_maj, replace=False),
            rng.choice(minority_rows, size=n_min, replace=False),
        ]
    )
    rng.shuffle(rows)
    return _safe_indexing(X, rows), y[rows]


@validate_params(
    {
        "y": ["array-like"],
        "n_per_class": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def split_trusted(y, *, n_per_class, random_state=None):
    """Draw a trusted (clean) set of ``n_per_class`` rows per class.

    Returns a boolean mask rather than split arrays, so that it composes with
    any arrays and passes straight to the estimator's ``fit(...,
    clean_mask=mask)``. Draw it from the *true* labels, then give the trusted
    rows their true labels and the other rows their noisy ones (see Examples).

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        True labels. Every class needs at least ``n_per_class + 1`` rows, so
        that each class keeps a row outside the trusted set.

    n_per_class : int
        Number of trusted rows drawn, without replacement, from each class.

    random_state : int, RandomState instance or None, default=None
        Seed or generator for the choice of rows.

    Returns
    -------
    trusted_mask : ndarray of shape (n_samples,), dtype=bool
        True for the ``n_per_class * n_classes`` trusted rows.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_l2rw.datasets import make_noisy_labels, split_trusted
    >>> y = np.repeat([0, 1, 2], 10)
    >>> y_noisy, _ = make_noisy_labels(y, noise_rate=0.4, random_state=0)
    >>> trusted = split_trusted(y, n_per_class=2, random_state=0)
    >>> int(trusted.sum())
    6
    >>> y_fit = np.where(trusted, y, y_noisy)  # clean where trusted
    >>> bool(np.all(y_fit[trusted] == y[trusted]))
    True
    """
    y, classes, codes = _check_labels(y)
    counts = np.bincount(codes, minlength=classes.size)
    too_small = classes[counts < n_per_class + 1]
    if too_small.size:
        raise ValueError(
            f"n_per_class={n_per_class} needs at least {n_per_class + 1} rows per "
            f"class, but classes {too_small.tolist()} have fewer (counts "
            f"{dict(zip(classes.tolist(), counts.tolist(), strict=True))})."
        )
    rng = check_random_state(random_state)
    trusted_mask = np.zeros(y.shape[0], dtype=bool)
    for code in range(classes.size):
        rows = np.flatnonzero(codes == code)
        trusted_mask[rng.choice(rows, size=n_per_class, replace=False)] = True
    return trusted_mask


@validate_params(
    {
        "y": ["array-like"],
        "corruption_rate": [Interval(Real, 0, 1, closed="left")],
        "kind": [StrOptions({"outlier", "shift"})],
        "X": ["array-like", None],
        "magnitude": [Interval(Real, 0, None, closed="neither"), None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_corrupted_targets(
    y, *, corruption_rate, kind="outlier", X=None, magnitude=None, random_state=None
):
    """Corrupt a fraction of regression targets.

    Two kinds, the errors that corrupt targets in practice:

    - ``"outlier"``: gross errors (sensor glitches, unit mix-ups, typing
      errors). Each corrupted target moves by ``magnitude`` times a factor
      drawn uniformly from [0.5, 1.5], times the target's standard deviation,
      up or down at random; ``magnitude`` defaults to 3.
    - ``"shift"``: a subgroup measured with a biased instrument. Every
      corrupted target moves up by ``magnitude`` target standard deviations
      (default 1.5). With ``X`` the subgroup is a region of the feature space
      -- the rows with the largest projection of the standardised ``X`` on a
      random direction -- so the bias is systematic there; without ``X``, a
      random subset of rows.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Clean targets (float). Every output of a corrupted row is corrupted.
    corruption_rate : float in [0, 1)
        Fraction of rows corrupted (rounded to a whole number of rows).
    kind : {"outlier", "shift"}, default="outlier"
        The corruption, see above.
    X : array-like of shape (n_samples, n_features), default=None
        Features, for ``kind="shift"``: the subgroup is a region of them.
    magnitude : float > 0, default=None
        Size of the corruption in target standard deviations; None means 3
        for ``"outlier"`` and 1.5 for ``"shift"``.
    random_state : int, RandomState instance or None, default=None
        Seed or generator.

    Returns
    -------
    y_corrupted : ndarray of the shape of ``y``, float
        The targets with a ``corruption_rate`` share of rows corrupted.
    corrupted_mask : ndarray of shape (n_samples,), dtype=bool
        True for the corrupted rows.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_l2rw.datasets import make_corrupted_targets
    >>> y = np.linspace(0, 1, 10)
    >>> y_bad, corrupted = make_corrupted_targets(y, corruption_rate=0.3, random_state=0)
    >>> int(corrupted.sum())
    3
    >>> bool(np.all(y_bad[~corrupted] == y[~corrupted]))
    True
    >>> X = np.arange(20.0).reshape(10, 2)
    >>> _, shifted = make_corrupted_targets(
    ...     y, corruption_rate=0.2, kind="shift", X=X, random_state=0
    ... )
    >>> np.flatnonzero(shifted).tolist()  # a region of X: two neighbouring rows
    [8, 9]
    """
    y = np.asarray(y, dtype=float)
    if y.ndim not in (1, 2) or len(y) < 2:
        raise ValueError(
            f"y must be 1-D or 2-D with at least 2 rows; got an array of shape {y.shape}."
        )
    if not np.all(np.isfinite(y)):
        raise ValueError("y must be finite; it contains NaN or infinity.")
    if X is not None:
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or len(X) != len(y):
            raise ValueError(
                f"X must be 2-D with one row per target ({len(y)}); got shape {X.shape}."
            )
        if kind != "shift":
            raise ValueError("X is used only by kind='shift'; leave it None for 'outlier'.")
    rng = check_random_state(random_state)
    n = len(y)
    n_bad = int(round(corruption_rate * n))
    y2 = y.reshape(n, -1)
    scale = y2.std(axis=0)
    corrupted = np.zeros(n, dtype=bool)
    if kind == "outlier":
        rows = rng.choice(n, size=n_bad, replace=False)
        corrupted[rows] = True
        size = 3.0 if magnitude is None else magnitude
        factor = size * rng.uniform(0.5, 1.5, n_bad) * rng.choice([-1.0, 1.0], n_bad)
        shift = factor[:, None] * scale
    else:
        if X is None:
            rows = rng.choice(n, size=n_bad, replace=False)
        else:
            spread = X.std(axis=0)
            Z = (X - X.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
            proj = Z @ rng.standard_normal(X.shape[1])
            rows = np.argsort(-proj, kind="stable")[:n_bad]
        corrupted[rows] = True
        size = 1.5 if magnitude is None else magnitude
        shift = np.tile(size * scale, (n_bad, 1))
    out = y2.copy()
    out[rows] += shift
    return out.reshape(y.shape), corrupted
