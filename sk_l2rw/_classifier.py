"""The scikit-learn estimator: parameters, validation, trusted-set routing."""

import copy
import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from torch import nn

from ._meta import METHODS
from ._modules import _ACTIVATIONS, MLP
from ._net import DivergedError, MetaReweightNet, trusted_class_weight

_OPTIMIZERS = {
    "adam": (torch.optim.Adam, {}),
    "adamw": (torch.optim.AdamW, {}),
    "sgd": (torch.optim.SGD, {"momentum": 0.9}),
}
# Trusted rows per class drawn from the training data when none are given.
_AUTO_TRUSTED_PER_CLASS = 10


class MetaReweightClassifier(ClassifierMixin, BaseEstimator):
    """Neural-network classifier robust to noisy labels and class imbalance.

    At every training step each example of the batch is weighted by how much a
    small SGD step on it would lower the loss on a trusted ("clean") set --
    the rectified, batch-normalised agreement between its gradient and the
    trusted-set gradient (Ren et al., "Learning to Reweight Examples for Robust
    Deep Learning", ICML 2018). Examples that pull against the trusted set,
    such as mislabelled ones, get weight 0. The weighting has no
    hyperparameter of its own.

    By default a ``fit`` runs three phases: plain warm-up epochs
    (``warmup_epochs``, 70 % of ``max_epochs``), then the meta-reweighted
    epochs, then refinement epochs (``refine_epochs``) on the rows whose label
    the network favoured during training and the trusted rows. The paper's
    method alone is ``warmup_epochs=0, refine_epochs=0``. The user guide says
    why, and the quality benchmark shows what each part is worth.

    Parameters
    ----------
    module : None, torch.nn.Module or callable, default=None
        The network, mapping a float batch of shape ``(n, n_features)`` to
        logits of shape ``(n, n_classes)``. ``None`` builds an :class:`MLP`
        from ``hidden_layer_sizes``, ``activation`` and ``dropout``. A callable
        (such as a module class) is called as ``module(n_features, n_classes)``
        at fit, so ``random_state`` seeds its initialisation. An instance is
        deep-copied at every fit, so refits start from the same weights.
    hidden_layer_sizes : tuple of int, default=(100,)
        Hidden widths of the default MLP (ignored when ``module`` is given).
    activation : {"relu", "tanh", "gelu", "elu", "leaky_relu"}, default="relu"
        Activation of the default MLP.
    dropout : float in [0, 1), default=0.0
        Dropout of the default MLP.
    max_epochs : int, default=50
        Passes over the training rows: ``warmup_epochs`` plain ones, then
        meta-reweighted ones (refinement epochs come on top).
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
        How many of the ``max_epochs`` epochs of ``fit`` come first as plain
        epochs (mean loss over the batch, each class weighted to its share of
        the trusted set; unweighted when the trusted set lacks a class) before
        the meta-reweighted ones. ``"auto"`` is
        ``7 * max_epochs // 10`` (0 for ``max_epochs=1``); an integer must
        be smaller than ``max_epochs``. A network learns the patterns shared
        by most rows before it memorises mislabelled ones, so the plain epochs
        give a sound start and the per-row training record that picks the
        rows to refine on (``label_quality_``), while the meta step alone,
        from scratch, with few trusted rows, weights rows by their proximity
        to them. In the quality benchmark this default lifted accuracy most
        where the trusted set is small (1 or 3 rows per class) or the noise
        is class-dependent. ``partial_fit`` and a warm-started ``fit`` take
        no warm-up. Paper-exact: ``warmup_epochs=0, refine_epochs=0``.
    refine_epochs : "auto" or int, default="auto"
        Passes, after the ``max_epochs`` ones, of plain training (same
        optimizer) on the training rows whose given label the network
        favoured during training (``label_quality_ > 0``) and on every trusted
        row. The loss is the mean over those rows with each class weighted to
        its share of the trusted set (the distribution whose loss the meta
        step lowers; unweighted when the trusted set lacks a class).
        ``"auto"`` is ``max_epochs``. Not run by ``partial_fit``.
        Paper-exact: ``warmup_epochs=0, refine_epochs=0``.
    meta_method : {"auto", "fast", "general", "recipe"}, default="auto"
        How the exact weights are computed. ``"fast"``: per-layer closed form
        for ``Sequential`` stacks of ``Linear`` layers and elementwise
        activations; ``"general"``: double backward, any module;
        ``"recipe"``: the paper's autograd-through-the-virtual-step (slowest,
        the reference). ``"auto"`` picks ``"fast"`` where it applies. All give
        the same weights to float tolerance.
    device : str or torch.device, default="cpu"
        Where the network runs, e.g. ``"cuda"``.
    callbacks : list of skorch callbacks or (name, callback) pairs, default=None
        Added to skorch's default callbacks, e.g.
        ``skorch.callbacks.EarlyStopping(monitor="train_loss")`` or an
        ``LRScheduler``. Deep-copied at every fit; the fitted copies are in
        ``net_.callbacks_``.
    warm_start : bool, default=False
        When True, ``fit`` on a fitted estimator continues training its net
        for ``max_epochs`` more epochs (with the current ``lr`` and
        ``batch_size``; the architecture parameters are ignored) instead of
        starting afresh. Without a new ``clean_val`` or ``clean_mask`` the
        previous trusted set is kept.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, dropout and any sampling, without
        touching the caller's global torch or numpy random state. ``None``
        draws from torch's global generator.
    verbose : int, default=0
        Print a per-epoch table when positive.

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
        Per epoch: ``train_loss`` (unweighted mean loss of the training rows),
        ``clean_loss`` (trusted loss before each step), ``mean_weight`` (mean
        of ``w_i * batch size``: 1, or 0 for an all-zero batch),
        ``zero_weight_frac`` (share of rows given weight 0), ``max_weight``
        (largest single ``w_i``), ``ess_frac`` (effective sample size
        ``1 / sum w_i^2`` over the batch size; 1 is uniform) and
        ``all_zero_batches`` (steps skipped because every weight was 0). The
        weight figures and ``clean_loss`` are absent from warm-up epochs;
        refinement epochs are not in the history.
    example_weights_ : ndarray of shape (n_samples,)
        One weight per row of ``X``: the mean over the meta-reweighted epochs
        of ``w_i`` times the size of its batch, so 1.0 means "weighted as in
        plain training" and 0 means "never trained on". Warm-up and
        refinement epochs are not counted. Rows marked by ``clean_mask`` get
        NaN when ``train_on_clean=False``. After a warm-started ``fit`` or a
        ``partial_fit`` it covers the rows of that call, averaged over the
        epochs of that call only; an epoch cut short by ``KeyboardInterrupt``
        is left out (all NaN if none was completed).
    label_quality_ : ndarray of shape (n_samples,)
        Per row of ``X``, in [-1, 1]: the network's softmax probability of the
        row's given label minus that of the likeliest other class, at the
        row's own training step (before the update), averaged over the
        ``max_epochs`` epochs (warm-up and meta, not refinement). Positive
        means the network favoured the given label on average. A training
        record rather than the final model's fit: mislabelled rows stay low
        while the network learns the common patterns and while the meta step
        gives them weight 0, whereas a fitted network ends up fitting some of
        them. Rank rows by it to find label errors: in the quality benchmark
        it separates corrupted from correct rows better than
        ``example_weights_`` and at least as well as cleanlab's cross-validated
        label quality. Rows not trained on (``clean_mask`` rows with
        ``train_on_clean=False``) get NaN; after a warm-started ``fit`` or a
        ``partial_fit`` it covers the epochs of that call, as
        ``example_weights_`` does.

    See Also
    --------
    sk_l2rw.MLP : The default network.

    Notes
    -----
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

    A ``KeyboardInterrupt`` stops training and ``fit`` returns the model as
    trained so far, usable as usual; ``partial_fit`` or ``warm_start=True``
    continue from it. A loss or parameter that becomes NaN or infinite raises
    :class:`~sk_l2rw.DivergedError` and leaves the estimator unfitted. A
    warning (``ConvergenceWarning``) counts the epochs in which every batch
    got weight 0, i.e. in which the network did not learn.

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
    """

    _parameter_constraints = {
        "module": [None, callable],
        "hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions(set(_ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "optimizer": [StrOptions(set(_OPTIMIZERS)), type],
        "clean_batch_size": [None, Interval(Integral, 1, None, closed="left")],
        "train_on_clean": ["boolean"],
        "warmup_epochs": [StrOptions({"auto"}), Interval(Integral, 0, None, closed="left")],
        "refine_epochs": [StrOptions({"auto"}), Interval(Integral, 0, None, closed="left")],
        "meta_method": [StrOptions(set(METHODS))],
        "device": [str, torch.device],
        "callbacks": [None, list],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        module=None,
        hidden_layer_sizes=(100,),
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
        device="cpu",
        callbacks=None,
        warm_start=False,
        random_state=None,
        verbose=0,
    ):
        self.module = module
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.clean_batch_size = clean_batch_size
        self.train_on_clean = train_on_clean
        self.warmup_epochs = warmup_epochs
        self.refine_epochs = refine_epochs
        self.meta_method = meta_method
        self.device = device
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, clean_val=None, clean_mask=None):
        """Fit the network, reweighting every batch against the trusted set.

        With ``warm_start=True`` and a fitted net, training continues from it
        for ``max_epochs`` more epochs, keeping the previous trusted set unless
        ``clean_val`` or ``clean_mask`` is given.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training features (numeric).
        y : array-like of shape (n_samples,)
            Training labels, possibly noisy.
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
        warm = self.warm_start and hasattr(self, "net_")
        return self._fit(
            X, y, clean_val, clean_mask, epochs=self.max_epochs, warm=warm, warmup=not warm
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, *, classes=None, clean_val=None, clean_mask=None):
        """Train one more epoch.

        The first call builds the net as ``fit`` does. Later calls continue
        from it, keeping the previous trusted set unless ``clean_val`` or
        ``clean_mask`` is given; their ``y`` must hold classes of the first.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training features (numeric).
        y : array-like of shape (n_samples,)
            Training labels, possibly noisy.
        classes : array-like of shape (n_classes,), default=None
            Every class, on the first call, when ``y`` may not show them all.
            Ignored afterwards.
        clean_val : tuple (X_clean, y_clean), default=None
            A separate trusted set, as in :meth:`fit`.
        clean_mask : array-like of bool, shape (n_samples,), default=None
            Marks the rows of ``X`` whose labels are trusted, as in :meth:`fit`.

        Returns
        -------
        self : MetaReweightClassifier
            The estimator, trained one more epoch.
        """
        warm = hasattr(self, "net_")
        return self._fit(
            X, y, clean_val, clean_mask, epochs=1, warm=warm, classes=classes, refine=False
        )

    def __sklearn_is_fitted__(self):
        # A fit that diverged removes net_ but may leave classes_ behind.
        return hasattr(self, "net_")

    def _fit(
        self, X, y, clean_val, clean_mask, *, epochs, warm, warmup=False, classes=None, refine=True
    ):
        warmup_epochs = self._warmup_epochs() if warmup else 0
        if not warm:
            # A fresh fit that fails leaves no stale net behind new classes_.
            self.__dict__.pop("net_", None)
        device = self._check_device()
        optimizer = self._check_optimizer()
        X, y = self._validate(X, y, reset=not warm)
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
        y_enc = np.searchsorted(self.classes_, y)
        rng = check_random_state(self.random_state)
        if warm and clean_val is None and clean_mask is None:
            X_train, y_train, trusted, rows = X, y_enc, None, np.arange(len(X))
            trusted_rows = np.arange(0)
        else:
            X_train, y_train, X_clean, y_clean, rows, trusted_rows = self._split_trusted(
                X, y_enc, clean_val, clean_mask, rng
            )
            trusted = X_clean, y_clean
        n_classes = len(self.classes_)
        seed = None if self.random_state is None else int(rng.randint(np.iinfo(np.int32).max))
        if warm and seed is not None:
            # Another shuffle on each call, still fixed by random_state.
            seed = (seed + len(self.net_.history)) % np.iinfo(np.int32).max
        with _seeded(seed, device):
            if warm:
                self.net_.set_params(lr=self.lr, batch_size=self.batch_size)
            else:
                net = self._new_net(n_classes, optimizer, device)
                self._check_module_output(net, X[:2], n_classes)
                self.net_ = net
            if trusted is not None:
                self.net_.set_trusted(*trusted)
            first_epoch = len(self.net_.history)
            self.net_.warmup_epochs = warmup_epochs
            try:
                # partial_fit: fit would initialize the (already checked) net again.
                self.net_.partial_fit(X_train, y_train, epochs=epochs)
                # skorch ends training quietly on KeyboardInterrupt; then stop.
                interrupted = len(self.net_.history) - first_epoch < epochs or (
                    "train_loss" not in self.net_.history[-1]
                )
                if refine and not interrupted:
                    try:
                        self._refine(X_train, y_train, self._kept_rows(trusted_rows))
                    except KeyboardInterrupt:
                        # As skorch does for its epochs: stop, keep the model.
                        pass
            except DivergedError:
                # Never leave a NaN model behind: the estimator is unfitted again.
                for name in ("net_", "history_", "example_weights_", "label_quality_"):
                    self.__dict__.pop(name, None)
                raise
        self.history_ = self.net_.history
        self._warn_skipped_epochs(first_epoch)
        n_epochs = self.net_.weight_epochs_
        weights = self.net_.weight_sums_ / (n_epochs if n_epochs else np.nan)
        self.example_weights_ = np.full(len(X), np.nan)
        self.example_weights_[rows] = weights[: len(rows)]
        self.label_quality_ = np.full(len(X), np.nan)
        self.label_quality_[rows] = self._margins()[: len(rows)]
        return self

    def _warmup_epochs(self):
        """The warm-up epochs of a fresh ``fit``: ``"auto"`` is 70 % of ``max_epochs``."""
        if self.warmup_epochs == "auto":
            return 7 * self.max_epochs // 10
        if self.warmup_epochs >= self.max_epochs:
            raise ValueError(
                f"warmup_epochs must be smaller than max_epochs (or 'auto'), so that at "
                f"least one epoch takes meta steps; got warmup_epochs={self.warmup_epochs} "
                f"and max_epochs={self.max_epochs}."
            )
        return self.warmup_epochs

    def _margins(self):
        """Each training row's label margin, averaged over the epochs of the last call."""
        n_epochs = self.net_.margin_epochs_
        return self.net_.margin_sums_ / (n_epochs if n_epochs else np.nan)

    def _kept_rows(self, trusted_rows):
        """Training rows to refine on: positive mean margin, and every trusted row."""
        keep = self._margins() > 0
        keep[trusted_rows] = True
        return np.flatnonzero(keep)

    def _refine(self, X, y, keep):
        """Plain training on the ``keep`` rows, classes weighted to the trusted set."""
        epochs = self.max_epochs if self.refine_epochs == "auto" else self.refine_epochs
        net = self.net_
        if not epochs or not len(keep):
            return
        X_keep = torch.as_tensor(X[keep], device=net.device)
        y_keep = torch.as_tensor(y[keep], device=net.device)
        class_weight = trusted_class_weight(net.trusted_y_, y[keep], len(self.classes_), net.device)
        net.module_.train()
        for _ in range(epochs):
            order = torch.randperm(len(keep)).to(net.device)
            for start in range(0, len(keep), self.batch_size):
                idx = order[start : start + self.batch_size]
                net.optimizer_.zero_grad()
                loss = nn.functional.cross_entropy(
                    net.module_(X_keep[idx]), y_keep[idx], weight=class_weight
                )
                if not torch.isfinite(loss):
                    raise DivergedError(
                        f"Training diverged in the refinement after epoch {len(net.history)}: "
                        f"the loss became {loss.item()}. Try a smaller lr (it is {self.lr})."
                    )
                loss.backward()
                net.optimizer_.step()

    def _new_net(self, n_classes, optimizer, device):
        module = self._build_module(n_classes)
        net = MetaReweightNet(
            module,
            criterion=nn.CrossEntropyLoss,
            optimizer=optimizer[0],
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=None,
            classes=list(range(n_classes)),
            device=device,
            verbose=self.verbose,
            callbacks=None if self.callbacks is None else copy.deepcopy(list(self.callbacks)),
            meta_method=self.meta_method,
            clean_batch_size=self.clean_batch_size,
            **{f"optimizer__{k}": v for k, v in optimizer[1].items()},
        )
        return net.initialize()

    def _warn_skipped_epochs(self, first_epoch):
        epochs = [e for e in self.net_.history[first_epoch:] if "all_zero_batches" in e]
        dead = [e for e in epochs if e["all_zero_batches"] == len(e["batches"]) > 0]
        if dead:
            warnings.warn(
                f"Every training batch got weight 0 in {len(dead)} of {len(epochs)} "
                "epochs, so the network did not learn in them: no training row's "
                "gradient agreed with the trusted set's. Check that the trusted "
                "labels are right and encoded like y, or give a larger trusted set.",
                ConvergenceWarning,
                stacklevel=4,
            )

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        # skorch's DataLoader draws a seed from the global generator: keep the
        # caller's random state untouched by prediction.
        with torch.random.fork_rng(devices=[]):
            return self.net_.predict_proba(X).astype(np.float64)

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    # -- helpers ---------------------------------------------------------------

    def _validate(self, X, y="no_validation", *, reset):
        try:
            return validate_data(self, X, y, dtype=np.float32, reset=reset)
        except ValueError as exc:
            if "could not convert" not in str(exc):
                raise
            raise ValueError(
                "X must be numeric; encode string or categorical columns first "
                f"(e.g. with sklearn.preprocessing.OneHotEncoder): {exc}"
            ) from None

    def _check_device(self):
        try:
            device = torch.device(self.device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"device={self.device!r} is not a torch device: {exc}") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"device={self.device!r} but no CUDA GPU is available; use device='cpu'."
            )
        return device

    def _check_optimizer(self):
        if isinstance(self.optimizer, str):
            return _OPTIMIZERS[self.optimizer]
        if not issubclass(self.optimizer, torch.optim.Optimizer):
            raise TypeError(
                "optimizer must be one of "
                f"{sorted(_OPTIMIZERS)} or a torch.optim.Optimizer subclass; "
                f"got {self.optimizer!r}."
            )
        return self.optimizer, {}

    def _build_module(self, n_classes):
        if self.module is None:
            sizes = tuple(self.hidden_layer_sizes)
            if not all(isinstance(s, Integral) and s > 0 for s in sizes):
                raise ValueError(
                    "hidden_layer_sizes must be a tuple of positive ints; "
                    f"got {self.hidden_layer_sizes!r}."
                )
            return MLP(self.n_features_in_, n_classes, sizes, self.activation, self.dropout)
        if isinstance(self.module, nn.Module):
            return copy.deepcopy(self.module)
        module = self.module(self.n_features_in_, n_classes)
        if not isinstance(module, nn.Module):
            raise TypeError(
                "module(n_features, n_classes) must return a torch.nn.Module; "
                f"got {type(module).__name__}."
            )
        return module

    def _check_module_output(self, net, X, n_classes):
        module = net.module_
        was_training = module.training
        module.eval()
        with torch.no_grad():
            out = module(torch.as_tensor(X, device=net.device))
        module.train(was_training)
        shape = tuple(getattr(out, "shape", ()))
        if not isinstance(out, torch.Tensor) or shape != (len(X), n_classes):
            raise ValueError(
                "module must map a float batch of shape (n_rows, n_features) to "
                f"logits of shape (n_rows, {n_classes}); for {len(X)} rows it "
                f"returned {type(out).__name__} of shape {shape}."
            )

    def _split_trusted(self, X, y, clean_val, clean_mask, rng):
        """Training rows, trusted rows, the X rows trained on, the trusted ones among them."""
        n = len(X)
        if clean_val is not None and clean_mask is not None:
            raise ValueError("Pass either clean_val or clean_mask, not both.")
        if clean_val is not None:
            X_clean, y_clean = self._check_clean_val(clean_val)
            rows = np.arange(n)
            if self.train_on_clean:
                return (
                    np.concatenate([X, X_clean]),
                    np.concatenate([y, y_clean]),
                    X_clean,
                    y_clean,
                    rows,
                    np.arange(n, n + len(y_clean)),
                )
            return X, y, X_clean, y_clean, rows, np.arange(0)
        if clean_mask is not None:
            mask = _check_clean_mask(clean_mask, n)
            X_clean, y_clean = X[mask], y[mask]
            self._warn_missing_classes(y_clean, "clean_mask")
            if self.train_on_clean:
                return X, y, X_clean, y_clean, np.arange(n), np.flatnonzero(mask)
            rows = np.flatnonzero(~mask)
            return X[rows], y[rows], X_clean, y_clean, rows, np.arange(0)
        warnings.warn(
            "No trusted set given (clean_val or clean_mask): a class-balanced "
            f"sample of up to {_AUTO_TRUSTED_PER_CLASS} training rows per class "
            "is used. This helps with class imbalance but not with noisy labels.",
            UserWarning,
            stacklevel=3,
        )
        picked = np.concatenate(
            [
                rng.permutation(np.flatnonzero(y == k))[:_AUTO_TRUSTED_PER_CLASS]
                for k in range(len(self.classes_))
            ]
        )
        return X, y, X[picked], y[picked], np.arange(n), picked

    def _check_clean_val(self, clean_val):
        if not isinstance(clean_val, (tuple, list)) or len(clean_val) != 2:
            raise TypeError(
                "clean_val must be a pair (X_clean, y_clean); got "
                f"{type(clean_val).__name__}"
                + (f" of length {len(clean_val)}" if hasattr(clean_val, "__len__") else "")
                + "."
            )
        X_clean, y_clean = clean_val
        try:
            X_clean = self._validate(X_clean, reset=False)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"clean_val[0] (X_clean): {exc}") from None
        y_clean = check_array(
            y_clean, ensure_2d=False, dtype=None, input_name="clean_val[1] (y_clean)"
        )
        if y_clean.ndim != 1 or len(y_clean) != len(X_clean):
            raise ValueError(
                "clean_val[1] (y_clean) must be 1-D with one label per row of "
                f"X_clean ({len(X_clean)}); got shape {y_clean.shape}."
            )
        unseen = np.setdiff1d(y_clean, self.classes_)
        if len(unseen):
            raise ValueError(
                f"clean_val[1] (y_clean) has labels not seen in y: {unseen.tolist()}. "
                f"Classes in y: {self.classes_.tolist()}."
            )
        y_clean = np.searchsorted(self.classes_, y_clean)
        self._warn_missing_classes(y_clean, "clean_val")
        return X_clean, y_clean

    def _warn_missing_classes(self, y_clean, name):
        missing = np.setdiff1d(np.arange(len(self.classes_)), y_clean)
        if len(missing):
            warnings.warn(
                f"The trusted set ({name}) has no rows of classes "
                f"{self.classes_[missing].tolist()}: examples of those classes "
                "are weighted only by how they affect the other classes.",
                UserWarning,
                stacklevel=4,
            )


def _check_clean_mask(clean_mask, n):
    mask = check_array(
        clean_mask, ensure_2d=False, ensure_min_samples=0, dtype=None, input_name="clean_mask"
    )
    if mask.dtype != bool:
        raise TypeError(f"clean_mask must be a boolean array; got dtype {mask.dtype}.")
    if mask.shape != (n,):
        raise ValueError(
            f"clean_mask must have one entry per row of X ({n}); got shape {mask.shape}."
        )
    if not mask.any():
        raise ValueError("clean_mask marks no row as trusted; mark at least one.")
    if mask.all():
        raise ValueError(
            "clean_mask marks every row as trusted; there is nothing to reweight. "
            "Fit a plain classifier instead, or leave the noisy rows unmarked."
        )
    return mask


@contextmanager
def _seeded(seed, device):
    """Seed torch inside the block, restoring the caller's RNG state after."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield
