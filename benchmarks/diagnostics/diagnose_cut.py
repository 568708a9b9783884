"""Is it the ranking, the cut or the start? The rows the refinement keeps, against cleanlab's.

For each seed of a noise scenario of ``quality.py`` it prints which rows
cleanlab's ``CleanLearning`` keeps (those it does not flag as label issues)
and which the defaults keep (``label_quality_ > 0`` and the trusted rows):
how many, the share of them mislabelled, the share of correctly labelled
rows kept. Then the same reweighted model (warm-up and meta epochs as by
default) is refined on either set, and a fresh plain network is trained on
either set, so that the accuracy each set allows can be compared.

With ``--cuts``, the question is where to cut: the defaults are fitted up to
the refinement once per seed, and that same model (parameters, optimizer
state, random state) is then refined on the rows kept by each of several
rules -- ``label_quality_ > t`` for a few thresholds ``t`` (the default is
``t = 0``), every row, the correctly labelled rows (an oracle), and as
many top rows by ``label_quality_`` as are correctly labelled (an oracle
count: the best a cut at a known noise rate could do with this ranking), the
same share as ``t = 0`` keeps taken from each given class, the rows with a
positive cross-fitted margin (2 folds of the defaults up to the refinement,
each row scored by the model that did not train on it), and the rows cleanlab
keeps -- and scored on the test set. Imbalance scenarios are allowed here.

Usage::

    python benchmarks/diagnostics/diagnose_cut.py --scenario heldout-synth6-uniform-40 --seeds 0,1
    python benchmarks/diagnostics/diagnose_cut.py --cuts --scenario imb-synth-0.9,digits-pair-30 \
        --seeds 0,1,2,3,4
"""

import argparse
import copy
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import accuracy_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the shared benchmark modules
import quality  # noqa: E402
from _baselines import PlainNet  # noqa: E402

from sk_l2rw import MetaReweightClassifier  # noqa: E402
from sk_l2rw._net import MetaReweightNet  # noqa: E402


class _StartNet(MetaReweightNet):
    """The net of the defaults, keeping what its refinement starts from.

    When the first refinement epoch begins (:meth:`refine_rows`), ``start_``
    takes the module's parameters, the optimizer's state, torch's random state
    and the trusted minibatch order; when ``given_rows_`` is set, the
    refinement visits those rows instead of the ones the defaults keep.
    """

    given_rows_ = None

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.X_train_ = X

    def refine_rows(self):
        if self.given_rows_ is not None:
            return self.given_rows_
        self.start_ = {
            "module": copy.deepcopy(self.module_.state_dict()),
            "optimizer": copy.deepcopy(self.optimizer_.state_dict()),
            "rng": torch.get_rng_state(),
            "trusted_order": copy.deepcopy(self._trusted_order),
            # The epoch that begins is the first refinement epoch.
            "epochs": len(self.history) - 1,
            "refine_epochs": self.refine_epochs,
        }
        return super().refine_rows()


class _Refinable(MetaReweightClassifier):
    """The defaults; :meth:`refine_on` refines the fitted model again, on other rows."""

    _net_class = _StartNet

    def refine_on(self, keep):
        """Refine from the saved start on the rows where ``keep`` is True.

        The start is the fit's own at its first refinement epoch (parameters,
        optimizer state, random state), and the refinement is the fit's own
        (its epochs, class weights and shuffles) on other rows: on the rows the
        defaults keep, it gives the fitted model back exactly.
        """
        net = self.net_
        start = net.start_
        net.module_.load_state_dict(start["module"])
        # The optimizer keeps the tensors it is given and Adam updates them in place.
        net.optimizer_.load_state_dict(copy.deepcopy(start["optimizer"]))
        net._trusted_order = copy.deepcopy(start["trusted_order"])
        del net.history[start["epochs"] :]
        epochs = start["refine_epochs"]
        net.set_params(max_epochs=epochs, warmup_epochs=0, refine_epochs=epochs)
        net.given_rows_ = np.flatnonzero(keep)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.set_rng_state(start["rng"])
                net.partial_fit(net.X_train_, net.y_train_, epochs=epochs)
        finally:
            net.given_rows_ = None
        return self


CUTS = (-0.5, -0.3, -0.2, -0.1, 0.0, 0.1, 0.2)


def cuts(name, seed):
    """Test score of the same model refined on the rows each rule keeps."""
    spec = quality.scenarios()[name]
    X_tr, y_tr, y_fit, trusted, X_te, y_te, metric = quality.scenario_data(spec, seed)
    clf = _Refinable(max_epochs=spec["epochs"], random_state=seed)
    clf.fit(X_tr, y_fit, clean_mask=trusted)
    quality_ = clf.label_quality_
    rules = {f"t={t:+.1f}": quality_ > t for t in CUTS}
    rules["every row"] = np.ones(len(y_fit), bool)
    rules["correct labels"] = y_fit == y_tr
    # As many rows as are correctly labelled, by label_quality_: the best a
    # count-based cut (cleanlab's prune by noise rate) could do with our ranking.
    top = np.argsort(-quality_, kind="stable")[: rules["correct labels"].sum()]
    rules["correct count"] = np.isin(np.arange(len(y_fit)), top)
    rules["per class, t=0 share"] = _per_class(quality_, y_fit, np.mean(quality_ > 0))
    rules["cross-fitted margin > 0"] = _cross_fitted_margin(X_tr, y_fit, trusted, spec, seed) > 0
    rules["cleanlab's rows"] = _kept_by(_clean_learning(X_tr, y_fit, spec, seed))
    out = {}
    for rule, keep in rules.items():
        keep = keep.copy()
        keep[clf.net_.trusted_rows_] = True
        score = metric(y_te, clf.refine_on(keep).predict(X_te))
        out[rule] = (score, keep.mean(), (y_fit != y_tr)[keep].mean())
    return out


def _per_class(score, y, share):
    """The top ``share`` of each given class's rows by ``score``."""
    keep = np.zeros(len(y), bool)
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        keep[rows[np.argsort(-score[rows], kind="stable")[: round(share * len(rows))]]] = True
    return keep


def _cross_fitted_margin(X, y, trusted, spec, seed, folds=2):
    """Each untrusted row's label margin under defaults fitted without it, up to the refinement.

    The untrusted rows are split in ``folds``; a model is fitted on the other
    folds and the trusted rows, as the defaults up to the refinement (their
    warm-up and meta epochs, no refinement epoch).
    """
    epochs = spec["epochs"]
    warmup, refine = MetaReweightClassifier(max_epochs=epochs)._phase_epochs(warm=False)
    untrusted = np.flatnonzero(~trusted)
    fold = np.random.RandomState(seed).permutation(len(untrusted)) % folds
    margin = np.full(len(y), np.inf)  # trusted rows: always kept
    for f in range(folds):
        held = untrusted[fold == f]
        train = np.ones(len(y), bool)
        train[held] = False
        model = MetaReweightClassifier(
            max_epochs=epochs - refine,
            warmup_epochs=warmup,
            refine_epochs=0,
            random_state=seed + 1000 * (f + 1),
        ).fit(X[train], y[train], clean_mask=trusted[train])
        proba = model.predict_proba(X[held])
        margin[held] = quality.proba_margin(proba, np.searchsorted(model.classes_, y[held]))
    return margin


def _clean_learning(X, y, spec, seed):
    """cleanlab's ``CleanLearning`` around the plain network, fitted as in quality.py."""
    from cleanlab.classification import CleanLearning

    plain = PlainNet(max_epochs=spec["epochs"], random_state=seed)
    return CleanLearning(plain, cv_n_folds=3, seed=seed).fit(X, y)


def _kept_by(cleanlab):
    """The rows a fitted ``CleanLearning`` does not flag as label issues."""
    return ~cleanlab.get_label_issues()["is_label_issue"].to_numpy()


def _cuts_table(name, seeds):
    runs = [cuts(name, seed) for seed in seeds]
    print(f"## {name}, seeds {','.join(map(str, seeds))} (default: t=+0.0)")
    print("| rows kept | test score | share kept | share of kept mislabelled |")
    print("|---|---|---|---|")
    for rule in runs[0]:
        score, kept, noisy = np.mean([run[rule] for run in runs], axis=0)
        print(f"| {rule} | {score:.4f} | {kept:.3f} | {noisy:.3f} |", flush=True)


def _describe(name, keep, noisy):
    return (
        f"{name}: keeps {keep.sum()} rows, {noisy[keep].mean():.3f} of them mislabelled, "
        f"{keep[~noisy].mean():.3f} of the correctly labelled rows"
    )


def diagnose(name, seed):
    spec = quality.scenarios()[name]
    epochs = spec["epochs"]
    X_tr, y_tr, y_fit, trusted, X_te, y_te = quality.noise_data(spec, seed)
    noisy = y_fit != y_tr
    cleanlab = _clean_learning(X_tr, y_fit, spec, seed)
    theirs = _kept_by(cleanlab) | trusted
    # The defaults' fit is the model refined on their rows; refine_on starts it again.
    fitted = _Refinable(max_epochs=epochs, random_state=seed)
    ours = (fitted.fit(X_tr, y_fit, clean_mask=trusted).label_quality_ > 0) | trusted
    print(f"## {name}, seed {seed}")
    print(f"cleanlab test accuracy {accuracy_score(y_te, cleanlab.predict(X_te)):.3f}")
    for label, rows in (("defaults' rows", ours), ("cleanlab's rows", theirs)):
        print(_describe(label, rows, noisy))
        refined = fitted.refine_on(rows)
        fresh = PlainNet(max_epochs=epochs, random_state=seed).fit(X_tr[rows], y_fit[rows])
        acc_refined = accuracy_score(y_te, refined.predict(X_te))
        acc_fresh = accuracy_score(y_te, fresh.predict(X_te))
        print(f"  refined: {acc_refined:.3f}; fresh plain network: {acc_fresh:.3f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenario", default="heldout-synth6-uniform-40", help="with --cuts: comma-separated"
    )
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument(
        "--cuts", action="store_true", help="compare rules for the rows the refinement keeps"
    )
    args = parser.parse_args(argv)
    specs = quality.scenarios()
    names = args.scenario.split(",") if args.cuts else [args.scenario]
    for name in names:
        if name not in specs:
            parser.error(f"--scenario must name scenarios of quality.py; got {name!r}")
        if not args.cuts and quality.is_imbalance(specs[name]):
            parser.error(f"without --cuts, --scenario must be a noise scenario; got {name!r}")
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    seeds = [int(seed) for seed in args.seeds.split(",")]
    for name in names:
        if args.cuts:
            _cuts_table(name, seeds)
        else:
            for seed in seeds:
                diagnose(name, seed)


if __name__ == "__main__":
    main()
