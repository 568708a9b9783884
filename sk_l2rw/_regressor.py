"""The regressor: target scaling, losses, per-row residual scores."""

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_array

from ._base import MetaReweightBase
from ._net import REGRESSION_LOSSES, MetaReweightRegressorNet

# Training rows drawn as the trusted set when none is given.
_AUTO_TRUSTED_ROWS = 20


class MetaReweightRegressor(RegressorMixin, MetaReweightBase):
    """Neural-network regressor robust to corrupted targets, given trusted rows.

    The meta-reweighting of :class:`MetaReweightClassifier` with a regression
    loss: at every training step each example of the batch is weighted by the
    rectified, batch-normalised agreement between its loss gradient and the
    trusted rows' (Ren et al., 2018). Rows whose target pulls the network away
    from the trusted rows -- gross outliers, unit mix-ups, a subgroup measured
    with a biased instrument -- get weight 0.

    A ``fit`` runs ``max_epochs`` skorch epochs in the phases of the
    classifier (``history_[:, "phase"]``), without its plain warm-up by
    default: meta epochs, then refinement epochs on the rows whose mean
    absolute residual over the meta epochs is within what the trusted rows
    show (at most 1.5 times the trusted rows' 95th percentile) and the
    trusted rows.

    Targets are scaled inside the estimator by the trusted rows' mean and
    standard deviation (per output), so that corrupted targets do not set the
    scale; predictions are returned in the original units.

    Read more in the :ref:`User Guide <regression>`.

    Parameters
    ----------
    loss : {"huber", "squared_error", "absolute_error"} or callable, \
default="huber"
        The per-row loss, on the scaled targets.

        - ``"huber"``: squared within 1 trusted standard deviation, linear
          beyond. The meta step's weight of a row grows with the size of its
          gradient, so under the squared error a gross outlier that happens to
          agree with the trusted rows gets a large weight; Huber bounds it.
        - ``"squared_error"``: for targets with small, Gaussian-like errors
          and no gross ones.
        - ``"absolute_error"``: the median's loss, for errors heavy-tailed
          throughout.
        - a callable ``loss(out, y)``: two float tensors of shape
          ``(n, n_outputs)`` in, one loss per row (shape ``(n,)``) out.
    module, hidden_layer_sizes, activation, dropout, max_epochs, batch_size, \
lr, optimizer, clean_batch_size, train_on_clean, warmup_epochs, \
refine_epochs, meta_method, device, callbacks, warm_start, random_state, \
verbose
        As for :class:`MetaReweightClassifier`, with ``n_outputs`` in place of
        ``n_classes`` (a callable ``module`` is called as
        ``module(n_features, n_outputs)`` and returns outputs of shape
        ``(n, n_outputs)``). The refinement keeps rows by their residual.
        Without a trusted set, a random sample of up to 20 training rows is
        the trusted set (with a warning). Two defaults differ:

        - ``warmup_epochs="auto"`` is 0 (the classifier's is 35 % of
          ``max_epochs``, at most 17): plain epochs on every row fit a shifted
          subgroup as well as the rest, and the meta epochs that follow undo
          it only in part. With gross outliers and no shift, a warm-up helps:
          pass ``warmup_epochs=17``.
        - ``max_epochs=50``: the classifier's ``"auto"`` budget (1,000
          optimizer steps) over-trains small regression data sets.
          ``"auto"`` stays available.
    fallback : {"auto", "plain"} or None, default="auto"
        As for the classifier, with ``"plain"`` (a fresh net trained on
        ``loss`` for the whole budget) the only fallback, scored by minus the
        held-back rows' mean ``loss`` on their given targets. ``"auto"`` is
        None: the held-back rows' given targets reward fitting a shifted
        subgroup, so the round picks the plain net exactly where it is
        wrong. ``"plain"`` turns the round on.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when ``X`` has string column names.
    n_outputs_ : int
        Number of targets.
    target_mean_, target_scale_ : ndarray of shape (`n_outputs_`,)
        The trusted targets' mean and standard deviation: the network learns
        ``(y - target_mean_) / target_scale_``.
    net_ : MetaReweightRegressorNet
        The fitted skorch net.
    history_ : skorch.History
        One row per epoch, as for the classifier (``clean_loss`` is the
        trusted rows' loss in scaled units).
    selected_, selection_
        As for the classifier (with ``fallback="plain"`` the round may stop
        the final fit at the kept kind's best held-back epoch too).
    example_weights_ : ndarray of shape (n_samples,)
        One weight per row of ``X``, as for the classifier: the mean over the
        meta epochs of ``w_i`` times the batch size (1.0: as in plain
        training, 0: never trained on; with ``sample_weight``, over the
        row's plain weighted share of its batch).
    target_quality_ : ndarray of shape (n_samples,)
        Per row of ``X``: minus its mean absolute residual at its own
        training steps over the meta epochs, in trusted standard deviations
        (0 is a perfect fit). The regression counterpart of the classifier's
        ``label_quality_``: a training record, so a corrupted target stays far
        from the network's output while the meta step gives the row weight 0.
        Unlike the classifier's, it leaves out the warm-up, in which the
        network fits a systematically biased subgroup as well as the rest.
        Sort ascending to find corrupted targets. NaN for rows not trained
        on.

    See Also
    --------
    MetaReweightClassifier : The same method for noisy labels.
    sk_l2rw.datasets.make_corrupted_targets : Corrupt targets for experiments.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> torch.set_num_threads(1)
    >>> from sklearn.datasets import make_friedman1
    >>> from sk_l2rw import MetaReweightRegressor
    >>> from sk_l2rw.datasets import make_corrupted_targets
    >>> X, y = make_friedman1(n_samples=300, random_state=0)
    >>> y_bad, corrupted = make_corrupted_targets(y, corruption_rate=0.3, random_state=0)
    >>> trusted = np.zeros(len(y), bool)
    >>> trusted[np.flatnonzero(~corrupted)[:20]] = True
    >>> reg = MetaReweightRegressor(max_epochs=10, random_state=0)
    >>> reg.fit(X, y_bad, clean_mask=trusted).predict(X[:2]).shape
    (2,)
    >>> reg.target_quality_.shape
    (300,)
    """

    _parameter_constraints = {
        **MetaReweightBase._parameter_constraints,
        "loss": [StrOptions(set(REGRESSION_LOSSES)), callable],
    }
    _net_class = MetaReweightRegressorNet
    # No warm-up by default: plain epochs on every row fit a shifted subgroup
    # as well as the rest, and the meta epochs after them do not undo it
    # (regression benchmark; the docstring's warmup_epochs).
    _auto_warmup_share = 0.0
    _outputs_name = "n_outputs"
    _output_kind = "outputs"
    _validate_y = {"y_numeric": True, "multi_output": True}

    def __init__(
        self,
        *,
        loss="huber",
        module=None,
        hidden_layer_sizes=(100, 100),
        activation="relu",
        dropout=0.0,
        max_epochs=50,
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
        self.loss = loss

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, sample_weight=None, clean_val=None, clean_mask=None):
        """Fit the network, reweighting every batch against the trusted rows.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training features (numeric). A SciPy sparse matrix or array is
            densified a batch at a time.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Training targets, possibly corrupted.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row of ``X``, as in
            :meth:`MetaReweightClassifier.fit`; the target scale is the
            trusted rows' weighted mean and standard deviation.
        clean_val : tuple (X_clean, y_clean), default=None
            A separate trusted set in the feature space of ``X``.
        clean_mask : array-like of bool, shape (n_samples,), default=None
            Marks the rows of ``X`` whose targets are trusted.

        Returns
        -------
        self : MetaReweightRegressor
            The fitted estimator.
        """
        return self._fit_common(X, y, clean_val, clean_mask, sample_weight, partial=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, *, sample_weight=None, clean_val=None, clean_mask=None):
        """Train one more epoch (a meta epoch).

        The first call builds the net as ``fit`` does; later calls continue
        from it (with the first call's target scale), keeping the previous
        trusted set unless ``clean_val`` or ``clean_mask`` is given.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training features (numeric). A SciPy sparse matrix or array is
            densified a batch at a time.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Training targets, possibly corrupted.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row of ``X``, as in :meth:`fit`.
        clean_val : tuple (X_clean, y_clean), default=None
            A separate trusted set, as in :meth:`fit`.
        clean_mask : array-like of bool, shape (n_samples,), default=None
            Marks the rows of ``X`` whose targets are trusted, as in :meth:`fit`.

        Returns
        -------
        self : MetaReweightRegressor
            The estimator, trained one more epoch.
        """
        return self._fit_common(X, y, clean_val, clean_mask, sample_weight, partial=True)

    def predict(self, X):
        """Predicted targets, in the units of ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            As ``y`` was at fit.
        """
        out = self._predict_raw(X) * self.target_scale_ + self.target_mean_
        return out[:, 0] if self._y_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    # -- what the base asks of a task ----------------------------------------------

    @property
    def _fitted_extra(self):
        return ("target_quality_",)

    def _n_outputs(self):
        return self.n_outputs_

    def _net_params(self):
        return {"loss": self.loss}

    def _encode_targets(self, y, *, warm, classes):
        """Targets as a float array of shape (n, n_outputs); checks their shape and spread."""
        y = np.asarray(y, dtype=np.float64)
        if len(y) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 samples; got n_samples = {len(y)}."
            )
        y2 = y.reshape(len(y), -1)
        if warm:
            if y2.shape[1] != self.n_outputs_:
                raise ValueError(
                    f"y has {y2.shape[1]} outputs; the fitted estimator has {self.n_outputs_}."
                )
        else:
            self._y_1d = y.ndim == 1
            self.n_outputs_ = y2.shape[1]
        if np.all(np.ptp(y2, axis=0) == 0):
            raise ValueError(
                "y is constant: every target has the same value in every row; there is "
                "nothing to learn."
            )
        return y2

    def _check_clean_targets(self, y_clean, n_rows):
        y_clean = check_array(
            y_clean,
            ensure_2d=False,
            dtype=np.float64,
            input_name="clean_val[1] (y_clean)",
        )
        y2 = y_clean.reshape(len(y_clean), -1)
        if len(y_clean) != n_rows or y2.shape[1] != self.n_outputs_ or y_clean.ndim > 2:
            raise ValueError(
                "clean_val[1] (y_clean) must have one target row per row of X_clean "
                f"({n_rows}) and {self.n_outputs_} output(s) like y; got shape "
                f"{y_clean.shape}."
            )
        return y2

    def _sample_trusted(self, y, rng):
        n = min(_AUTO_TRUSTED_ROWS, len(y))
        return rng.permutation(len(y))[:n], f"a random sample of {n} training rows"

    def _prepare_targets(self, y_train, trusted, *, warm):
        """Scale the targets by the trusted rows' mean and std, weighted by their
        sample weights (a warm start keeps its scale)."""
        if trusted is not None:
            X_clean, y_clean, rows, weight = trusted
            if len(y_clean) < 2:
                raise ValueError(
                    "The trusted set must have at least 2 rows to set the target scale; "
                    f"got {len(y_clean)}."
                )
            mean = np.average(y_clean, axis=0, weights=weight)
            scale = np.sqrt(np.average((y_clean - mean) ** 2, axis=0, weights=weight))
            if np.any(scale == 0):
                raise ValueError(
                    "The trusted targets are constant (for outputs "
                    f"{np.flatnonzero(scale == 0).tolist()}): they must vary to set the "
                    "target scale."
                )
            if not warm:
                self.target_mean_, self.target_scale_ = mean, scale
            trusted = X_clean, self._scale(y_clean), rows, weight
        return self._scale(y_train), trusted

    def _scale(self, y):
        return ((y - self.target_mean_) / self.target_scale_).astype(np.float32)

    def _record_fit(self, n_rows, rows, records):
        self.target_quality_ = np.full(n_rows, np.nan)
        self.target_quality_[rows] = records
