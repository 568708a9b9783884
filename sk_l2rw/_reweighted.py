"""The trusted-set weights carried to any scikit-learn classifier or regressor.

:class:`ReweightedClassifier` and :class:`ReweightedRegressor`: only what is
particular to each task (its default models, its targets, how the check
scores a held-back row); what they share, the ways to carry, the fit and
the check, is :mod:`._carry`'s.
"""

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.utils import get_tags
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._carry import CARRIES, _CarryBase, _estimator_has
from ._classifier import MetaReweightClassifier
from ._net import trusted_class_weight
from ._posterior import true_label_posterior
from ._regressor import MetaReweightRegressor
from ._selection import ahead, paired_difference


class ReweightedClassifier(ClassifierMixin, _CarryBase):
    """Any classifier, trained on the rows and weights a trusted set decides.

    ``fit`` fits the ``reweighter`` on the rows (and the trusted set), then
    ``estimator`` on them, carried one of six ways: ``"weights"``, each
    untrusted row's ``example_weights_`` (times its ``sample_weight``) as the
    estimator's ``sample_weight``; ``"filter"``, the rows whose
    ``label_quality_`` is positive (the network favoured their label during
    training); ``"relabel"``, every row, those ``"filter"`` drops with the
    reweighter's predicted class as their label (as given where that would
    leave a class without a row); ``"upweight"``, every row,
    the trusted ones weighted so that
    they weigh as much in total as the untrusted ones; ``"prune"``, the rows
    the estimator itself, cross-fitted (5 stratified folds), does not
    confidently contradict (confident learning, as cleanlab's
    ``find_label_issues(filter_by="confident_learning")``; every row when a
    class has fewer than two); ``"none"``, every row as given. Trusted rows
    always train the estimator, with their own weights (``"upweight"``
    scales them). ``carry="auto"`` chooses the way by a check on rows the
    compared models were not fitted to (see Notes), so that the estimator is
    not made worse than on the labels as given; it scores on the network's
    posterior of the true labels, and keeps ``"relabel"``, only where the
    network predicts the held-back given labels, classes balanced, no worse
    than the estimator as given, within one standard error (see Notes).

    Read more in the :ref:`User Guide <carry>`.

    Parameters
    ----------
    estimator : classifier or None, default=None
        The classifier to train, cloned at ``fit``. ``"weights"`` and
        ``"upweight"`` need its ``fit`` to take ``sample_weight``,
        ``"prune"`` its ``predict_proba``; ``"auto"`` checks the ways it
        allows. None:
        ``HistGradientBoostingClassifier()``.
    reweighter : MetaReweightClassifier or None, default=None
        What learns the weights, cloned at ``fit``. None:
        ``MetaReweightClassifier()`` with its defaults, seeded from
        ``random_state``.
    carry : {"auto", "weights", "filter", "relabel", "upweight", "prune", \
            "none"}, default="auto"
        How the reweighter's results (or, for ``"upweight"`` and
        ``"prune"``, the trusted rows and the estimator's own view) reach the
        estimator; ``"auto"`` chooses by the check.
    n_folds : int, default=2
        Folds of the untrusted rows in the check of ``carry="auto"``.
    check_score : {"auto", "posterior", "given"}, default="auto"
        How the check scores a held-back row.

        - ``"auto"``: the posterior where the fold reweighters agree with the
          held-back given labels, classes balanced, no less often than the
          estimator as given, within one standard error (they lead), else the
          given labels. Keep it unless comparing rules.
        - ``"posterior"``: the posterior probability that the prediction is
          the row's true label. Biased towards the ways the network derives
          where the network fits the data worse than the estimator.
        - ``"given"``: right on its given label. Shrinks the differences
          between ways and favours an estimator that fits the noise.

        A reweighter without ``predict_proba`` is scored on the given labels.
        ``"relabel"`` is kept only where the fold reweighters lead, whatever
        the scoring.
    n_jobs : int or None, default=None
        Fits run side by side: the check's ``n_folds`` fold fits (each a
        reweighter and the estimator carried each way) and the reweighter on
        every row, through joblib (``None``: 1 unless in a
        ``joblib.parallel_backend`` context; -1: every core). Each fit is
        seeded on its own, so with a seeded reweighter (the default one is,
        from ``random_state``) and estimator the result is the same for any
        ``n_jobs``. joblib's default process backend limits each worker's
        torch threads to the cores over ``n_jobs``; ``torch.set_num_threads``
        in the caller does not reach the workers.
    random_state : int, RandomState instance or None, default=None
        Seeds the check's folds and the default reweighter.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when ``X`` has string column names.
    reweighter_ : MetaReweightClassifier
        The reweighter fitted on every row.
    estimator_ : classifier
        The estimator fitted on the carried rows.
    carry_ : {"weights", "filter", "relabel", "upweight", "prune", "none"}
        The way carried.
    carry_check_ : dict or None
        The check: per way, its mean held-back score (``"scores"``), its
        difference to ``"none"`` and that difference's standard error
        (``"differences"``, ``"standard_errors"``), how often the fold
        reweighters and the estimator as given agree with the held-back
        given labels, classes balanced (``"agreement"``: ``{"reweighter":
        ..., "none": ..., "standard_error": ...}``, the last of their paired
        difference; None without the fold reweighters' probabilities), how
        the rows were scored (``"score"``: ``"posterior"`` or ``"given"``),
        the held-back rows
        (``"n_rows"``; 0, and no way checked, when a fold would hold no
        untrusted row or its complement miss a class, or for the regressor
        hold constant targets: then ``"none"``), and the ways checked but
        not to be kept (``"withheld"``: ``("relabel",)`` or ``()``); None
        when ``carry`` is not ``"auto"``.
    example_weights_ : ndarray of shape (n_samples,)
        The reweighter's ``example_weights_``, per row of ``X``.
    label_quality_ : ndarray of shape (n_samples,)
        The reweighter's ``label_quality_``, per row of ``X``.

    Notes
    -----
    The check (``carry="auto"``): the untrusted rows are split in
    ``n_folds`` folds; for each, a clone of the reweighter is fitted on the
    other folds and the trusted rows, and the estimator, carried each way,
    on the same rows; each scores the held-back fold, either by its expected
    accuracy on the rows' true labels (the posterior) or right on the rows'
    given labels. The fold reweighter's probabilities
    ``q(x)`` and the rows' given labels estimate the noise, ``T[i, l]``
    (the ``q``-weighted share of given label ``l`` among rows of class
    ``i``, over every held-back row), and Bayes' rule the posterior of each
    row's true class, ``q_i(x) T[i, given]`` normalised; a prediction scores
    the posterior of the class it predicts. Scoring on the given labels
    instead shrinks the differences between ways (under binary uniform
    noise at 30 %, to 0.4 of the true ones) and favours an estimator that
    fits the noise. But the posterior is only as good as the fold
    reweighter's probabilities: it favours the ways derived from the network
    itself, and where the network fits the data worse than the estimator it
    leads the check to them. So by default (``check_score="auto"``) the
    check first asks whether the fold reweighters' predicted classes agree
    with the held-back given labels no less often than the estimator as
    given does, each given class weighing the same in all (times the rows'
    ``sample_weight``), within one standard error of the paired per-row
    difference (``carry_check_["agreement"]``): only then does it score on
    the posterior, else on the given labels.
    Each class is weighted as the reweighter's ``class_weight`` weights it
    (by default None: every row 1; ``"trusted"``: to its share of the
    trusted set; ``"balanced"`` or a dict: scikit-learn's factors), times
    the rows' ``sample_weight``. The way with the best mean is kept when it is ahead of
    ``"none"`` by more than one standard error of the paired per-row
    difference, else ``"none"``. It costs ``n_folds`` more reweighter fits
    and, with all six ways, ``11 n_folds`` estimator fits
    (``"prune"`` fits six: five for its out-of-fold probabilities, then its
    own).

    The same comparison decides whether ``"relabel"`` may be kept: the
    estimator trained on the network's labels agrees with the network's
    posterior by construction, so a posterior check alone would pick it
    wherever the network disagrees with the estimator. With
    ``check_score="given"``, or a reweighter without ``predict_proba``, it
    is withheld.

    Why the agreement is class-balanced: under background noise an estimator
    copying the class the noise fills agrees with the given labels more often
    than the network does. Why it guards the posterior: where the network
    fits the data worse than the estimator (plotnine's diamonds with trees),
    the posterior alone leads the check to harm. Why within one standard
    error: on small data the agreement is noisy. The carry benchmark pages
    (``docs/benchmarks/carry.md``, ``carry_posterior.md``, ``carry_given.md``)
    compare the three scorings.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> torch.set_num_threads(1)
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sk_l2rw import MetaReweightClassifier, ReweightedClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> trusted = np.arange(len(y)) % 10 == 0
    >>> clf = ReweightedClassifier(
    ...     LogisticRegression(max_iter=1000),
    ...     reweighter=MetaReweightClassifier(max_epochs=5, random_state=0),
    ...     random_state=0,
    ... )
    >>> clf.fit(X, y, clean_mask=trusted).carry_ in clf.carry_check_["scores"]
    True
    >>> clf.predict(X[:2]).shape
    (2,)
    """

    _ways = CARRIES
    _quality = "label_quality_"
    _parameter_constraints = {
        **_CarryBase._parameter_constraints,
        "check_score": [StrOptions({"auto", "given", "posterior"})],
    }

    def __init__(
        self,
        estimator=None,
        *,
        reweighter=None,
        carry="auto",
        n_folds=2,
        check_score="auto",
        n_jobs=None,
        random_state=None,
    ):
        super().__init__(
            estimator,
            reweighter=reweighter,
            carry=carry,
            n_folds=n_folds,
            n_jobs=n_jobs,
            random_state=random_state,
        )
        self.check_score = check_score

    def _y_options(self):
        return {}

    def _default_estimator(self):
        return HistGradientBoostingClassifier()

    def _default_reweighter(self, seed):
        return MetaReweightClassifier(random_state=seed)

    def _check_targets(self, y):
        check_classification_targets(y)
        if len(np.unique(y)) < 2:
            raise ValueError(
                f"y must contain at least 2 classes; got 1 class: {np.unique(y)[0]!r}."
            )

    def _set_targets(self, y):
        self.classes_ = np.unique(y)

    @staticmethod
    def _enough_targets(y_part, y):
        """Whether a fold's training rows hold every class."""
        return len(np.unique(y_part)) == len(np.unique(y))

    def _held_view(self, reweighter, X_held):
        """The fold reweighter's class probabilities on the held-back rows,
        columns as ``classes_`` (None for a reweighter without ``predict_proba``)."""
        if self.check_score == "given" or not hasattr(reweighter, "predict_proba"):
            return None
        proba = reweighter.predict_proba(X_held)
        columns = getattr(reweighter, "classes_", self.classes_)
        full = np.zeros((proba.shape[0], len(self.classes_)))
        full[:, np.searchsorted(self.classes_, columns)] = proba
        return full

    def _agreement(self, predictions, y_held, views, sample_weight):
        """How often the fold reweighters' predicted classes (the argmax of
        their probabilities, ``views``) and the estimator on the rows as given
        (``"none"``) agree with the held-back rows' given labels, classes
        balanced: each row weighs its ``sample_weight`` over its given class's
        total, so that every given class weighs the same and an estimator
        copying the class that background noise fills does not look ahead;
        and the standard error of the paired per-row difference.
        ``{"reweighter": ..., "none": ..., "standard_error": ...}``, or None
        where the views are missing (``check_score="given"``, or a
        reweighter without ``predict_proba``)."""
        if any(view is None for view in views):
            return None
        given = np.searchsorted(self.classes_, y_held)
        weight = np.ones(len(y_held)) if sample_weight is None else sample_weight
        total = np.bincount(given, weights=weight, minlength=len(self.classes_))
        weight = np.divide(weight, total[given], out=np.zeros(len(y_held)), where=total[given] > 0)
        weight = weight / max(weight.sum(), 1e-12)
        network = self.classes_[np.argmax(np.concatenate(views), axis=1)] == y_held
        estimator = predictions["none"] == y_held
        _, se = paired_difference(network.astype(np.float64) - estimator, weight)
        return {
            "reweighter": float(weight @ network),
            "none": float(weight @ estimator),
            "standard_error": se,
        }

    @staticmethod
    def _leads(agreement):
        """Whether the fold reweighters lead (:meth:`_agreement`): the
        estimator as given is not ahead of them by the selection round's
        rule (:func:`._selection.ahead`, ``GUARD`` standard errors)."""
        if agreement is None:
            return False
        return not ahead(agreement["none"] - agreement["reweighter"], agreement["standard_error"])

    def _held_scores(
        self, predictions, y_held, views, sample_weight, class_weight, y_trusted, y, agreement
    ):
        """Per way, each held-back row's score; the rows' weights; the rule's name.

        ``"posterior"`` (``check_score="auto"`` where the fold reweighters
        lead, :meth:`_leads`; ``check_score="posterior"`` wherever they give
        probabilities): the posterior probability (:mod:`._posterior`, from
        the fold reweighters' probabilities) that the predicted class is the
        row's true one, times the class's factor under ``class_weight``, over
        the row's expected factor; each row weighs its expected factor times
        its ``sample_weight``: the weighted mean is then the expected
        accuracy on the true labels, classes weighted as the reweighter weights
        them. ``"given"`` (otherwise): right on the given label, each row
        weighing its given class's factor times its ``sample_weight``.
        """
        classes = self.classes_
        given = np.searchsorted(classes, y_held)
        factor = self._class_factors(class_weight, y_trusted, y)
        weight = np.ones(len(y_held)) if sample_weight is None else sample_weight
        posterior = agreement is not None and (
            self.check_score == "posterior" or self._leads(agreement)
        )
        if not posterior:
            right = {way: (p == y_held).astype(np.float64) for way, p in predictions.items()}
            return right, factor[given] * weight, "given"
        post = true_label_posterior(np.concatenate(views), given, weight)
        expected = np.maximum(post @ factor, 1e-12)
        rows = np.arange(len(y_held))
        right = {}
        for way, p in predictions.items():
            predicted = np.searchsorted(classes, p)
            right[way] = factor[predicted] * post[rows, predicted] / expected
        return right, expected * weight, "posterior"

    def _withheld(self, predictions, agreement):
        """``("relabel",)`` unless the fold reweighters lead (:meth:`_leads`):
        an estimator trained on the network's labels agrees with the
        network's posterior by construction, so the check may keep it only
        where the network is the better judge of the given labels (never
        where they cannot be compared: ``check_score="given"``, or a
        reweighter without ``predict_proba``)."""
        if "relabel" not in predictions or self._leads(agreement):
            return ()
        return ("relabel",)

    @staticmethod
    def _class_factors(class_weight, y_trusted, y):
        """Each class's factor under the reweighter's ``class_weight``, as its
        selection round weights held-back rows: 1 for None (or a reweighter
        without one); the class brought to its share of the trusted rows for
        ``"trusted"`` (all 1 when the trusted rows lack a class);
        scikit-learn's factors, over the given labels of every row, for
        ``"balanced"`` or a dict."""
        classes = np.unique(y)
        if class_weight is None:
            return np.ones(len(classes))
        if class_weight == "trusted":
            factor = trusted_class_weight(
                np.searchsorted(classes, y_trusted), np.searchsorted(classes, y), len(classes)
            )
            return np.ones(len(classes)) if factor is None else factor.numpy().astype(np.float64)
        return compute_class_weight(class_weight, classes=classes, y=y)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities from ``estimator_``, columns as ``classes_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        return self.estimator_.predict_proba(
            validate_data(self, X, reset=False, accept_sparse="csr")
        )

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """``estimator_``'s decision function.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        check_is_fitted(self)
        return self.estimator_.decision_function(
            validate_data(self, X, reset=False, accept_sparse="csr")
        )


class ReweightedRegressor(RegressorMixin, _CarryBase):
    """Any regressor, trained on the rows and weights a trusted set decides.

    The regression twin of :class:`ReweightedClassifier`: the reweighter is a
    :class:`~sk_l2rw.MetaReweightRegressor` (by default with its defaults),
    the estimator by default ``HistGradientBoostingRegressor()``, and the
    ways are ``"weights"`` (each untrusted row's ``example_weights_`` as the
    estimator's ``sample_weight``), ``"upweight"`` (the trusted rows weighted
    up to the untrusted rows' total) and ``"none"`` (every row as given); the
    check scores held-back rows by minus their absolute error on the given
    targets. Parameters, attributes and the check are otherwise those of
    :class:`ReweightedClassifier`, with ``target_quality_`` (the
    reweighter's) in place of ``label_quality_``.

    Read more in the :ref:`User Guide <carry>`.

    Parameters
    ----------
    estimator : regressor or None, default=None
        The regressor to train, cloned at ``fit``; None:
        ``HistGradientBoostingRegressor()``.
    reweighter : MetaReweightRegressor or None, default=None
        What learns the weights, cloned at ``fit``; None:
        ``MetaReweightRegressor()`` with its defaults, seeded from
        ``random_state``.
    carry : {"auto", "weights", "upweight", "none"}, default="auto"
        How the reweighter's results reach the estimator.
    n_folds : int, default=2
        Folds of the untrusted rows in the check.
    n_jobs : int or None, default=None
        Fits run side by side, as for :class:`ReweightedClassifier`.
    random_state : int, RandomState instance or None, default=None
        Seeds the check's folds and the default reweighter.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when ``X`` has string column names.
    reweighter_ : MetaReweightRegressor
        The reweighter fitted on every row.
    estimator_ : regressor
        The estimator fitted on the carried rows.
    carry_ : {"weights", "upweight", "none"}
        The way carried.
    carry_check_ : dict or None
        The check, as for :class:`ReweightedClassifier`.
    example_weights_ : ndarray of shape (n_samples,)
        The reweighter's ``example_weights_``, per row of ``X``.
    target_quality_ : ndarray of shape (n_samples,)
        The reweighter's ``target_quality_``, per row of ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> torch.set_num_threads(1)
    >>> from sklearn.datasets import make_friedman1
    >>> from sklearn.linear_model import Ridge
    >>> from sk_l2rw import MetaReweightRegressor, ReweightedRegressor
    >>> X, y = make_friedman1(n_samples=200, random_state=0)
    >>> trusted = np.arange(len(y)) % 10 == 0
    >>> reg = ReweightedRegressor(
    ...     Ridge(), reweighter=MetaReweightRegressor(max_epochs=5, random_state=0), random_state=0
    ... )
    >>> reg.fit(X, y, clean_mask=trusted).predict(X[:2]).shape
    (2,)
    """

    _ways = ("none", "weights", "upweight")
    _quality = "target_quality_"

    def _y_options(self):
        multi = get_tags(self._estimator()).target_tags.multi_output
        return {"y_numeric": True, "multi_output": multi}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = get_tags(self._estimator()).target_tags.multi_output
        return tags

    def _default_estimator(self):
        return HistGradientBoostingRegressor()

    def _default_reweighter(self, seed):
        return MetaReweightRegressor(random_state=seed)

    def _check_targets(self, y):
        """Numeric targets (``validate_data`` checked them)."""

    @staticmethod
    def _enough_targets(y_part, y):
        """Whether a fold's training targets vary (the reweighter needs it)."""
        return len(y_part) >= 2 and bool(np.ptp(y_part, axis=0).any())

    @staticmethod
    def _held_view(reweighter, X_held):
        """Nothing of the fold reweighter: the check scores the given targets."""
        return None

    @staticmethod
    def _held_scores(
        predictions, y_held, views, sample_weight, class_weight, y_trusted, y, agreement
    ):
        """Per way, minus each held-back row's absolute error on its given
        target (averaged over outputs); the rows' ``sample_weight``."""
        right = {}
        for way, p in predictions.items():
            error = np.abs(p - y_held)
            right[way] = -(error.reshape(len(y_held), -1).mean(axis=1))
        weight = np.ones(len(y_held)) if sample_weight is None else sample_weight
        return right, weight, "absolute error"
