"""The skorch net whose train step is the meta-reweighting step.

A thin adapter from skorch's ``train_step_single`` to :func:`._meta.meta_step`,
plus the phases of a fit and their bookkeeping. Every epoch of a call is one
of skorch's epochs, run by its own loop: the first ``warmup_epochs`` take plain
steps, the last ``refine_epochs`` take plain steps on the rows the network
favoured during training, the rest take meta steps. A net fitted with a
``fallback`` takes warm-up then fallback epochs instead (the selection round's
plainer kinds, :mod:`._selection`). Rows marked by ``holdout`` are never
trained on (a selection round's held-back fold). The phase an epoch takes is
decided in ``on_epoch_begin``; the rows it visits by :class:`RowSampler`.
"""

import numpy as np
import torch
import torch.nn.functional as F
from skorch import NeuralNetClassifier, NeuralNetRegressor
from skorch.callbacks import EpochTimer, PassthroughScoring, PrintLog
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from ._data import BatchDataset, RowSampler, batch_collate, rows_tensor
from ._meta import meta_step, resolve_method, weighted_mean

# Per-batch figures, averaged per epoch by PassthroughScoring: the trusted loss
# before each step (every phase), and the weights' figures (meta steps).
_BATCH_KEYS = ("clean_loss", "mean_weight", "zero_weight_frac", "max_weight", "ess_frac")
# Per-epoch figures of one phase only: printed as "-" in the others' rows.
_PHASE_KEYS = (*_BATCH_KEYS[1:], "all_zero_batches", "kept_rows")
# What the fallback phase trains, per task net: "plain" (the loss of the
# plain steps) and, for classifiers, "corrected" (Gold Loss Correction).
FALLBACKS = ("plain", "corrected")


def trusted_class_weight(trusted_y, y, n_classes, device="cpu", trusted_weight=None, weight=None):
    """Per-class loss weights bringing the class shares of ``y`` to the trusted set's.

    ``trusted_y`` and ``y`` are integer-encoded labels (arrays or tensors);
    ``trusted_weight`` and ``weight`` their rows' sample weights (None: all
    1), so the shares are of weight, not of rows. Returns a float32 tensor of
    length ``n_classes`` on ``device`` (0 for a class absent from ``y``), or
    None when the trusted set lacks a class (its shares then say nothing of
    that class).
    """
    trusted = np.bincount(
        _numpy(trusted_y), weights=_numpy(trusted_weight), minlength=n_classes
    ).astype(np.float64)
    if not (trusted > 0).all():
        return None
    train = np.bincount(np.asarray(y), weights=_numpy(weight), minlength=n_classes)
    train = train / max(train.sum(), 1e-300)
    weight = np.where(train > 0, (trusted / trusted.sum()) / np.maximum(train, 1e-12), 0.0)
    return torch.as_tensor(weight, dtype=torch.float32, device=device)


def _numpy(values):
    return None if values is None else np.asarray(torch.as_tensor(values).cpu())


def label_margin(logits, y):
    """Softmax probability of label ``y`` minus the largest other class's, per row."""
    p = F.softmax(logits.detach().float(), dim=1)
    given = p.gather(1, y.view(-1, 1)).squeeze(1)
    other = p.scatter(1, y.view(-1, 1), -1.0).max(dim=1).values
    return given - other


class DivergedError(FloatingPointError):
    """Raised when training produces a NaN or infinite loss or parameter.

    ``fit`` stops with this error rather than return a model with NaN
    parameters. A smaller ``lr`` (or the default Adam optimizer) usually cures
    it.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> torch.set_num_threads(1)
    >>> from sklearn.datasets import load_iris
    >>> from sk_l2rw import DivergedError, MetaReweightClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> trusted = np.arange(len(y)) % 10 == 0
    >>> clf = MetaReweightClassifier(optimizer="sgd", lr=1e20, max_epochs=5, random_state=0)
    >>> try:
    ...     clf.fit(X, y, clean_mask=trusted)
    ... except DivergedError as exc:
    ...     print("diverged:", "smaller lr" in str(exc))
    diverged: True
    """


class PhasePrintLog(PrintLog):
    """skorch's :class:`~skorch.callbacks.PrintLog` with one header for every phase.

    The header is taken from the first epoch, as skorch does, plus
    ``phase_keys``: the figures of phases other than the first one's. A row
    prints ``-`` under a column its phase has no figure for, so every row has
    a field under every column of the header.
    """

    def __init__(self, phase_keys=_PHASE_KEYS, **kwargs):
        super().__init__(**kwargs)
        self.phase_keys = phase_keys

    def initialize(self):
        super().initialize()
        self.columns_ = None
        return self

    def _sorted_keys(self, keys):
        # The phase right after the epoch: it tells which columns have figures.
        order = super()._sorted_keys(keys)
        if "phase" in order:
            order.remove("phase")
            order.insert(1 if order[:1] == ["epoch"] else 0, "phase")
        return order

    def on_epoch_end(self, net, **kwargs):
        # skorch formats every epoch's row even where nothing is printed.
        if self.sink is print and not net.verbose:
            return
        super().on_epoch_end(net, **kwargs)

    def table(self, row):
        if self.columns_ is None:
            self.columns_ = set(row) | set(self.phase_keys)
        full = {key: row.get(key, "-") for key in self.columns_}
        return super().table(full)


class _PhasedMetaNet:
    """The phases and meta steps of a fit, for a skorch net class to mix in.

    A task's net supplies ``_row_losses`` (one loss per row), ``_row_record``
    (the per-row training record, summed over warm-up and meta epochs),
    ``_keep`` (which rows the refinement visits, from the mean record) and
    ``_plain_weight`` (per-class loss weights of the plain steps, or None).
    """

    # Pickled like module_: a net fitted on a GPU unpickles onto the CPU.
    cuda_dependent_attributes_ = [
        "trusted_X_",
        "trusted_y_",
        "trusted_w_",
        "plain_class_weight_",
        "corruption_",
    ]
    # Rows evaluated at a time where a whole set is (held-back rows): a sparse
    # matrix is densified this many rows at a time.
    _eval_chunk = 1024
    # The training rows' sample weights (None: all 1), set by set_sample_weight.
    sample_weight_ = None
    # Whether warm-up epochs count in the per-row record (else meta epochs
    # only; a fallback's epochs always do: a fit of that kind has no other).
    _record_warmup = True

    def _records(self, phase):
        """Whether a step of ``phase`` adds to the per-row record (every meta
        step does; of the plain phases, as ``_record_warmup`` says)."""
        return phase in ("meta", "fallback") or (phase == "warmup" and self._record_warmup)

    # Where the net is in the estimator's fit, for messages ("" for the final fit).
    stage_ = ""
    # Rows scored at the end of every epoch (a selection round's held-back
    # fold, as ``score_rows`` takes them), or None.
    held_back_ = None
    # Whether plain steps record the trusted batch's loss (``clean_loss``);
    # the selection round's nets, which nothing reads it of, do not.
    record_clean_loss = True

    def __init__(
        self,
        module,
        *args,
        meta_method="auto",
        clean_batch_size=None,
        warmup_epochs=0,
        refine_epochs=0,
        fallback=None,
        corruption=None,
        holdout=None,
        **kwargs,
    ):
        kwargs.setdefault("iterator_train__sampler", RowSampler())
        kwargs.setdefault("iterator_train__shuffle", False)
        kwargs.setdefault("dataset", BatchDataset)
        kwargs.setdefault("iterator_train__collate_fn", batch_collate)
        kwargs.setdefault("iterator_valid__collate_fn", batch_collate)
        super().__init__(module, *args, **kwargs)
        self.meta_method = meta_method
        self.clean_batch_size = clean_batch_size
        self.warmup_epochs = warmup_epochs
        self.refine_epochs = refine_epochs
        self.fallback = fallback
        self.corruption = corruption
        self.holdout = holdout

    @property
    def _default_callbacks(self):
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            *[
                (key, PassthroughScoring(name=key, lower_is_better=None, on_train=True))
                for key in _BATCH_KEYS
            ],
            ("print_log", PhasePrintLog()),
        ]

    def set_trusted(self, X, y, rows=(), weight=None):
        """Store the trusted set (float features, dense or sparse; integer labels).

        ``rows`` are the indices of the trusted rows among the training rows,
        if they are trained on: the refinement keeps them all. ``weight``: the
        trusted rows' sample weights, which weight the trusted loss (None: all
        1). The trusted set is small and held dense.
        """
        self.trusted_X_ = rows_tensor(X, device=self.device)
        self.trusted_y_ = to_tensor(y, device=self.device)
        self.trusted_w_ = None if weight is None else to_tensor(weight, device=self.device)
        self.trusted_rows_ = np.asarray(rows, dtype=np.int64)
        self._trusted_order = None
        return self

    def set_sample_weight(self, weight):
        """Store the sample weights of the next call's training rows (None: all 1).

        Each row's loss is multiplied by its weight in every phase, and its
        meta score by it in meta steps (see :func:`._meta.meta_step`).
        """
        self.sample_weight_ = None if weight is None else np.asarray(weight, dtype=np.float64)
        return self

    def _row_weights(self, rows):
        """The sample weights of training rows ``rows`` as a tensor (None: all 1)."""
        if self.sample_weight_ is None:
            return None
        return torch.as_tensor(self.sample_weight_[rows], device=self.device)

    def eval_rows(self, X):
        """The module's outputs (eval mode) for the rows of ``X`` (array or
        sparse), ``_eval_chunk`` rows at a time."""
        chunks = [slice(i, i + self._eval_chunk) for i in range(0, X.shape[0], self._eval_chunk)]
        outs = [self.eval_output(rows_tensor(X, rows, self.device)) for rows in chunks]
        return torch.cat(outs) if outs else self.eval_output(rows_tensor(X, device=self.device))

    def initialize_module(self):
        super().initialize_module()
        self.meta_method_ = resolve_method(self.module_, self.meta_method)
        return self

    # -- phases -------------------------------------------------------------

    def segments(self):
        """``(phase, epochs)`` of this call, in order, ``max_epochs`` in all.

        Without a fallback: ``warmup_epochs`` warm-up epochs, meta epochs, then
        ``refine_epochs`` refinement epochs. With one: warm-up epochs, then
        fallback epochs.
        """
        n, w, r = self.max_epochs, self.warmup_epochs, self.refine_epochs
        if self.fallback is None:
            return [("warmup", w), ("meta", n - w - r), ("refine", r)]
        return [("warmup", w), ("fallback", n - w)]

    def phase_of(self, epoch):
        """The phase of the ``epoch``-th epoch (from 0) of a call: ``"warmup"``,
        ``"meta"``, ``"refine"`` or ``"fallback"``."""
        for phase, k in self.segments():
            if epoch < k:
                return phase
            epoch -= k
        return phase

    def refine_rows(self):
        """Training rows the refinement visits: those ``_keep`` picks by their
        mean training record, and every trusted row (never a held-back row)."""
        keep = self._keep(self.records())
        keep[self.trusted_rows_] = True
        keep[self.holdout_] = False
        return np.flatnonzero(keep)

    def weights(self):
        """Each training row's weight (``w_i`` times its batch's size), averaged
        over the meta epochs of this call."""
        n = self.weight_epochs_
        return self.weight_sums_ / (n if n else np.nan)

    def records(self):
        """Each training row's record, averaged over the warm-up and meta epochs of this call."""
        n = self.margin_epochs_
        return self.margin_sums_ / (n if n else np.nan)

    def _start_phase(self, phase):
        sampler = self.iterator_train__sampler
        if phase == "fallback":
            self._fallback_setup()
            # The fallback's loss has gradients of another scale than the
            # warm-up's: Adam's moments (a momentum buffer) start afresh.
            self.optimizer_.state.clear()
        if phase == "refine":
            sampler.rows = self.refine_rows()
        else:
            sampler.rows = np.flatnonzero(~self.holdout_) if self.holdout_.any() else None
        if phase == "meta":
            self.plain_class_weight_ = None
            return
        rows = slice(None) if sampler.rows is None else sampler.rows
        weight = None if self.sample_weight_ is None else self.sample_weight_[rows]
        self.plain_class_weight_ = self._plain_weight(self.y_train_[rows], weight)

    # -- the fallback -------------------------------------------------------------

    def _fallback_setup(self):
        """Prepare the fallback phase, from the model at its start (no-op by default)."""

    def _fallback_losses(self, out, y, rows):
        """Per-row losses of the fallback's steps (``"plain"``: the task's loss)."""
        return self._row_losses(out, y)

    def score_rows(self, X, y, weight=None, record=True):
        """Per row of ``(X, y)`` (encoded targets; ``weight``: sample weights,
        None for 1): the task's score of the current model, the row's weight
        in a mean of scores, and its record (``_row_record``; None unless
        ``record``), as numpy arrays."""
        out = self.eval_rows(X)
        y = to_tensor(y, device=self.device)
        w = None if weight is None else torch.as_tensor(weight, device=self.device)
        score, row_weight = self._holdout_rows(out, y, w)
        row_record = self._row_record(out, y).cpu().numpy() if record else None
        return score.cpu().numpy(), row_weight.cpu().numpy(), row_record

    # -- skorch hooks ---------------------------------------------------------

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        n_rows = X.shape[0]
        if self.sample_weight_ is not None and len(self.sample_weight_) != n_rows:
            raise ValueError(
                f"The net has {len(self.sample_weight_)} sample weights for {n_rows} "
                "training rows; call set_sample_weight with one per row (or None)."
            )
        self.iterator_train__sampler.n_rows = n_rows
        self.y_train_ = np.asarray(y)
        self.first_epoch_ = len(self.history)
        self.phase_ = None
        # Weights are averaged over the whole epochs of this call only: a later
        # call (warm start, partial_fit) may bring other rows.
        self.weight_sums_ = np.zeros(n_rows)
        self.weight_epochs_ = 0
        # Training dynamics: each row's record (label_margin for classes) at
        # its step, summed over the warm-up and meta epochs of this call.
        self.margin_sums_ = np.zeros(n_rows)
        self.margin_epochs_ = 0
        self.epoch_start_sums_ = None
        self.all_zero_batches_ = 0
        self.trusted_row_mask_ = np.zeros(n_rows, dtype=bool)
        self.trusted_row_mask_[self.trusted_rows_] = True
        # Rows not trained on (a selection round's held-back fold, or rows
        # its fit leaves out); trusted rows are trained on whatever it says
        # unless they are marked too.
        self.holdout_ = np.zeros(n_rows, dtype=bool)
        if self.holdout is not None:
            self.holdout_ = np.asarray(self.holdout, dtype=bool).copy()
            if self.holdout_.shape != (n_rows,):
                raise ValueError(
                    f"holdout must have one entry per training row ({n_rows}); "
                    f"got shape {self.holdout_.shape}."
                )
        self.epochs_done_ = 0
        # Per epoch, the held-back rows' scores (with ``held_back_``).
        self.held_back_curve_ = []

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        phase = self.phase_of(len(self.history) - 1 - self.first_epoch_)
        if phase != self.phase_:
            self._start_phase(phase)
            self.phase_ = phase
        self.history.record("phase", phase)
        if phase == "refine":
            self.history.record("kept_rows", len(self.iterator_train__sampler))
        # Kept until the epoch ends, to drop its part if it is interrupted.
        self.epoch_start_sums_ = self.weight_sums_.copy(), self.margin_sums_.copy()

    def _trusted_batch(self):
        """A trusted batch: features, labels, sample weights (None: all 1)."""
        n = len(self.trusted_y_)
        size = self.batch_size if self.clean_batch_size is None else self.clean_batch_size
        w = self.trusted_w_
        if size is None or size >= n:
            return self.trusted_X_, self.trusted_y_, w
        # Cycle through shuffled minibatches of the trusted set.
        if not self._trusted_order:
            perm = torch.randperm(n).tolist()
            self._trusted_order = [perm[i : i + size] for i in range(0, n - size + 1, size)]
        idx = torch.as_tensor(self._trusted_order.pop(), device=self.trusted_y_.device)
        return self.trusted_X_[idx], self.trusted_y_[idx], None if w is None else w[idx]

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        x = to_tensor(Xi, device=self.device)
        y = to_tensor(yi, device=self.device)
        rows = self.iterator_train__sampler.take(len(y))
        if self.phase_ == "fallback":
            return self._plain_step(x, y, rows, self._fallback_losses)
        if self.phase_ != "meta":
            return self._plain_step(x, y, rows)
        xc, yc, wc = self._trusted_batch()
        sw = self._row_weights(rows)
        step = meta_step(
            self.module_,
            x,
            y,
            xc,
            yc,
            method=self.meta_method_,
            loss_fn=self._row_losses,
            sample_weight=sw,
            clean_weight=wc,
        )
        loss = step.losses.mean()
        self._check_finite(torch.stack([loss, step.clean_loss.to(loss.dtype)]).max())
        w = step.weights.detach()
        n = len(w)
        # Each row's weight over its plain (sample-)weighted share of the batch:
        # 1 is plain training; a row of sample weight 0 gets 0.
        ratio = w * n if sw is None else torch.where(sw > 0, w * sw.sum() / sw, 0.0)
        # Rows are distinct within a batch, so plain fancy-index addition is exact.
        self.weight_sums_[rows] += ratio.cpu().numpy()
        total, square = w.sum(), (w * w).sum()
        # Kish effective sample size as a fraction of the batch: 1 is uniform.
        ess = torch.where(square > 0, 1 / (n * square.clamp_min(1e-30)), 0.0)
        stats = torch.stack(
            [step.clean_loss.to(w.dtype), total, (w == 0).to(w.dtype).mean(), w.max(), ess]
        ).tolist()
        for key, value in zip(_BATCH_KEYS, stats):
            self.history.record_batch(key, value)
        self.all_zero_batches_ += stats[1] == 0
        if self._records("meta"):
            self.margin_sums_[rows] += self._row_record(step.logits, y).cpu().numpy()
        return {"loss": loss, "y_pred": step.logits}

    def _plain_step(self, x, y, rows, row_losses=None):
        """A plain step (every phase but meta): mean loss (``row_losses``, by
        default the task's loss), each row weighted by its sample weight and
        its class's ``plain_class_weight_`` (unweighted when None)."""
        logits = self.module_(x)
        if row_losses is None:
            losses = self._row_losses(logits, y)
        else:
            losses = row_losses(logits, y, rows)
        w = self._row_weights(rows)
        if self.plain_class_weight_ is not None:
            cw = self.plain_class_weight_[y]
            w = cw if w is None else cw * w.to(cw.dtype)
        objective = weighted_mean(losses, w)
        loss = losses.detach().mean()
        self._check_finite(loss)
        objective.backward()
        if self.record_clean_loss:
            self.history.record_batch("clean_loss", self._clean_loss())
        else:
            self._trusted_batch()  # the same draws of the trusted order
        if self._records(self.phase_):
            self.margin_sums_[rows] += self._row_record(logits, y).cpu().numpy()
        return {"loss": loss, "y_pred": logits.detach()}

    def _clean_loss(self):
        """The trusted batch's (weighted) mean loss under the current parameters, in eval mode."""
        xc, yc, wc = self._trusted_batch()
        return weighted_mean(self._row_losses(self.eval_output(xc), yc), wc).item()

    def eval_output(self, x):
        """The module's output for the tensor ``x`` in eval mode, without gradients;
        the module's mode is restored after."""
        was_training = self.module_.training
        self.module_.eval()
        try:
            with torch.no_grad():
                return self.module_(x)
        finally:
            self.module_.train(was_training)

    def _check_finite(self, loss):
        if not torch.isfinite(loss):
            raise DivergedError(
                f"Training diverged in epoch {len(self.history)} ({self.phase_}){self.stage_}: "
                "the loss "
                f"became {loss.item()}. Try a smaller lr (it is {self.lr})."
            )

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        if self.phase_ == "meta":
            self.history.record("all_zero_batches", self.all_zero_batches_)
            self.weight_epochs_ += 1
        if self._records(self.phase_):
            self.margin_epochs_ += 1
        self.all_zero_batches_ = 0
        self.epoch_start_sums_ = None
        self.epochs_done_ += 1
        if not all(torch.isfinite(p).all() for p in self.module_.parameters()):
            raise DivergedError(
                f"Training diverged in epoch {len(self.history)} ({self.phase_}){self.stage_}: "
                "a parameter "
                f"became NaN or infinite. Try a smaller lr (it is {self.lr})."
            )
        if self.held_back_ is not None:
            score, w, _ = self.score_rows(*self.held_back_, record=False)
            self.held_back_curve_.append(score)
            total = w.sum()
            self.history.record("held_back_score", float(w @ score / total) if total else np.nan)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        # skorch stops quietly on KeyboardInterrupt: keep whole epochs only.
        if self.epoch_start_sums_ is not None:
            self.weight_sums_, self.margin_sums_ = self.epoch_start_sums_
            self.epoch_start_sums_ = None
        self.iterator_train__sampler.rows = None

    @property
    def interrupted_(self):
        """Whether the last call stopped (KeyboardInterrupt) before its ``max_epochs`` epochs."""
        return self.epochs_done_ < self.max_epochs


class MetaReweightNet(_PhasedMetaNet, NeuralNetClassifier):
    """A :class:`skorch.NeuralNetClassifier` trained with meta-reweighting.

    Training rows are drawn in a random order recorded by :class:`RowSampler`,
    so each example's weight is credited to its row without carrying indices
    through the data loader. Call :meth:`set_trusted` before ``fit``.

    Each call of ``fit`` / ``partial_fit`` runs its epochs in three phases,
    recorded as ``history[:, "phase"]``: ``"warmup"`` (the first
    ``warmup_epochs``; plain steps), ``"meta"`` (meta steps) and ``"refine"``
    (epochs after the first ``max_epochs - refine_epochs`` of the call; plain
    steps on the rows whose label the network favoured during the earlier
    epochs of the call, see :meth:`refine_rows`, and the trusted rows). Plain
    steps take the mean loss with each class weighted to its share of the
    trusted set among the rows the phase visits.

    Parameters
    ----------
    module : torch.nn.Module
        Maps a float batch to logits.
    meta_method : {"auto", "fast", "general", "recipe"}, default="auto"
        How the meta scores are computed (see :mod:`sk_l2rw._meta`).
    clean_batch_size : int or None, default=None
        Trusted rows per step; ``None`` means ``batch_size``. A trusted set no
        larger than that is used whole at every step.
    warmup_epochs : int, default=0
        Plain epochs at the start of each call.
    refine_epochs : int, default=0
        Refinement epochs at the end of each call of ``max_epochs`` epochs.
    trusted_shares : bool, default=True
        Whether plain steps weight each class to its share of the trusted set
        (False: unweighted, but for the rows' sample weights).
    **kwargs
        Passed to :class:`skorch.NeuralNetClassifier`.

    Examples
    --------
    :class:`~sk_l2rw.MetaReweightClassifier` builds and fits one as ``net_``;
    it holds the torch module, the skorch history and the meta method used.

    >>> import numpy as np
    >>> import torch
    >>> torch.set_num_threads(1)
    >>> from sklearn.datasets import load_iris
    >>> from sk_l2rw import MetaReweightClassifier, MetaReweightNet
    >>> X, y = load_iris(return_X_y=True)
    >>> trusted = np.arange(len(y)) % 10 == 0
    >>> clf = MetaReweightClassifier(max_epochs=4, fallback=None, random_state=0)
    >>> net = clf.fit(X, y, clean_mask=trusted).net_
    >>> isinstance(net, MetaReweightNet), net.meta_method_
    (True, 'fast')
    >>> net.history[:, "phase"]
    ['warmup', 'meta', 'refine', 'refine']
    """

    def margins(self):
        """Each training row's label margin, averaged over this call's warm-up and meta epochs."""
        return self.records()

    def _row_losses(self, logits, y):
        return F.cross_entropy(logits, y, reduction="none")

    def _row_record(self, logits, y):
        return label_margin(logits, y)

    def _keep(self, margins):
        return margins > 0

    def __init__(self, module, *args, trusted_shares=True, **kwargs):
        super().__init__(module, *args, **kwargs)
        self.trusted_shares = trusted_shares

    def _plain_weight(self, y, weight=None):
        if not self.trusted_shares:
            return None
        return trusted_class_weight(
            self.trusted_y_, y, len(self.classes_), self.device, self.trusted_w_, weight
        )

    def corruption_matrix(self):
        """Gold Loss Correction's corruption matrix under the current model:
        row ``i`` is its mean softmax over the trusted rows of class ``i``
        (sample weighted; the identity row for a class with no trusted row of
        positive weight), an estimate of P(given label | true class ``i``)
        when the model was trained on the given labels of the untrusted rows."""
        proba = torch.softmax(self.eval_output(self.trusted_X_).float(), dim=-1)
        n_classes = len(self.classes_)
        w = torch.ones_like(proba[:, 0]) if self.trusted_w_ is None else self.trusted_w_.float()
        C = torch.eye(n_classes, device=proba.device)
        for c in range(n_classes):
            rows = (self.trusted_y_ == c) & (w > 0)
            if rows.any():
                C[c] = (proba[rows] * w[rows, None]).sum(dim=0) / w[rows].sum()
        return C

    def _fallback_setup(self):
        if self.fallback != "corrected":
            return
        # The given corruption matrix (the selection round's, from plain
        # models of the untrusted rows), else the model's at the phase start.
        if self.corruption is None:
            self.corruption_ = self.corruption_matrix()
        else:
            self.corruption_ = torch.as_tensor(
                np.asarray(self.corruption), dtype=torch.float32, device=self.device
            )

    def _fallback_losses(self, logits, y, rows):
        if self.fallback != "corrected":
            return super()._fallback_losses(logits, y, rows)
        # -log P(given label | x) under the corruption matrix; the trusted rows'
        # labels are true: plain cross-entropy.
        proba = torch.softmax(logits, dim=-1) @ self.corruption_.to(logits.dtype)
        corrected = -torch.log(proba.gather(1, y[:, None])[:, 0].clamp_min(1e-12))
        trusted = torch.as_tensor(self.trusted_row_mask_[rows], device=logits.device)
        return torch.where(trusted, self._row_losses(logits, y), corrected)

    def _holdout_rows(self, logits, y, weight=None):
        """Per held-back row: right (1) or wrong (0) on its given label, and its
        weight: its class's weight to the trusted set's share (the plain
        steps' weights) times its sample weight."""
        right = (logits.argmax(dim=1) == y).to(torch.float64)
        w = self._plain_weight(y, weight)
        w = torch.ones_like(right) if w is None else w[y].to(torch.float64)
        return right, w if weight is None else w * weight.to(torch.float64)


def _squared_error(out, y):
    return ((out - y) ** 2).mean(dim=1)


def _absolute_error(out, y):
    return (out - y).abs().mean(dim=1)


def _huber(out, y):
    return F.huber_loss(out, y, reduction="none", delta=1.0).mean(dim=1)


REGRESSION_LOSSES = {
    "squared_error": _squared_error,
    "absolute_error": _absolute_error,
    "huber": _huber,
}
# Refinement keeps rows whose mean absolute residual is at most this many
# times the 95th percentile of the trusted rows'.
_KEEP_FACTOR = 1.5


def trusted_keep(residuals, trusted_residuals, factor=_KEEP_FACTOR):
    """Rows whose residual is within what the trusted rows show: at most
    ``factor`` times the 95th percentile of ``trusted_residuals``."""
    return residuals <= factor * np.quantile(trusted_residuals, 0.95)


class MetaReweightRegressorNet(_PhasedMetaNet, NeuralNetRegressor):
    """A :class:`skorch.NeuralNetRegressor` trained with meta-reweighting.

    As :class:`MetaReweightNet`, on scaled targets of shape
    ``(n, n_outputs)``: the per-row loss ``loss`` (a name of
    ``REGRESSION_LOSSES`` or a callable ``loss(out, y)`` returning one value
    per row), the per-row record the negative mean absolute residual over the
    meta epochs, and the refinement keeps the rows whose mean absolute
    residual is within what the trusted rows show (at most 1.5 times their
    95th percentile, see :func:`trusted_keep`) and the trusted rows.

    Parameters
    ----------
    module : torch.nn.Module
        Maps a float batch to outputs of shape ``(n, n_outputs)``.
    loss : str or callable, default="huber"
        The per-row loss.
    **kwargs
        ``meta_method``, ``clean_batch_size``, ``warmup_epochs`` and
        ``refine_epochs`` as for :class:`MetaReweightNet`; the rest passed to
        :class:`skorch.NeuralNetRegressor`.

    Examples
    --------
    :class:`~sk_l2rw.MetaReweightRegressor` builds and fits one as ``net_``.

    >>> import numpy as np
    >>> import torch
    >>> torch.set_num_threads(1)
    >>> from sklearn.datasets import make_friedman1
    >>> from sk_l2rw import MetaReweightRegressor, MetaReweightRegressorNet
    >>> X, y = make_friedman1(n_samples=200, random_state=0)
    >>> trusted = np.arange(len(y)) % 10 == 0
    >>> net = MetaReweightRegressor(max_epochs=4, random_state=0).fit(X, y, clean_mask=trusted).net_
    >>> isinstance(net, MetaReweightRegressorNet), net.loss
    (True, 'huber')
    """

    def __init__(self, module, *args, loss="huber", **kwargs):
        super().__init__(module, *args, **kwargs)
        self.loss = loss

    def _row_losses(self, out, y):
        fn = REGRESSION_LOSSES.get(self.loss) if isinstance(self.loss, str) else self.loss
        return fn(out, y)

    def _row_record(self, out, y):
        return -(out.detach().float() - y).abs().mean(dim=1)

    # A biased subgroup is fitted by plain epochs; the meta epochs, which give
    # it weight 0, tell it apart (quality_regression benchmark, user guide).
    _record_warmup = False

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X, y, **kwargs)
        self.trusted_record_sums_ = np.zeros(len(self.trusted_y_))

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        if self._records(self.phase_) and not len(self.trusted_rows_):
            # The trusted rows are not trained on: their record is taken at the
            # end of the epochs the training rows' record spans.
            out = self.eval_output(self.trusted_X_)
            self.trusted_record_sums_ += self._row_record(out, self.trusted_y_).cpu().numpy()
        super().on_epoch_end(net, dataset_train, dataset_valid, **kwargs)

    def _keep(self, records):
        residuals = -records
        rows = self.trusted_rows_
        if self.sample_weight_ is not None:
            rows = rows[self.sample_weight_[rows] > 0]  # a row of weight 0 is left out
        if len(rows):
            return trusted_keep(residuals, residuals[rows])
        # The trusted rows are not trained on (train_on_clean=False, or a warm
        # start keeping an earlier trusted set): their residuals over the same
        # epochs (at each epoch's end), or now when no epoch has a record.
        if self.margin_epochs_:
            trusted = -self.trusted_record_sums_ / self.margin_epochs_
        else:
            out = self.eval_output(self.trusted_X_)
            trusted = -self._row_record(out, self.trusted_y_).cpu().numpy()
        if self.trusted_w_ is not None:
            trusted = trusted[self.trusted_w_.cpu().numpy() > 0]
        return trusted_keep(residuals, trusted)

    def _plain_weight(self, y, weight=None):
        return None

    def _holdout_rows(self, out, y, weight=None):
        """Per held-back row: minus its loss on its given target (robust to
        corrupted ones when the loss is ``"huber"`` or ``"absolute_error"``),
        and its sample weight (1 without)."""
        score = -self._row_losses(out, y).detach().to(torch.float64)
        return score, torch.ones_like(score) if weight is None else weight.to(torch.float64)
