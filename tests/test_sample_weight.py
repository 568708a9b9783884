"""sample_weight: what it guarantees, how it is routed, and its errors."""

import numpy as np
import pytest
import sklearn
import torch
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_l2rw import MetaReweightClassifier, MetaReweightRegressor
from sk_l2rw.model_selection import TrustedStratifiedKFold, trusted_scorer

torch.set_num_threads(1)

ESTIMATORS = {"classification": MetaReweightClassifier, "regression": MetaReweightRegressor}


def _data(task, n=160, seed=0):
    if task == "classification":
        X, y = make_classification(n, 8, n_informative=5, n_classes=3, random_state=seed)
    else:
        X, y = make_regression(n, 8, n_informative=5, noise=5.0, random_state=seed)
    trusted = np.arange(n) % 8 == 0
    return X, y, trusted


def _output(est, X):
    return est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)


def _one_batch(task, **kwargs):
    # One batch per epoch: the rows' order in it changes nothing but rounding.
    params = dict(hidden_layer_sizes=(12,), max_epochs=12, batch_size=512, lr=0.01)
    return ESTIMATORS[task](random_state=0, fallback=None, **{**params, **kwargs})


@pytest.mark.parametrize("task", ESTIMATORS)
@pytest.mark.parametrize("meta_method", ["fast", "general"])
def test_zero_weight_equals_leaving_the_row_out(task, meta_method):
    X, y, trusted = _data(task)
    weight = np.ones(len(y))
    dropped = (np.arange(len(y)) % 5 == 1) & ~trusted
    weight[dropped] = 0.0
    weight[np.flatnonzero(trusted)[:3]] = 0.0  # trusted rows too
    keep = weight > 0
    weighted = _one_batch(task, meta_method=meta_method)
    weighted.fit(X, y, clean_mask=trusted, sample_weight=weight)
    left_out = _one_batch(task, meta_method=meta_method).fit(
        X[keep], y[keep], clean_mask=trusted[keep]
    )
    np.testing.assert_allclose(_output(weighted, X), _output(left_out, X), atol=1e-4)
    # A row of weight 0 is given meta weight 0.
    assert (weighted.example_weights_[weight == 0] == 0).all()
    np.testing.assert_allclose(
        weighted.example_weights_[keep], left_out.example_weights_, atol=1e-4
    )


@pytest.mark.parametrize("task", ESTIMATORS)
def test_integer_weight_equals_repeating_the_row(task):
    X, y, trusted = _data(task)
    weight = np.where(np.arange(len(y)) % 3 == 0, 2.0, 1.0)
    repeat = weight.astype(int)
    weighted = _one_batch(task).fit(X, y, clean_mask=trusted, sample_weight=weight)
    repeated = _one_batch(task).fit(
        np.repeat(X, repeat, axis=0), np.repeat(y, repeat), clean_mask=np.repeat(trusted, repeat)
    )
    np.testing.assert_allclose(_output(weighted, X), _output(repeated, X), atol=1e-4)


@pytest.mark.parametrize("task", ESTIMATORS)
@pytest.mark.parametrize("value", [1.0, 3.5])
def test_equal_weights_change_nothing(task, value):
    X, y, trusted = _data(task)
    # With a selection round (the regressor's "auto" has none).
    fallback = "auto" if task == "classification" else "plain"
    est = ESTIMATORS[task](max_epochs=6, fallback=fallback, random_state=0)
    plain = sklearn.clone(est).fit(X, y, clean_mask=trusted)
    weighted = sklearn.clone(est).fit(
        X, y, clean_mask=trusted, sample_weight=np.full(len(y), value)
    )
    np.testing.assert_array_equal(_output(weighted, X), _output(plain, X))
    assert weighted.selection_["difference"] == plain.selection_["difference"]


def test_weights_reach_every_phase_of_a_default_fit():
    """Weights on one class's rows move a default fit (selection round,
    fallback or reweighted kind) towards that class."""
    X, y, trusted = _data("classification", n=300)
    kwargs = dict(max_epochs=10, random_state=0)
    plain = MetaReweightClassifier(**kwargs).fit(X, y, clean_mask=trusted)
    weight = np.where(y == 2, 10.0, 1.0)
    heavy = MetaReweightClassifier(**kwargs).fit(X, y, clean_mask=trusted, sample_weight=weight)
    assert (heavy.predict(X) == 2).mean() > (plain.predict(X) == 2).mean()
    assert heavy.selection_["difference"] != plain.selection_["difference"]


def test_partial_fit_takes_weights():
    X, y, trusted = _data("classification")
    weight = np.where(np.arange(len(y)) % 4 == 1, 0.0, 1.0)
    clf = MetaReweightClassifier(hidden_layer_sizes=(8,), random_state=0)
    clf.partial_fit(X, y, classes=[0, 1, 2], clean_mask=trusted, sample_weight=weight)
    clf.partial_fit(X, y, sample_weight=weight)
    assert (clf.example_weights_[weight == 0] == 0).all()
    assert (clf.example_weights_[weight > 0] > 0).any()


def test_pipeline_passes_weights_on():
    X, y, trusted = _data("classification")
    weight = np.random.RandomState(0).rand(len(y))
    pipe = make_pipeline(StandardScaler(), MetaReweightClassifier(max_epochs=5, random_state=0))
    pipe.fit(
        X,
        y,
        metareweightclassifier__clean_mask=trusted,
        metareweightclassifier__sample_weight=weight,
    )
    direct = MetaReweightClassifier(max_epochs=5, random_state=0).fit(
        StandardScaler().fit_transform(X), y, clean_mask=trusted, sample_weight=weight
    )
    np.testing.assert_array_equal(pipe.predict_proba(X), direct.predict_proba(pipe[0].transform(X)))


def test_grid_search_routes_weights_to_fit_and_trusted_scorer():
    X, y, trusted = _data("classification", n=240)
    weight = np.random.RandomState(0).rand(len(y)) + 0.5
    with sklearn.config_context(enable_metadata_routing=True):
        clf = MetaReweightClassifier(max_epochs=4, random_state=0).set_fit_request(
            clean_mask=True, sample_weight=True
        )
        scorer = trusted_scorer().set_score_request(sample_weight=True)
        search = GridSearchCV(
            clf, {"lr": [1e-3, 3e-3]}, scoring=scorer, cv=TrustedStratifiedKFold(2)
        )
        search.fit(X, y, clean_mask=trusted, sample_weight=weight)
    direct = MetaReweightClassifier(max_epochs=4, random_state=0, **search.best_params_)
    direct.fit(X, y, clean_mask=trusted, sample_weight=weight)
    np.testing.assert_array_equal(search.predict_proba(X), direct.predict_proba(X))
    unweighted = MetaReweightClassifier(max_epochs=4, random_state=0, **search.best_params_)
    unweighted.fit(X, y, clean_mask=trusted)
    assert not np.array_equal(search.predict_proba(X), unweighted.predict_proba(X))


BAD = {
    "negative": (lambda n: np.r_[-1.0, np.ones(n - 1)], "Negative values .*sample_weight"),
    "nan": (lambda n: np.r_[np.nan, np.ones(n - 1)], "sample_weight contains NaN"),
    "inf": (lambda n: np.r_[np.inf, np.ones(n - 1)], "sample_weight contains infinity"),
    "short": (lambda n: np.ones(n - 1), r"sample_weight.shape == \(\d+,\), expected"),
    "2d": (lambda n: np.ones((n, 2)), "sample_weight: Sample weights must be 1D"),
    "all_zero": (lambda n: np.zeros(n), "sample_weight.*(non-zero|is 0 on every row)"),
    "strings": (lambda n: np.full(n, "a"), "sample_weight: could not convert"),
}


@pytest.mark.parametrize("task", ESTIMATORS)
@pytest.mark.parametrize("case", BAD)
def test_bad_weights_raise_and_leave_no_fitted_state(task, case):
    X, y, trusted = _data(task)
    make, match = BAD[case]
    est = ESTIMATORS[task](max_epochs=2, random_state=0)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y, clean_mask=trusted, sample_weight=make(len(y)))
    assert not any(
        k.endswith("_") and not k.startswith("_") for k in vars(est) if k not in ("n_features_in_",)
    ), vars(est).keys()
    # A fitted estimator keeps its model when partial_fit is refused.
    est.fit(X, y, clean_mask=trusted)
    before = _output(est, X)
    with pytest.raises(ValueError, match=match):
        est.partial_fit(X, y, sample_weight=make(len(y)))
    np.testing.assert_array_equal(_output(est, X), before)


@pytest.mark.parametrize("task", ESTIMATORS)
def test_zero_weight_on_every_trusted_row_is_refused(task):
    X, y, trusted = _data(task)
    with pytest.raises(ValueError, match="sample_weight is 0 on every trusted row"):
        ESTIMATORS[task](max_epochs=2).fit(
            X, y, clean_mask=trusted, sample_weight=np.where(trusted, 0.0, 1.0)
        )
