"""The classifier: label encoding, probabilities, label margins, class weights."""

import warnings
from numbers import Real

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array
from torch import nn

from ._base import MetaReweightBase
from ._net import MetaReweightNet

# Trusted rows per class drawn from the training data when none are given.
_AUTO_TRUSTED_PER_CLASS = 10


class MetaReweightClassifier(ClassifierMixin, MetaReweightBase):
    """Neural-network classifier robust to noisy labels and class imbalance.

    At every training step each example of the batch is weighted by how much a
    small SGD step on it would lower the loss on a trusted ("clean") set (Ren
    et al., ICML 2018): examples that pull against it, such as mislabelled
    ones, get weight 0. A default ``fit`` first checks, on held-back rows,
    whether this beats Gold Loss Correction, then runs ``max_epochs`` epochs
    in three phases: plain warm-up, meta-reweighting, refinement on the rows
    whose label the network favoured. The paper's method alone is
    ``warmup_epochs=0, refine_epochs=0, fallback=None``.

    Read more in the :ref:`User Guide <method>`.

    Parameters
    ----------
    module : None, torch.nn.Module or callable, default=None
        The network, mapping a float batch of shape ``(n, n_features)`` to
        logits of shape ``(n, n_classes)``.

        - None: an :class:`MLP` from ``hidden_layer_sizes``, ``activation``
          and ``dropout``.
        - a callable (such as a module class): called as
          ``module(n_features, n_classes)`` at fit, so ``random_state`` seeds
          its initialisation.
        - an instance: deep-copied at every fit, so refits start from the
          same weights.
    hidden_layer_sizes : tuple of int, default=(100, 100)
        Hidden widths of the default MLP (ignored when ``module`` is given).
        Widen it for many informative features; one layer underfits larger
        tabular data sets.
    activation : {"relu", "tanh", "gelu", "elu", "leaky_relu"}, default="relu"
        Activation of the default MLP.
    dropout : float in [0, 1), default=0.0
        Dropout of the default MLP.
    max_epochs : "auto" or int, default="auto"
        The epoch budget of the whole ``fit`` (warm-up, meta and refinement
        epochs together), as in skorch and ``MLPClassifier``.

        - ``"auto"``: enough epochs for 1,000 optimizer steps over the rows
          trained on, at least 50 and at most 500 (``max_epochs_``).
        - an int: used as given, by the selection round's fits too. Set it
          to cap the time of a fit.
    batch_size : int, default=128
        Training rows per step: the batch over which the weights are
        normalised to sum to 1.
    lr : float, default=1e-3
        Learning rate of the optimizer. Lower it if a fit raises
        :class:`~sk_l2rw.DivergedError`.
    optimizer : {"adam", "adamw", "sgd"} or torch.optim.Optimizer subclass, \
default="adam"
        The optimizer.

        - ``"adam"``: stable at the default ``lr``.
        - ``"adamw"``: Adam with decoupled weight decay.
        - ``"sgd"``: momentum 0.9. The normalised weights can put a batch's
          mass on a few rows, which SGD at a large ``lr`` does not survive.
        - a subclass: constructed with the parameters and ``lr``.
    clean_batch_size : int or None, default=None
        Trusted rows per step; None means ``batch_size``. A larger trusted
        set is cycled through in minibatches. Each trusted row costs about as
        much per step as a training row.
    train_on_clean : bool, default=True
        Whether the trusted rows are also training rows. When False,
        ``clean_mask`` rows serve only as the trusted set.
    warmup_epochs : "auto" or int, default="auto"
        How many of the ``max_epochs`` epochs come first as plain epochs.
        ``"auto"`` is 35 % of ``max_epochs``, at most 17: enough for the meta
        step to start from a network that has learnt what most rows share,
        few enough not to memorise the noise. 0 with ``refine_epochs=0`` is
        the paper's step alone.
    refine_epochs : "auto" or int, default="auto"
        How many of the ``max_epochs`` epochs come last as refinement: plain
        training on the rows with ``label_quality_ > 0`` and the trusted
        rows. ``"auto"`` is 50 % of ``max_epochs``; ``warmup_epochs +
        refine_epochs`` must stay below ``max_epochs``.
    meta_method : {"auto", "fast", "general", "recipe"}, default="auto"
        How the exact weights are computed; all give the same weights to
        float tolerance.

        - ``"fast"``: a per-layer closed form for ``Sequential`` stacks of
          ``Linear`` layers and elementwise activations (the default MLP).
        - ``"general"``: double backward, for any module.
        - ``"recipe"``: the paper's autograd through a virtual step; the
          slowest, the reference.
        - ``"auto"``: ``"fast"`` where it applies, else ``"general"``.
    fallback : {"auto", "corrected", "plain"} or None, default="auto"
        The plainer model ``fit`` falls back to where the reweighting does
        not help, chosen by a selection round on two folds of at most 4,000
        untrusted rows (kept when ahead on the held-back given labels by more
        than one standard error).

        - ``"corrected"`` (what ``"auto"`` means): Gold Loss Correction as
          published (Hendrycks et al., 2018), for class-conditional noise
          that a corruption matrix describes.
        - ``"plain"``: plain training, for benign noise.
        - None: no round. It costs several times the final fit on small
          data: set None when fit time matters more than the check.

        The round also stops the final fit early where the budget overfits
        (``selection_["stop_epoch"]``).
    device : str or torch.device, default="cpu"
        Where the network runs, e.g. ``"cuda"``.
    callbacks : list of skorch callbacks or (name, callback) pairs, default=None
        Added to skorch's default callbacks, e.g.
        ``EarlyStopping(monitor="clean_loss")`` or a ``ProgressBar``. They
        see every epoch and step of the final fit, whatever its phase.
    warm_start : bool, default=False
        When True, ``fit`` on a fitted estimator continues training for
        ``max_epochs`` more epochs (meta, then refinement; no warm-up),
        keeping the trusted set unless a new one is given.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, dropout and sampling, without
        touching the global random state.
    verbose : int, default=0
        Print a per-epoch table when positive, the selection round's folds
        included.
    class_weight : None, "balanced", dict or "trusted", default=None
        How classes are weighted in the loss, in scikit-learn's convention.

        - None: no class weighting. For accuracy on data as imbalanced as
          the training data.
        - ``"balanced"``: class ``c`` weighs ``n / (n_classes * n_c)``, in
          every phase. For balanced accuracy, e.g. under pure imbalance.
        - a dict: a factor per label (1 for a label it omits).
        - ``"trusted"``: the plain epochs and the round weight each class to
          its share of the trusted set. When the trusted set's shares are
          the ones predictions should have (e.g. drawn at random, while the
          noise skews the given labels' shares).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when ``X`` has string column names.
    net_ : MetaReweightNet
        The fitted skorch net (``net_.module_`` is the torch module).
    history_ : skorch.History
        One row per epoch of the final fit, with ``phase``, ``train_loss``,
        ``clean_loss`` (the trusted loss) and, in meta epochs, the weights'
        figures (``mean_weight``, ``zero_weight_frac``, ``ess_frac``, ...).
    selected_ : {"reweighted", "fallback"}
        Which kind the final fit is (``"reweighted"`` without a round).
    selection_ : dict or None
        The selection round's figures (held-back scores, their difference and
        standard error, per-epoch curves, ``"stop_epoch"``, the folds'
        histories); None without a round.
    max_epochs_ : int
        The epoch budget of the last ``fit``.
    example_weights_ : ndarray of shape (n_samples,)
        One weight per row of ``X``: the mean over the meta epochs of the
        row's weight times its batch size (1.0: as in plain training, 0:
        never trained on). NaN for rows not trained on.
    label_quality_ : ndarray of shape (n_samples,)
        Per row of ``X``, in [-1, 1]: the network's probability of the row's
        given label minus that of the likeliest other class, over training
        (and out of fold). Sort ascending to find label errors.

    See Also
    --------
    sk_l2rw.MLP : The default network.
    sk_l2rw.ReweightedClassifier : The weights carried to another classifier.

    Notes
    -----
    Without a trusted set (``clean_mask`` or ``clean_val`` in ``fit``), a
    class-balanced sample of up to 10 training rows per class serves, with a
    warning: that helps with class imbalance, not with label noise.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> torch.set_num_threads(1)
    >>> from sklearn.datasets import load_iris
    >>> from sk_l2rw import MetaReweightClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> trusted = np.arange(len(y)) % 15 == 0  # 10 rows, every class
    >>> clf = MetaReweightClassifier(max_epochs=5, random_state=0)
    >>> clf.fit(X[~trusted], y[~trusted], clean_val=(X[trusted], y[trusted])).predict(X[:2]).shape
    (2,)
    >>> clf.example_weights_.shape
    (140,)
    >>> clf.selected_  # the selection round found Gold Loss Correction ahead
    'fallback'
    >>> clf.history_[:, "phase"]
    ['fallback', 'fallback', 'fallback', 'fallback', 'fallback']
    >>> alone = MetaReweightClassifier(max_epochs=5, fallback=None, random_state=0)
    >>> alone.fit(X[~trusted], y[~trusted], clean_val=(X[trusted], y[trusted])).history_[:, "phase"]
    ['warmup', 'meta', 'meta', 'refine', 'refine']
    """

    _parameter_constraints = {
        **MetaReweightBase._parameter_constraints,
        "class_weight": [StrOptions({"trusted", "balanced"}), dict, None],
    }
    _net_class = MetaReweightNet
    _outputs_name = "n_classes"
    _output_kind = "logits"

    def __init__(
        self,
        *,
        module=None,
        hidden_layer_sizes=(100, 100),
        activation="relu",
        dropout=0.0,
        max_epochs="auto",
        batch_size=128,
        lr=1e-3,
        optimizer="adam",
        clean_batch_size=None,
        train_on_clean=True,
        warmup_epochs="auto",
        refine_epochs="auto",
        meta_method="auto",
        fallback="auto",
        device="cpu",
        callbacks=None,
        warm_start=False,
        random_state=None,
        verbose=0,
        class_weight=None,
    ):
        super().__init__(
            module=module,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            dropout=dropout,
            max_epochs=max_epochs,
            batch_size=batch_size,
            lr=lr,
            optimizer=optimizer,
            clean_batch_size=clean_batch_size,
            train_on_clean=train_on_clean,
            warmup_epochs=warmup_epochs,
            refine_epochs=refine_epochs,
            meta_method=meta_method,
            fallback=fallback,
            device=device,
            callbacks=callbacks,
            warm_start=warm_start,
            random_state=random_state,
            verbose=verbose,
        )
        self.class_weight = class_weight

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, sample_weight=None, clean_val=None, clean_mask=None):
        """Fit the network, reweighting every batch against the trusted set.

        With ``warm_start=True`` and a fitted net, training continues from it
        for ``max_epochs`` more epochs, keeping the previous trusted set unless
        ``clean_val`` or ``clean_mask`` is given.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training features (numeric). A SciPy sparse matrix or array is
            densified a batch at a time.
        y : array-like of shape (n_samples,)
            Training labels, possibly noisy.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row of ``X``: its loss is multiplied
            by it in every phase (the selection round and its scores
            included), its meta score too, and the trusted rows' weights
            weight the trusted loss. Each loss is a weighted mean over a
            batch, so a weight of 2 counts a row twice within its batch, and
            weights that are all equal change nothing. Rows of ``clean_val``
            weigh 1. Under metadata routing, request it with
            ``set_fit_request(sample_weight=True)``.
        clean_val : tuple (X_clean, y_clean), default=None
            A separate trusted set in the feature space of ``X``, with labels
            among those of ``y``.
        clean_mask : array-like of bool, shape (n_samples,), default=None
            Marks the rows of ``X`` whose labels are trusted. Use it in a
            ``Pipeline`` or under cross-validation, which slice it with ``X``;
            requested by default under metadata routing.

        Returns
        -------
        self : MetaReweightClassifier
            The fitted estimator.
        """
        return self._fit_common(X, y, clean_val, clean_mask, sample_weight, partial=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(
        self, X, y, *, classes=None, sample_weight=None, clean_val=None, clean_mask=None
    ):
        """Train one more epoch (a meta epoch).

        The first call builds the net as ``fit`` does. Later calls continue
        from it, keeping the previous trusted set unless ``clean_val`` or
        ``clean_mask`` is given; their ``y`` must hold classes of the first.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training features (numeric). A SciPy sparse matrix or array is
            densified a batch at a time.
        y : array-like of shape (n_samples,)
            Training labels, possibly noisy.
        classes : array-like of shape (n_classes,), default=None
            Every class, on the first call, when ``y`` may not show them all.
            Ignored afterwards.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row of ``X``, as in :meth:`fit`.
        clean_val : tuple (X_clean, y_clean), default=None
            A separate trusted set, as in :meth:`fit`.
        clean_mask : array-like of bool, shape (n_samples,), default=None
            Marks the rows of ``X`` whose labels are trusted, as in :meth:`fit`.

        Returns
        -------
        self : MetaReweightClassifier
            The estimator, trained one more epoch.
        """
        return self._fit_common(
            X, y, clean_val, clean_mask, sample_weight, partial=True, classes=classes
        )

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return self._predict_raw(X)

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    # -- what the base asks of a task ----------------------------------------------

    _fallbacks = (None, "plain", "corrected")
    _auto_fallback = "corrected"
    _blend_out_of_fold = True

    @property
    def _fitted_extra(self):
        return ("label_quality_",)

    def _n_outputs(self):
        return len(self.classes_)

    def _net_params(self):
        return {
            "criterion": nn.CrossEntropyLoss,
            "classes": list(range(len(self.classes_))),
            "trusted_shares": self.class_weight == "trusted",
        }

    def _task_weights(self, y_train, train_weight, trusted):
        """An explicit ``class_weight`` as a factor on the training and trusted
        rows' sample weights ("trusted" and None: the weights as given)."""
        if self.class_weight in ("trusted", None):
            return train_weight, trusted
        factor = self._class_factors(y_train, train_weight)
        train_weight = factor[y_train] * (1.0 if train_weight is None else train_weight)
        if trusted is not None:
            X_clean, y_clean, rows, w_clean = trusted
            w_clean = factor[y_clean] * (1.0 if w_clean is None else w_clean)
            trusted = X_clean, y_clean, rows, w_clean
        return train_weight, trusted

    def _class_factors(self, y, weight):
        """Each encoded class's factor under ``class_weight`` ("balanced" or a dict)."""
        n_classes = len(self.classes_)
        if self.class_weight == "balanced":
            counts = np.bincount(y, weights=weight, minlength=n_classes).astype(np.float64)
            return np.where(
                counts > 0, counts.sum() / (n_classes * np.maximum(counts, 1e-300)), 1.0
            )
        unknown = [label for label in self.class_weight if label not in set(self.classes_.tolist())]
        if unknown:
            raise ValueError(
                f"class_weight has labels {unknown} not among the classes {self.classes_.tolist()}."
            )
        factor = np.ones(n_classes)
        for label, value in self.class_weight.items():
            if not isinstance(value, Real) or not np.isfinite(value) or value < 0:
                raise ValueError(
                    f"class_weight must map labels to non-negative finite numbers; got "
                    f"{value!r} for {label!r}."
                )
            factor[np.searchsorted(self.classes_, label)] = value
        return factor

    def _encode_targets(self, y, *, warm, classes):
        """Set ``classes_`` on a fresh fit; encode ``y`` as class indices."""
        check_classification_targets(y)
        if not warm:
            self.classes_ = np.unique(y if classes is None else classes)
            if len(self.classes_) < 2:
                raise ValueError(
                    f"y must contain at least 2 classes; got 1 class: {self.classes_[0]!r}."
                )
        unseen = np.setdiff1d(y, self.classes_)
        if len(unseen):
            raise ValueError(
                f"y has labels {unseen.tolist()} not among the classes "
                f"{self.classes_.tolist()} of the first fit or of `classes`."
            )
        return np.searchsorted(self.classes_, y)

    def _check_clean_targets(self, y_clean, n_rows):
        y_clean = check_array(
            y_clean, ensure_2d=False, dtype=None, input_name="clean_val[1] (y_clean)"
        )
        if y_clean.ndim != 1 or len(y_clean) != n_rows:
            raise ValueError(
                "clean_val[1] (y_clean) must be 1-D with one label per row of "
                f"X_clean ({n_rows}); got shape {y_clean.shape}."
            )
        unseen = np.setdiff1d(y_clean, self.classes_)
        if len(unseen):
            raise ValueError(
                f"clean_val[1] (y_clean) has labels not seen in y: {unseen.tolist()}. "
                f"Classes in y: {self.classes_.tolist()}."
            )
        return np.searchsorted(self.classes_, y_clean)

    def _sample_trusted(self, y, rng):
        picked = np.concatenate(
            [
                rng.permutation(np.flatnonzero(y == k))[:_AUTO_TRUSTED_PER_CLASS]
                for k in range(len(self.classes_))
            ]
        )
        return (
            picked,
            f"a class-balanced sample of up to {_AUTO_TRUSTED_PER_CLASS} training rows per class",
        )

    def _check_trusted_coverage(self, y_clean, name):
        missing = np.setdiff1d(np.arange(len(self.classes_)), y_clean)
        if len(missing):
            warnings.warn(
                f"The trusted set ({name}) has no rows of classes "
                f"{self.classes_[missing].tolist()}: examples of those classes "
                "are weighted only by how they affect the other classes.",
                UserWarning,
                stacklevel=6,
            )

    def _record_fit(self, n_rows, rows, records):
        self.label_quality_ = np.full(n_rows, np.nan)
        self.label_quality_[rows] = records
