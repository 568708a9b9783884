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
    small SGD step on it would lower the loss on a trusted ("clean") set --
    the rectified, batch-normalised agreement between its gradient and the
    trusted-set gradient (Ren et al., "Learning to Reweight Examples for Robust
    Deep Learning", ICML 2018). Examples that pull against the trusted set,
    such as mislabelled ones, get weight 0. The weighting has no
    hyperparameter of its own.

    A ``fit`` runs ``max_epochs`` skorch epochs in three phases (see
    ``history_[:, "phase"]``): plain warm-up epochs (``warmup_epochs``), then
    the meta-reweighted epochs, then refinement epochs (``refine_epochs``) on
    the rows whose label the network favoured during training and the trusted
    rows. The paper's method alone is ``warmup_epochs=0, refine_epochs=0``.
    By default a selection round comes first (``fallback``): cross-fitted on
    the untrusted rows, it checks whether that fit beats a plainer one, Gold
    Loss Correction, and the final fit is the kind that wins. The user guide
    says why, and the quality benchmark shows what each part is worth.

    Parameters
    ----------
    module : None, torch.nn.Module or callable, default=None
        The network, mapping a float batch of shape ``(n, n_features)`` to
        logits of shape ``(n, n_classes)``. ``None`` builds an :class:`MLP`
        from ``hidden_layer_sizes``, ``activation`` and ``dropout``. A callable
        (such as a module class) is called as ``module(n_features, n_classes)``
        at fit, so ``random_state`` seeds its initialisation. An instance is
        deep-copied at every fit, so refits start from the same weights.
    hidden_layer_sizes : tuple of int, default=(100, 100)
        Hidden widths of the default MLP (ignored when ``module`` is given).
        Two layers of 100: one loses about 0.05 of accuracy on the quality
        benchmark's larger development scenarios and is as good on its small
        ones (the ablation page has the figures).
    activation : {"relu", "tanh", "gelu", "elu", "leaky_relu"}, default="relu"
        Activation of the default MLP.
    dropout : float in [0, 1), default=0.0
        Dropout of the default MLP.
    max_epochs : "auto" or int, default="auto"
        The epoch budget of the whole ``fit``, as in skorch and in
        scikit-learn's ``MLPClassifier``: warm-up, meta and refinement epochs
        together. ``"auto"`` sizes it to the data: enough epochs for 1,000
        optimizer steps (``batch_size`` rows each) over the rows trained on,
        at least 50 and at most 500 -- 50 from about 6,400 rows up, 500 for
        a few hundred rows, which 50 epochs leave at 50 steps. The budget of
        a fit is ``max_epochs_``. An int is used as given, by the selection
        round's fits too. An ``EarlyStopping`` callback may end a fit sooner.
    batch_size : int, default=128
        Training rows per step (the batch over which weights are normalised).
    lr : float, default=1e-3
        Learning rate of the optimizer.
    optimizer : {"adam", "adamw", "sgd"} or torch.optim.Optimizer subclass, \
default="adam"
        ``"sgd"`` uses momentum 0.9. Normalised weights can concentrate a
        batch's mass on a few rows, which SGD at large rates does not survive.
    clean_batch_size : int or None, default=None
        Trusted rows per step; ``None`` means ``batch_size``. A trusted set no
        larger than that is used whole at every step (as in the paper's MNIST
        code); a larger one is cycled through in shuffled minibatches. With the
        fast path a step costs about ``1 + 2 m / (3 n)`` plain steps in flops
        for ``m`` trusted and ``n`` training rows per step (see the speed
        benchmark).
    train_on_clean : bool, default=True
        Whether the trusted rows are also training rows (reweighted like the
        others). With ``clean_val`` they are appended to ``X``; with
        ``clean_mask`` they stay in place. When False, ``clean_mask`` rows are
        used only as the trusted set.
    warmup_epochs : "auto" or int, default="auto"
        How many of the ``max_epochs`` epochs come first as plain epochs (mean
        loss over the batch, each class weighted to its share of the trusted
        set; unweighted when the trusted set lacks a class) before the
        meta-reweighted ones. ``"auto"`` is 35 % of ``max_epochs``, rounded
        down. A network learns the patterns shared by most rows before it
        memorises mislabelled ones, so the plain epochs give a sound start and
        the per-row training record that picks the rows to refine on
        (``label_quality_``), while the meta step alone, from scratch, with few
        trusted rows, weights rows by their proximity to them. ``partial_fit``
        and a warm-started ``fit`` take no warm-up.
    refine_epochs : "auto" or int, default="auto"
        How many of the ``max_epochs`` epochs come last as refinement: plain
        training (same optimizer) on the training rows whose given label the
        network favoured during the warm-up and meta epochs
        (``label_quality_ > 0``) and on every trusted row, with the loss of
        the warm-up (classes weighted to their share of the trusted set among
        those rows). ``"auto"`` is 50 % of ``max_epochs``, rounded down. The
        meta epochs are the rest: ``warmup_epochs + refine_epochs`` must be
        smaller than ``max_epochs`` (``"auto"`` values give way so that at
        least one meta epoch remains). Not run by ``partial_fit``.
        Paper-exact: ``warmup_epochs=0, refine_epochs=0``.
    meta_method : {"auto", "fast", "general", "recipe"}, default="auto"
        How the exact weights are computed. ``"fast"``: per-layer closed form
        for ``Sequential`` stacks of ``Linear`` layers and elementwise
        activations; ``"general"``: double backward, any module;
        ``"recipe"``: the paper's autograd-through-the-virtual-step (slowest,
        the reference). ``"auto"`` picks ``"fast"`` where it applies. All give
        the same weights to float tolerance.
    fallback : {"auto", "corrected", "plain"} or None, default="auto"
        The plainer model ``fit`` falls back to where the reweighting does not
        help, a fresh net trained for the whole budget. ``"corrected"``: Gold
        Loss Correction as published (Hendrycks et al., 2018) -- epochs on
        ``-log((softmax(f(x)) @ C)[y])`` (trusted rows: cross-entropy), where
        row ``i`` of ``C`` is the mean softmax over the trusted rows of class
        ``i`` of a plain net fitted to the untrusted rows alone;
        ``"plain"``: plain epochs. A selection round decides: at most 4,000
        untrusted rows (a random sample beyond) are split in two folds; on
        the other fold and the trusted rows the reweighted fit (the same
        phases), the plain net for ``C`` (on that fold's untrusted rows) and
        the fallback are trained, each with the budget for its rows, and the
        reweighted fit and the fallback score the fold -- accuracy on its
        given labels, each class weighted to its share of the trusted set.
        Every net of the round also scores the fold after each of its
        epochs. The final fit, on every row, is the fallback (with the
        folds' mean ``C``) when it is ahead at the end by more than one
        standard error of the paired difference, else the reweighted one,
        which is then the fit ``fallback=None`` gives, draw for draw; either
        stops after the kept kind's best epoch on the fold when that is
        ahead of its last by more than two standard errors (the same
        schedule, cut short: there the budget overfits). ``"auto"`` is
        ``"corrected"``. None: no selection round, which costs up to about
        2.5 times the final fit on small data and less from 8,000 rows up,
        where the round's sample is a smaller share (the speed page has the
        figures). Warm-started fits and ``partial_fit`` continue the model
        they have, without one.
    device : str or torch.device, default="cpu"
        Where the network runs, e.g. ``"cuda"``.
    callbacks : list of skorch callbacks or (name, callback) pairs, default=None
        Added to skorch's default callbacks, e.g.
        ``skorch.callbacks.EarlyStopping(monitor="train_loss")``, an
        ``LRScheduler`` or a ``ProgressBar``. They see every epoch and every
        step of the fit, whatever its phase. Deep-copied at every fit; the
        fitted copies are in ``net_.callbacks_``.
    warm_start : bool, default=False
        When True, ``fit`` on a fitted estimator continues training its net
        for ``max_epochs`` more epochs (meta, then refinement epochs; no
        warm-up), with the current ``lr`` and ``batch_size`` (the architecture
        parameters are ignored), instead of starting afresh. Without a new
        ``clean_val`` or ``clean_mask`` the previous trusted set is kept.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, dropout and any sampling, without
        touching the caller's global torch or numpy random state. ``None``
        draws from torch's global generator.
    verbose : int, default=0
        Print a per-epoch table when positive: one header for the whole fit,
        ``-`` under the figures an epoch's phase does not have.

    class_weight : None, "balanced", dict or "trusted", default=None
        How classes are weighted in the loss, in scikit-learn's convention: a
        factor on each row's sample weight in every phase, meta steps
        included, and on the trusted rows' weights in the trusted loss. None
        weights no class (the default); ``"balanced"`` gives class ``c`` the
        weight ``n / (n_classes * n_c)``, with ``n`` and ``n_c`` the (sample
        weighted) training rows of the call and those labelled ``c``; a dict
        maps labels to weights (1 for a label it omits). ``"trusted"``: in
        the plain epochs (warm-up, refinement, fallback) each class is
        weighted to its share of the trusted set among the rows the phase
        visits, the meta epochs are unweighted, and the selection round
        scores classes by the same shares (unweighted where the trusted set
        lacks a class); for a trusted set whose class shares are the ones
        predictions should have, e.g. a balanced one when balanced accuracy
        is the goal. It was the default until issue 18's benchmark: with
        classes imbalanced in the data and the usual trusted set of the same
        few rows per class, it aims at balanced accuracy and costs accuracy
        (the quality benchmark's ``cw-*`` scenarios, 5 seeds: 0.341 against
        None's 0.513 on a survey with occupations of 0.6 % to 44 %, both
        before the selection round's stopping epoch; None now 0.543). Under
        pure class imbalance judged on balanced data, pass ``"balanced"``, or
        ``"trusted"`` with a balanced trusted set: None gives 0.822 of
        balanced accuracy against 0.979 and 0.975 at a majority share of
        0.995 (generated data, 5 epochs).

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
        One row per epoch of the final fit, every phase (the selection
        round's are in ``selection_``). Every row has ``phase``
        (``"warmup"``, ``"meta"``, ``"refine"`` or ``"fallback"``), ``train_loss`` (unweighted
        mean loss of the rows the epoch visits), ``clean_loss`` (mean loss of
        the trusted batch before each step; in eval mode in plain steps) and
        ``dur``, so ``EarlyStopping`` can monitor either across phases. Meta
        epochs also have ``mean_weight``
        (mean of ``w_i * batch size``: 1, or 0 for an all-zero batch),
        ``zero_weight_frac`` (share of rows given weight 0), ``max_weight``
        (largest single ``w_i``), ``ess_frac`` (effective sample size
        ``1 / sum w_i^2`` over the batch size; 1 is uniform) and
        ``all_zero_batches`` (steps skipped because every weight was 0);
        refinement epochs have ``kept_rows`` (how many rows they visit).
    selected_ : {"reweighted", "fallback"}
        Which kind the final fit is (``"reweighted"`` without a selection
        round).
    selection_ : dict or None
        The selection round: ``"reweighted"`` and ``"fallback"`` (mean
        held-back scores at the end of training), ``"difference"``
        (fallback minus reweighted), ``"standard_error"`` (of that paired
        difference), ``"curves"`` (per kind, the mean held-back score after
        each epoch: ``"reweighted"``, ``"fallback"`` and, with
        ``fallback="corrected"``, ``"plain"``, the plain net for ``C``),
        ``"stop_epoch"`` (the epochs the final fit ran, when the round cut
        its schedule short; else None), ``"stop_lead"`` and
        ``"stop_standard_error"`` (the kept kind's best epoch over its
        last), ``"n_rows"``
        (held-back rows: every untrusted row once, or the round's sample of
        4,000), ``"folds"``, ``"histories"`` (each fold's reweighted fit's
        skorch history, with ``held_back_score`` per epoch),
        ``"fallback_histories"`` (each fold's fallback's) and
        ``"plain_histories"`` (each fold's plain net's). None without one.
    max_epochs_ : int
        The epoch budget of the last ``fit`` (``max_epochs``, or what
        ``"auto"`` gave for its rows); the final fit runs fewer when the
        selection round stops it (``selection_["stop_epoch"]``).
    example_weights_ : ndarray of shape (n_samples,)
        One weight per row of ``X``: the mean over the meta-reweighted epochs
        of ``w_i`` times the size of its batch, so 1.0 means "weighted as in
        plain training" and 0 means "never trained on". With
        ``sample_weight``, the meta weight over the row's plain share of its
        batch under the sample weights (0 for a row of weight 0), so
        ``sample_weight * example_weights_`` is what the meta epochs trained
        it with. Warm-up and
        refinement epochs are not counted. Rows marked by ``clean_mask`` get
        NaN when ``train_on_clean=False``. When the final fit has no meta
        epoch (the fallback, or a reweighted fit stopped in its warm-up),
        each row's weight over the meta epochs of the
        selection round's reweighted fits that trained on it (1 for a row
        beyond the round's sample of 4,000 untrusted rows). After a warm-started ``fit`` or a
        ``partial_fit`` it covers the rows of that call, averaged over the
        epochs of that call only; an epoch cut short by ``KeyboardInterrupt``
        is left out (all NaN if none was completed).
    label_quality_ : ndarray of shape (n_samples,)
        Per row of ``X``, in [-1, 1]: the network's softmax probability of the
        row's given label minus that of the likeliest other class, at the
        row's own training step (before the update), averaged over the
        warm-up and meta epochs (not the refinement, which it chooses the
        rows of) of the final fit (its epochs when it is the fallback: the
        corrected net's own, uncorrected prediction).
        Positive means the network favoured the given label on
        average. A training record rather than the final model's fit:
        mislabelled rows stay low while the network learns the common
        patterns and while the meta step gives them weight 0, whereas a
        fitted network ends up fitting some of them. After a selection
        round, each untrusted row's value is the mean of that record
        (``net_.margins()``, which the refinement picks its rows by) and the
        row's margin under the kept kind's model of the fold that held it
        back, an out-of-fold prediction. Rank rows by it to find label
        errors: in the quality benchmark it separates corrupted from correct
        rows better than ``example_weights_``, and than cleanlab's
        cross-validated label quality in most noise scenarios (the benchmark
        page says where not). Rows not trained on
        (``clean_mask`` rows with ``train_on_clean=False``) get NaN; after a
        warm-started ``fit`` or a ``partial_fit`` it covers the epochs of that
        call, as ``example_weights_`` does.

    See Also
    --------
    sk_l2rw.MLP : The default network.

    Notes
    -----
    ``X`` may be a SciPy sparse matrix or array (a ``ColumnTransformer``
    with ``OneHotEncoder`` gives one): rows are densified a batch at a time,
    never the whole matrix, and the fit is the one dense input gives. The
    user guide's "Input types" section says how ``sample_weight`` combines
    with the reweighting and the trusted-set class weighting.

    Where the trusted set comes from, in ``fit``:

    - ``clean_val=(X_clean, y_clean)``: separate rows. They bypass any
      transformer before the estimator in a Pipeline; use ``clean_mask`` there.
    - ``clean_mask``: a boolean mask over the rows of ``X``. It is sliced with
      ``X`` by cross-validation and flows through a Pipeline with ``X``.
    - neither: a ``UserWarning``, then a class-balanced sample of up to 10
      training rows per class serves as the trusted set. That helps with class
      imbalance, not with label noise.

    A trusted set lacking some classes of ``y`` gives a ``UserWarning``, not
    an error: rows of the missing classes are still weighted, by how they
    affect the loss of the classes it has.

    A ``KeyboardInterrupt`` in any phase stops training and ``fit`` returns
    the model as trained so far, usable as usual; ``partial_fit`` or
    ``warm_start=True`` continue from it. A loss or parameter that becomes
    NaN or infinite raises :class:`~sk_l2rw.DivergedError` and leaves the
    estimator unfitted. A warning (``ConvergenceWarning``) counts the meta
    epochs in which every batch got weight 0, i.e. in which the network did
    not learn.

    Save a fitted estimator with ``pickle`` or ``joblib.dump``; it keeps its
    trusted set and can go on training (``partial_fit``). Its tensors are
    pickled through skorch, which loads a model fitted on a GPU onto the CPU
    (with a warning) where no GPU is present.

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
            weigh 1. Requested by metadata routing like ``clean_mask``.
        clean_val : tuple (X_clean, y_clean), default=None
            A separate trusted set in the feature space of ``X``, with labels
            among those of ``y``.
        clean_mask : array-like of bool, shape (n_samples,), default=None
            Marks the rows of ``X`` whose labels are trusted.

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
