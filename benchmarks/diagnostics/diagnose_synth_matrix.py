"""Why the paper's step alone trails plain training on synth-matrix-40.

For each seed of ``quality.py``'s synth-matrix-40 scenario (4 generated classes,
2 clusters each, 40 % asymmetric class-conditional noise, 10 trusted rows per
class, 50 epochs) it prints the per-epoch statistics of ``history_``, what the
refinement's keep criterion (``label_quality_ > 0``, here a record of meta
epochs only) keeps, how
the weights of correctly labelled rows fall with the distance to the nearest
trusted row of their class, and how often the reweighted model's test
predictions agree with ``clean-only``'s and ``plain``'s.

Usage::

    python benchmarks/diagnostics/diagnose_synth_matrix.py --seeds 0,3
"""

import argparse
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr
from sklearn.metrics import accuracy_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the shared benchmark modules
import quality  # noqa: E402
from _baselines import PlainNet  # noqa: E402

from sk_l2rw import MetaReweightClassifier  # noqa: E402


def diagnose(seed, name="synth-matrix-40"):
    spec = quality.scenarios()[name]
    epochs = spec["epochs"]
    X_tr, y_tr, y_fit, trusted, X_te, y_te = quality.noise_data(spec, seed)
    clf = MetaReweightClassifier(
        max_epochs=epochs, warmup_epochs=0, refine_epochs=0, random_state=seed
    )
    clf.fit(X_tr, y_fit, clean_mask=trusted)
    noisy = y_fit != y_tr
    print(
        f"## seed {seed}: paper-exact test accuracy {accuracy_score(y_te, clf.predict(X_te)):.3f}"
    )
    print("epoch | train_loss | clean_loss | zero_weight_frac | ess_frac | all_zero_batches")
    for e in (1, 5, 10, 20, 50):
        r = clf.history_[e - 1]
        print(
            f"{e} | {r['train_loss']:.3f} | {r['clean_loss']:.3f} | {r['zero_weight_frac']:.3f}"
            f" | {r['ess_frac']:.3f} | {r['all_zero_batches']}"
        )
    keep = clf.label_quality_ > 0
    print(
        f"keep: {keep.sum()} of {len(keep)} rows, {noisy[keep].mean():.3f} of them mislabelled;"
        f" keeps {keep[~noisy].mean():.3f} of the correct rows, {keep[noisy].mean():.3f} of the"
        " mislabelled"
    )
    ok = ~noisy & ~trusted
    X_t, y_t = X_tr[trusted], y_tr[trusted]
    dist = np.array(
        [np.linalg.norm(X_t[y_t == y_fit[i]] - X_tr[i], axis=1).min() for i in np.flatnonzero(ok)]
    )
    w = clf.example_weights_[ok]
    near, far = dist <= np.quantile(dist, 0.25), dist >= np.quantile(dist, 0.75)
    print(
        f"correct rows: spearman(weight, distance to nearest trusted row of the class)"
        f" {spearmanr(w, dist)[0]:.3f}; mean weight nearest quarter {w[near].mean():.3f},"
        f" farthest quarter {w[far].mean():.3f}; share with weight < 0.05:"
        f" {np.mean(w[near] < 0.05):.2f} vs {np.mean(w[far] < 0.05):.2f}"
    )
    base = dict(max_epochs=epochs, random_state=seed)
    n_steps = math.ceil(len(y_fit) / 128) * epochs
    clean_epochs = max(epochs, n_steps // math.ceil(trusted.sum() / 128))
    clean = PlainNet(**base).fit(X_tr[trusted], y_fit[trusted], max_epochs=clean_epochs)
    plain = PlainNet(**base).fit(X_tr, y_fit)
    p_meta, p_clean, p_plain = (m.predict(X_te) for m in (clf, clean, plain))
    print(
        f"test predictions agree with clean-only {np.mean(p_meta == p_clean):.3f}, with plain"
        f" {np.mean(p_meta == p_plain):.3f} (accuracy clean-only"
        f" {accuracy_score(y_te, p_clean):.3f}, plain {accuracy_score(y_te, p_plain):.3f})"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,3")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    for seed in args.seeds.split(","):
        diagnose(int(seed))


if __name__ == "__main__":
    main()
