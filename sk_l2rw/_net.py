"""The skorch net whose train step is the meta-reweighting step.

A thin adapter from skorch's ``train_step_single`` to :func:`._meta.meta_step`,
plus the bookkeeping: per-row weight sums, per-batch and per-epoch history.
"""

import numpy as np
import torch
from skorch import NeuralNetClassifier
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from ._meta import meta_step, resolve_method

# Per-batch figures recorded by the train step, aggregated per epoch.
_BATCH_KEYS = ("clean_loss", "mean_weight", "zero_weight_frac", "max_weight", "ess_frac")


class DivergedError(FloatingPointError):
    """Raised when training produces a NaN or infinite loss or parameter."""


class MetaReweightNet(NeuralNetClassifier):
    """A :class:`skorch.NeuralNetClassifier` trained with meta-reweighting.

    Training batches must be dicts ``{"x": features, "row": row index}`` so
    that each example's weight can be credited to its row; prediction takes
    plain feature arrays. Call :meth:`set_trusted` before ``fit``.

    Parameters
    ----------
    module : torch.nn.Module
        Maps a float batch to logits.
    meta_method : {"auto", "fast", "general", "recipe"}, default="auto"
        How the meta scores are computed (see :mod:`sk_l2rw._meta`).
    clean_batch_size : int or None, default=None
        Trusted rows per step; ``None`` uses the whole trusted set.
    **kwargs
        Passed to :class:`skorch.NeuralNetClassifier`.
    """

    def __init__(self, module, *args, meta_method="auto", clean_batch_size=None, **kwargs):
        super().__init__(module, *args, **kwargs)
        self.meta_method = meta_method
        self.clean_batch_size = clean_batch_size

    def set_trusted(self, X, y):
        """Store the trusted set (float features, integer labels)."""
        self.trusted_X_ = to_tensor(X, device=self.device)
        self.trusted_y_ = to_tensor(y, device=self.device)
        self._trusted_order = None
        return self

    def initialize_module(self):
        super().initialize_module()
        self.meta_method_ = resolve_method(self.module_, self.meta_method)
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        n_rows = len(X["row"])
        if getattr(self, "weight_sums_", None) is None or len(self.weight_sums_) != n_rows:
            self.weight_sums_ = np.zeros(n_rows)
            self.weight_epochs_ = 0
        self.all_zero_batches_ = 0

    def _trusted_batch(self):
        n = len(self.trusted_y_)
        size = self.clean_batch_size
        if size is None or size >= n:
            return self.trusted_X_, self.trusted_y_
        # Cycle through shuffled minibatches of the trusted set.
        if not self._trusted_order:
            perm = torch.randperm(n).tolist()
            self._trusted_order = [perm[i : i + size] for i in range(0, n - size + 1, size)]
        idx = torch.as_tensor(self._trusted_order.pop(), device=self.trusted_y_.device)
        return self.trusted_X_[idx], self.trusted_y_[idx]

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        x = to_tensor(Xi["x"], device=self.device)
        y = to_tensor(yi, device=self.device)
        xc, yc = self._trusted_batch()
        step = meta_step(self.module_, x, y, xc, yc, method=self.meta_method_)
        loss = step.losses.mean()
        if not (torch.isfinite(loss) and torch.isfinite(step.clean_loss)):
            raise DivergedError(
                f"Training diverged in epoch {len(self.history)}: the loss became "
                f"{loss.item()}. Try a smaller lr (it is {self.lr})."
            )
        w = step.weights
        n = len(w)
        scaled = (w * n).cpu().numpy()
        np.add.at(self.weight_sums_, to_tensor(Xi["row"], device="cpu").numpy(), scaled)
        all_zero = bool(w.sum() == 0)
        self.all_zero_batches_ += all_zero
        self.history.record_batch("clean_loss", step.clean_loss.item())
        self.history.record_batch("mean_weight", float(scaled.mean()))
        self.history.record_batch("zero_weight_frac", float((w == 0).float().mean()))
        self.history.record_batch("max_weight", float(w.max()))
        # Kish effective sample size as a fraction of the batch: 1 is uniform.
        self.history.record_batch("ess_frac", 0.0 if all_zero else float(1 / (n * (w**2).sum())))
        return {"loss": loss, "y_pred": step.logits}

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        batches = [b for b in self.history[-1]["batches"] if "clean_loss" in b]
        if batches:
            sizes = [b["train_batch_size"] for b in batches]
            for key in _BATCH_KEYS:
                self.history.record(key, float(np.average([b[key] for b in batches], weights=sizes)))
        self.history.record("all_zero_batches", self.all_zero_batches_)
        self.all_zero_batches_ = 0
        self.weight_epochs_ += 1
        params = [p for p in self.module_.parameters()]
        if not all(torch.isfinite(p).all() for p in params):
            raise DivergedError(
                f"Training diverged in epoch {len(self.history)}: a parameter became "
                f"NaN or infinite. Try a smaller lr (it is {self.lr})."
            )
