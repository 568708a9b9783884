"""Candidate defaults for MetaReweightClassifier, on the quality benchmark's data.

Each variant changes one setting of ``MetaReweightClassifier`` (or adds a
fine-tune on the trusted rows after fit) and is scored on the same seeds and data as
``quality.py``'s ``l2rw``, so its mean can be compared with that column.
A variant becomes a default only if it wins across the scenarios.

Usage::

    python benchmarks/quality_variants.py --scenarios digits-uniform-40 --seeds 5
    python benchmarks/quality_variants.py --variants "default,refine_epochs=0 (paper-exact)" \\
        --scenarios digits-uniform-40,imb-synth-0.995

``warmup-F``: the first ``F`` of ``max_epochs`` (at least 1, rounded) take plain
mean-loss steps instead of meta steps (budget-neutral: the meta epochs are the
rest), then the usual refinement; ``-cw`` weights the warm-up's classes to their
share of the trusted set, as the refinement does::

    python benchmarks/quality_variants.py --variants warmup-0.4,warmup-0.6,warmup-0.6-cw \\
        --scenarios synth-matrix-40,trusted-1,trusted-3,digits-pair-30 --seeds 5
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from skorch.callbacks import LRScheduler

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402

from sk_l2rw import MetaReweightClassifier  # noqa: E402
from sk_l2rw._net import MetaReweightNet  # noqa: E402


def _continue(clf, X, y, mask, epochs, seed, class_weight=None):
    """Continue training ``clf``'s module with its optimizer, plain mean loss on ``mask`` rows."""
    module, optimizer = clf.net_.module_, clf.net_.optimizer_
    X = torch.as_tensor(X[mask], dtype=torch.float32)
    y = torch.as_tensor(np.searchsorted(clf.classes_, y[mask]))
    if class_weight is not None:
        class_weight = torch.as_tensor(class_weight, dtype=torch.float32)
    gen = torch.Generator().manual_seed(seed)
    module.train()
    for _ in range(epochs):
        perm = torch.randperm(len(y), generator=gen)
        for start in range(0, len(y), clf.batch_size):
            idx = perm[start : start + clf.batch_size]
            optimizer.zero_grad()
            F.cross_entropy(module(X[idx]), y[idx], weight=class_weight).backward()
            optimizer.step()
    module.eval()


def _fine_tune(epochs):
    """Fit as usual, then ``epochs`` passes over the trusted rows (as plain+FT)."""

    def after(clf, X, y, trusted, seed):
        _continue(clf, X, y, trusted, epochs, seed)

    return {}, after


def _refit_kept(epochs_factor=1.0, with_trusted=True):
    """Paper-exact fit, then a fresh net trained (plain) on the rows it keeps."""

    def after(clf, X, y, trusted, seed):
        keep = clf.label_quality_ >= 0.5
        if with_trusted:
            keep |= trusted
        torch.manual_seed(seed)
        for layer in clf.net_.module_.modules():
            if hasattr(layer, "reset_parameters"):
                layer.reset_parameters()
        clf.net_.initialize_optimizer()
        n_epochs = max(1, round(clf.max_epochs * epochs_factor))
        _continue(clf, X, y, keep, n_epochs, seed)

    return {"refine_epochs": 0}, after


def _refine_argmax():
    """Paper-exact fit, then max_epochs // 5 plain epochs on the rows whose label is the argmax."""

    def after(clf, X, y, trusted, seed):
        proba = clf.predict_proba(X)
        keep = clf.classes_[proba.argmax(1)] == y
        _continue(clf, X, y, keep, clf.max_epochs // 5, seed)

    return {"refine_epochs": 0}, after


def _refine_trusted_prior(epochs_of):
    """Paper-exact fit, then plain epochs on the kept rows, classes weighted to the trusted set."""

    def after(clf, X, y, trusted, seed):
        keep = clf.label_quality_ >= 0.5
        enc = np.searchsorted(clf.classes_, y)
        k = len(clf.classes_)
        prior = np.bincount(enc[trusted], minlength=k) / trusted.sum()
        kept = np.bincount(enc[keep], minlength=k) / keep.sum()
        weight = np.where(kept > 0, prior / np.maximum(kept, 1e-12), 0.0)
        _continue(clf, X, y, keep, epochs_of(clf.max_epochs), seed, class_weight=weight)

    return {"refine_epochs": 0}, after


class _WarmupNet(MetaReweightNet):
    """The first ``warmup_epochs_`` epochs take plain mean-loss steps (uniform weights).

    Budget-neutral: they are the first of the ``max_epochs``, not extra ones,
    and are left out of the example weights.
    """

    def train_step_single(self, batch, **fit_params):
        if len(self.history) > self.warmup_epochs_:
            return super().train_step_single(batch, **fit_params)
        self._set_training(True)
        Xi, yi = batch
        x, y = Xi.to(self.device), yi.to(self.device)
        self.iterator_train__sampler.take(len(y))
        logits = self.module_(x)
        loss = F.cross_entropy(logits, y, weight=self.warmup_class_weight_)
        loss.backward()
        return {"loss": loss, "y_pred": logits.detach()}

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.warmup_class_weight_ = None
        if self.warmup_weighted_:
            k = len(self.classes)
            trusted = np.bincount(self.trusted_y_.numpy(), minlength=k) / len(self.trusted_y_)
            train = np.bincount(np.asarray(y), minlength=k) / len(y)
            ratio = np.where(train > 0, trusted / np.maximum(train, 1e-12), 0.0)
            self.warmup_class_weight_ = torch.as_tensor(ratio, dtype=torch.float32)

    def on_epoch_end(self, net, **kwargs):
        warm = len(self.history) <= self.warmup_epochs_
        super().on_epoch_end(net, **kwargs)
        self.weight_epochs_ -= warm


class _WarmupClassifier(MetaReweightClassifier):
    def _new_net(self, n_classes, optimizer, device):
        net = super()._new_net(n_classes, optimizer, device)
        net.__class__ = _WarmupNet
        net.warmup_epochs_ = self._warmup
        net.warmup_weighted_ = getattr(self, "_warmup_weighted", False)
        return net


def _warmup(fraction, weighted=False, **params):
    """The first ``fraction`` of max_epochs (at least 1) are plain epochs.

    ``weighted``: their loss weights classes to their share of the trusted set.
    """

    def before(clf):
        clf._warmup = max(1, round(fraction * clf.max_epochs))
        clf._warmup_weighted = weighted

    return params, None, before


VARIANTS = {
    "default": lambda epochs: ({}, None),
    "refine_epochs=0 (paper-exact)": lambda epochs: ({"refine_epochs": 0}, None),
    "lr=3e-3": lambda epochs: ({"lr": 3e-3}, None),
    "adamw": lambda epochs: ({"optimizer": "adamw"}, None),
    "train_on_clean=False": lambda epochs: ({"train_on_clean": False}, None),
    "clean_batch_size=32": lambda epochs: ({"clean_batch_size": 32}, None),
    "cosine-lr": lambda epochs: (
        {"callbacks": [("lr_schedule", LRScheduler("CosineAnnealingLR", T_max=epochs))]},
        None,
    ),
    "fine-tune-50": lambda epochs: _fine_tune(50),
    "refine_epochs=max_epochs": lambda epochs: ({"refine_epochs": epochs}, None),
    "refit-kept": lambda epochs: _refit_kept(),
    "refine-keep-argmax": lambda epochs: _refine_argmax(),
    "refine-prior-auto": lambda epochs: _refine_trusted_prior(lambda e: e // 5),
    "refine-prior-max": lambda epochs: _refine_trusted_prior(lambda e: e),
    "train_on_clean=False,refine_epochs=max_epochs": lambda epochs: (
        {"train_on_clean": False, "refine_epochs": epochs},
        None,
    ),
    "warmup-0.1": lambda epochs: _warmup(0.1),
    "warmup-0.2": lambda epochs: _warmup(0.2),
    "warmup-0.4": lambda epochs: _warmup(0.4),
    "warmup-0.5": lambda epochs: _warmup(0.5),
    "warmup-0.6": lambda epochs: _warmup(0.6),
    "warmup-0.4-cw": lambda epochs: _warmup(0.4, weighted=True),
    "warmup-0.6-cw": lambda epochs: _warmup(0.6, weighted=True),
    "warmup-0.2+train_on_clean=False": lambda epochs: _warmup(0.2, train_on_clean=False),
}


def score(name, spec, variant, seed):
    if spec["group"] == "imbalance":
        X_tr, y_tr, trusted, X_te, y_te = quality.imbalance_data(spec, seed)
        y_fit, metric = y_tr, balanced_accuracy_score
    else:
        X_tr, y_tr, y_fit, trusted, X_te, y_te = quality.noise_data(spec, seed)
        metric = accuracy_score
    params, after, *before = VARIANTS[variant](spec["epochs"])
    cls = _WarmupClassifier if before else MetaReweightClassifier
    clf = cls(max_epochs=spec["epochs"], random_state=seed, **params)
    for hook in before:
        hook(clf)
    clf.fit(X_tr, y_fit, clean_mask=trusted)
    if after is not None:
        after(clf, X_tr, y_fit, trusted, seed)
    return float(metric(y_te, clf.predict(X_te)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default="digits-uniform-40")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    specs = quality.scenarios()
    print("| scenario | variant | mean | per seed |\n|---|---|---|---|")
    for name in args.scenarios.split(","):
        for variant in args.variants.split(","):
            accs = [score(name, specs[name], variant, s) for s in range(args.seeds)]
            per_seed = " ".join(f"{a:.3f}" for a in accs)
            print(f"| {name} | {variant} | {np.mean(accs):.4f} | {per_seed} |", flush=True)


if __name__ == "__main__":
    main()
