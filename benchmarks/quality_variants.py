"""Candidate defaults for MetaReweightClassifier, on the quality benchmark's data.

Each variant changes one setting of ``MetaReweightClassifier`` (or adds a
fine-tune on the trusted rows after fit) and is scored on the same seeds and data as
``quality.py``'s ``l2rw``, so its mean can be compared with that column.
A variant becomes a default only if it wins across the scenarios.

Usage::

    python benchmarks/quality_variants.py --scenarios digits-uniform-40 --seeds 5
    python benchmarks/quality_variants.py --variants "default,refine_epochs=0 (paper-exact)" \\
        --scenarios digits-uniform-40,imb-synth-0.995
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


def _continue(clf, X, y, mask, epochs, seed):
    """Continue training ``clf``'s module with its optimizer, plain mean loss on ``mask`` rows."""
    module, optimizer = clf.net_.module_, clf.net_.optimizer_
    X = torch.as_tensor(X[mask], dtype=torch.float32)
    y = torch.as_tensor(np.searchsorted(clf.classes_, y[mask]))
    gen = torch.Generator().manual_seed(seed)
    module.train()
    for _ in range(epochs):
        perm = torch.randperm(len(y), generator=gen)
        for start in range(0, len(y), clf.batch_size):
            idx = perm[start : start + clf.batch_size]
            optimizer.zero_grad()
            F.cross_entropy(module(X[idx]), y[idx]).backward()
            optimizer.step()
    module.eval()


def _fine_tune(epochs):
    """Fit as usual, then ``epochs`` passes over the trusted rows (as plain+FT)."""

    def after(clf, X, y, trusted, seed):
        _continue(clf, X, y, trusted, epochs, seed)

    return {}, after


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
}


def score(name, spec, variant, seed):
    if spec["group"] == "imbalance":
        X_tr, y_tr, trusted, X_te, y_te = quality.imbalance_data(spec, seed)
        y_fit, metric = y_tr, balanced_accuracy_score
    else:
        X_tr, y_tr, y_fit, trusted, X_te, y_te = quality.noise_data(spec, seed)
        metric = accuracy_score
    params, after = VARIANTS[variant](spec["epochs"])
    clf = MetaReweightClassifier(max_epochs=spec["epochs"], random_state=seed, **params)
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
