"""The tools and peers of ``real_tables.py``, each fitted on one seed's data.

Networks read the table's one-hot categoricals and standardized numerics;
trees its numerics as they are and its categoricals ordinal-encoded, named
in ``categorical_features``. The network peers are ``quality.py``'s (the
same :class:`_baselines.PlainNet`, two hidden layers of 100, Adam, the
library's ``"auto"`` budget rule), plus one early-stopped on the trusted
rows (:class:`TrustedStoppedNet`). ``ReweightedClassifier`` takes both
matrices side by side (:func:`carried_trees`): its reweighter reads the
network's columns, its trees the trees' columns, each through a thin
subclass that only selects them, so that both run with their defaults on the
encoding each is given elsewhere.
"""

import copy
import math
import time

import numpy as np
from _baselines import GoldLossCorrection, PlainNet, stop_on_best_valid_acc
from _real_page import ALL_TOOLS
from sklearn.ensemble import HistGradientBoostingClassifier
from skorch.dataset import Dataset
from skorch.helper import predefined_split

from sk_l2rw import MetaReweightClassifier, ReweightedClassifier

# The order fits run in within a seed: cheap first, so that a stop loses little.
TOOLS = (
    "trees",
    "trees-up",
    "oracle-trees",
    "cleanlab-trees",
    "plain",
    "plain+FT",
    "plain-es",
    "plain-es-trusted",
    "clean-only",
    "oracle-net",
    "glc",
    "cleanlab-net",
    "l2rw",
    "carried",
)


class TrustedStoppedNet(PlainNet):
    """:class:`_baselines.PlainNet` on every row, early-stopped on the trusted rows.

    Trains on all the rows it is given (the trusted ones among them), monitors
    the accuracy on the trusted rows after each epoch, stops after 10 epochs
    without a gain and keeps the best epoch's parameters, within the same
    ``"auto"`` budget as :class:`PlainNet`.
    """

    def fit(self, X, y, trusted):
        self.trusted_ = np.asarray(trusted, dtype=bool)
        return super().fit(X, y)

    def _stopping(self, X, y_enc):
        rows = self.trusted_
        return dict(
            train_split=predefined_split(Dataset(X[rows], y_enc[rows])),
            callbacks=[stop_on_best_valid_acc()],
        )


class _Columns:
    """Reads only the columns ``_columns`` of a matrix ``_width`` wide (and
    takes a matrix of any other width as already selected)."""

    _columns = None
    _width = None

    def _take(self, X):
        X = np.asarray(X)
        return X[:, self._columns] if X.shape[1] == self._width else X

    def predict(self, X):
        return super().predict(self._take(X))

    def predict_proba(self, X):
        return super().predict_proba(self._take(X))


class _NetColumns(_Columns, MetaReweightClassifier):
    def fit(self, X, y, **kwargs):
        return super().fit(self._take(X), y, **kwargs)


class _TreeColumns(_Columns, HistGradientBoostingClassifier):
    def fit(self, X, y, sample_weight=None):  # sample_weight named: the check offers the weights
        return super().fit(self._take(X), y, sample_weight=sample_weight)


class _Reweighted(ReweightedClassifier):
    """``ReweightedClassifier`` whose default reweighter (seeded as the
    library seeds its own) reads the network's columns."""

    _reweighter_class = None

    def _default_reweighter(self, seed):
        return self._reweighter_class(random_state=seed)


def carried_trees(n_net, n_tree, categorical, seed):
    """``ReweightedClassifier(HistGradientBoostingClassifier())`` with its
    defaults, for ``[X_net | X_tree]``: the default reweighter on the first
    ``n_net`` columns, the trees (``categorical_features`` the boolean mask
    ``categorical``) on the last ``n_tree``."""
    width = n_net + n_tree
    net = type("NetColumns", (_NetColumns,), {"_columns": slice(0, n_net), "_width": width})
    trees = type("TreeColumns", (_TreeColumns,), {"_columns": slice(n_net, width), "_width": width})
    wrapper = type("Reweighted", (_Reweighted,), {"_reweighter_class": net})
    return wrapper(trees(categorical_features=categorical), random_state=seed)


def _trees(categorical):
    return HistGradientBoostingClassifier(categorical_features=categorical)


def _clock():
    """Wall and process CPU seconds (a paused or crowded process gains wall
    time only)."""
    return np.array([time.perf_counter(), time.process_time()])


def fit_tool(tool, d, seed):
    """Fit ``tool`` on one seed's data ``d`` (a dict: ``Xn``/``Xt`` the
    network's and the trees' training matrices, ``Xn_te``/``Xt_te`` the test
    ones, ``y`` the labels a user holds, ``y_true``, ``trusted``, ``y_te``,
    ``categorical``); ``(accuracy, seconds, extra)``, ``seconds`` the wall
    and the CPU time of the fit, ``extra`` what a library tool chose.
    ``plain+FT`` reuses ``d["plain"]`` (a fitted plain net, its times) when
    the seed's ``plain`` was fitted in this run."""
    Xn, Xt, y, trusted = d["Xn"], d["Xt"], d["y"], d["trusted"]
    base = dict(random_state=seed)
    plain_epochs = PlainNet(**base).epochs_for(len(y))
    extra = {}
    start = _clock()
    test = d["Xn_te"]
    if tool == "plain":
        model = PlainNet(**base).fit(Xn, y)
        d["plain"] = (copy.deepcopy(model), _clock() - start)
        start = _clock() - d["plain"][1]  # the copy does not count
    elif tool == "plain+FT":
        if "plain" in d:
            plain, seconds = d["plain"]
            model = copy.deepcopy(plain)
            start -= seconds  # plain's own fit counts
        else:
            model = PlainNet(**base).fit(Xn, y)
        model.fine_tune(Xn[trusted], y[trusted], plain_epochs)
    elif tool == "plain-es":
        model = PlainNet(early_stopping=True, **base).fit(Xn, y)
    elif tool == "plain-es-trusted":
        model = TrustedStoppedNet(**base).fit(Xn, y, trusted)
    elif tool == "clean-only":  # as many steps as plain takes
        n_steps = math.ceil(len(y) / 128) * plain_epochs
        epochs = max(plain_epochs, n_steps // math.ceil(trusted.sum() / 128))
        model = PlainNet(**base).fit(Xn[trusted], y[trusted], max_epochs=epochs)
    elif tool == "cleanlab-net":
        from cleanlab.classification import CleanLearning

        model = CleanLearning(PlainNet(**base), cv_n_folds=3, seed=seed).fit(Xn, y)
    elif tool == "glc":
        model = GoldLossCorrection(**base).fit(Xn, y, trusted)
    elif tool == "oracle-net":
        model = PlainNet(**base).fit(Xn, d["y_true"])
    elif tool == "l2rw":
        model = MetaReweightClassifier(random_state=seed).fit(Xn, y, clean_mask=trusted)
        extra = {"selected_": model.selected_, "max_epochs_": int(model.max_epochs_)}
    elif tool == "carried":
        test = np.hstack([d["Xn_te"], d["Xt_te"]])
        model = carried_trees(Xn.shape[1], Xt.shape[1], d["categorical"], seed)
        model.fit(np.hstack([Xn, Xt]), y, clean_mask=trusted)
        check = model.carry_check_ or {}
        extra = {
            "carry_": model.carry_,
            "check_score": check.get("score"),
            "reweighter_selected_": model.reweighter_.selected_,
            "reweighter_accuracy": float(
                np.mean(model.reweighter_.predict(d["Xn_te"]) == d["y_te"])
            ),
        }
    else:
        test = d["Xt_te"]
        if tool == "trees":
            model = _trees(d["categorical"]).fit(Xt, y)
        elif tool == "trees-up":
            up = (~trusted).sum() / trusted.sum()
            model = _trees(d["categorical"]).fit(Xt, y, sample_weight=np.where(trusted, up, 1.0))
        elif tool == "cleanlab-trees":
            from cleanlab.classification import CleanLearning

            model = CleanLearning(_trees(d["categorical"]), seed=seed, verbose=False).fit(Xt, y)
        elif tool == "oracle-trees":
            model = _trees(d["categorical"]).fit(Xt, d["y_true"])
        else:
            raise ValueError(f"unknown tool {tool!r}")
    seconds = _clock() - start
    accuracy = float(np.mean(model.predict(test) == d["y_te"]))
    return accuracy, seconds, extra


assert sorted(TOOLS) == sorted(ALL_TOOLS)
