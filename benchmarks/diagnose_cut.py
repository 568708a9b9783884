"""Is it the ranking, the cut or the start? The rows the refinement keeps, against cleanlab's.

For each seed of a noise scenario of ``quality.py`` it prints which rows
cleanlab's ``CleanLearning`` keeps (those it does not flag as label issues)
and which the defaults keep (``label_quality_ > 0`` and the trusted rows):
how many, the share of them mislabelled, the share of correctly labelled
rows kept. Then the same reweighted model (warm-up and meta epochs as by
default) is refined on either set, and a fresh plain network is trained on
either set, so that the accuracy each set allows can be compared.

Usage::

    python benchmarks/diagnose_cut.py --scenario heldout-synth6-uniform-40 --seeds 0,1
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import accuracy_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402
from _baselines import PlainNet  # noqa: E402

from sk_l2rw import MetaReweightClassifier  # noqa: E402


class _RefineOn(MetaReweightClassifier):
    """The defaults, refining on the given rows instead of those they would keep."""

    def __init__(self, *, rows=None, **params):
        super().__init__(**params)
        self.rows = rows

    def _kept_rows(self, trusted_rows):
        return np.flatnonzero(self.rows)


def _describe(name, keep, noisy):
    return (
        f"{name}: keeps {keep.sum()} rows, {noisy[keep].mean():.3f} of them mislabelled, "
        f"{keep[~noisy].mean():.3f} of the correctly labelled rows"
    )


def diagnose(name, seed):
    from cleanlab.classification import CleanLearning

    spec = quality.scenarios()[name]
    epochs = spec["epochs"]
    X_tr, y_tr, y_fit, trusted, X_te, y_te = quality.noise_data(spec, seed)
    noisy = y_fit != y_tr
    plain = PlainNet(max_epochs=epochs, random_state=seed)
    cleanlab = CleanLearning(plain, cv_n_folds=3, seed=seed).fit(X_tr, y_fit)
    theirs = ~cleanlab.get_label_issues()["is_label_issue"].to_numpy() | trusted
    exact = MetaReweightClassifier(max_epochs=epochs, refine_epochs=0, random_state=seed)
    ours = (exact.fit(X_tr, y_fit, clean_mask=trusted).label_quality_ > 0) | trusted
    print(f"## {name}, seed {seed}")
    print(f"cleanlab test accuracy {accuracy_score(y_te, cleanlab.predict(X_te)):.3f}")
    for label, rows in (("defaults' rows", ours), ("cleanlab's rows", theirs)):
        print(_describe(label, rows, noisy))
        refined = _RefineOn(rows=rows, max_epochs=epochs, random_state=seed)
        refined.fit(X_tr, y_fit, clean_mask=trusted)
        fresh = PlainNet(max_epochs=epochs, random_state=seed).fit(X_tr[rows], y_fit[rows])
        acc_refined = accuracy_score(y_te, refined.predict(X_te))
        acc_fresh = accuracy_score(y_te, fresh.predict(X_te))
        print(f"  refined: {acc_refined:.3f}; fresh plain network: {acc_fresh:.3f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="heldout-synth6-uniform-40")
    parser.add_argument("--seeds", default="0,1")
    args = parser.parse_args(argv)
    specs = quality.scenarios()
    if args.scenario not in specs or specs[args.scenario]["group"] == "imbalance":
        parser.error(f"--scenario must be a noise scenario of quality.py; got {args.scenario!r}")
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    for seed in args.seeds.split(","):
        diagnose(args.scenario, int(seed))


if __name__ == "__main__":
    main()
