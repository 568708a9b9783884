"""What the class weighting does on one quality scenario: each value of
``class_weight``, seed by seed.

For each seed of a ``quality.py`` scenario, ``MetaReweightClassifier`` with
each ``class_weight`` value (``"trusted"``: the plain epochs' classes and the
selection round's scores weighted to the trusted set's class shares, the
default until issue 18's class-weight scenarios; None, today's default;
``"balanced"``); printed per fit: the kind the selection round kept and its
held-back figures, test accuracy, balanced accuracy, and the share of test
predictions per class against the true shares. A diagnostic: the default was
chosen on the development scenarios ``cw-*`` of ``quality.py``.

Usage::

    python benchmarks/diagnostics/diagnose_class_weight.py \\
        --scenario heldout-diamonds-pair-30 --seeds 1
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the shared benchmark modules
import quality  # noqa: E402

from sk_l2rw import MetaReweightClassifier  # noqa: E402

# The class_weight values compared, as --values takes them.
VALUES = "trusted,None,balanced"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="heldout-diamonds-pair-30")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--values", default=VALUES)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    spec = quality.scenarios()[args.scenario]
    values = [None if v == "None" else v for v in args.values.split(",")]
    for seed in range(args.seeds):
        X_tr, _, y_fit, trusted, X_te, y_te, _ = quality.scenario_data(spec, seed)
        n_classes = len(np.unique(y_te))
        true = np.bincount(y_te, minlength=n_classes) / len(y_te)
        print(f"{args.scenario} seed {seed}: true test shares {np.round(true, 3).tolist()}")
        for value in values:
            clf = MetaReweightClassifier(class_weight=value, random_state=seed)
            clf.fit(X_tr, y_fit, clean_mask=trusted)
            pred = clf.predict(X_te)
            sel = clf.selection_ or {}
            shares = np.bincount(pred, minlength=n_classes) / len(pred)
            print(
                f"  class_weight={value!r}: kept {clf.selected_} (held-back reweighted "
                f"{sel.get('reweighted', float('nan')):.4f}, fallback "
                f"{sel.get('fallback', float('nan')):.4f}); accuracy "
                f"{(pred == y_te).mean():.3f}, balanced {balanced_accuracy_score(y_te, pred):.3f}; "
                f"predicted shares {np.round(shares, 3).tolist()}",
                flush=True,
            )


if __name__ == "__main__":
    main()
