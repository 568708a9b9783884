"""Does the selection round stop the final fit where the network predicts one class?

Generated imbalanced binary data with a weak signal (1,500 rows, 6 features,
about 14 % minority), 30 % uniform label noise, 10 trusted rows per class, the
default ``MetaReweightClassifier``; per seed the round's pick, its stop epoch,
whether the final model predicts a single class on the training rows, and its
accuracy and balanced accuracy on 5,000 clean test rows.
Run it against another checkout to compare (``PYTHONPATH=<checkout>``); the
output of the last run of each is in ``benchmarks/results/diagnose_one_class_stop.txt``.

    OMP_NUM_THREADS=1 python benchmarks/diagnostics/diagnose_one_class_stop.py --seeds 6
"""

import argparse

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score

import sk_l2rw
from sk_l2rw import MetaReweightClassifier
from sk_l2rw.datasets import make_noisy_labels, split_trusted


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"sk_l2rw from {sk_l2rw.__file__}")
    single, accuracy, balanced = 0, [], []
    for seed in range(args.seeds):
        rng = np.random.RandomState(seed)
        X = rng.randn(1500, 6)
        logit = 0.6 * X[:, 0] + 0.4 * X[:, 1] - 2.0
        y = (rng.rand(len(X)) < 1 / (1 + np.exp(-logit))).astype(int)
        # Clean test rows of the same distribution, drawn after the training ones.
        X_test = rng.randn(5000, 6)
        logit = 0.6 * X_test[:, 0] + 0.4 * X_test[:, 1] - 2.0
        y_test = (rng.rand(len(X_test)) < 1 / (1 + np.exp(-logit))).astype(int)
        y_noisy, _ = make_noisy_labels(y, noise_rate=0.3, kind="uniform", random_state=seed)
        trusted = split_trusted(y, n_per_class=10, random_state=seed)
        y_noisy[trusted] = y[trusted]
        clf = MetaReweightClassifier(random_state=seed).fit(X, y_noisy, clean_mask=trusted)
        one = len(set(clf.predict(X))) == 1
        single += one
        pred = clf.predict(X_test)
        accuracy.append(np.mean(pred == y_test))
        balanced.append(balanced_accuracy_score(y_test, pred))
        refused = clf.selection_.get("one_class_stop")
        print(
            f"seed {seed}: minority {y.mean():.3f}, kept {clf.selected_}, stop epoch "
            f"{clf.selection_['stop_epoch']} of {clf.max_epochs_}"
            + ("" if refused is None else f" (a cut after {refused} refused)")
            + ", "
            + ("predicts one class" if one else "predicts both classes")
            + f"; test accuracy {accuracy[-1]:.3f}, balanced {balanced[-1]:.3f}",
            flush=True,
        )
    print(
        f"one class in {single} of {args.seeds} seeds; mean test accuracy "
        f"{np.mean(accuracy):.3f}, balanced accuracy {np.mean(balanced):.3f}"
    )


if __name__ == "__main__":
    main()
