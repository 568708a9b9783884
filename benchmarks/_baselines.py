"""Baselines for ``quality.py``: what a practitioner would train instead.

Every baseline is the same skorch ``NeuralNetClassifier`` (an
:class:`sk_l2rw.MLP` of two hidden layers of 100, Adam, the learning rate and
batch size of ``MetaReweightClassifier``'s defaults, and its budget rule:
``max_epochs="auto"`` is enough epochs for 1,000 optimizer steps on the rows
it is fitted to, within 50 to 500), wrapped as a scikit-learn estimator so
that cleanlab's ``CleanLearning`` can clone it and cross-validate it.
:class:`GoldLossCorrection` trains the same net, twice.
"""

from functools import partial

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from skorch import NeuralNetClassifier
from skorch.callbacks import EarlyStopping
from skorch.dataset import ValidSplit

from sk_l2rw import MLP
from sk_l2rw._base import auto_epochs


class PlainNet(ClassifierMixin, BaseEstimator):
    """A skorch MLP classifier with the library's default training budget.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(100, 100)
        Hidden widths of the MLP.
    lr : float, default=1e-3
        Adam learning rate.
    max_epochs : int or "auto", default="auto"
        Passes over the training rows; ``"auto"``: the library's budget rule
        (``sk_l2rw._base.auto_epochs``) for the rows of the fit.
    batch_size : int, default=128
        Rows per step.
    class_weight : None or "balanced", default=None
        ``"balanced"`` weights the loss of each class by the inverse of its
        frequency (the paper's "Proportion" baseline for class imbalance).
    early_stopping : bool, default=False
        Stop as scikit-learn's ``MLPClassifier(early_stopping=True)`` does:
        10 % of the rows (stratified, drawn with ``random_state``) held out,
        their accuracy on the given labels monitored, stop after 10 epochs
        without a gain and keep the best epoch's parameters, within the
        budget.
    random_state : int, default=0
        Seeds initialisation and shuffling.
    """

    def __init__(
        self,
        hidden_layer_sizes=(100, 100),
        lr=1e-3,
        max_epochs="auto",
        batch_size=128,
        class_weight=None,
        early_stopping=False,
        random_state=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.class_weight = class_weight
        self.early_stopping = early_stopping
        self.random_state = random_state

    def epochs_for(self, n_rows):
        """The epochs of a fit on ``n_rows`` rows."""
        if self.max_epochs == "auto":
            return auto_epochs(n_rows, self.batch_size)
        return self.max_epochs

    def fit(self, X, y, max_epochs=None):
        X = np.asarray(X, dtype=np.float32)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        n_classes = len(self.classes_)
        criterion_kwargs = {}
        if self.class_weight == "balanced":
            counts = np.bincount(y_enc, minlength=n_classes)
            weight = len(y_enc) / (n_classes * np.maximum(counts, 1))
            criterion_kwargs["criterion__weight"] = torch.as_tensor(weight, dtype=torch.float32)
        stop = self._stopping(X, y_enc.astype(np.int64))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.random_state)
            self.net_ = NeuralNetClassifier(
                MLP(X.shape[1], n_classes, tuple(self.hidden_layer_sizes)),
                criterion=torch.nn.CrossEntropyLoss,
                optimizer=torch.optim.Adam,
                lr=self.lr,
                max_epochs=self.epochs_for(len(X)) if max_epochs is None else max_epochs,
                batch_size=self.batch_size,
                iterator_train__shuffle=True,
                classes=list(range(n_classes)),
                verbose=0,
                **stop,
                **criterion_kwargs,
            )
            self.net_.fit(X, y_enc.astype(np.int64))
        return self

    def _stopping(self, X, y_enc):
        """skorch's ``train_split`` and ``callbacks`` of a fit on ``(X, y_enc)``:
        early stopping on a 10 % split of the rows, or none."""
        if not self.early_stopping:
            return dict(train_split=None)
        return dict(
            train_split=ValidSplit(0.1, stratified=True, random_state=self.random_state),
            callbacks=[stop_on_best_valid_acc()],
        )

    def fine_tune(self, X, y, epochs):
        """Continue training (same optimizer state) on ``(X, y)`` only."""
        y_enc = np.searchsorted(self.classes_, y).astype(np.int64)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.random_state + 1)
            self.net_.partial_fit(np.asarray(X, dtype=np.float32), y_enc, epochs=epochs)
        return self

    def predict_proba(self, X):
        return self.net_.predict_proba(np.asarray(X, dtype=np.float32)).astype(np.float64)

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def stop_on_best_valid_acc():
    """Stop after 10 epochs without a gain in validation accuracy and keep
    the best epoch's parameters (``MLPClassifier(early_stopping=True)``'s rule)."""
    return EarlyStopping(monitor="valid_acc", lower_is_better=False, patience=10, load_best=True)


class _GoldCorrectedLoss(torch.nn.Module):
    """Per-row loss of Gold Loss Correction, averaged over the batch.

    A target ``t`` encodes the label ``t % n_classes`` and whether the row is
    trusted (``t >= n_classes``): trusted rows take the cross-entropy,
    untrusted ones ``-log((softmax(logits) @ corruption)[label])``, the
    probability clamped at ``min_proba`` before the log.
    """

    def __init__(self, corruption, min_proba=1e-12):
        super().__init__()
        self.register_buffer("corruption", torch.as_tensor(corruption, dtype=torch.float32))
        self.min_proba = min_proba

    def forward(self, logits, target):
        n_classes = self.corruption.shape[0]
        trusted = target >= n_classes
        label = (target % n_classes)[:, None]
        ce = -torch.log_softmax(logits, dim=1).gather(1, label)[:, 0]
        noisy = torch.softmax(logits, dim=1) @ self.corruption
        corrected = -noisy.gather(1, label)[:, 0].clamp_min(self.min_proba).log()
        return torch.where(trusted, ce, corrected).mean()


def corruption_matrix(proba, y_trusted, n_classes):
    """GLC's ``C``: row ``i`` is the mean of ``proba`` (a model's class
    probabilities on the trusted rows) over the trusted rows of class ``i``
    (encoded ``y_trusted``); the identity row for a class with none."""
    C = np.eye(n_classes)
    for c in range(n_classes):
        rows = y_trusted == c
        if rows.any():
            C[c] = proba[rows].mean(axis=0)
    return C


class GoldLossCorrection(PlainNet):
    """Gold Loss Correction (Hendrycks, Mazeika, Wilson, Gimpel, NeurIPS 2018).

    As published: a :class:`PlainNet` fitted to the untrusted rows alone
    (their given labels) gives the corruption matrix: row ``i`` of
    ``corruption_matrix_`` is its mean softmax over the trusted rows of true
    class ``i`` (the identity row for a class with no trusted row), an
    estimate of ``P(noisy label = j | true class = i)``. A fresh net of the
    same architecture, initialisation seed, optimizer, learning rate, batch
    size and budget rule (for all the rows) is then trained on one shuffled
    stream of all rows, with
    the loss ``-log((softmax(f(x)) @ C)[noisy label])`` on the untrusted rows
    and the cross-entropy on the trusted rows. Predictions are the fresh
    net's softmax (the estimate of the true class).

    Parameters are those of :class:`PlainNet` (``class_weight`` is not used).
    """

    def fit(self, X, y, trusted, first=None):
        """Fit on ``(X, y)``; ``trusted`` marks the rows whose ``y`` is true.

        ``first`` is an already fitted :class:`PlainNet` on the untrusted rows
        and their labels to estimate the corruption matrix from (fitted here
        if None).
        """
        X = np.asarray(X, dtype=np.float32)
        trusted = np.asarray(trusted, dtype=bool)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        n_classes = len(self.classes_)
        if first is None:
            params = self.get_params()
            params.pop("class_weight")
            first = PlainNet(**params).fit(X[~trusted], np.asarray(y)[~trusted])
        if not np.array_equal(first.classes_, self.classes_):
            raise ValueError("first was fitted to other classes")
        C = corruption_matrix(first.predict_proba(X[trusted]), y_enc[trusted], n_classes)
        self.corruption_matrix_ = C
        target = (y_enc + n_classes * trusted).astype(np.int64)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.random_state)
            self.net_ = NeuralNetClassifier(
                MLP(X.shape[1], n_classes, tuple(self.hidden_layer_sizes)),
                criterion=_GoldCorrectedLoss,
                criterion__corruption=C,
                optimizer=torch.optim.Adam,
                lr=self.lr,
                max_epochs=self.epochs_for(len(X)),
                batch_size=self.batch_size,
                train_split=None,
                iterator_train__shuffle=True,
                classes=list(range(n_classes)),
                predict_nonlinearity=partial(torch.softmax, dim=-1),
                verbose=0,
            )
            self.net_.fit(X, target)
        return self
