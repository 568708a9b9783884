"""Would the selection round gain from choosing where the final fit stops?

On statsmodels' ``fair`` survey (``cw-fair-pair-30``) a plain net early-stopped
on held-out rows (``plain-es``, 0.556) beats both the defaults (0.513) and the
same net trained for the whole budget (``plain``, 0.523): the budget overfits
there. The selection round already holds back untrusted rows and fits each
kind on the others, so it can see where its held-back score peaks at no extra
training cost. This script measures that choice before anything is built.

For each seed of a quality-benchmark scenario it fits the defaults (the same
fit as the saved ``l2rw``) and records, at the end of every epoch, each fold
net's per-row score on the rows it does not train on (the round's own
``score_rows``: right or wrong on the given label) and the final net's test
predictions. For the kind the round keeps, the pooled held-back score per
epoch gives a best epoch ``e*``; when it is ahead of the last epoch by more
than ``--guard`` standard errors of the paired per-row difference (the round's
rule), the final fit is scored at the epoch it maps to, else at its end:

- ``frac``: the same share of the budget (``(e* + 1) / fold epochs`` of the
  final fit's epochs: the same share of optimizer steps under the "auto"
  budget);
- ``epochs``: the same number of epochs (passes over the data).

It prints per seed the kind, the epochs and the test accuracy of each rule,
then per scenario the means beside the saved ``l2rw`` and the best baseline,
and each rule's paired difference to the best baseline and to ``plain``.

Usage::

    python benchmarks/diagnostics/diagnose_stop_epoch.py --scenarios cw-fair-pair-30 --seeds 5
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the shared benchmark modules
import quality  # noqa: E402
from _baselines import PlainNet  # noqa: E402
from diagnose_plain_kind import keeping_plain_nets  # noqa: E402

from sk_l2rw import MetaReweightClassifier, _selection  # noqa: E402
from sk_l2rw._net import MetaReweightNet  # noqa: E402

RULES = ("frac", "epochs")


class _CurveNet(MetaReweightNet):
    """A net recording, per epoch, its held-back rows' scores (a fold's net)
    or its predictions of ``test_X`` (the final net, which holds none back)."""

    test_X = None

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.curve_X_ = X

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_end(net, dataset_train=dataset_train, dataset_valid=dataset_valid)
        held = np.flatnonzero(self.holdout_ & ~self.trusted_row_mask_)
        if len(held):
            right, w, _ = self.score_rows(self.curve_X_[held], self.y_train_[held])
            self.history.record("held_right", right)
            self.history.record("held_w", w)
        elif self.test_X is not None:
            self.history.record("test_pred", self.eval_rows(self.test_X).argmax(1).cpu().numpy())


class _CurveClassifier(MetaReweightClassifier):
    _net_class = _CurveNet

    def _choose(self, folds):
        self.folds_ = folds
        return super()._choose(folds)


def best_epoch(histories, guard):
    """``(e*, mean lead, SE)``: the epoch (0-based) with the best pooled
    held-back score over ``histories`` (one per fold, same length), or the
    last one unless ``e*`` is ahead of it by more than ``guard`` SEs."""
    right = np.stack(
        [np.concatenate([h[e]["held_right"] for h in histories]) for e in range(len(histories[0]))]
    )
    w = np.concatenate([h[0]["held_w"] for h in histories])
    w = w / w.sum()
    last = len(right) - 1
    best = int(np.argmax(right @ w))
    mean, se = _selection.paired_difference(right[best] - right[last], w)
    return (best if _selection.ahead(mean, se, guard) else last), mean, se


def run_seed(spec, seed, guards):
    X_tr, _, y_fit, trusted, X_te, y_te, metric = quality.scenario_data(spec, seed)
    X_tr = np.asarray(X_tr, dtype=np.float32)
    _CurveNet.test_X = np.asarray(X_te, dtype=np.float32)
    plains = []
    try:
        with keeping_plain_nets(plains):
            clf = _CurveClassifier(random_state=seed).fit(X_tr, y_fit, clean_mask=trusted)
    finally:
        _CurveNet.test_X = None
    folds = clf.folds_
    histories = (
        [f.history for f in folds]
        if clf.selected_ == "reweighted"
        else [f.fallback_history_ for f in folds]
    )
    fold_epochs = len(histories[0])
    final = clf.net_.history
    final_epochs = len(final)
    acc, stops = {"end": float(metric(y_te, clf.predict(X_te)))}, {}
    for guard in guards:
        e_star, lead, se = best_epoch(histories, guard)
        stop = {
            "frac": max(1, round((e_star + 1) / fold_epochs * final_epochs)),
            "epochs": min(e_star + 1, final_epochs),
        }
        for rule, n in stop.items():
            key = f"{rule}-g{guard:g}"
            stops[key] = n
            acc[key] = float(metric(y_te, clf.classes_[final[n - 1]["test_pred"]]))
    # The plain kind (the round's plain nets for C), early-stopped: kept when
    # its best epoch is ahead of the kept kind's stopped epoch (epochs-g2).
    plain_h = [net.history for net in plains]
    p_star, _, _ = best_epoch(plain_h, 0.0)
    k_stop = stops["epochs-g2"] - 1
    w = np.concatenate([h[0]["held_w"] for h in histories])
    w = w / w.sum()
    diff = np.concatenate([h[p_star]["held_right"] for h in plain_h]) - np.concatenate(
        [h[min(k_stop, fold_epochs - 1)]["held_right"] for h in histories]
    )
    if _selection.ahead(*_selection.paired_difference(diff, w)):
        n = min(p_star + 1, PlainNet().epochs_for(len(y_fit)))
        model = PlainNet(random_state=seed).fit(X_tr, y_fit, max_epochs=n)
        acc["plain-kind"] = float(metric(y_te, model.predict(X_te)))
        stops["plain-kind"] = -n
    else:
        acc["plain-kind"] = acc["epochs-g2"]
    return clf.selected_, e_star + 1, fold_epochs, stops, final_epochs, lead, se, acc


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--guards", default="2,1", help="comma-separated guards (SEs)")
    own, rest = parser.parse_known_args(argv)
    args, specs = quality.scenario_cli(__doc__, rest, seeds=5)
    for name in args.scenarios.split(","):
        runs, best = quality.saved_runs(name, args.seeds)
        guards = [float(g) for g in own.guards.split(",")]
        keys = ["end"] + [f"{rule}-g{g:g}" for g in guards for rule in RULES] + ["plain-kind"]
        accs = {key: [] for key in keys}
        for seed, run in enumerate(runs):
            kind, e, fold_epochs, stop, final_epochs, lead, se, acc = run_seed(
                specs[name], seed, guards
            )
            for rule in accs:
                accs[rule].append(acc[rule])
            print(
                f"{name} seed {seed}: {kind}, best held-back epoch {e} of {fold_epochs} "
                f"(lead {lead:+.4f}, SE {se:.4f}); final of {final_epochs} epochs stops at "
                + ", ".join(f"{k} {n}" for k, n in stop.items())
                + "; accuracy "
                + ", ".join(f"{k} {a:.4f}" for k, a in acc.items())
                + " "
                f"(saved l2rw {run['acc']['l2rw']:.4f})",
                flush=True,
            )
        figures = []
        for rule in accs:
            parts = []
            for m in (best, "plain"):
                mean, se = quality.paired_stats(
                    np.subtract(accs[rule], [r["acc"][m] for r in runs])
                )
                parts.append(f"vs {m} {mean:+.4f} (SE {se:.4f})")
            figures.append(f"{rule} {np.mean(accs[rule]):.4f} " + ", ".join(parts))
        print(
            f"{name}: saved l2rw "
            f"{np.mean([r['acc']['l2rw'] for r in runs]):.4f}, best baseline {best} "
            f"{np.mean([r['acc'][best] for r in runs]):.4f}; " + "; ".join(figures),
            flush=True,
        )


if __name__ == "__main__":
    main()
