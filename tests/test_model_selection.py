"""trusted_scorer and TrustedStratifiedKFold in scikit-learn's searches, by metadata routing."""

import importlib
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import sklearn
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_classification
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.metrics import accuracy_score
from sklearn.model_selection import (
    GridSearchCV,
    HalvingGridSearchCV,
    RandomizedSearchCV,
    cross_validate,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from sk_l2rw import MetaReweightClassifier
from sk_l2rw.model_selection import TrustedStratifiedKFold, trusted_scorer

FAST = dict(hidden_layer_sizes=(16,), max_epochs=3, batch_size=32, lr=0.01, random_state=0)


@pytest.fixture(autouse=True)
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


@pytest.fixture(scope="module")
def noisy():
    """3 classes, 8 trusted rows per class, 30 % of the other labels flipped."""
    X, y = make_classification(
        n_samples=240, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    rng = np.random.RandomState(0)
    trusted = np.zeros(len(y), bool)
    for k in range(3):
        trusted[rng.choice(np.flatnonzero(y == k), 8, replace=False)] = True
    flip = ~trusted & (rng.rand(len(y)) < 0.3)
    y_noisy = np.where(flip, (y + 1) % 3, y)
    return X.astype(np.float32), y_noisy, trusted


def clf(**params):
    return MetaReweightClassifier(**{**FAST, **params}).set_fit_request(clean_mask=True)


def pipe(**params):
    return Pipeline([("scale", StandardScaler()), ("clf", clf(**params))])


def by_hand(estimator, X, y, trusted, train, test, **params):
    """Accuracy on the trusted rows of ``test`` of a fresh fit on ``train``."""
    est = sklearn.clone(estimator).set_params(**params)
    est.fit(X[train], y[train], clean_mask=trusted[train])
    keep = test[trusted[test]]
    return accuracy_score(y[keep], est.predict(X[keep]))


# -- the splitter ---------------------------------------------------------------


@st.composite
def masked_labels(draw):
    n_splits = draw(st.integers(2, 5))
    n_classes = draw(st.integers(1, 4))
    counts = [(draw(st.integers(n_splits, 12)), draw(st.integers(0, 20))) for _ in range(n_classes)]
    y = np.concatenate([np.full(t + u, k) for k, (t, u) in enumerate(counts)])
    mask = np.concatenate([np.r_[np.ones(t, bool), np.zeros(u, bool)] for t, u in counts])
    order = np.random.RandomState(draw(st.integers(0, 2**16))).permutation(len(y))
    shuffle = draw(st.booleans())
    random_state = draw(st.integers(0, 100)) if shuffle else None
    return y[order], mask[order], n_splits, shuffle, random_state


@settings(deadline=None, max_examples=150)
@given(masked_labels())
def test_every_fold_has_trusted_rows_of_every_class_in_train_and_test(case):
    y, mask, n_splits, shuffle, random_state = case
    cv = TrustedStratifiedKFold(n_splits, shuffle=shuffle, random_state=random_state)
    folds = list(cv.split(np.zeros((len(y), 1)), y, clean_mask=mask))
    assert len(folds) == cv.get_n_splits() == n_splits
    tests = np.concatenate([test for _, test in folds])
    assert np.array_equal(np.sort(tests), np.arange(len(y)))  # a partition
    sizes = [len(test) for _, test in folds]
    assert max(sizes) - min(sizes) <= 1
    for train, test in folds:
        assert np.array_equal(np.sort(np.r_[train, test]), np.arange(len(y)))
        for part in (train, test):
            assert set(y[part][mask[part]]) == set(y)
    again = list(cv.split(np.zeros((len(y), 1)), y, clean_mask=mask))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again))


def test_splitter_errors(noisy):
    X, y, trusted = noisy
    few = trusted & ~((y == 2) & (np.cumsum(trusted) > 4))  # class 2: fewer trusted rows
    n_left = int((few & (y == 2)).sum())
    with pytest.raises(ValueError, match=rf"at least 5 trusted rows.*\{{2: {n_left}\}}"):
        next(TrustedStratifiedKFold(5).split(X, y, clean_mask=few))
    with pytest.raises(ValueError, match="TrustedStratifiedKFold.split needs clean_mask"):
        next(TrustedStratifiedKFold(3).split(X, y))
    with pytest.raises(TypeError, match="clean_mask must be a boolean array"):
        next(TrustedStratifiedKFold(3).split(X, y, clean_mask=trusted.astype(int)))
    with pytest.raises(ValueError, match="n_splits must be an int of at least 2"):
        TrustedStratifiedKFold(1)
    with pytest.raises(ValueError, match="random_state has no effect"):
        TrustedStratifiedKFold(3, random_state=0)


def test_splitter_requests_clean_mask_by_routing():
    requests = TrustedStratifiedKFold().get_metadata_routing().split.requests
    assert requests == {"clean_mask": True}
    aliased = TrustedStratifiedKFold().set_split_request(clean_mask="trusted")
    assert aliased.get_metadata_routing().split.requests == {"clean_mask": "trusted"}


# -- the scorer -------------------------------------------------------------------


def test_cross_validate_scores_the_trusted_rows_of_each_fold(noisy):
    X, y, trusted = noisy
    cv = TrustedStratifiedKFold(3, shuffle=True, random_state=0)
    res = cross_validate(
        clf(),
        X,
        y,
        cv=cv,
        scoring={"trusted": trusted_scorer(), "noisy": "accuracy"},
        params={"clean_mask": trusted},
        return_indices=True,
        return_estimator=True,
    )
    for k, (train, test) in enumerate(cv.split(X, y, clean_mask=trusted)):
        assert np.array_equal(res["indices"]["test"][k], test)
        keep = test[trusted[test]]
        expected = accuracy_score(y[keep], res["estimator"][k].predict(X[keep]))
        assert res["test_trusted"][k] == pytest.approx(expected)
        assert res["test_trusted"][k] == pytest.approx(by_hand(clf(), X, y, trusted, train, test))
        assert res["test_noisy"][k] == pytest.approx(res["estimator"][k].score(X[test], y[test]))
    assert not np.allclose(res["test_trusted"], res["test_noisy"])


def test_prediction_powered_estimate_by_hand(noisy):
    X, y, trusted = noisy
    est = clf().fit(X, y, clean_mask=trusted)
    proba = est.predict_proba(X)
    correct = est.classes_[proba.argmax(1)] == y
    expected = proba.max(1).mean() + np.mean(correct[trusted] - proba.max(1)[trusted])
    scorer = trusted_scorer(estimate="prediction-powered")
    assert scorer(est, X, y, clean_mask=trusted) == pytest.approx(expected)
    assert 0 <= expected <= 1


def test_grid_search_on_a_pipeline_routes_one_mask_everywhere(noisy):
    X, y, trusted = noisy
    cv = TrustedStratifiedKFold(3, shuffle=True, random_state=1)
    grid = {"clf__hidden_layer_sizes": [(8,), (32,)]}
    search = GridSearchCV(pipe(), grid, scoring=trusted_scorer(), cv=cv)
    search.fit(X, y, clean_mask=trusted)
    train, test = next(cv.split(X, y, clean_mask=trusted))
    for i, params in enumerate(search.cv_results_["params"]):
        expected = by_hand(pipe(), X, y, trusted, train, test, **params)
        assert search.cv_results_["split0_test_score"][i] == pytest.approx(expected)
    # Scoring a clean test set: every row trusted.
    everything = np.ones(len(y), bool)
    assert search.score(X, y, clean_mask=everything) == pytest.approx(
        accuracy_score(y, search.predict(X))
    )


def test_multi_metric_randomized_search_refits_on_the_trusted_metric(noisy):
    X, y, trusted = noisy
    scoring = {"noisy": "accuracy", "trusted": trusted_scorer(), "f1": trusted_scorer("f1_macro")}
    search = RandomizedSearchCV(
        clf(),
        {"lr": [1e-3, 3e-2], "hidden_layer_sizes": [(4,), (32,)]},
        n_iter=3,
        scoring=scoring,
        refit="trusted",
        cv=TrustedStratifiedKFold(3),
        random_state=0,
    )
    search.fit(X, y, clean_mask=trusted)
    results = search.cv_results_
    assert search.best_index_ == int(np.argmin(results["rank_test_trusted"]))
    assert search.best_score_ == results["mean_test_trusted"][search.best_index_]
    for name in scoring:
        assert np.all(np.isfinite(results[f"mean_test_{name}"]))
    assert not np.allclose(results["mean_test_trusted"], results["mean_test_noisy"])


def test_halving_search_over_epochs(noisy):
    X, y, trusted = noisy
    search = HalvingGridSearchCV(
        pipe(),
        {"clf__lr": [1e-3, 1e-2, 3e-2, 1e-1]},
        resource="clf__max_epochs",
        min_resources=1,
        max_resources=4,
        factor=2,
        scoring=trusted_scorer(),
        cv=TrustedStratifiedKFold(3, shuffle=True, random_state=0),
    )
    search.fit(X, y, clean_mask=trusted)
    assert search.n_iterations_ == 3
    assert list(search.n_resources_) == [1, 2, 4]
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_params_["clf__max_epochs"] == 4


def test_clean_val_users_concatenate_and_mask(noisy):
    """The documented recipe for a separate trusted set: append it and mark it."""
    X, y, trusted = noisy
    X_noisy, y_noisy, X_clean, y_clean = X[~trusted], y[~trusted], X[trusted], y[trusted]
    X_all = np.concatenate([X_noisy, X_clean])
    y_all = np.concatenate([y_noisy, y_clean])
    mask = np.r_[np.zeros(len(y_noisy), bool), np.ones(len(y_clean), bool)]
    cv = TrustedStratifiedKFold(3)
    search = GridSearchCV(clf(), {"lr": [1e-2]}, scoring=trusted_scorer(), cv=cv)
    search.fit(X_all, y_all, clean_mask=mask)
    for k, (train, test) in enumerate(cv.split(X_all, y_all, clean_mask=mask)):
        assert mask[test].sum() > 0 and set(test[mask[test]]) <= set(range(len(y_noisy), len(y)))
        expected = by_hand(clf(lr=1e-2), X_all, y_all, mask, train, test)
        assert search.cv_results_[f"split{k}_test_score"][0] == pytest.approx(expected)


def test_sample_weight_is_sliced_to_the_trusted_rows(noisy):
    X, y, trusted = noisy
    weight = np.random.RandomState(0).rand(len(y))
    est = clf().fit(X, y, clean_mask=trusted)
    scorer = trusted_scorer().set_score_request(sample_weight=True)
    requests = scorer.get_metadata_routing().score.requests
    assert requests["sample_weight"] is True and requests["clean_mask"] is True
    expected = accuracy_score(y[trusted], est.predict(X[trusted]), sample_weight=weight[trusted])
    assert scorer(est, X, y, clean_mask=trusted, sample_weight=weight) == pytest.approx(expected)


def test_scorer_and_splitter_pickle(noisy):
    X, y, trusted = noisy
    est = clf().fit(X, y, clean_mask=trusted)
    scorer = pickle.loads(pickle.dumps(trusted_scorer(estimate="prediction-powered")))
    assert repr(scorer) == "trusted_scorer('accuracy', estimate='prediction-powered')"
    assert scorer(est, X, y, clean_mask=trusted) == trusted_scorer(estimate="prediction-powered")(
        est, X, y, clean_mask=trusted
    )
    cv = pickle.loads(pickle.dumps(TrustedStratifiedKFold(3, shuffle=True, random_state=0)))
    assert repr(cv) == "TrustedStratifiedKFold(n_splits=3, random_state=0, shuffle=True)"


# -- errors -----------------------------------------------------------------------


def test_a_test_fold_without_trusted_rows_is_an_error_not_a_nan(noisy):
    X, y, trusted = noisy
    test = np.flatnonzero(~trusted)[:80]  # a test fold of noisy rows only
    cv = [(np.setdiff1d(np.arange(len(y)), test), test)]
    search = GridSearchCV(
        clf(), {"lr": [1e-2]}, scoring=trusted_scorer(), cv=cv, error_score="raise"
    )
    with pytest.raises(ValueError, match=r"this test fold \(80 rows\) has no trusted rows"):
        search.fit(X, y, clean_mask=trusted)
    # By default a search turns a failed score into its error_score, loudly.
    lenient = GridSearchCV(clf(), {"lr": [1e-2]}, scoring=trusted_scorer(), cv=cv)
    with (
        pytest.warns(UserWarning, match="non-finite"),
        pytest.warns(UserWarning, match="no trusted"),
    ):
        lenient.fit(X, y, clean_mask=trusted)


def test_scorer_without_a_mask_says_how_to_give_one(noisy):
    X, y, trusted = noisy
    est = clf().fit(X, y, clean_mask=trusted)
    with pytest.raises(ValueError, match="Enable metadata routing"):
        trusted_scorer()(est, X, y)
    with pytest.raises(ValueError, match=r"one entry per row of X \(240\)"):
        trusted_scorer()(est, X, y, clean_mask=trusted[:10])
    with pytest.raises(TypeError, match="takes no metadata other than clean_mask"):
        trusted_scorer(estimate="prediction-powered")(
            est, X, y, clean_mask=trusted, sample_weight=np.ones(len(y))
        )


def test_scorer_parameter_errors():
    with pytest.raises(ValueError, match="scoring='accuracy' only; got scoring='f1_macro'"):
        trusted_scorer("f1_macro", estimate="prediction-powered")
    with pytest.raises(InvalidParameterError, match="'estimate' parameter"):
        trusted_scorer(estimate="noisy")
    with pytest.raises(ValueError, match="not a valid scoring value"):
        trusted_scorer("no-such-metric")
    with sklearn.config_context(enable_metadata_routing=False):
        with pytest.raises(RuntimeError, match="only available when metadata routing"):
            trusted_scorer().set_score_request(clean_mask=True)


def test_selection_table_is_what_the_saved_results_give():
    """docs/benchmarks/selection.md is what benchmarks/results/selection/ assembles to."""
    root = Path(__file__).parents[1]
    sys.path.insert(0, str(root / "benchmarks"))
    try:
        selection = importlib.import_module("selection")
    finally:
        sys.path.remove(str(root / "benchmarks"))
    page = (root / "docs" / "benchmarks" / "selection.md").read_text()
    results = selection.load_results()
    assert len(results) >= 3 and all(len(r["seeds"]) >= 3 for r in results.values())
    assert selection.assemble(results, page.split("```\n")[1].strip("\n")) == page
