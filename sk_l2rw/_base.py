"""What every estimator shares: parameters, validation, trusted-set routing,
the phases of a fit, and building and fitting the net held as ``net_``.

A task (classification, regression) subclasses :class:`MetaReweightBase` and
supplies its targets' encoding, its net and what it reads off the fitted net.
"""

import copy
import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from skorch.callbacks import ProgressBar
from torch import nn

from . import _selection
from ._data import check_weights, dense_rows, vstack, weights_in_use
from ._meta import METHODS
from ._modules import _ACTIVATIONS, MLP
from ._net import FALLBACKS, DivergedError

# foreach: the same updates, bit for bit, as the per-tensor loop torch takes
# on the CPU by default, in a few calls instead of one per tensor.
_OPTIMIZERS = {
    "adam": (torch.optim.Adam, {"foreach": True}),
    "adamw": (torch.optim.AdamW, {"foreach": True}),
    "sgd": (torch.optim.SGD, {"momentum": 0.9, "foreach": True}),
}
# Shares of max_epochs the "auto" phases take (at least one epoch is meta).
_AUTO_WARMUP_SHARE = 0.35
_AUTO_REFINE_SHARE = 0.5
# max_epochs="auto": enough epochs for AUTO_STEPS optimizer steps, within
# [AUTO_MIN_EPOCHS, AUTO_MAX_EPOCHS] (a few hundred rows get 1,000 steps, not
# 50; large data keeps 50 passes).
AUTO_STEPS = 1000
AUTO_MIN_EPOCHS = 50
AUTO_MAX_EPOCHS = 500


def auto_epochs(n_rows, batch_size):
    """The epochs of ``max_epochs="auto"`` for ``n_rows`` training rows."""
    batches = max(1, -(-int(n_rows) // int(batch_size)))
    return int(min(AUTO_MAX_EPOCHS, max(AUTO_MIN_EPOCHS, -(-AUTO_STEPS // batches))))


# Fitted attributes a diverged fit removes.
_FITTED = (
    "net_",
    "history_",
    "max_epochs_",
    "example_weights_",
    "selected_",
    "selection_",
)


class MetaReweightBase(BaseEstimator):
    """Base of the meta-reweighting estimators (not for direct use).

    Subclasses set ``_net_class`` and implement :meth:`_encode_targets`,
    :meth:`_check_clean_targets`, :meth:`_sample_trusted`, :meth:`_n_outputs`,
    :meth:`_prepare_targets` (optional),
    :meth:`_net_params` and :meth:`_record_fit`; their docstrings document the
    parameters.
    """

    _parameter_constraints = {
        "module": [None, callable],
        "hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions(set(_ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "max_epochs": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "optimizer": [StrOptions(set(_OPTIMIZERS)), type],
        "clean_batch_size": [None, Interval(Integral, 1, None, closed="left")],
        "train_on_clean": ["boolean"],
        "warmup_epochs": [StrOptions({"auto"}), Interval(Integral, 0, None, closed="left")],
        "refine_epochs": [StrOptions({"auto"}), Interval(Integral, 0, None, closed="left")],
        "meta_method": [StrOptions(set(METHODS))],
        "fallback": [StrOptions({"auto", *FALLBACKS}), None],
        "device": [str, torch.device],
        "callbacks": [None, list],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # Under metadata routing the trusted set reaches fit and partial_fit
    # without a set_*_request call: it is this estimator's own metadata, and
    # learning_curve routes fit's parameters to partial_fit as well.
    __metadata_request__fit = {"clean_mask": True, "clean_val": True}
    __metadata_request__partial_fit = {"clean_mask": True, "clean_val": True}

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
        self.fallback = fallback
        self.device = device
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_is_fitted__(self):
        # A fit that diverged removes net_ but may leave other attributes behind.
        return hasattr(self, "net_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # -- fitting ------------------------------------------------------------------

    def _fit_common(
        self, X, y, clean_val, clean_mask, sample_weight=None, *, partial, classes=None
    ):
        """``fit`` (``partial=False``) and ``partial_fit`` (one meta epoch)."""
        warm = hasattr(self, "net_") and (partial or self.warm_start)
        fallback = self._fallback_plan(warm or partial)
        if not warm:
            # A fresh fit that fails leaves nothing of an earlier fit behind.
            self._unfit()
        device = self._check_device()
        optimizer = self._check_optimizer()
        X, y = self._validate(X, y, reset=not warm)
        n_rows = X.shape[0]
        sample_weight = check_weights(sample_weight, X)
        y = self._encode_targets(y, warm=warm, classes=classes)
        rng = check_random_state(self.random_state)
        if warm and clean_val is None and clean_mask is None:
            X_train, y_train, trusted, rows = X, y, None, np.arange(n_rows)
            train_weight = sample_weight
        else:
            X_train, y_train, trusted, rows, train_weight = self._split_trusted(
                X, y, clean_val, clean_mask, rng, sample_weight
            )
        train_weight, trusted = self._task_weights(y_train, train_weight, trusted)
        train_weight, trusted = weights_in_use(train_weight, trusted)
        y_train, trusted = self._prepare_targets(y_train, trusted, warm=warm)
        # Phases of this call: a fresh fit warms up; partial_fit is one meta epoch.
        if partial:
            epochs, warmup, refine = 1, 0, 0
        else:
            epochs, warmup, refine = self._budget(len(y_train), warm)
            self.max_epochs_ = epochs
        seed = None if self.random_state is None else int(rng.randint(np.iinfo(np.int32).max))
        if warm and seed is not None:
            # Another shuffle on each call, still fixed by random_state.
            seed = (seed + len(self.net_.history)) % np.iinfo(np.int32).max
        with _seeded(seed, device):
            folds = []
            self.selected_, self.selection_ = "reweighted", None
            if fallback is not None:
                # A forked generator: the final fit draws (initial weights
                # included) as a fit without a fallback would.
                with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
                    folds = self._selection_round(
                        optimizer, device, (X_train, y_train, train_weight), trusted, fallback
                    )
                if folds[-1].stopped_:
                    # skorch stops quietly on KeyboardInterrupt: the fit ends there,
                    # with the reweighted model of the fold it stopped in.
                    self.net_ = folds[-1]
                    self.history_ = self.net_.history
                    self._record_rows(n_rows, rows, [])
                    return self
                self.selected_, self.selection_ = self._choose(folds)
            if warm:
                self.net_.set_params(lr=self.lr, batch_size=self.batch_size)
            else:
                net = self._new_net(optimizer, device)
                self._check_module_output(net, X)
                self.net_ = net
            if fallback is not None and self.verbose:
                print(f"Final fit ({self.selected_} kind) on every row:")
            self.net_.set_sample_weight(train_weight)
            if trusted is not None:
                self.net_.set_trusted(*trusted)
            elif warm:
                # The kept trusted set: its rows are not among this call's rows.
                self.net_.trusted_rows_ = np.arange(0)
            # The net's max_epochs is the length of the call, which its phases
            # divide; a kept fallback is a fresh fit of the budget; the round
            # may cut either kind's schedule short.
            stop = None if self.selection_ is None else self.selection_["stop_epoch"]
            n, warmup, refine = _selection.final_schedule(
                self.selected_, stop, epochs, warmup, refine
            )
            kept = folds and self.selected_ == "fallback"
            self.net_.set_params(
                max_epochs=n,
                warmup_epochs=warmup,
                refine_epochs=refine,
                fallback=fallback if kept else None,
                corruption=_selection.fallback_corruption(folds) if kept else None,
            )
            first_epoch = len(self.net_.history)
            try:
                # partial_fit: fit would initialize the (already checked) net again.
                self.net_.partial_fit(X_train, y_train, epochs=n)
            except DivergedError:
                self._unfit()
                raise
        self.history_ = self.net_.history
        self._warn_skipped_epochs(first_epoch)
        self._record_rows(n_rows, rows, folds)
        return self

    def _record_rows(self, n_rows, rows, folds):
        """``example_weights_`` and the task's per-row record, per row of ``X``
        (see :func:`._selection.row_records` for what a selection round adds)."""
        weights, records = _selection.row_records(
            self.net_, folds, self.selected_, blend=self._blend_out_of_fold
        )
        self.example_weights_ = np.full(n_rows, np.nan)
        self.example_weights_[rows] = weights[: len(rows)]
        self._record_fit(n_rows, rows, records[: len(rows)])

    def _selection_round(self, optimizer, device, train, trusted, fallback):
        """The selection round's nets (:func:`._selection.fit_folds`), built
        like the final fit's with the display callbacks only; a diverged fold
        leaves the estimator unfitted."""

        def make_net():
            net = self._new_net(optimizer, device, callbacks="display")
            self._check_module_output(net, train[0])
            return net

        try:
            return _selection.fit_folds(
                make_net,
                train,
                trusted,
                fallback=fallback,
                budget=lambda n_rows: self._budget(n_rows, False),
                verbose=self.verbose,
            )
        except DivergedError:
            self._unfit()
            raise

    def _choose(self, folds):
        """``selected_`` and ``selection_`` (:func:`._selection.choose`)."""
        return _selection.choose(folds, verbose=self.verbose)

    # Whether the per-row record is averaged with the selection round's
    # out-of-fold record (measured for classification only).
    _blend_out_of_fold = False
    # The share of max_epochs (of at most AUTO_MIN_EPOCHS) that
    # warmup_epochs="auto" stands for, per task.
    _auto_warmup_share = _AUTO_WARMUP_SHARE
    # The fallbacks a task offers, and the one ``fallback="auto"`` stands for.
    _fallbacks = (None, "plain")
    _auto_fallback = None

    def _fallback_plan(self, continued):
        """The fallback of a call (None without one): only a fresh ``fit`` has
        one (``continued``: a warm start or ``partial_fit`` continues the model
        it has)."""
        fallback = self._auto_fallback if self.fallback == "auto" else self.fallback
        if fallback not in self._fallbacks:
            raise ValueError(
                f"fallback={self.fallback!r} is not available to "
                f"{type(self).__name__}; choose one of {['auto', *self._fallbacks, None]}."
            )
        if fallback is None or continued:
            return None
        return fallback

    def _budget(self, n_rows, warm):
        """``(max_epochs, warmup, refine)`` of a ``fit`` on ``n_rows`` training
        rows: ``max_epochs``, or for ``"auto"`` :func:`auto_epochs`; the
        warm-up and refinement epochs (the meta epochs are the rest)."""
        if self.max_epochs == "auto":
            n = auto_epochs(n_rows, self.batch_size)
        else:
            n = self.max_epochs
        return (n, *self._phase_epochs(n, warm))

    def _phase_epochs(self, n, warm):
        """Warm-up and refinement epochs of a ``fit`` of ``n`` epochs."""
        auto_w, auto_r = self.warmup_epochs == "auto", self.refine_epochs == "auto"
        # The warm-up's passes over noisy labels are capped at what 50 epochs
        # give (17 for the classifier): a longer budget goes to meta and
        # refinement epochs.
        share = self._auto_warmup_share
        warmup = int(share * min(n, AUTO_MIN_EPOCHS)) if auto_w else self.warmup_epochs
        refine = int(_AUTO_REFINE_SHARE * n) if auto_r else self.refine_epochs
        if warm:
            warmup = 0  # a warm-started fit continues: no warm-up
        if warmup + refine >= n:
            # "auto" gives way, so that at least one epoch takes meta steps.
            if auto_r:
                refine = max(0, n - 1 - warmup)
            if auto_w and warmup + refine >= n:
                warmup = max(0, n - 1 - refine)
            if warmup + refine >= n:
                raise ValueError(
                    "warmup_epochs + refine_epochs must be smaller than max_epochs, so "
                    "that at least one epoch takes meta steps; got "
                    f"warmup_epochs={self.warmup_epochs}, refine_epochs={self.refine_epochs} "
                    f"and max_epochs={n}"
                    + (" (the 'auto' budget for these rows)." if self.max_epochs == "auto" else ".")
                )
        return warmup, refine

    @property
    def _fitted_extra(self):
        """Task-specific fitted attributes, removed with the others by a diverged fit."""
        return ()

    def _unfit(self):
        """Remove every fitted attribute: a diverged fit leaves no NaN model behind."""
        for name in (*_FITTED, *self._fitted_extra):
            self.__dict__.pop(name, None)

    def _new_net(self, optimizer, device, callbacks="all"):
        """A new initialised net; ``callbacks``: ``"all"`` of the estimator's,
        or only the ``"display"`` ones (``ProgressBar``)."""
        module = self._build_module()
        net = self._net_class(
            module,
            optimizer=optimizer[0],
            lr=self.lr,
            max_epochs=AUTO_MIN_EPOCHS if self.max_epochs == "auto" else self.max_epochs,
            batch_size=self.batch_size,
            train_split=None,
            device=device,
            verbose=self.verbose,
            callbacks=self._callbacks_copy(callbacks),
            meta_method=self.meta_method,
            clean_batch_size=self.clean_batch_size,
            **self._net_params(),
            **{f"optimizer__{k}": v for k, v in optimizer[1].items()},
        )
        return net.initialize()

    def _callbacks_copy(self, which):
        if self.callbacks is None:
            return None
        callbacks = copy.deepcopy(list(self.callbacks))
        if which == "display":
            callbacks = [
                cb
                for cb in callbacks
                if isinstance(cb[1] if isinstance(cb, tuple) else cb, ProgressBar)
            ]
        return callbacks

    def _warn_skipped_epochs(self, first_epoch):
        epochs = [e for e in self.net_.history[first_epoch:] if "all_zero_batches" in e]
        dead = [e for e in epochs if e["all_zero_batches"] == len(e["batches"]) > 0]
        if dead:
            warnings.warn(
                f"Every training batch got weight 0 in {len(dead)} of {len(epochs)} "
                "meta epochs, so the network did not learn in them: no training row's "
                "gradient agreed with the trusted set's. Check that the trusted "
                "targets are right and encoded like y, or give a larger trusted set.",
                ConvergenceWarning,
                stacklevel=5,
            )

    def _predict_raw(self, X):
        """The module's outputs as float64, for validated ``X`` (the caller's RNG untouched)."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        # skorch's DataLoader draws a seed from the global generator: keep the
        # caller's random state untouched by prediction.
        with torch.random.fork_rng(devices=[]):
            return self.net_.predict_proba(X).astype(np.float64)

    # -- validation ----------------------------------------------------------------

    _validate_y = {}  # validate_data's options for y, per task

    def _validate(self, X, y="no_validation", *, reset):
        try:
            y_params = {} if isinstance(y, str) and y == "no_validation" else self._validate_y
            return validate_data(
                self, X, y, dtype=np.float32, accept_sparse="csr", reset=reset, **y_params
            )
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

    def _build_module(self):
        n_out = self._n_outputs()
        if self.module is None:
            sizes = tuple(self.hidden_layer_sizes)
            if not all(isinstance(s, Integral) and s > 0 for s in sizes):
                raise ValueError(
                    "hidden_layer_sizes must be a tuple of positive ints; "
                    f"got {self.hidden_layer_sizes!r}."
                )
            return MLP(self.n_features_in_, n_out, sizes, self.activation, self.dropout)
        if isinstance(self.module, nn.Module):
            return copy.deepcopy(self.module)
        module = self.module(self.n_features_in_, n_out)
        if not isinstance(module, nn.Module):
            raise TypeError(
                f"module(n_features, {self._outputs_name}) must return a torch.nn.Module; "
                f"got {type(module).__name__}."
            )
        return module

    def _check_module_output(self, net, X):
        """Check the module's output for the first two rows of ``X``."""
        X = dense_rows(X, slice(0, 2))
        n_out = self._n_outputs()
        out = net.eval_output(torch.tensor(X, device=net.device))
        shape = tuple(getattr(out, "shape", ()))
        if not isinstance(out, torch.Tensor) or shape != (len(X), n_out):
            raise ValueError(
                "module must map a float batch of shape (n_rows, n_features) to "
                f"{self._output_kind} of shape (n_rows, {n_out}); for {len(X)} rows it "
                f"returned {type(out).__name__} of shape {shape}."
            )

    # -- the trusted set -------------------------------------------------------------

    def _split_trusted(self, X, y, clean_val, clean_mask, rng, sample_weight=None):
        """Training rows and targets, the trusted set, the rows of ``X``
        trained on, and the training rows' sample weights.

        The trusted set is ``(X_clean, y_clean, rows, weight)``: ``rows`` are
        the trusted rows' indices among the training rows (none when they are
        not trained on); ``weight`` their sample weights. Rows of
        ``clean_val`` weigh 1; None stands for all 1.
        """
        n = X.shape[0]
        sw = sample_weight
        if clean_val is not None and clean_mask is not None:
            raise ValueError("Pass either clean_val or clean_mask, not both.")
        if clean_val is not None:
            X_clean, y_clean = self._check_clean_val(clean_val)
            rows = np.arange(n)
            trusted = X_clean, y_clean, np.arange(0), None
            if not self.train_on_clean:
                return X, y, trusted, rows, sw
            trusted = X_clean, y_clean, np.arange(n, n + len(y_clean)), None
            if sw is not None:
                sw = np.concatenate([sw, np.ones(len(y_clean))])
            X_train = vstack(X, X_clean)
            return X_train, np.concatenate([y, y_clean]), trusted, rows, sw
        if clean_mask is not None:
            mask = _check_clean_mask(clean_mask, n)
            X_clean, y_clean = X[mask], y[mask]
            w_clean = None if sw is None else sw[mask]
            self._check_trusted_coverage(y_clean, "clean_mask")
            if self.train_on_clean:
                trusted = X_clean, y_clean, np.flatnonzero(mask), w_clean
                return X, y, trusted, np.arange(n), sw
            rows = np.flatnonzero(~mask)
            trusted = X_clean, y_clean, np.arange(0), w_clean
            return X[rows], y[rows], trusted, rows, None if sw is None else sw[rows]
        # Rows of weight 0 are left out of the sample.
        eligible = np.arange(n) if sw is None else np.flatnonzero(sw > 0)
        picked, what = self._sample_trusted(y[eligible], rng)
        picked = eligible[picked]
        warnings.warn(
            f"No trusted set given (clean_val or clean_mask): {what} is used as the "
            "trusted set. This helps with class imbalance but not with noisy labels.",
            UserWarning,
            stacklevel=5,
        )
        w_clean = None if sw is None else sw[picked]
        return X, y, (X[picked], y[picked], picked, w_clean), np.arange(n), sw

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
        y_clean = self._check_clean_targets(y_clean, X_clean.shape[0])
        self._check_trusted_coverage(y_clean, "clean_val")
        return X_clean, y_clean

    def _check_trusted_coverage(self, y_clean, name):
        """Warn when the trusted set misses part of the targets (no-op by default)."""

    def _task_weights(self, y_train, train_weight, trusted):
        """The training and trusted rows' sample weights with what the task
        adds (none by default); either may be None (all 1)."""
        return train_weight, trusted

    def _prepare_targets(self, y_train, trusted, *, warm):
        """The targets the net trains on, and the trusted set's (as given by default).

        ``trusted`` is ``(X_clean, y_clean, rows)``, or None when a warm start
        keeps the previous trusted set.
        """
        return y_train, trusted


def check_mask_rows(clean_mask, n):
    """``clean_mask`` as a boolean array with one entry per row of ``X`` (``n``),
    or a TypeError/ValueError naming it."""
    mask = check_array(
        clean_mask, ensure_2d=False, ensure_min_samples=0, dtype=None, input_name="clean_mask"
    )
    if mask.dtype != bool:
        raise TypeError(f"clean_mask must be a boolean array; got dtype {mask.dtype}.")
    if mask.shape != (n,):
        raise ValueError(
            f"clean_mask must have one entry per row of X ({n}); got shape {mask.shape}."
        )
    return mask


def _check_clean_mask(clean_mask, n):
    mask = check_mask_rows(clean_mask, n)
    if not mask.any():
        raise ValueError("clean_mask marks no row as trusted; mark at least one.")
    if mask.all():
        raise ValueError(
            "clean_mask marks every row as trusted; there is nothing to reweight. "
            "Fit a plain model instead, or leave the noisy rows unmarked."
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
